// One conversation per customer (issue 18), time skipping: the invoices' workflows hand the
// email of their friendly steps to `customer-<id>`, which sends one email per business day
// at the batch time through the real batch activity (PGlite communication log, SMTP sink),
// after asking each invoice whether its step is still due; the SMS of a batched step goes as
// one SMS per customer per batch through the real batch SMS activity (the Twilio fake). Letters
// are doubles here.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataConverterFromEnv } from '../../codec/index';
import { createSendBatchEmail } from '../../activities/batch-email';
import { createSendBatchSms } from '../../activities/batch-sms';
import { createSendSms } from '../../activities/sms';
import { createCustomerActivities } from '../../activities/customer';
import { createSendEmail } from '../../activities/email';
import { createLocalActivities } from '../../activities/local';
import { invoiceTimeline } from '../../api/invoices';
import { customerStatusQuery } from '../../contracts/consolidation';
import { customerWorkflowIdFor, workflowIdFor } from '../../contracts/ids';
import { paymentReceivedSignal, statusQuery } from '../../contracts/messages';
import { nextBatchAt } from '../../domain/consolidation';
import { getBuiltinPolicy } from '../../domain/policy';
import { anchorInstant, publicHolidays, stepInstant } from '../../domain/schedule';
import { SMS_MAX_LENGTH } from '../../domain/templates/render';
import type { DunningPolicy, InvoiceSnapshot } from '../../domain/types';
import { startMailSink, type MailSink, type SinkMessage } from '../../tools/peers/mail-sink';
import { startTwilioFake, type TwilioFake } from '../../tools/peers/sms-fake';
import { workflowBundle } from '../../worker/create-worker';
import { customerConversation } from '../../workflows/customer-conversation';
import { recordHistory } from '../helpers/histories';
import { createTimeSkippingEnv } from '../helpers/temporal';
import { memoryLogger, seedInvoice, startTestDb, testConfig, type TestDb } from '../channels/support';
import { dunningInput, invoiceDunning, invoiceFixture, makeDoubles, parisDatePlus, startTestWorker, uniqueQueue } from './harness';

let env: TestWorkflowEnvironment;
let db: TestDb;
let sink: MailSink;
let sms: TwilioFake;
const TWILIO = { TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef', TWILIO_AUTH_TOKEN: 'test-auth-token', TWILIO_FROM: '+33757000000' };

beforeAll(async () => {
  [env, db, sink, sms] = await Promise.all([
    createTimeSkippingEnv(),
    startTestDb(),
    startMailSink({ smtpPort: 0, webPort: 0 }),
    startTwilioFake({ port: 0, accountSid: TWILIO.TWILIO_ACCOUNT_SID, authToken: TWILIO.TWILIO_AUTH_TOKEN }),
    workflowBundle(),
  ]);
}, 180_000);
afterAll(async () => {
  await Promise.all([env?.teardown(), db?.stop(), sink?.stop(), sms?.stop()]);
});

/** Reminder at J+7 (friendly, batched), formal notice at J+14 (letter + email, never batched). */
const GROUPED: DunningPolicy = {
  ...getBuiltinPolicy('fr-b2b-default'),
  id: 'grouped',
  steps: [
    { id: 'reminder-1', offset: 'P7D', channels: ['email'], templateId: 'reminder-1', stage: 'reminder-1' },
    { id: 'formal-notice', offset: 'P14D', channels: ['letter', 'email'], templateId: 'formal-notice', stage: 'formal-notice' },
  ],
  consolidate: 'friendly',
  consolidateWaitFor: 'PT1H',
};

/** The same day's step on email and SMS (friendly): both go in the customer's batch. */
const GROUPED_SMS: DunningPolicy = {
  ...GROUPED,
  id: 'grouped-sms',
  steps: [{ id: 'reminder-2', offset: 'P7D', channels: ['email', 'sms'], templateId: 'reminder-2', stage: 'reminder-2' }],
};

function workers(taskQueue: string) {
  const doubles = makeDoubles();
  const deps = { prisma: db.prisma, config: testConfig({ SMTP_PORT: String(sink.smtpPort), TWILIO_API_BASE: sms.url, ...TWILIO }), log: memoryLogger() };
  const acts = {
    ...doubles.activities,
    ...createLocalActivities(deps),
    sendEmail: createSendEmail(deps),
    sendBatchEmail: createSendBatchEmail(deps),
    sendSms: createSendSms(deps),
    sendBatchSms: createSendBatchSms(deps),
    ...createCustomerActivities(env.client),
  };
  return { doubles, start: () => startTestWorker(env, taskQueue, acts) };
}

function customerOf(id: string): Partial<InvoiceSnapshot> {
  const base = invoiceFixture({ dueDate: '2026-01-01' }).customer;
  return { customer: { ...base, id, name: `Client ${id}`, email: `compta@${id.toLowerCase()}.example` } };
}

async function issue(taskQueue: string, invoice: InvoiceSnapshot, policy = GROUPED) {
  await seedInvoice(db.prisma, invoice);
  return env.client.workflow.start(invoiceDunning, { taskQueue, workflowId: workflowIdFor(invoice.number), args: [dunningInput(invoice, policy)] });
}

/** The batch instant of an invoice's reminder-1, as the policy places it. */
function batchOf(invoice: InvoiceSnapshot): number {
  const at = stepInstant({ anchor: anchorInstant(invoice), offset: 'P7D', timeZone: 'Europe/Paris', country: 'FR', window: GROUPED.sendWindow });
  return Date.parse(nextBatchAt({ fromMs: Date.parse(at), timeZone: 'Europe/Paris', country: 'FR', at: '09:30', window: GROUPED.sendWindow, holidays: publicHolidays }));
}

const keyOf = (m: SinkMessage) => m.headers.get('x-relance-idempotency-key') as string | undefined;
/** Invoice numbers an email lists, read from its plain text. */
const listed = (m: SinkMessage) => [...(m.text ?? '').matchAll(/Facture n°(\S+) du/g)].map((x) => x[1]).sort();

const silentLog = () => undefined;
const quiet = { log: silentLog, trace: silentLog, debug: silentLog, info: silentLog, warn: silentLog, error: silentLog };

describe('one conversation per customer', () => {
  it('a customer workflow that does not answer lets the invoice send alone, and the timeline says why', async () => {
    const taskQueue = uniqueQueue('customer');
    const { start } = workers(taskQueue);
    const worker = await start();
    const now = await env.currentTimeMs();
    const id = `C3${Math.random().toString(36).slice(2, 6).toUpperCase()}`;
    // Running, but a build of it that never answers: it takes the hand-off and never acknowledges.
    const silentQueue = uniqueQueue('silent');
    const silent = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: silentQueue,
      workflowBundle: await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('./silent-customer.ts', import.meta.url)), logger: quiet }),
      dataConverter: dataConverterFromEnv(),
    });
    const silentRun = silent.run();
    const stuck = await env.client.workflow.start(customerConversation, {
      taskQueue: silentQueue,
      workflowId: customerWorkflowIdFor(id),
      args: [{ customer: customerOf(id).customer! }],
    });
    const invoice = invoiceFixture({ number: `${id}-1`, dueDate: parisDatePlus(now, 2), ...customerOf(id) });
    const handle = await issue(taskQueue, invoice);
    try {
      await env.sleep(batchOf(invoice) + 2 * 3600_000 - (await env.currentTimeMs()));
      const key = `${workflowIdFor(invoice.number)}/reminder-1/email`;
      await expect.poll(() => sink.messages().filter((m) => keyOf(m) === key).length, { timeout: 30_000, interval: 200 }).toBe(1);
      const st = await handle.query(statusQuery);
      expect(st.completedSteps).toContain('reminder-1');
      const bypass = st.timeline.find((t) => t.type === 'batch-bypassed');
      expect(bypass?.detail).toMatchObject({ stepId: 'reminder-1', customerWorkflowId: customerWorkflowIdFor(id) });
      expect(String(bypass?.detail?.reason)).toMatch(/did not acknowledge within PT1H/);
      // Sent alone one hour after the hand-off (the policy's bound), not held until the batch.
      const handedOff = st.timeline.find((t) => t.type === 'batch-queued')!;
      const sent = st.timeline.find((t) => t.type === 'sent' && t.detail?.stepId === 'reminder-1')!;
      expect(Date.parse(sent.at) - Date.parse(handedOff.at)).toBeGreaterThanOrEqual(3600_000);
      expect(Date.parse(sent.at) - Date.parse(handedOff.at)).toBeLessThan(3600_000 + 60_000);
      await recordHistory(env.client, 'invoice-batch-bypassed', handle.workflowId);
    } finally {
      await handle.terminate('test over').catch(() => undefined);
      await stuck.terminate('test over').catch(() => undefined);
      await worker.stop();
      silent.shutdown();
      await silentRun;
    }
  }, 90_000);

  it('five invoices due the same day: one email listing the five; one paid between queueing and sending is not listed; a formal notice is a letter of its own', async () => {
    const taskQueue = uniqueQueue('customer');
    const { doubles, start } = workers(taskQueue);
    const worker = await start();
    const now = await env.currentTimeMs();
    const due = parisDatePlus(now, 3);
    const run = Math.random().toString(36).slice(2, 6).toUpperCase();
    const c1 = `C1${run}`;
    const c2 = `C2${run}`;
    const inv = (customer: string, i: number, dueDate = due) => invoiceFixture({ number: `${customer}-${i}`, dueDate, ...customerOf(customer) });
    const five = [1, 2, 3, 4, 5].map((i) => inv(c1, i));
    // Due a week earlier: its formal notice falls on the day the others' reminder does.
    const formal = inv(c1, 9, parisDatePlus(Date.parse(`${due}T12:00:00Z`), -7));
    const others = [1, 2, 3, 4, 5].map((i) => inv(c2, i));
    const paidMeanwhile = others[2]!;
    const handles: Array<Awaited<ReturnType<typeof issue>>> = [];
    // C2's conversation is started ahead with a short history limit: it continues as new
    // between the hand-offs and the batch, carrying the queued steps (as it does after years).
    const c2First = await env.client.workflow.start(customerConversation, {
      taskQueue,
      workflowId: customerWorkflowIdFor(c2),
      args: [{ customer: others[0]!.customer, continueAsNewAfterEvents: 20 }],
    });
    try {
      for (const invoice of [...five, formal, ...others]) handles.push(await issue(taskQueue, invoice));
      const batchAt = batchOf(five[0]!);
      expect(batchOf(others[0]!)).toBe(batchAt);

      // Queued at 09:00 (the window's start), before the 09:30 batch: one of C2's is paid now.
      await env.sleep(batchAt - 20 * 60_000 - (await env.currentTimeMs()));
      const queued = await env.client.workflow.getHandle(customerWorkflowIdFor(c2)).query(customerStatusQuery);
      expect(queued.pending.map((p) => p.invoiceNumber).sort()).toEqual(others.map((o) => o.number).sort());
      await env.client.workflow
        .getHandle(workflowIdFor(paidMeanwhile.number))
        .signal(paymentReceivedSignal, { paymentId: 'bank:paid-1', amountMinor: 100_000, currency: 'EUR', receivedAt: new Date(await env.currentTimeMs()).toISOString(), source: 'bank' });
      await env.sleep(batchAt + 10 * 60_000 - (await env.currentTimeMs()));

      const batchDate = parisDatePlus(batchAt, 0);
      const c1Key = `customer-${c1}/${batchDate}/email`;
      const c2Key = `customer-${c2}/${batchDate}/email`;
      await expect.poll(() => sink.messages().filter((m) => keyOf(m) === c1Key || keyOf(m) === c2Key).length, { timeout: 30_000, interval: 200 }).toBe(2);
      const c1Mail = sink.messages().filter((m) => keyOf(m) === c1Key);
      const c2Mail = sink.messages().filter((m) => keyOf(m) === c2Key);
      // One email each, to the customer, listing its invoices still due.
      expect(c1Mail).toHaveLength(1);
      expect(c1Mail[0]!.to).toEqual([`compta@${c1.toLowerCase()}.example`]);
      expect(listed(c1Mail[0]!)).toEqual(five.map((i) => i.number).sort());
      expect(c1Mail[0]!.text).toContain('Total restant dû : 5');
      expect(c1Mail[0]!.text).toContain('jours de retard');
      expect(c1Mail[0]!.text).toContain(five[0]!.paymentLink);
      expect(c1Mail[0]!.subject).toMatch(/Relance : 5 factures en retard de paiement/);
      expect(c2Mail).toHaveLength(1);
      expect(listed(c2Mail[0]!)).toEqual(others.filter((o) => o !== paidMeanwhile).map((o) => o.number).sort());
      // Nothing else of reminder-1 went to either customer that day: no per-invoice reminder.
      const ours = (m: SinkMessage) => [c1, c2].some((c) => keyOf(m)?.startsWith(`invoice-${c}-`));
      expect(sink.messages().filter((m) => ours(m) && /\/reminder-1\/email$/.test(keyOf(m) ?? ''))).toEqual([]);

      // The formal notice: its letter and its email on their own, not in the batch.
      expect(doubles.sent.filter((s) => s.stepId === 'formal-notice' && s.channel === 'letter').map((s) => s.idempotencyKey)).toEqual([
        `${workflowIdFor(formal.number)}/formal-notice/letter`,
      ]);
      expect(sink.messages().filter((m) => keyOf(m) === `${workflowIdFor(formal.number)}/formal-notice/email`)).toHaveLength(1);

      // Each invoice marks its step done from the report, and its timeline shows the one communication.
      await expect.poll(async () => (await handles[0]!.query(statusQuery)).completedSteps, { timeout: 15_000, interval: 200 }).toContain('reminder-1');
      const st = await handles[0]!.query(statusQuery);
      expect(st.timeline.find((t) => t.type === 'sent' && t.detail?.stepId === 'reminder-1')?.detail).toMatchObject({ batchKey: c1Key, invoices: 5 });
      const row = await db.prisma.communication.findUniqueOrThrow({ where: { idempotencyKey: c1Key }, include: { invoices: true } });
      expect(row.status).toBe('SENT');
      expect(row.invoices.map((i) => i.invoiceNumber).sort()).toEqual(five.map((i) => i.number).sort());
      expect(row.invoices.every((i) => i.invoiceId)).toBe(true);
      const timeline = await invoiceTimeline(db.prisma, five[3]!.number);
      expect(timeline.entries.find((e) => e.kind === 'communication' && e.detail.batch === c1Key)?.detail).toMatchObject({
        invoices: five.map((i) => i.number).sort(),
        status: 'SENT',
      });
      // The paid one closed without a reminder; the customer's workflow recorded why it dropped out.
      // Not result(): on the time-skipping client it leaves time skipping locked for the next test.
      const paidHandle = env.client.workflow.getHandle(workflowIdFor(paidMeanwhile.number));
      expect((await paidHandle.describe()).status.name).toBe('COMPLETED');
      expect(await paidHandle.query(statusQuery)).toMatchObject({ outcome: 'paid', balanceMinor: 0 });
      expect((await paidHandle.query(statusQuery)).timeline.map((t) => t.type)).not.toContain('sent');
      const c2Status = await env.client.workflow.getHandle(customerWorkflowIdFor(c2)).query(customerStatusQuery);
      expect(c2Status.recent.at(-1)).toMatchObject({ batchKey: c2Key, dropped: [{ invoiceNumber: paidMeanwhile.number }] });
      expect(c2Status.pending).toEqual([]);
      const c2Latest = await env.client.workflow.getHandle(customerWorkflowIdFor(c2)).describe();
      expect(c2Latest.runId).not.toBe(c2First.firstExecutionRunId);
      await recordHistory(env.client, 'customer-conversation-continued-run-1', customerWorkflowIdFor(c2), c2First.firstExecutionRunId);
      await recordHistory(env.client, 'customer-conversation-continued', customerWorkflowIdFor(c2));

      await recordHistory(env.client, 'customer-conversation', customerWorkflowIdFor(c1));
      await recordHistory(env.client, 'invoice-batched-reminder', workflowIdFor(five[0]!.number));
    } finally {
      for (const h of handles) await h.terminate('test over').catch(() => undefined);
      for (const c of [c1, c2]) await env.client.workflow.getHandle(customerWorkflowIdFor(c)).terminate('test over').catch(() => undefined);
      await worker.stop();
    }
  }, 120_000);

  it('SMS batched too: one SMS per customer per batch with the count, the total and the payment link; one communication covering the invoices', async () => {
    const taskQueue = uniqueQueue('customer');
    const { start } = workers(taskQueue);
    const worker = await start();
    const now = await env.currentTimeMs();
    const id = `C4${Math.random().toString(36).slice(2, 6).toUpperCase()}`;
    const three = [1, 2, 3].map((i) => invoiceFixture({ number: `${id}-${i}`, dueDate: parisDatePlus(now, 3), ...customerOf(id) }));
    const handles: Array<Awaited<ReturnType<typeof issue>>> = [];
    try {
      for (const invoice of three) handles.push(await issue(taskQueue, invoice, GROUPED_SMS));
      const batchAt = batchOf(three[0]!);
      await env.sleep(batchAt + 10 * 60_000 - (await env.currentTimeMs()));
      const batchDate = parisDatePlus(batchAt, 0);
      const smsKey = `customer-${id}/${batchDate}/sms`;
      const emailKey = `customer-${id}/${batchDate}/email`;
      await expect.poll(() => sms.received.filter((m) => m.idempotencyToken === smsKey).length, { timeout: 30_000, interval: 200 }).toBe(1);
      const text = sms.received.find((m) => m.idempotencyToken === smsKey)!;
      expect(text.to).toBe('+33612345678');
      // How many, the total (3 × 1,000.00 € still due) and the one link, in two segments at most.
      expect(text.body).toMatch(/^Atelier Durand SAS : 2e relance, 3 factures impayées \(la plus ancienne échue le \d\d\/\d\d\/\d{4}\), total restant dû 3.000,00.€\. Payer : https:\/\/pay\.example\.test\/inv$/u);
      expect(text.body.length).toBeLessThanOrEqual(SMS_MAX_LENGTH);
      // No SMS of the step per invoice; the email went as its own batch message.
      expect(sms.received.filter((m) => m.idempotencyToken?.startsWith(`invoice-${id}-`))).toEqual([]);
      await expect.poll(() => sink.messages().filter((m) => keyOf(m) === emailKey).length, { timeout: 15_000, interval: 200 }).toBe(1);
      // The communication log: one SMS covering the three invoices.
      const row = await db.prisma.communication.findUniqueOrThrow({ where: { idempotencyKey: smsKey }, include: { invoices: true } });
      expect(row).toMatchObject({ channel: 'sms', status: 'SENT', workflowId: customerWorkflowIdFor(id) });
      expect(row.invoices.map((i) => i.invoiceNumber).sort()).toEqual(three.map((i) => i.number));
      // Each invoice marks its step done on both channels from the one report.
      for (const h of handles) {
        await expect.poll(async () => (await h.query(statusQuery)).completedSteps, { timeout: 15_000, interval: 200 }).toContain('reminder-2');
        const sent = (await h.query(statusQuery)).timeline.filter((t) => t.type === 'sent' && t.detail?.stepId === 'reminder-2');
        expect(sent.map((t) => [t.detail?.channel, t.detail?.batchKey, t.detail?.invoices]).sort()).toEqual([
          ['email', emailKey, 3],
          ['sms', smsKey, 3],
        ]);
      }
      const timeline = await invoiceTimeline(db.prisma, three[1]!.number);
      expect(timeline.entries.find((e) => e.kind === 'communication' && e.detail.batch === smsKey)?.detail).toMatchObject({ invoices: three.map((i) => i.number), status: 'SENT' });
      const status = await env.client.workflow.getHandle(customerWorkflowIdFor(id)).query(customerStatusQuery);
      expect(status.recent.at(-1)).toMatchObject({ batchKey: emailKey, status: 'SENT', sms: { batchKey: smsKey, status: 'SENT', listed: three.map((i) => i.number) } });
      await recordHistory(env.client, 'customer-conversation-sms-spread', customerWorkflowIdFor(id));
      await recordHistory(env.client, 'invoice-batched-sms', workflowIdFor(three[0]!.number));
    } finally {
      for (const h of handles) await h.terminate('test over').catch(() => undefined);
      await env.client.workflow.getHandle(customerWorkflowIdFor(id)).terminate('test over').catch(() => undefined);
      await worker.stop();
    }
  }, 120_000);
});
