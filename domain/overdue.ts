// "Overdue", defined once (issue 12): an invoice is overdue when it is open (not closed,
// a balance left) and its due date is before today in the customer's time zone. A due
// date is payable all that day, so an invoice due today is not overdue yet, wherever the
// server's clock is. The workflow (days late in reminders, penalties), the API's list
// filter (api/overdue.ts turns this into a query) and the reports all follow it;
// tests/unit/foundation/one-home.test.ts fails when a second definition appears.
import { daysBetween, localDate } from './dates';

/** Whole days past due on the local date `asOf`: 0 on or before the due date. */
export function daysLate(dueDate: string, asOf: string): number {
  return Math.max(0, daysBetween(dueDate, asOf));
}

/** Whether the due date has passed on the local date `asOf`. */
export function isPastDue(dueDate: string, asOf: string): boolean {
  return daysLate(dueDate, asOf) > 0;
}

export interface OverdueFacts {
  dueDate: string;
  closed: boolean;
  balanceMinor: number;
}

/** An open invoice whose due date has passed on `asOf` (default: today in the customer's zone). */
export function isOverdue(invoice: OverdueFacts, asOf: string): boolean {
  return !invoice.closed && invoice.balanceMinor > 0 && isPastDue(invoice.dueDate, asOf);
}

/** Today in the customer's time zone at `nowMs`: the `asOf` of "overdue" when no date is given. */
export function customerToday(nowMs: number, timeZone: string): string {
  return localDate(nowMs, timeZone);
}

/**
 * For a query over many customers: the time zones grouped by their today at `nowMs`. At one
 * instant the world's zones (UTC−12 to UTC+14) span at most three dates, so a database
 * filter needs at most three (today, zones) pairs, whatever the number of customers.
 */
export function todaysOfZones(timeZones: Iterable<string>, nowMs: number): Array<{ today: string; timeZones: string[] }> {
  const byDay = new Map<string, string[]>();
  for (const tz of new Set(timeZones)) {
    const today = customerToday(nowMs, tz);
    byDay.set(today, [...(byDay.get(today) ?? []), tz]);
  }
  return [...byDay.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([today, zones]) => ({ today, timeZones: zones.sort() }));
}
