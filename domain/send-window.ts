// Schedule maths: when a policy step fires, in the customer's time zone, on business days,
// inside the send window (quiet hours), skipping public holidays. Pure and deterministic.
//
// The public holidays come in as a lookup, not from date-holidays: the workflow imports this
// module, and date-holidays (with moment-timezone and astronomia, ~4.5 MB of code and a
// larger source map) made the workflow bundle weigh ~150 MB of worker memory. The workflow
// fetches each (country, year) once through a local activity; everything else uses
// domain/schedule.ts, which binds the lookup to date-holidays.
import { DateTime } from 'luxon';
import { addIsoDuration, assertTimeZone, parseInstant, toUtcIso } from './duration';
import type { InvoiceSnapshot, SendWindow } from './types';

const LOCAL_DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function parseLocalDate(localDate: string, timeZone = 'UTC'): DateTime {
  const dt = LOCAL_DATE_RE.test(localDate) ? DateTime.fromISO(localDate, { zone: timeZone }) : undefined;
  if (!dt || !dt.isValid) throw new Error(`Invalid date ${JSON.stringify(localDate)}: expected YYYY-MM-DD`);
  return dt;
}

/** The instant the calendar starts from: `dueAt` when set, else 00:00 of dueDate in the customer's zone. */
export function anchorInstant(invoice: Pick<InvoiceSnapshot, 'dueDate' | 'dueAt' | 'customer'>): string {
  if (invoice.dueAt) return toUtcIso(parseInstant(invoice.dueAt));
  assertTimeZone(invoice.customer.timeZone);
  return toUtcIso(parseLocalDate(invoice.dueDate, invoice.customer.timeZone).startOf('day'));
}

/** Public holidays (YYYY-MM-DD local dates) of a country in a year. */
export type HolidayLookup = (country: string, year: number) => ReadonlySet<string>;

export function isPublicHoliday(localDate: string, country: string, holidays: HolidayLookup): boolean {
  const day = parseLocalDate(localDate);
  return holidays(country.toUpperCase(), day.year).has(localDate);
}

/**
 * Whether sends may happen on this local date under the window's rules: weekends (Sat, Sun)
 * are excluded when `businessDaysOnly`, the country's public holidays when
 * `skipPublicHolidays`.
 */
export function isBusinessDay(localDate: string, country: string, window: SendWindow, holidays: HolidayLookup): boolean {
  const day = parseLocalDate(localDate);
  if (window.businessDaysOnly && day.weekday >= 6) return false;
  if (window.skipPublicHolidays && isPublicHoliday(localDate, country, holidays)) return false;
  return true;
}

/** Adds `days` business days (weekends and public holidays skipped) to a local date. */
export function addBusinessDays(
  localDate: string,
  days: number,
  country: string,
  holidays: HolidayLookup,
  window: Pick<SendWindow, 'businessDaysOnly' | 'skipPublicHolidays'> = {
    businessDaysOnly: true,
    skipPublicHolidays: true,
  },
): string {
  if (!Number.isInteger(days)) throw new Error(`addBusinessDays: days must be an integer (got ${days})`);
  const rules: SendWindow = { enabled: true, start: '00:00', end: '23:59', ...window };
  const step = days < 0 ? -1 : 1;
  let day = parseLocalDate(localDate);
  for (let left = Math.abs(days); left > 0; ) {
    day = day.plus({ days: step });
    if (isBusinessDay(day.toISODate() as string, country, rules, holidays)) left -= 1;
  }
  return day.toISODate() as string;
}

const HH_MM_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** "09:30" → 570 minutes after midnight. */
export function parseHHmm(value: string): number {
  const match = HH_MM_RE.exec(value);
  if (!match) throw new Error(`Invalid local time ${JSON.stringify(value)}: expected "HH:mm"`);
  return Number(match[1]) * 60 + Number(match[2]);
}

function wallMinutes(dt: DateTime): number {
  return dt.hour * 60 + dt.minute;
}

/** Look this many days ahead for an open window before giving up (a year of holidays). */
const MAX_DAYS_AHEAD = 400;

/**
 * The earliest instant >= `instantIso` whose local wall-clock time (in `timeZone`) lies in
 * [window.start, window.end) on a business day. Window disabled: the input, normalised to
 * UTC ISO. DST-safe: window bounds are built from local wall-clock times each day, so
 * 09:00 Paris is 08:00Z in winter and 07:00Z in summer.
 */
export function moveIntoSendWindow(
  instantIso: string,
  opts: { timeZone: string; country: string; window: SendWindow; holidays: HolidayLookup },
): string {
  const input = parseInstant(instantIso);
  if (!opts.window.enabled) return toUtcIso(input);
  assertTimeZone(opts.timeZone);
  const startMin = parseHHmm(opts.window.start);
  const endMin = parseHHmm(opts.window.end);
  if (startMin >= endMin) {
    throw new Error(`Send window start ${opts.window.start} must be before end ${opts.window.end}`);
  }
  const local = input.setZone(opts.timeZone);
  let day = local.startOf('day');
  for (let i = 0; i < MAX_DAYS_AHEAD; i += 1, day = day.plus({ days: 1 }).startOf('day')) {
    if (!isBusinessDay(day.toISODate() as string, opts.country, opts.window, opts.holidays)) continue;
    let candidate = DateTime.fromObject(
      { year: day.year, month: day.month, day: day.day, hour: Math.floor(startMin / 60), minute: startMin % 60 },
      { zone: opts.timeZone },
    );
    if (i === 0) {
      const now = wallMinutes(local);
      if (now >= startMin && now < endMin) return toUtcIso(local);
      if (now >= endMin) continue;
      // Before the window today. In a repeated (autumn) hour the wall-clock start may map to
      // an instant before the input: move forward in elapsed time instead.
      if (candidate < local) candidate = local.plus({ minutes: startMin - now }).startOf('minute');
    }
    // A start inside a spring-forward gap is shifted later by luxon: still check the end.
    const wall = wallMinutes(candidate);
    if (candidate.toISODate() === day.toISODate() && wall >= startMin && wall < endMin) {
      return toUtcIso(candidate);
    }
  }
  throw new Error(
    `No business day with an open send window within ${MAX_DAYS_AHEAD} days after ${instantIso} (${opts.country}, ${opts.timeZone})`,
  );
}

/** When a step with this offset fires: anchor + offset (calendar-aware), then into the window. */
export function stepInstant(args: {
  anchor: string;
  offset: string;
  timeZone: string;
  country: string;
  window: SendWindow;
  holidays: HolidayLookup;
}): string {
  return moveIntoSendWindow(addIsoDuration(args.anchor, args.offset, args.timeZone), args);
}
