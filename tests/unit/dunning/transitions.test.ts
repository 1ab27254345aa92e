// Examples of the dunning core's transitions and decisions (domain/dunning/), run directly.
import { describe, expect, it } from 'vitest';
import { calendarAction, channelRouter, immediateAction, nextStepDue } from '../../../domain/dunning/next-action';
import { CONSOLIDATION_PATCH, SMS_BATCH_PATCH } from '../../../domain/dunning/patches';
import { holidaysAhead, initialState, knownPaymentIds, PAYMENTS_KEEP, paymentLines, upgradeState } from '../../../domain/dunning/state';
import * as t from '../../../domain/dunning/transitions';
import { FR_B2B_DEFAULT } from '../../../domain/policy';
import { dunningInputFor } from '../../../domain/schedule';
import type { PolicyStep } from '../../../domain/types';
import { invoice } from '../domain/helpers';
import { decide, testRun, withHolidays } from './run';

const DAY = 86_400_000;
const inv = invoice({ dueDate: '2026-03-16', amountMinor: 100_000 });
const fresh = (atIso = '2026-03-01T10:00:00Z') => {
  const run = testRun(inv, FR_B2B_DEFAULT, Date.parse(atIso));
  t.issued(run);
  return run;
};
const pay = (paymentId: string, amountMinor: number, currency = 'EUR') => ({ paymentId, amountMinor, currency, receivedAt: '2026-03-02T10:00:00Z', source: 'test' });
const types = (run: ReturnType<typeof fresh>) => run.state.timeline.map((e) => e.type);

describe('transitions', () => {
  it('a payment lowers the balance once; a repeat or a wrong currency changes nothing but the timeline', () => {
    const run = fresh();
    t.paymentSignal(run, pay('p1', 30_000));
    t.paymentSignal(run, pay('p1', 30_000));
    t.paymentSignal(run, pay('p2', 10_000, 'USD'));
    expect(run.state.balanceMinor).toBe(70_000);
    expect(types(run)).toEqual(['issued', 'payment-received', 'payment-rejected']);
    expect(t.recordPayment(run, pay('p1', 30_000))).toEqual({ balanceMinor: 70_000 });
  });

  it('a plan is validated field by field, confirmed by a notice listing its instalments, and paid oldest first', () => {
    const run = fresh();
    expect(() => t.validatePlan(run, { instalments: [{ due: '2026-04-01', amountMinor: 50_000 }] })).toThrow(new t.Refusal('instalments', 'instalments sum to 50000 but the balance is 100000'));
    expect(() => t.validatePlan(run, { instalments: [{ due: '2026-02-01', amountMinor: 100_000 }] })).toThrow(/instalments\[0\]\.due: must be in the future/);
    const plan = { instalments: [{ due: '2026-04-01', amountMinor: 60_000 }, { due: '2026-05-01', amountMinor: 40_000 }] };
    t.validatePlan(run, plan);
    t.proposePlan(run, plan);
    expect(immediateAction(run)).toMatchObject({ kind: 'notice', notice: { templateId: 'plan-confirmed', plan: { instalments: [{ dueDate: '2026-04-01', amountMinor: 60_000 }, { dueDate: '2026-05-01', amountMinor: 40_000 }] } } });
    run.state.notices.shift();
    t.paymentSignal(run, pay('p1', 70_000));
    expect(run.state.plan?.instalments.map((i) => i.paidMinor)).toEqual([60_000, 10_000]);
    // Held until the open instalment's due date plus the policy's grace.
    expect(calendarAction(run)).toMatchObject({ kind: 'wait', expiry: { hold: 'plan' } });
  });

  it('a missed instalment breaks the plan: a plan-breached notice, and the calendar resumes at the next step', () => {
    const run = fresh();
    t.proposePlan(run, { instalments: [{ due: '2026-04-01', amountMinor: 100_000 }] });
    run.state.notices.shift();
    const wait = calendarAction(run);
    if (wait.kind !== 'wait' || wait.untilMs === undefined || !wait.expiry) throw new Error(`expected a bounded wait, got ${wait.kind}`);
    run.clock.ms = wait.untilMs;
    t.waitExpired(run, wait.expiry, false);
    expect(run.state.plan).toBeUndefined();
    expect(immediateAction(run)).toMatchObject({ kind: 'notice', notice: { templateId: 'plan-breached' } });
    expect(types(run)).toContain('step-skipped'); // the courtesy step: the due date has passed
    const next = withHolidays(run, () => nextStepDue(run));
    expect(next?.step.id).toBe('reminder-1');
    expect(Date.parse(next!.at)).toBeGreaterThanOrEqual(run.clock.ms);
  });

  it("a promise holds until the end of its day plus the policy's grace; none under a plan", () => {
    const run = fresh();
    expect(() => t.validatePromise(run, { date: '2026-02-01' })).toThrow(/date: date must be in the future/);
    t.promiseToPay(run, { date: '2026-03-20' });
    expect(calendarAction(run)).toMatchObject({ kind: 'wait', untilMs: Date.parse('2026-03-20T23:59:59.999+01:00') + 2 * DAY, expiry: { hold: 'promise' } });
    t.proposePlan(run, { instalments: [{ due: '2026-04-01', amountMinor: 100_000 }] });
    expect(() => t.validatePromise(run, { date: '2026-03-25' })).toThrow(/an instalment plan is active/);
  });

  it('a dispute resolved by a credit note that settles the invoice closes it cancelled, without a receipt', () => {
    const run = fresh();
    t.openDispute(run, { reason: 'not delivered' });
    // No end: looked at again every holdRecheck (P30D by default), never expiring by itself.
    expect(calendarAction(run)).toEqual({ kind: 'wait', untilMs: run.clock.ms + 30 * DAY });
    t.resolveDispute(run, { outcome: 'credit-note', creditNoteMinor: 150_000 });
    expect(run.state.balanceMinor).toBe(0);
    expect(immediateAction(run)).toEqual({ kind: 'close', outcome: 'cancelled', receipt: false });
  });

  it('a cancellation closes the invoice (write-off as written-off)', () => {
    const run = fresh();
    t.cancel(run, { reason: 'write-off' });
    expect(decide(run)).toEqual({ kind: 'close', outcome: 'written-off', receipt: false });
  });

  it('the agency period closes the invoice when it ends, unless a message came meanwhile', () => {
    const run = fresh();
    t.calendarExhausted(run);
    const wait = calendarAction(run);
    expect(wait).toMatchObject({ kind: 'wait', expiry: { close: 'agency-closed' } });
    if (wait.kind !== 'wait' || !wait.expiry) throw new Error('expected a wait');
    t.waitExpired(run, wait.expiry, true);
    expect(run.state.outcome).toBeUndefined();
    t.agencyOutcome(run, { status: 'recovered', amountRecoveredMinor: 100_000 });
    expect(calendarAction(run)).toEqual({ kind: 'close', outcome: 'agency-recovered', receipt: false });
  });

  it('a policy migration names the next step; the same version is refused', () => {
    const run = fresh();
    expect(() => t.validateMigratePolicy(run, { policy: FR_B2B_DEFAULT })).toThrow(new t.Refusal('policy.version', 'the invoice already runs fr-b2b-default@1'));
    run.state.completedSteps.push('courtesy');
    expect(t.migratePolicy(run, { policy: { ...FR_B2B_DEFAULT, version: 2 }, reason: 'new terms' })).toEqual({ from: 'fr-b2b-default@1', to: 'fr-b2b-default@2', nextStep: 'reminder-1' });
  });

  it('a late start skips all past steps but the latest; a courtesy step due after the due date is skipped, not sent', () => {
    const run = testRun(inv, FR_B2B_DEFAULT, Date.parse('2026-03-20T10:00:00Z'));
    t.issued(run);
    withHolidays(run, () => t.catchUpOnStart(run));
    const a = decide(run);
    expect(a).toMatchObject({ kind: 'step', step: { id: 'courtesy' } });
    if (a.kind !== 'step') throw new Error('expected a step');
    expect(t.skippedAsMoot(run, a.step)).toBe(true);
    expect(decide(run)).toMatchObject({ kind: 'step', step: { id: 'reminder-1' } });
  });
});

describe('carried state', () => {
  it(`keeps at most ${PAYMENTS_KEEP} payments in full; older ones still count (totals by date, ids for dedup and the settled check)`, () => {
    const run = testRun(invoice({ amountMinor: 10_000_000 }), FR_B2B_DEFAULT, Date.parse('2026-03-01T10:00:00Z'));
    for (let i = 0; i < 250; i += 1) t.paymentSignal(run, { ...pay(`p${i}`, 100), receivedAt: new Date(Date.parse('2026-03-02T10:00:00Z') + i * 3_600_000).toISOString() });
    t.paymentSignal(run, pay('p3', 100)); // a repeat of a folded payment
    expect(run.state.payments).toHaveLength(PAYMENTS_KEEP);
    expect(run.state.earlierPayments).toMatchObject({ count: 150, amountMinor: 15_000 });
    expect(run.state.balanceMinor).toBe(10_000_000 - 25_000);
    expect(knownPaymentIds(run.state)).toHaveLength(250);
    expect(paymentLines(run.state, run.tz).reduce((s, l) => s + l.amountMinor, 0)).toBe(25_000);
    expect(run.state.earlierPayments!.byDate.length).toBeLessThan(10);
  });

  it('upgradeState brings a version-1 state (every payment in full) to today\'s shape', () => {
    const old = { ...initialState(dunningInputFor(inv, FR_B2B_DEFAULT)), version: undefined };
    old.payments = Array.from({ length: PAYMENTS_KEEP + 20 }, (_, i) => pay(`p${i}`, 1));
    const state = upgradeState(JSON.parse(JSON.stringify(old)), 'Europe/Paris');
    expect(state.version).toBe(2);
    expect(state.payments).toHaveLength(PAYMENTS_KEEP);
    expect(state.earlierPayments).toMatchObject({ count: 20, amountMinor: 20, byDate: [{ date: '2026-03-02', amountMinor: 20 }] });
  });

  it('carries only the holidays of this year and later', () => {
    expect(holidaysAhead({ 'FR:2025': ['2025-12-25'], 'FR:2026': ['2026-12-25'], 'FR:2027': [] }, 2026)).toEqual({ 'FR:2026': ['2026-12-25'], 'FR:2027': [] });
  });
});

describe('channel routes of a step', () => {
  const step: PolicyStep = { id: 'reminder-1', offset: 'P3D', templateId: 'reminder-1', channels: ['email', 'sms'] };
  /** A run whose patch answers come from `on`, recording which patches were asked, in order. */
  const routed = (consolidate: 'friendly' | 'off', on: string[], channels = step.channels) => {
    const run = testRun(inv, { ...FR_B2B_DEFAULT, consolidate }, Date.parse('2026-03-20T10:00:00Z'));
    const asked: string[] = [];
    run.has = (id) => (asked.push(id), on.includes(id));
    const routeOf = channelRouter(run, { ...step, channels });
    return { routes: channels.map((c) => [c, routeOf(c)]), asked };
  };

  it('grouping on: the email hands off the SMS too; before the SMS patch the SMS goes alone; a formal step never batches', () => {
    expect(routed('friendly', [SMS_BATCH_PATCH, CONSOLIDATION_PATCH])).toEqual({
      routes: [['email', { via: 'batch', channels: ['email', 'sms'] }], ['sms', { via: 'carried' }]],
      asked: [SMS_BATCH_PATCH, CONSOLIDATION_PATCH],
    });
    expect(routed('friendly', [CONSOLIDATION_PATCH])).toEqual({
      routes: [['email', { via: 'batch', channels: ['email'] }], ['sms', { via: 'alone' }]],
      asked: [SMS_BATCH_PATCH, CONSOLIDATION_PATCH],
    });
    // An SMS-only step hands off its SMS.
    expect(routed('friendly', [SMS_BATCH_PATCH, CONSOLIDATION_PATCH], ['sms']).routes).toEqual([['sms', { via: 'batch', channels: ['sms'] }]]);
    // A run recorded before both patches sends at step time (the SMS patch is asked first).
    expect(routed('friendly', [])).toEqual({ routes: [['email', { via: 'alone' }], ['sms', { via: 'alone' }]], asked: [SMS_BATCH_PATCH, CONSOLIDATION_PATCH] });
  });

  it('grouping off: every channel alone, and no patch is asked (older histories get no marker)', () => {
    expect(routed('off', [SMS_BATCH_PATCH, CONSOLIDATION_PATCH])).toEqual({ routes: [['email', { via: 'alone' }], ['sms', { via: 'alone' }]], asked: [] });
  });
});
