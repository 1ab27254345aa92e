// What a running invoice costs and how it ends when the code is wrong (issue 12): a
// plain Error from domain code ends in a recorded failure instead of endless workflow
// task retries; search attributes are upserted only when they change.
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { DunningDefectType } from '../../contracts/failures';
import { openDisputeSignal, pauseSignal, paymentReceivedSignal, statusQuery, type InvoiceDunningInput } from '../../contracts/messages';
import { FR_B2B_DEFAULT } from '../../domain/policy';
import type { DunningPolicy, InvoiceSnapshot } from '../../domain/types';
import { cleanup, dunningInput, startInvoice, useTestEnv } from './harness';

let env: TestWorkflowEnvironment;
useTestEnv((e) => (env = e));

function start(input: (invoice: InvoiceSnapshot) => InvoiceDunningInput, invoice?: Partial<InvoiceSnapshot>) {
  return startInvoice(env, { queue: 'hygiene', invoice, input });
}

/** The workflow's result, or 'still running' once `ms` of real time have passed (a task retried forever never ends). */
async function outcomeWithin(handle: { result(): Promise<unknown> }, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), ms)));
  try {
    return await Promise.race([handle.result().then((r) => ({ result: r }), (err: unknown) => err), bound]);
  } finally {
    clearTimeout(timer);
  }
}

function expectDefect(outcome: unknown, message: RegExp) {
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  const cause = (outcome as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe(DunningDefectType);
  expect((cause as ApplicationFailure).nonRetryable).toBe(true);
  expect((cause as ApplicationFailure).message).toMatch(message);
}

describe('a plain Error from domain code', () => {
  it('before the handlers are set (anchorInstant on an impossible due date): the workflow fails with a typed failure, journalled', async () => {
    // The API refuses such a date; a workflow started by hand or by an older API must not wedge.
    const { handle, doubles, worker } = await start((invoice) => ({ invoice, policy: FR_B2B_DEFAULT, holidays: {} }), { dueDate: '2026-02-30' });
    try {
      expectDefect(await outcomeWithin(handle, 20_000), /Invalid date "2026-02-30"/);
      expect(doubles.journal.map((e) => e.type)).toEqual(['failed']);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('in the loop (a send window that never opens): the timeline says failed, the stage is failed, the workflow fails typed', async () => {
    const policy: DunningPolicy = { ...FR_B2B_DEFAULT, sendWindow: { ...FR_B2B_DEFAULT.sendWindow, start: '18:00', end: '09:00' } };
    const { handle, doubles, worker } = await start((invoice) => dunningInput(invoice, FR_B2B_DEFAULT, { policy }));
    try {
      expectDefect(await outcomeWithin(handle, 20_000), /Send window start 18:00 must be before end 09:00/);
      expect(doubles.journal.map((e) => e.type)).toEqual(['issued', 'failed']);
      const desc = await handle.describe();
      expect(desc.searchAttributes.DunningStage).toEqual(['failed']);
    } finally {
      await cleanup(handle, worker);
    }
  });
});

describe('search attributes', () => {
  it('are upserted when they change, not on every wake-up', async () => {
    const { handle, worker } = await start((invoice) => dunningInput(invoice, FR_B2B_DEFAULT));
    try {
      // Three wake-ups that change nothing published: payments in another currency, refused.
      const rejected = async () => (await handle.query(statusQuery)).timeline.filter((e) => e.type === 'payment-rejected').length;
      for (let i = 1; i <= 3; i++) {
        await handle.signal(paymentReceivedSignal, { paymentId: `usd-${i}`, amountMinor: 100, currency: 'USD', receivedAt: new Date().toISOString(), source: 'test' });
        // One wake-up each: the next signal only once this one was handled.
        const deadline = Date.now() + 20_000;
        while ((await rejected()) < i && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      }
      const history = await handle.fetchHistory();
      // patched() markers upsert TemporalChangeVersion (the SDK's own): only ours are counted.
      const ours = (e: (typeof history.events & object)[number]) =>
        Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).filter((k) => k !== 'TemporalChangeVersion');
      const upserts = (history.events ?? []).filter((e) => ours(e).length > 0);
      expect(await rejected()).toBe(3);
      // The first publication; nothing after it changed a value.
      expect(upserts).toHaveLength(1);
    } finally {
      await cleanup(handle, worker);
    }
  });
});

describe('a hold without an end date', () => {
  const DAY = 86_400_000;
  it('a dispute wakes every holdRecheck (default P30D) so a long run can continue as new; it stays disputed', async () => {
    const { handle, worker } = await start((invoice) => dunningInput(invoice, FR_B2B_DEFAULT, { continueAsNewAfterEvents: 60 }));
    try {
      await handle.signal(openDisputeSignal, { reason: 'quantities contested' });
      // 400 days of an open dispute: nothing else happens to this invoice.
      await env.sleep(400 * DAY);
      const status = await handle.query(statusQuery);
      expect(status.holding?.kind).toBe('dispute');
      const history = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory();
      const timers = (history.events ?? []).filter((e) => e.timerFiredEventAttributes).length;
      const continued = (history.events ?? []).some((e) => e.workflowExecutionContinuedAsNewEventAttributes);
      // Woken about every 30 days, and the run, long enough, handed over to a new one.
      expect(timers + (continued ? 1 : 0)).toBeGreaterThanOrEqual(2);
      expect(continued).toBe(true);
      expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('a pause without an end: the policy\'s holdRecheck sets the wake-up interval', async () => {
    const policy = { ...FR_B2B_DEFAULT, holdRecheck: 'P10D' };
    const { handle, worker } = await start((invoice) => dunningInput(invoice, policy));
    try {
      await handle.signal(pauseSignal, { reason: 'customer in talks' });
      await env.sleep(45 * DAY);
      expect((await handle.query(statusQuery)).holding?.kind).toBe('pause');
      const history = await handle.fetchHistory();
      const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes);
      const lastTimers = timers.slice(-4).map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds));
      expect(lastTimers).toEqual([10, 10, 10, 10].map((d) => d * 86_400));
    } finally {
      await cleanup(handle, worker);
    }
  });
});
