// Late-payment penalties: interest on the overdue balance and the fixed recovery indemnity
// (French Code de commerce L441-10 / D441-5 for B2B; legal interest rate for consumers).
//
// Conventions (each one a deliberate choice, pinned by the unit tests):
// - Interest runs from the day after the due date (or after `interestStartsAfter`) up to and
//   including `asOf`: due 2025-03-31, asOf 2025-04-30 → 30 days.
// - Simple interest, `balance × rate × days / 365`, always 365 (also in leap years), per
//   segment of constant balance and constant rate. Segments split at each payment date and
//   at each 1 January / 1 July (the rate in force on those days applies to the half-year).
// - A payment dated D lowers the balance from D on: day D already accrues on the lower
//   balance. Payments on or before the due date lower the balance from the start; payments
//   after `asOf` are ignored. Days with a zero or negative balance accrue nothing.
// - Each segment's interest is computed exactly (integers, BigInt) and rounded half-up to
//   the minor unit once per segment; the total is the sum of the rounded lines, so the
//   lines printed in a letter always add up to the total.
import { ECB_MRO_RATES, FR_LEGAL_RATES, halfYearKey, rateForDate, rateForDateOrLatest, type LegalRateTable, type RateTable } from './rates';
import { dateFromEpochDay, epochDay } from './dates';
import type { Audience, PenaltyResult, PenaltyTerms } from './types';

/** Rates are handled as integers in millionths of a percent. */
const RATE_SCALE = 1_000_000;

const scaleRate = (percent: number): number => Math.round(percent * RATE_SCALE);

/** Legal floor of an agreed late-payment rate: 3 × the legal rate ("autres cas") of the date's half-year. */
export function minimumAgreedRate(isoDate: string, legal: LegalRateTable = FR_LEGAL_RATES): number {
  return (3 * scaleRate(rateForDate(legal, isoDate).other)) / RATE_SCALE;
}

export interface PenaltyArgs {
  terms: PenaltyTerms;
  audience: Audience;
  currency: string;
  /** YYYY-MM-DD */
  dueDate: string;
  /** YYYY-MM-DD: the day up to which (inclusive) interest is computed. */
  asOf: string;
  /** Amount due at the due date, i.e. amount - deposit, minor units. */
  principalMinor: number;
  payments: Array<{ date: string; amountMinor: number }>;
  /** Override tables (config); default to ECB_MRO_RATES and FR_LEGAL_RATES. */
  rates?: { ecb?: RateTable; legal?: LegalRateTable };
  /**
   * YYYY-MM-DD after which interest starts, default `dueDate`. For consumers, interest at the
   * legal rate runs only from a formal notice (art. 1231-6 Code civil): pass its date here.
   */
  interestStartsAfter?: string;
}

/** The annual rate (scaled) that applies on `day`, or undefined when no interest is due. */
function rateOn(args: PenaltyArgs, day: string, provisional: { used: boolean }): number | undefined {
  const { terms } = args;
  const pick = <T>(table: Readonly<Record<string, T>>): T => {
    const r = rateForDateOrLatest(table, day);
    provisional.used ||= r.provisional;
    return r.value;
  };
  switch (terms.mode) {
    case 'none':
      return undefined;
    case 'commercial':
      if (terms.agreedRatePercent !== undefined) return scaleRate(terms.agreedRatePercent);
      return scaleRate(pick(args.rates?.ecb ?? ECB_MRO_RATES)) + scaleRate(terms.spreadPoints);
    case 'legal':
      // The creditor using Relance is a business, so the rate "pour tous les autres cas"
      // applies, also towards consumer debtors: the higher rate is reserved for creditors
      // who are natural persons not acting for professional purposes (art. L313-2 CMF).
      return scaleRate(pick(args.rates?.legal ?? FR_LEGAL_RATES).other);
  }
}

/** balance × rate% × days / 365, rounded half-up to the minor unit (balance > 0). */
function segmentInterest(balanceMinor: number, scaledRate: number, days: number): number {
  const numerator = BigInt(balanceMinor) * BigInt(scaledRate) * BigInt(days);
  const denominator = BigInt(365 * 100 * RATE_SCALE);
  return Number((2n * numerator + denominator) / (2n * denominator));
}

function assertMinorAmount(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new Error(`${what} must be an integer number of minor units (got ${value})`);
}

export function computePenalties(args: PenaltyArgs): PenaltyResult {
  assertMinorAmount(args.principalMinor, 'principalMinor');
  const dueDay = epochDay(args.dueDate);
  const asOfDay = epochDay(args.asOf);
  const startAfter = args.interestStartsAfter === undefined ? dueDay : Math.max(dueDay, epochDay(args.interestStartsAfter));
  const payments = args.payments.map((p, i) => {
    assertMinorAmount(p.amountMinor, `payments[${i}].amountMinor`);
    return { day: epochDay(p.date), amountMinor: p.amountMinor };
  });

  const lines: PenaltyResult['lines'] = [];
  let belowLegalFloor = false;
  const provisional = { used: false };
  let open: { from: number; to: number; balance: number; rate: number } | undefined;
  const close = (): void => {
    if (!open) return;
    const days = open.to - open.from + 1;
    lines.push({
      from: dateFromEpochDay(open.from),
      to: dateFromEpochDay(open.to),
      days,
      balanceMinor: open.balance,
      ratePercent: open.rate / RATE_SCALE,
      interestMinor: segmentInterest(open.balance, open.rate, days),
    });
    open = undefined;
  };

  for (let day = startAfter + 1; day <= asOfDay; day += 1) {
    const balance = payments.reduce((left, p) => (p.day <= day ? left - p.amountMinor : left), args.principalMinor);
    const date = dateFromEpochDay(day);
    const rate = balance > 0 ? rateOn(args, date, provisional) : undefined;
    if (rate === undefined || rate <= 0) {
      close();
      continue;
    }
    if (args.terms.agreedRatePercent !== undefined && args.terms.mode === 'commercial') {
      // Advisory only: a legal table that does not cover the date leaves the flag unset.
      const legal = args.rates?.legal ?? FR_LEGAL_RATES;
      const floor = Object.prototype.hasOwnProperty.call(legal, halfYearKey(date))
        ? 3 * scaleRate(rateForDate(legal, date).other)
        : 0;
      belowLegalFloor ||= rate < floor;
    }
    if (open && open.balance === balance && open.rate === rate && open.to === day - 1) {
      open.to = day;
    } else {
      close();
      open = { from: day, to: day, balance, rate };
    }
  }
  close();

  const interestMinor = lines.reduce((sum, l) => sum + l.interestMinor, 0);
  const late = asOfDay > dueDay;
  const indemnityMinor =
    late && args.audience === 'B2B' && args.terms.mode !== 'none' ? args.terms.fixedIndemnityMinor : 0;
  return {
    interestMinor,
    indemnityMinor,
    totalMinor: interestMinor + indemnityMinor,
    currency: args.currency,
    lines,
    belowLegalFloor,
    ...(provisional.used ? { provisionalRates: true } : {}),
  };
}
