// Schedule maths bound to the public holidays of date-holidays (a maintained library):
// what the API, the activities and the tests use. The pure maths is in send-window.ts,
// which the workflow imports with holidays it fetched itself.
import Holidays from 'date-holidays';
import { localDate } from './dates';
import { addIsoDuration } from './duration';
import * as sw from './send-window';
import { nextStep as dunningNextStep } from './dunning/next-action';
import type { InvoiceDunningInput } from '../contracts/messages';
import type { DunningPolicy, InvoiceSnapshot, SendWindow } from './types';

export { anchorInstant, parseHHmm, type HolidayLookup } from './send-window';

// date-holidays is pure JS (rules and data bundled, no fs at run time). One parser per
// country and one Set of public-holiday dates per country-year, memoised.
const holidayParsers = new Map<string, Holidays>();
const holidayDates = new Map<string, ReadonlySet<string>>();

/** Public holidays (type 'public' only) of a country in a year, as YYYY-MM-DD local dates. */
export function publicHolidays(country: string, year: number): ReadonlySet<string> {
  const code = country.toUpperCase();
  const key = `${code}:${year}`;
  let dates = holidayDates.get(key);
  if (!dates) {
    let parser = holidayParsers.get(code);
    if (parser === undefined) {
      // An unknown country yields no holidays (weekends still apply).
      parser = new Holidays(code);
      holidayParsers.set(code, parser);
    }
    // Always pass the year: without it date-holidays would read the current clock.
    const found = parser.getHolidays(year);
    dates = new Set(found.filter((h) => h.type === 'public').map((h) => h.date.slice(0, 10)));
    holidayDates.set(key, dates);
  }
  return dates;
}

export function isPublicHoliday(localDate: string, country: string): boolean {
  return sw.isPublicHoliday(localDate, country, publicHolidays);
}

/** See send-window.ts isBusinessDay. */
export function isBusinessDay(localDate: string, country: string, window: SendWindow): boolean {
  return sw.isBusinessDay(localDate, country, window, publicHolidays);
}

/** Adds `days` business days (weekends and public holidays skipped) to a local date. */
export function addBusinessDays(
  localDate: string,
  days: number,
  country: string,
  window?: Pick<SendWindow, 'businessDaysOnly' | 'skipPublicHolidays'>,
): string {
  return sw.addBusinessDays(localDate, days, country, publicHolidays, window);
}

/** See send-window.ts moveIntoSendWindow. */
export function moveIntoSendWindow(instantIso: string, opts: { timeZone: string; country: string; window: SendWindow }): string {
  return sw.moveIntoSendWindow(instantIso, { ...opts, holidays: publicHolidays });
}

/** When a step with this offset fires: anchor + offset (calendar-aware), then into the window. */
export function stepInstant(args: { anchor: string; offset: string; timeZone: string; country: string; window: SendWindow }): string {
  return sw.stepInstant({ ...args, holidays: publicHolidays });
}

/** The first step (in policy order) not yet completed, with the instant it fires at. */
export function nextStep(args: Omit<Parameters<typeof dunningNextStep>[0], 'holidays'>): ReturnType<typeof dunningNextStep> {
  return dunningNextStep({ ...args, holidays: publicHolidays });
}

/**
 * The public holidays a calendar needs, by "CC:YYYY": every year from the first step (a
 * courtesy step may fall in the year before the due date) to the year after the last one
 * (a send pushed past New Year). Given to the workflow at start, so that its first task and
 * its status need no fetch; years beyond (long holds) it fetches itself.
 */
export function calendarHolidays(args: { policy: DunningPolicy; anchor: string; timeZone: string; country: string }): Record<string, string[]> {
  const country = args.country.toUpperCase();
  if (!args.policy.sendWindow.enabled || !args.policy.sendWindow.skipPublicHolidays || args.policy.steps.length === 0) return {};
  const yearOf = (offset: string) => Number(localDate(addIsoDuration(args.anchor, offset, args.timeZone), args.timeZone).slice(0, 4));
  const first = yearOf(args.policy.steps[0].offset);
  const last = yearOf(args.policy.steps[args.policy.steps.length - 1].offset) + 1;
  const out: Record<string, string[]> = {};
  for (let y = first; y <= last; y += 1) out[`${country}:${y}`] = [...publicHolidays(country, y)].sort();
  return out;
}

/**
 * The workflow input of an invoice, the one way to build it (the API starts workflows with it,
 * the workflow tests too): the invoice, the pinned policy and the holidays of its calendar.
 */
export function dunningInputFor(invoice: InvoiceSnapshot, policy: DunningPolicy, extra: Partial<InvoiceDunningInput> = {}): InvoiceDunningInput {
  const holidays = calendarHolidays({ policy, anchor: sw.anchorInstant(invoice), timeZone: invoice.customer.timeZone, country: invoice.customer.country });
  return { invoice, policy, holidays, ...extra };
}
