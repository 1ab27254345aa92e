// Properties of the pure dunning core (domain/dunning/), over arbitrary times, holds and
// payments, with no Temporal server: what the workflow decides is what these functions say.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stepAt } from '../../../domain/dunning/next-action';
import * as t from '../../../domain/dunning/transitions';
import { FR_B2B_DEFAULT } from '../../../domain/policy';
import type { PolicyStep } from '../../../domain/types';
import { invoice } from '../domain/helpers';
import { decide, testRun, withHolidays, type TestRun } from './run';

const DAY = 86_400_000;
const DUE = '2026-03-16'; // a Monday
const start = (run: TestRun) => {
  t.issued(run);
  withHolidays(run, () => t.catchUpOnStart(run));
};

/**
 * Plays the workflow's loop with no message until `untilMs`: steps run at their instant,
 * holds expire at their bound. Returns the steps run, with the time each ran.
 */
function drive(run: TestRun, untilMs: number): Array<{ step: PolicyStep; at: number }> {
  const ran: Array<{ step: PolicyStep; at: number }> = [];
  for (let i = 0; i < 50 && !run.state.outcome; i += 1) {
    const a = decide(run);
    if (a.kind === 'close') t.close(run, a.outcome);
    else if (a.kind === 'notice') run.state.notices.shift();
    else if (a.kind === 'resend') run.state.resends?.shift();
    else if (a.kind === 'exhausted') t.calendarExhausted(run);
    else if (a.kind === 'wait') {
      if (a.untilMs === undefined || a.untilMs > untilMs) break;
      run.clock.ms = Math.max(run.clock.ms, a.untilMs);
      if (a.expiry) t.waitExpired(run, a.expiry, false);
    } else {
      const at = Date.parse(a.at);
      if (at > untilMs) break;
      run.clock.ms = Math.max(run.clock.ms, at);
      if (t.skippedAsMoot(run, a.step) || t.approvalNeeded(run, a.step)) continue;
      t.stepStarted(run, a.step);
      ran.push({ step: a.step, at: run.clock.ms });
      t.stepDone(run, a.step, 0);
    }
  }
  return ran;
}

const runArb = fc.record({
  issuedDaysBeforeDue: fc.integer({ min: -20, max: 60 }),
  hours: fc.integer({ min: 0, max: 23 }),
});
const newRun = ({ issuedDaysBeforeDue, hours }: { issuedDaysBeforeDue: number; hours: number }) => {
  const inv = invoice({ dueDate: DUE, issueDate: '2026-01-01' });
  const run = testRun(inv, FR_B2B_DEFAULT, Date.parse(`${DUE}T00:00:00Z`) - issuedDaysBeforeDue * DAY + hours * 3_600_000);
  start(run);
  return run;
};

describe('the dunning core: properties', () => {
  it('no send decision once the balance is settled, whatever the calendar and holds', () => {
    fc.assert(
      fc.property(
        runArb,
        fc.integer({ min: 0, max: 120 }),
        fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 5 }),
        fc.constantFrom('none', 'pause', 'dispute', 'promise'),
        (r, laterDays, amounts, hold) => {
          const run = newRun(r);
          drive(run, run.clock.ms + laterDays * DAY);
          if (hold === 'pause') t.pause(run, { reason: 'asked' });
          if (hold === 'dispute') t.openDispute(run, { reason: 'wrong amount' });
          if (hold === 'promise') t.promiseToPay(run, { date: new Date(run.clock.ms + 5 * DAY).toISOString() });
          const balance = run.state.balanceMinor;
          const total = amounts.reduce((a, b) => a + b, 0);
          // The last payment settles it (whatever came before).
          [...amounts, balance].forEach((amountMinor, i) =>
            t.paymentSignal(run, { paymentId: `p${i}`, amountMinor: i === amounts.length ? Math.max(balance - total, 1) : amountMinor, currency: 'EUR', receivedAt: new Date(run.clock.ms).toISOString(), source: 'test' }),
          );
          if (run.state.outcome) return;
          expect(run.state.balanceMinor).toBeLessThanOrEqual(0);
          const a = decide(run);
          expect(a).toMatchObject({ kind: 'close', outcome: 'paid', receipt: true });
          expect(drive(run, run.clock.ms + 400 * DAY)).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a hold shifts the calendar: after it, steps resume one at a time with their spacing, never a burst of overdue steps', () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: 0, max: 70 }), fc.integer({ min: 1, max: 150 }), fc.boolean(), (r, pausedAfterDays, heldDays, withEnd) => {
        const run = newRun(r);
        const sentBefore = drive(run, run.clock.ms + pausedAfterDays * DAY);
        const pausedAt = run.clock.ms + 1;
        run.clock.ms = pausedAt;
        const endMs = pausedAt + heldDays * DAY;
        t.pause(run, withEnd ? { reason: 'asked', until: new Date(endMs).toISOString() } : { reason: 'asked' });
        // Nothing runs while held; a pause with an end expires by itself, one without is resumed.
        const during = drive(run, endMs - 1);
        expect(during).toEqual([]);
        run.clock.ms = endMs;
        if (!withEnd) t.resume(run);
        const after = drive(run, endMs + 400 * DAY);
        for (const s of after) expect(s.at).toBeGreaterThanOrEqual(endMs);
        for (let i = 1; i < after.length; i += 1) expect(after[i].at - after[i - 1].at).toBeGreaterThan(DAY);
        // Every step runs once, in policy order, skipped or sent.
        const ids = [...sentBefore, ...after].map((s) => s.step.id);
        expect(new Set(ids).size).toBe(ids.length);
      }),
      { numRuns: 60 },
    );
  });

  it('no courtesy (pre-due) step runs after the due date, after a hold or on a late start', () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: 0, max: 10 }), fc.integer({ min: 0, max: 40 }), (r, pausedAfterDays, heldDays) => {
        const run = newRun(r);
        const ran = drive(run, run.clock.ms + pausedAfterDays * DAY);
        t.pause(run, { reason: 'asked' });
        run.clock.ms += heldDays * DAY;
        t.resume(run);
        ran.push(...drive(run, run.clock.ms + 400 * DAY));
        for (const s of ran.filter((x) => x.step.offset.startsWith('-'))) expect(s.at).toBeLessThan(run.anchorMs);
      }),
      { numRuns: 80 },
    );
  });

  it('the same inputs always give the same decision and state', () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: 0, max: 100 }), fc.integer({ min: 1, max: 50_000 }), (r, laterDays, paid) => {
        const play = () => {
          const run = newRun(r);
          drive(run, run.clock.ms + laterDays * DAY);
          t.paymentSignal(run, { paymentId: 'p', amountMinor: paid, currency: 'EUR', receivedAt: new Date(run.clock.ms).toISOString(), source: 'test' });
          return { action: decide(run), state: JSON.parse(JSON.stringify(run.state)) };
        };
        expect(play()).toEqual(play());
      }),
      { numRuns: 40 },
    );
  });

  it('step instants never move earlier when the calendar shifts', () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: 0, max: 90 }), (r, heldDays) => {
        const run = newRun(r);
        const before = run.policy.steps.map((s) => Date.parse(withHolidays(run, () => stepAt(run, s))));
        t.pause(run, { reason: 'asked' });
        run.clock.ms += heldDays * DAY;
        t.resume(run);
        run.policy.steps.forEach((s, i) => expect(Date.parse(withHolidays(run, () => stepAt(run, s)))).toBeGreaterThanOrEqual(before[i]));
      }),
      { numRuns: 40 },
    );
  });
});
