// Calendar dates as "YYYY-MM-DD" strings, counted in whole days, and the customer's local
// date at an instant: the one home of day arithmetic (issue 12; tests/unit/foundation/
// one-home.test.ts keeps it so). Pure: reads no clock, so the workflow imports it.
import { DateTime } from 'luxon';

const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A calendar day of UTC time; for instant arithmetic (retention ages), not for local dates. */
export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a real YYYY-MM-DD date, or undefined (2026-02-30, 2026-1-1, ...). */
function epochDayOf(isoDate: string): number | undefined {
  const m = ISO_DATE_RE.exec(isoDate);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999, and "0033-01-03"
  // is a calendar date the document allows (found by the API fuzz).
  const back = new Date(0);
  back.setUTCFullYear(y, mo - 1, d);
  const ms = back.getTime();
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms / MS_PER_DAY : undefined;
}

/** Whether `value` is a real calendar date written YYYY-MM-DD. */
export function isCalendarDate(value: string): boolean {
  return epochDayOf(value) !== undefined;
}

/** Days since 1970-01-01 of a calendar date; throws naming anything but a real YYYY-MM-DD date. */
export function epochDay(isoDate: string): number {
  const day = epochDayOf(isoDate);
  if (day === undefined) throw new Error(`Invalid date ${JSON.stringify(isoDate)}: expected a real YYYY-MM-DD date`);
  return day;
}

export function dateFromEpochDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (positive when `to` is later). */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from);
}

/** A calendar date plus `days` calendar days (negative: earlier). */
export function addDays(isoDate: string, days: number): string {
  return dateFromEpochDay(epochDay(isoDate) + days);
}

/**
 * The calendar date (YYYY-MM-DD) in `timeZone` at an instant: epoch milliseconds, a Date, or
 * an ISO string (one without an offset is a wall-clock time in `timeZone`). This is what
 * "today" and "the day it was paid" mean for a customer. Throws naming a bad zone or instant.
 */
export function localDate(instant: string | number | Date, timeZone: string): string {
  const dt =
    typeof instant === 'string'
      ? DateTime.fromISO(instant, { zone: timeZone })
      : DateTime.fromMillis(typeof instant === 'number' ? instant : instant.getTime(), { zone: timeZone });
  if (!dt.isValid) {
    throw new Error(`No local date of ${JSON.stringify(instant)} in ${JSON.stringify(timeZone)}: ${dt.invalidExplanation ?? dt.invalidReason}`);
  }
  return dt.toISODate() as string;
}

/** The UTC calendar date of an instant: how a DATE column read from the database (UTC midnight) reads as YYYY-MM-DD. */
export function utcDate(instant: Date | number): string {
  const ms = typeof instant === 'number' ? instant : instant.getTime();
  return dateFromEpochDay(Math.floor(ms / MS_PER_DAY));
}
