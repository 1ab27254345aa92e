// What comes back from the debtor, on the time-skipping test server: a reply holds the
// reminders until read or replyHoldMax (default 5 days), a payment in flight until it
// arrives, fails or expires (default 10 days), an undeliverable send goes again on the
// step's fallback channel.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { FR_B2B_DEFAULT } from '../../domain/policy';
import type { DunningPolicy } from '../../domain/types';
import {
  deliveryFailedSignal,
  paymentReceivedSignal,
  pendingPaymentSignal,
  replyReadSignal,
  replyReceivedSignal,
  statusQuery,
} from '../../contracts/messages';
import { recordHistory } from '../helpers/histories';
import { cleanup, dunningInput, startInvoice, useTestEnv, type Doubles } from './harness';

let env: TestWorkflowEnvironment;
const DAY = 86_400_000;
useTestEnv((e) => (env = e));

/** Two steps after the due date, at exact instants (no send window): reminder-1 at J+2, reminder-2 (SMS) at J+9. */
const POLICY: DunningPolicy = {
  ...FR_B2B_DEFAULT,
  id: 'test-inbound',
  sendWindow: { ...FR_B2B_DEFAULT.sendWindow, enabled: false },
  steps: [
    { id: 'reminder-1', offset: 'P2D', channels: ['email'], templateId: 'reminder-1', fallback: { email: 'letter' } },
    { id: 'reminder-2', offset: 'P9D', channels: ['sms'], templateId: 'reminder-2', fallback: { sms: 'letter' } },
  ],
};

async function start(policy: DunningPolicy = POLICY) {
  const { handle, doubles, worker, startedAt } = await startInvoice(env, { queue: 'inbound', dueInDays: 0, input: (invoice) => dunningInput(invoice, policy) });
  const reminder1At = (await handle.query(statusQuery)).nextAction!.at;
  return { handle, doubles, worker, startedAt, reminder1At };
}
const sleepUntilMs = async (t: number) => {
  const ms = t - (await env.currentTimeMs());
  if (ms > 0) await env.sleep(ms);
};
/** Real-time wait (bounded) for what a signal sets off: time skipping is not involved. */
async function waitFor(ok: () => boolean, timeoutMs = 15_000) {
  for (const deadline = Date.now() + timeoutMs; !ok() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
}
const sends = (d: Doubles) => d.sent.map((s) => `${s.stepId}/${s.channel}`);
const types = (d: Doubles) => d.journal.map((j) => j.type);
const reply = (inboundId: string) => ({ inboundId, receivedAt: new Date().toISOString(), from: 'compta@martin.example', subject: 'Re: Facture', excerpt: 'Nous avons payé.' });

describe('a human reply', () => {
  it('holds the reminders until replyHoldMax (default 5 days), then escalation resumes', async () => {
    const { handle, doubles, worker, startedAt, reminder1At } = await start();
    try {
      await handle.signal(replyReceivedSignal, reply('in-1'));
      await handle.signal(replyReceivedSignal, reply('in-1'));
      const held = await handle.query(statusQuery);
      expect(held.holding).toMatchObject({ kind: 'reply' });
      expect(Date.parse(held.holding!.until!) - startedAt).toBeGreaterThanOrEqual(5 * DAY - 60_000);
      expect(Date.parse(held.holding!.until!) - startedAt).toBeLessThan(5 * DAY + 60_000);
      await sleepUntilMs(Date.parse(reminder1At) + DAY);
      expect(sends(doubles)).toEqual([]);
      await sleepUntilMs(startedAt + 5 * DAY + 60_000);
      expect(sends(doubles)).toEqual(['reminder-1/email']);
      expect(Date.parse(doubles.sent[0]!.at) - startedAt).toBeGreaterThanOrEqual(5 * DAY - 60_000);
      expect(types(doubles).filter((t) => t === 'reply-hold')).toHaveLength(1);
      expect(types(doubles)).toContain('reply-hold-expired');
      await recordHistory(env.client, 'reply-hold-expired', handle.workflowId);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('the hold ends when a collector marks the reply read; the calendar is kept', async () => {
    const { handle, doubles, worker, reminder1At } = await start();
    try {
      await handle.signal(replyReceivedSignal, reply('in-2'));
      await env.sleep(DAY);
      expect((await handle.query(statusQuery)).holding?.kind).toBe('reply');
      await handle.signal(replyReadSignal, { inboundId: 'in-2' });
      expect((await handle.query(statusQuery)).holding).toBeUndefined();
      await sleepUntilMs(Date.parse(reminder1At) + 60_000);
      expect(sends(doubles)).toEqual(['reminder-1/email']);
      expect(Math.abs(Date.parse(doubles.sent[0]!.at) - Date.parse(reminder1At))).toBeLessThan(1_000);
      expect(types(doubles)).toEqual(expect.arrayContaining(['reply-hold', 'reply-read']));
      await recordHistory(env.client, 'reply-hold-read', handle.workflowId);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('with onReply: note the reply is only recorded', async () => {
    const { handle, doubles, worker, reminder1At } = await start({ ...POLICY, onReply: 'note' });
    try {
      await handle.signal(replyReceivedSignal, reply('in-3'));
      expect((await handle.query(statusQuery)).holding).toBeUndefined();
      await sleepUntilMs(Date.parse(reminder1At) + 60_000);
      expect(sends(doubles)).toEqual(['reminder-1/email']);
      expect(types(doubles)).toContain('reply-noted');
    } finally {
      await cleanup(handle, worker);
    }
  });
});

describe('a payment in flight', () => {
  const pending = (reference: string, status: 'pending' | 'failed' = 'pending') => ({ reference, status, source: 'stripe', amountMinor: 100_000 });

  it('holds until it expires (default 10 days)', async () => {
    const { handle, doubles, worker, startedAt } = await start();
    try {
      await handle.signal(pendingPaymentSignal, pending('pi_1'));
      expect((await handle.query(statusQuery)).holding).toMatchObject({ kind: 'pending-payment', reason: 'pi_1' });
      await sleepUntilMs(startedAt + 9 * DAY);
      expect(sends(doubles)).toEqual([]);
      await sleepUntilMs(startedAt + 10 * DAY + 60_000);
      expect(sends(doubles)[0]).toBe('reminder-1/email');
      expect(Date.parse(doubles.sent[0]!.at) - startedAt).toBeGreaterThanOrEqual(10 * DAY - 60_000);
      expect(types(doubles)).toEqual(expect.arrayContaining(['payment-pending', 'pending-payment-expired']));
      await recordHistory(env.client, 'pending-payment-expired', handle.workflowId);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('a failure releases it; the reminder goes out as scheduled', async () => {
    const { handle, doubles, worker, reminder1At } = await start();
    try {
      await handle.signal(pendingPaymentSignal, pending('pi_2'));
      await env.sleep(DAY);
      expect(sends(doubles)).toEqual([]);
      await handle.signal(pendingPaymentSignal, { ...pending('pi_2', 'failed'), reason: 'insufficient funds' });
      expect((await handle.query(statusQuery)).holding).toBeUndefined();
      await sleepUntilMs(Date.parse(reminder1At) + 60_000);
      expect(sends(doubles)).toEqual(['reminder-1/email']);
      expect(types(doubles)).toContain('pending-payment-failed');
    } finally {
      await cleanup(handle, worker);
    }
  });

});

describe('an undeliverable send', () => {
  it('a permanent bounce sends the step again on its fallback channel; a transient one is noted', async () => {
    const { handle, doubles, worker, reminder1At } = await start();
    try {
      await sleepUntilMs(Date.parse(reminder1At) + 60_000);
      expect(sends(doubles)).toEqual(['reminder-1/email']);
      await handle.signal(deliveryFailedSignal, { reference: 'inbound:a', stepId: 'reminder-1', channel: 'email', permanent: false, reason: 'bounced 4.2.2' });
      await handle.signal(deliveryFailedSignal, { reference: 'inbound:b', stepId: 'reminder-1', channel: 'email', permanent: true, reason: 'bounced 5.1.1' });
      await handle.signal(deliveryFailedSignal, { reference: 'inbound:b', stepId: 'reminder-1', channel: 'email', permanent: true, reason: 'bounced 5.1.1' });
      // The journal is flushed after the send: wait for both.
      await waitFor(() => sends(doubles).length >= 2 && types(doubles).includes('fallback'));
      expect(sends(doubles)).toEqual(['reminder-1/email', 'reminder-1/letter']);
      expect(doubles.sent[1]!.idempotencyKey).toMatch(/\/reminder-1\/letter$/);
      expect(types(doubles)).toEqual(expect.arrayContaining(['delivery-delayed', 'delivery-failed', 'fallback']));
      expect((await handle.query(statusQuery)).completedSteps).toEqual(['reminder-1']);
      await recordHistory(env.client, 'bounce-fallback', handle.workflowId);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('an undelivered SMS falls back to a letter', async () => {
    const { handle, doubles, worker, startedAt } = await start();
    try {
      await sleepUntilMs(startedAt + 9 * DAY + 60_000);
      expect(sends(doubles)).toEqual(['reminder-1/email', 'reminder-2/sms']);
      await handle.signal(deliveryFailedSignal, { reference: 'twilio:SM1', stepId: 'reminder-2', channel: 'sms', permanent: true, reason: 'SMS undelivered' });
      await waitFor(() => sends(doubles).length >= 3);
      expect(sends(doubles)).toEqual(['reminder-1/email', 'reminder-2/sms', 'reminder-2/letter']);
    } finally {
      await cleanup(handle, worker);
    }
  });
});

describe('a payment in flight, then the payment', () => {
  const pending = (reference: string) => ({ reference, status: 'pending' as const, source: 'stripe', amountMinor: 100_000 });

  it('the payment it announced ends it (an ordinary payment, partial here)', async () => {
    const { handle, doubles, worker } = await start();
    try {
      await handle.signal(pendingPaymentSignal, pending('pi_3'));
      await handle.signal(paymentReceivedSignal, { paymentId: 'stripe:pi_3', amountMinor: 40_000, currency: 'EUR', receivedAt: new Date().toISOString(), source: 'stripe' });
      const s = await handle.query(statusQuery);
      expect(s.holding).toBeUndefined();
      expect(s.balanceMinor).toBe(60_000);
      expect(types(doubles)).toContain('pending-payment-arrived');
    } finally {
      await cleanup(handle, worker);
    }
  });
});
