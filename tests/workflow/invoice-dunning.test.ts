// The invoiceDunning workflow under time skipping: months of calendar in seconds,
// with activity doubles (the channels have their own tests against real peers).
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { FR_B2B_DEFAULT, TEN_TWENTY } from '../../domain/policy';
import type { DunningPolicy, InvoiceSnapshot } from '../../domain/types';
import {
  agencyOutcomeSignal,
  cancelInvoiceSignal,
  openDisputeSignal,
  pauseSignal,
  paymentReceivedSignal,
  proposeInstalmentPlanUpdate,
  recordPromiseToPayUpdate,
  resolveDisputeSignal,
  resumeSignal,
  statusQuery,
} from '../../contracts/messages';
import { recordHistory } from '../helpers/histories';
import {
  cleanup,
  dunningInput,
  invoiceFixture,
  makeDoubles,
  parisClock,
  parisDatePlus,
  startInvoice,
  useTestEnv,
  type Doubles,
  type FailingChannels,
} from './harness';

let env: TestWorkflowEnvironment;
useTestEnv((e) => (env = e));

const DAY = 86_400_000;
/** With RECORD_HISTORIES=1, the run joins the replay corpus (tests/replay). */
const record = (name: string, handle: { workflowId: string }, runId?: string) => recordHistory(env.client, name, handle.workflowId, runId);

function start(opts: {
  policy?: DunningPolicy;
  invoice?: Partial<InvoiceSnapshot>;
  dueInDays?: number;
  failing?: FailingChannels;
  continueAsNewAfterEvents?: number;
  /** `{}`: no holidays in the input, the workflow fetches them (local activity). */
  holidays?: Record<string, string[]>;
}) {
  return startInvoice(env, {
    queue: 'wf',
    dueInDays: opts.dueInDays,
    invoice: opts.invoice,
    doubles: makeDoubles(opts.failing),
    input: (invoice) =>
      dunningInput(invoice, opts.policy ?? FR_B2B_DEFAULT, {
        continueAsNewAfterEvents: opts.continueAsNewAfterEvents,
        ...(opts.holidays ? { holidays: opts.holidays } : {}),
      }),
  });
}

/** Advance server time until just after a local Paris instant. */
async function sleepUntil(iso: string, extraMs = 60_000) {
  const now = await env.currentTimeMs();
  const ms = Date.parse(iso) - now + extraMs;
  if (ms > 0) await env.sleep(ms);
}

const steps = (d: Doubles) => d.sent.map((s) => `${s.stepId}/${s.channel}`);
const pay = (paymentId: string, amountMinor: number) => ({
  paymentId,
  amountMinor,
  currency: 'EUR',
  receivedAt: new Date().toISOString(),
  source: 'test',
});

function expectInSendWindow(iso: string) {
  const local = DateTime.fromISO(iso, { zone: 'Europe/Paris' });
  expect(local.weekday, `${parisClock(iso)} is a weekday`).toBeLessThan(6);
  expect(local.hour * 60 + local.minute, `${parisClock(iso)} after 09:00`).toBeGreaterThanOrEqual(9 * 60);
  expect(local.hour, `${parisClock(iso)} before 18:00`).toBeLessThan(18);
}

describe('invoiceDunning (time skipping)', () => {
  it('paid before the due date: only the courtesy reminder, then a receipt', async () => {
    const { handle, doubles, worker, invoice } = await start({});
    try {
      const courtesyAt = (await handle.query(statusQuery)).nextAction;
      expect(courtesyAt?.stepId).toBe('courtesy');
      await sleepUntil(courtesyAt!.at);
      expect(steps(doubles)).toEqual(['courtesy/email']);
      await handle.signal(paymentReceivedSignal, pay('p1', 100_000));
      expect(await handle.result()).toEqual({ outcome: 'paid', balanceMinor: 0 });
      expect(steps(doubles)).toEqual(['courtesy/email', 'receipt/email']);
      // J-3 in the customer's zone, moved into the send window.
      const courtesy = doubles.sent[0];
      expectInSendWindow(courtesy.at);
      expect(DateTime.fromISO(courtesy.at, { zone: 'Europe/Paris' }).toISODate()! >= DateTime.fromISO(invoice.dueDate).minus({ days: 3 }).toISODate()!).toBe(true);
      expect(courtesy.idempotencyKey).toBe(`invoice-${invoice.number}/courtesy/email`);
      await record('paid-before-due', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('paid after reminder 1: reminder 1 by email with a phone task, nothing after the payment', async () => {
    const { handle, doubles, worker } = await start({});
    try {
      await sleepUntil((await handle.query(statusQuery)).nextAction!.at); // courtesy
      const r1 = (await handle.query(statusQuery)).nextAction!;
      expect(r1.stepId).toBe('reminder-1');
      await sleepUntil(r1.at);
      expect(steps(doubles)).toEqual(['courtesy/email', 'reminder-1/email']);
      expect(doubles.phoneTasks).toEqual(['reminder-1']);
      await handle.signal(paymentReceivedSignal, pay('p1', 100_000));
      expect((await handle.result()).outcome).toBe('paid');
      expect(steps(doubles)).toEqual(['courtesy/email', 'reminder-1/email', 'receipt/email']);
      for (const s of doubles.sent) expectInSendWindow(s.at);
      await record('paid-after-reminder-1-phone-task', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('partial payment lowers the balance the next reminder states, a duplicate signal counts once, then full payment', async () => {
    const { handle, doubles, worker } = await start({ dueInDays: 4 });
    try {
      await sleepUntil((await handle.query(statusQuery)).nextAction!.at);
      await handle.signal(paymentReceivedSignal, pay('p1', 30_000));
      await handle.signal(paymentReceivedSignal, pay('p1', 30_000)); // provider retry: same id
      const st = await handle.query(statusQuery);
      expect(st.balanceMinor).toBe(70_000);
      expect(st.payments).toHaveLength(1);
      expect(st.nextAction?.stepId).toBe('reminder-1');
      await sleepUntil(st.nextAction!.at);
      const r1 = doubles.sent.find((s) => s.stepId === 'reminder-1');
      expect(r1?.balanceMinor).toBe(70_000);
      expect(r1?.penaltiesMinor, 'late interest + €40 indemnity accrue after the due date').toBeGreaterThan(4000);
      await handle.signal(paymentReceivedSignal, pay('p2', 70_000));
      expect(await handle.result()).toEqual({ outcome: 'paid', balanceMinor: 0 });
      await record('partial-payment-duplicate-signal', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('instalment plan met: no reminder while instalments are paid on time', async () => {
    const { handle, doubles, worker, startedAt } = await start({ dueInDays: 5 });
    try {
      const plan = await handle.executeUpdate(proposeInstalmentPlanUpdate, {
        args: [{ instalments: [{ due: parisDatePlus(startedAt, 20), amountMinor: 50_000 }, { due: parisDatePlus(startedAt, 50), amountMinor: 50_000 }] }],
      });
      expect(plan.instalments).toHaveLength(2);
      expect((await handle.query(statusQuery)).holding?.kind).toBe('plan');
      await env.sleep(19 * DAY);
      await handle.signal(paymentReceivedSignal, pay('i1', 50_000));
      await env.sleep(29 * DAY);
      await handle.signal(paymentReceivedSignal, pay('i2', 50_000));
      expect((await handle.result()).outcome).toBe('paid');
      expect(steps(doubles)).toEqual([expect.stringMatching(/^plan-confirmed-\d+\/email$/), 'receipt/email']);
      await record('plan-met', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('plan breached: a missed instalment voids the plan after grace, a notice goes out and escalation resumes one step at a time', async () => {
    const { handle, doubles, worker, startedAt } = await start({ dueInDays: 5 });
    try {
      await handle.executeUpdate(proposeInstalmentPlanUpdate, {
        args: [{ instalments: [{ due: parisDatePlus(startedAt, 20), amountMinor: 50_000 }, { due: parisDatePlus(startedAt, 40), amountMinor: 50_000 }] }],
      });
      await env.sleep(19 * DAY);
      await handle.signal(paymentReceivedSignal, pay('i1', 50_000));
      // Second instalment missed: grace is 5 days.
      await env.sleep(30 * DAY);
      const st = await handle.query(statusQuery);
      expect(st.plan).toBeUndefined();
      expect(st.timeline.map((t) => t.type)).toContain('plan-breached');
      const kinds = steps(doubles);
      expect(kinds.some((k) => k.startsWith('plan-breached'))).toBe(true);
      // Escalation resumed at the next step only, not every overdue step at once.
      const policySteps = doubles.sent.filter((s) => FR_B2B_DEFAULT.steps.some((p) => p.id === s.stepId)).map((s) => s.stepId);
      expect(policySteps).toEqual(['reminder-1']);
      expect(st.nextAction?.stepId).toBe('reminder-2');
      await handle.signal(cancelInvoiceSignal, { reason: 'write-off' });
      expect((await handle.result()).outcome).toBe('written-off');
      await record('plan-breached', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('an invalid plan is rejected with a reason and changes nothing', async () => {
    const { handle, worker, startedAt } = await start({});
    try {
      const bad = [
        { instalments: [{ due: parisDatePlus(startedAt, 20), amountMinor: 40_000 }] },
        { instalments: [{ due: parisDatePlus(startedAt, -2), amountMinor: 100_000 }] },
        { instalments: [{ due: parisDatePlus(startedAt, 30), amountMinor: 50_000 }, { due: parisDatePlus(startedAt, 20), amountMinor: 50_000 }] },
        { instalments: Array.from({ length: 20 }, (_, i) => ({ due: parisDatePlus(startedAt, 10 + i), amountMinor: 5_000 })) },
      ];
      const reasons: string[] = [];
      for (const proposal of bad) {
        const err = await handle.executeUpdate(proposeInstalmentPlanUpdate, { args: [proposal] }).catch((e) => e);
        expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
        reasons.push((err as WorkflowUpdateFailedError).cause?.message ?? '');
      }
      expect(reasons[0]).toMatch(/sum to 40000 but the balance is 100000/);
      expect(reasons[1]).toMatch(/instalments\[0\]\.due: must be in the future/);
      expect(reasons[2]).toMatch(/instalments\[1\]\.due: dates must be strictly ascending/);
      expect(reasons[3]).toMatch(/at most 12 instalments/);
      const st = await handle.query(statusQuery);
      expect(st.plan).toBeUndefined();
      expect(st.timeline.map((t) => t.type)).not.toContain('plan-agreed');
      await handle.signal(cancelInvoiceSignal, { reason: 'issued-in-error' });
      expect((await handle.result()).outcome).toBe('cancelled');
      await record('plan-rejected', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('promise kept: reminders wait for the promised date and the payment ends it', async () => {
    const { handle, doubles, worker, startedAt } = await start({ dueInDays: 10 });
    try {
      const { until } = await handle.executeUpdate(recordPromiseToPayUpdate, { args: [{ date: parisDatePlus(startedAt, 25) }] });
      expect(Date.parse(until)).toBeGreaterThan(startedAt + 25 * DAY);
      await env.sleep(24 * DAY);
      expect(steps(doubles)).toEqual([]);
      await handle.signal(paymentReceivedSignal, pay('p', 100_000));
      expect((await handle.result()).outcome).toBe('paid');
      expect(steps(doubles)).toEqual(['receipt/email']);
      await record('promise-kept', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('promise broken: escalation resumes after the promised date plus grace', async () => {
    const { handle, doubles, worker, startedAt } = await start({ dueInDays: 10 });
    try {
      await handle.executeUpdate(recordPromiseToPayUpdate, { args: [{ date: parisDatePlus(startedAt, 25) }] });
      await env.sleep(32 * DAY);
      const st = await handle.query(statusQuery);
      expect(st.timeline.map((t) => t.type)).toContain('promise-broken');
      expect(st.promise).toBeUndefined();
      // The promise swallowed the courtesy and reminder-1 dates: the courtesy is moot once
      // overdue, escalation resumes at reminder-1, and reminder-2 keeps its 8-day spacing.
      expect(steps(doubles)).toEqual(['reminder-1/email']);
      expect(Date.parse(doubles.sent[0].at)).toBeGreaterThan(startedAt + 27 * DAY);
      await handle.signal(cancelInvoiceSignal, { reason: 'credit-note' });
      expect((await handle.result()).outcome).toBe('cancelled');
      await record('promise-broken', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('a dispute stops reminders until it is resolved, then escalation resumes; cancellation ends it', async () => {
    const { handle, doubles, worker } = await start({ dueInDays: 10 });
    try {
      await handle.signal(openDisputeSignal, { reason: 'wrong quantity delivered' });
      await env.sleep(40 * DAY);
      expect(steps(doubles)).toEqual([]);
      expect((await handle.query(statusQuery)).holding?.kind).toBe('dispute');
      await handle.signal(resolveDisputeSignal, { outcome: 'creditor', note: 'delivery note signed' });
      await env.sleep(4 * DAY);
      expect(steps(doubles)).toEqual(['reminder-1/email']);
      await handle.signal(cancelInvoiceSignal, { reason: 'write-off' });
      expect(await handle.result()).toEqual({ outcome: 'written-off', balanceMinor: 100_000 });
      expect(steps(doubles)).toEqual(['reminder-1/email']);
      await record('dispute-resolved-creditor', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('a dispute resolved by a credit note covering the balance cancels the invoice without a receipt', async () => {
    const { handle, doubles, worker } = await start({});
    try {
      await handle.signal(openDisputeSignal, { reason: 'goods returned' });
      await handle.signal(resolveDisputeSignal, { outcome: 'credit-note', creditNoteMinor: 100_000 });
      expect((await handle.result()).outcome).toBe('cancelled');
      expect(steps(doubles)).toEqual([]);
      await record('dispute-credit-note', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('full escalation to agency handover, then a payment during the listening period', async () => {
    const { handle, doubles, worker, invoice } = await start({});
    try {
      // J+68 (due at day 10) can move past a weekend or holiday to the next 09:00: day 85 is safely after.
      await env.sleep(85 * DAY);
      const order = [...new Set(doubles.sent.map((s) => s.stepId))];
      expect(order).toEqual(FR_B2B_DEFAULT.steps.map((s) => s.id));
      expect(steps(doubles).sort()).toEqual([
        'courtesy/email',
        'reminder-1/email',
        'reminder-2/email',
        'reminder-2/sms',
        'formal-notice/letter',
        'formal-notice/email',
        'final-notice/email',
        'final-notice/letter',
        'agency-handover/agency',
      ].sort());
      for (const s of doubles.sent) expectInSendWindow(s.at);
      const due = DateTime.fromISO(invoice.dueDate, { zone: 'Europe/Paris' });
      const formal = DateTime.fromISO(doubles.sent.find((s) => s.stepId === 'formal-notice')!.at, { zone: 'Europe/Paris' });
      expect(formal.diff(due, 'days').days).toBeGreaterThanOrEqual(30);
      expect(formal.diff(due, 'days').days).toBeLessThan(34);
      const st = await handle.query(statusQuery);
      expect(st.stage).toBe('agency-handover');
      expect(st.penalties?.indemnityMinor).toBe(4000);
      await handle.signal(paymentReceivedSignal, pay('late', 100_000));
      expect((await handle.result()).outcome).toBe('paid');
      await record('agency-handover-then-paid', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('after the handover with no payment nor outcome, the workflow closes after its listening period', async () => {
    const { handle, worker } = await start({ policy: { ...FR_B2B_DEFAULT, agencyListenFor: 'P30D' } });
    try {
      await env.sleep(120 * DAY);
      expect(await handle.result()).toEqual({ outcome: 'agency-closed', balanceMinor: 100_000 });
      await record('agency-listening-closed', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('a channel that fails for good falls back as the policy says (no email → letter)', async () => {
    const { handle, doubles, worker } = await start({ failing: { email: 'NoRecipient' } });
    try {
      await env.sleep(45 * DAY);
      const st = await handle.query(statusQuery);
      const fallbacks = st.timeline.filter((t) => t.type === 'fallback').map((t) => `${t.detail?.stepId}:${t.detail?.from}->${t.detail?.to}`);
      expect(fallbacks).toEqual(['reminder-1:email->letter', 'reminder-2:email->letter']);
      expect(steps(doubles).sort()).toEqual(['reminder-1/letter', 'reminder-2/letter', 'reminder-2/sms', 'formal-notice/letter'].sort());
      // The courtesy has no fallback; formal-notice already sends a letter, so its failed email copy adds none.
      expect(st.timeline.filter((t) => t.type === 'send-failed').map((t) => t.detail?.stepId)).toEqual(['courtesy', 'reminder-1', 'reminder-2', 'formal-notice']);
      await handle.signal(cancelInvoiceSignal, { reason: 'write-off' });
      await handle.result();
      await record('fallback-email-to-letter', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('continue-as-new carries the whole state', async () => {
    const { handle, doubles, worker } = await start({ policy: TEN_TWENTY, continueAsNewAfterEvents: 20 });
    try {
      await env.sleep(22 * DAY); // reminder-1 at J+10 = day 20
      await handle.signal(paymentReceivedSignal, pay('a', 10_000));
      await handle.signal(paymentReceivedSignal, pay('b', 10_000));
      await env.sleep(11 * DAY); // reminder-2 at J+20 = day 30
      const desc = await handle.describe();
      const first = await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
      expect(desc.runId).not.toBe(first.runId);
      const st = await env.client.workflow.getHandle(handle.workflowId).query(statusQuery);
      expect(st.balanceMinor).toBe(80_000);
      expect(st.payments.map((p) => p.paymentId)).toEqual(['a', 'b']);
      expect(st.completedSteps).toEqual(['reminder-1', 'reminder-2']);
      expect(st.timeline.map((t) => t.type)).toContain('issued');
      // A payment id seen before the continue-as-new is still recognised.
      await env.client.workflow.getHandle(handle.workflowId).signal(paymentReceivedSignal, pay('a', 10_000));
      expect((await env.client.workflow.getHandle(handle.workflowId).query(statusQuery)).balanceMinor).toBe(80_000);
      await env.client.workflow.getHandle(handle.workflowId).signal(paymentReceivedSignal, pay('c', 80_000));
      expect((await env.client.workflow.getHandle(handle.workflowId).result()).outcome).toBe('paid');
      expect(steps(doubles).filter((s) => s.startsWith('reminder'))).toEqual(['reminder-1/email', 'reminder-2/email']);
      await record('continue-as-new-run-1', handle, handle.firstExecutionRunId);
      await record('continue-as-new', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('a pause without an end holds until resumed; a pause with an end expires by itself', async () => {
    const { handle, doubles, worker } = await start({ dueInDays: 10 });
    try {
      await handle.signal(pauseSignal, { reason: 'customer in hospital' });
      await env.sleep(40 * DAY);
      expect(steps(doubles)).toEqual([]);
      expect((await handle.query(statusQuery)).holding).toMatchObject({ kind: 'pause', reason: 'customer in hospital' });
      await handle.signal(resumeSignal, { note: 'back' });
      await env.sleep(4 * DAY);
      expect(steps(doubles)).toEqual(['reminder-1/email']);
      const until = parisDatePlus(await env.currentTimeMs(), 10);
      await handle.signal(pauseSignal, { reason: 'customer on holiday', until });
      expect((await handle.query(statusQuery)).holding?.kind).toBe('pause');
      await env.sleep(12 * DAY);
      const st = await handle.query(statusQuery);
      expect(st.timeline.map((t) => t.type)).toEqual(expect.arrayContaining(['paused', 'resumed', 'pause-expired']));
      expect(st.holding).toBeUndefined();
      await handle.signal(cancelInvoiceSignal, { reason: 'write-off' });
      expect((await handle.result()).outcome).toBe('written-off');
      await record('pause-resume-and-expiry', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('the agency reports a partial recovery then the file closed as recovered: the balance drops, the invoice closes as recovered', async () => {
    const { handle, doubles, worker } = await start({});
    try {
      await env.sleep(85 * DAY);
      expect(steps(doubles)).toContain('agency-handover/agency');
      await handle.signal(agencyOutcomeSignal, { status: 'partially-recovered', amountRecoveredMinor: 30_000 });
      expect((await handle.query(statusQuery)).balanceMinor).toBe(70_000);
      // The agency settles the rest with the customer itself (a discount, its fee): no amount reported.
      await handle.signal(agencyOutcomeSignal, { status: 'recovered', note: 'settled' });
      expect(await handle.result()).toEqual({ outcome: 'agency-recovered', balanceMinor: 70_000 });
      await record('agency-recovered', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('imported late: the steps already past are skipped but the latest, which goes out at once', async () => {
    const { handle, doubles, worker } = await start({ dueInDays: -20 });
    try {
      await env.sleep(1 * DAY);
      const st = await handle.query(statusQuery);
      const skipped = st.timeline.filter((t) => t.type === 'step-skipped').map((t) => t.detail?.stepId);
      expect(skipped).toEqual(['courtesy', 'reminder-1']);
      // The step's channels go out in parallel: their order is not part of the rule.
      expect(steps(doubles).sort()).toEqual(['reminder-2/email', 'reminder-2/sms']);
      await handle.signal(cancelInvoiceSignal, { reason: 'issued-in-error' });
      expect((await handle.result()).outcome).toBe('cancelled');
      await record('imported-late', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });
});

describe('calendar edge cases (time skipping)', () => {
  /** The next year whose given month-day is at least `minDays` away from now. */
  function nextOccurrence(nowMs: number, month: number, day: number, minDays = 10): DateTime {
    const now = DateTime.fromMillis(nowMs, { zone: 'Europe/Paris' });
    let d = DateTime.fromObject({ year: now.year, month, day }, { zone: 'Europe/Paris' });
    while (d.diff(now, 'days').days < minDays) d = d.plus({ years: 1 });
    return d;
  }

  it('a reminder falling on Christmas moves to the next business day at 09:00 Paris time', async () => {
    const now = await env.currentTimeMs();
    const christmas = nextOccurrence(now, 12, 25);
    const dueDate = christmas.minus({ days: 7 }).toISODate()!;
    // No holidays in the input: the workflow fetches both years itself (the recorded history shows it).
    const { handle, doubles, worker } = await start({ invoice: { dueDate }, holidays: {} });
    try {
      await sleepUntil(christmas.plus({ days: 6 }).toISO()!);
      const r1 = doubles.sent.find((s) => s.stepId === 'reminder-1')!;
      // Independent expectation: first day after 24 Dec that is not a weekend, 25 Dec or 1 Jan.
      let expected = christmas;
      while (expected.weekday >= 6 || expected.toFormat('LL-dd') === '12-25' || expected.toFormat('LL-dd') === '01-01') expected = expected.plus({ days: 1 });
      expect(parisClock(r1.at)).toBe(`${expected.toISODate()} ${expected.toFormat('ccc')} 09:00`);
      await handle.signal(cancelInvoiceSignal, { reason: 'write-off' });
      await handle.result();
      // Holidays of two years fetched through the local activity: a history for the replay tests.
      await recordHistory(env.client, 'christmas-holidays', handle.workflowId);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('holidays that cannot be fetched (malformed country) leave weekends only, noted in the timeline; the calendar goes on', async () => {
    const base = invoiceFixture({ dueDate: '2026-01-01' });
    const { handle, doubles, worker } = await start({ invoice: { customer: { ...base.customer, country: 'F1' } }, dueInDays: 5, holidays: {} });
    try {
      // J+7 after a due date 5 days out, plus a weekend at most.
      await sleepUntil(DateTime.fromMillis(await env.currentTimeMs()).plus({ days: 16 }).toISO()!);
      const st = await handle.query(statusQuery);
      const unavailable = st.timeline.filter((t) => t.type === 'holidays-unavailable');
      expect(unavailable.length).toBeGreaterThan(0);
      expect(unavailable[0].detail).toMatchObject({ country: 'F1' });
      expect(doubles.sent.map((x) => x.stepId)).toEqual(expect.arrayContaining(['courtesy', 'reminder-1']));
      expect(st.outcome).toBeUndefined();
      await record('holidays-unavailable', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('across the spring daylight-saving change the send stays at 09:00 local (07:00Z after, 08:00Z before)', async () => {
    const now = await env.currentTimeMs();
    // Last Sunday of March: the clocks go forward at 02:00.
    let dst = nextOccurrence(now, 3, 31, 40);
    while (dst.weekday !== 7) dst = dst.minus({ days: 1 });
    const dueDate = dst.minus({ days: 7 }).toISODate()!; // J+7 = the DST Sunday
    const { handle, doubles, worker } = await start({ invoice: { dueDate } });
    try {
      await sleepUntil(dst.plus({ days: 2 }).toISO()!);
      const courtesy = doubles.sent.find((s) => s.stepId === 'courtesy')!;
      const r1 = doubles.sent.find((s) => s.stepId === 'reminder-1')!;
      expect(parisClock(r1.at)).toBe(`${dst.plus({ days: 1 }).toISODate()} Mon 09:00`);
      expect(new Date(r1.at).getUTCHours()).toBe(7);
      expect(parisClock(courtesy.at).endsWith('09:00')).toBe(true);
      expect(new Date(courtesy.at).getUTCHours()).toBe(8);
      await handle.signal(cancelInvoiceSignal, { reason: 'write-off' });
      await handle.result();
      await record('dst-spring', handle);
    } finally {
      await cleanup(handle, worker);
    }
  });
});
