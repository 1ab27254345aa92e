// A date or instant given by a person, resolved in the customer's time zone. Local dates
// and day arithmetic live in dates.ts.
import { DateTime } from 'luxon';

const YMD = /^\d{4}-\d{2}-\d{2}$/;

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
