// Calendar dates as "YYYY-MM-DD" strings, counted in whole days. Pure: Date.UTC reads no clock.
const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a calendar date; throws naming anything but a real YYYY-MM-DD date. */
export function epochDay(isoDate: string): number {
  const m = ISO_DATE_RE.exec(isoDate);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const ms = Date.UTC(y, mo - 1, d);
    const back = new Date(ms);
    if (back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d) {
      return ms / MS_PER_DAY;
    }
  }
  throw new Error(`Invalid date ${JSON.stringify(isoDate)}: expected a real YYYY-MM-DD date`);
}

export function dateFromEpochDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (positive when `to` is later). */
export function daysBetween(from: string, to: string): number {
  return epochDay(to) - epochDay(from);
}

export function addDays(isoDate: string, days: number): string {
  return dateFromEpochDay(epochDay(isoDate) + days);
}
