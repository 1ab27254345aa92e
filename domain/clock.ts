// Conversions between instants and the customer's local calendar, used where a
// date (not an instant) is what the law or a letter talks about.
import { DateTime } from 'luxon';

const YMD = /^\d{4}-\d{2}-\d{2}$/;

/** The customer's local calendar date (YYYY-MM-DD) at an instant. */
export function localDate(instant: string | number, timeZone: string): string {
  const dt = typeof instant === 'number' ? DateTime.fromMillis(instant, { zone: timeZone }) : DateTime.fromISO(instant, { zone: timeZone });
  return dt.toISODate() as string;
}

/**
 * A date or instant given by a person: YYYY-MM-DD means the end of that day in the
 * customer's zone (a promise "by Friday" holds all Friday); anything else must be an
 * ISO instant with an offset. Returns UTC ISO, or undefined when it is neither.
 */
export function resolveDeadline(value: string, timeZone: string): string | undefined {
  if (YMD.test(value)) {
    const dt = DateTime.fromISO(value, { zone: timeZone });
    return dt.isValid ? (dt.endOf('day').toUTC().toISO() as string) : undefined;
  }
  if (!/[zZ]|[+-]\d{2}:?\d{2}$/.test(value)) return undefined;
  const dt = DateTime.fromISO(value, { setZone: true });
  return dt.isValid ? (dt.toUTC().toISO() as string) : undefined;
}

/** Local date + n calendar days (for deadlines stated in letters). */
export function addLocalDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate() as string;
}
