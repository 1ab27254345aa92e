// A run of the pure dunning core for tests: workflow time is a clock the test moves, every
// patch is on (a new run), and holidays a decision needs are looked up the way the workflow's
// calendar activity does (date-holidays through domain/schedule.ts). No Temporal server.
import type { InvoiceDunningInput } from '../../../contracts/messages';
import { HolidaysNeeded, nextAction, type Action } from '../../../domain/dunning/next-action';
import { createRun, type Run } from '../../../domain/dunning/state';
import { dunningInputFor, publicHolidays } from '../../../domain/schedule';
import type { DunningPolicy, InvoiceSnapshot } from '../../../domain/types';

export interface TestRun extends Run {
  clock: { ms: number };
}

export function testRun(invoice: InvoiceSnapshot, policy: DunningPolicy, startMs: number, extra: Partial<InvoiceDunningInput> = {}): TestRun {
  const clock = { ms: startMs };
  const run = createRun(dunningInputFor(invoice, policy, extra), { now: () => clock.ms, has: () => true, warn: () => {} }) as TestRun;
  run.clock = clock;
  return run;
}

/** Runs schedule maths, adding any year of holidays it asks for (what the workflow's withHolidays does). */
export function withHolidays<T>(run: Run, compute: () => T): T {
  for (let fetched = 0; ; fetched += 1) {
    try {
      return compute();
    } catch (err) {
      if (!(err instanceof HolidaysNeeded) || fetched >= 5) throw err;
      run.state.holidays = { ...run.state.holidays, [`${err.country}:${err.year}`]: [...publicHolidays(err.country, err.year)].sort() };
    }
  }
}

export const decide = (run: Run): Action => withHolidays(run, () => nextAction(run));
