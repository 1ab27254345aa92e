// Late-payment penalties: interest on the overdue balance and the fixed recovery indemnity
// (French Code de commerce L441-10 / D441-5 for B2B; legal interest rate for consumers).
//
// Conventions (each one a deliberate choice, pinned by the unit tests):
// - B2B: interest runs from the day after the due date up to and including `asOf`: due
//   2025-03-31, asOf 2025-04-30 → 30 days. Consumers (B2C): legal interest runs only from
//   the formal notice (Code civil 1231-6 and 1344-1): from the day after
//   `formalNoticeDate`; before a notice a consumer owes no interest at all.
// - Simple interest, `balance × rate × days / 365`, always 365 (also in leap years), per
//   segment of constant balance, rate and half-year. Segments split at each payment and at
//   each 1 January / 1 July (the rate in force on those days applies to the half-year).
// - An amount paid on day D is late D − due days (French practice: the payment day counts):
//   day D still accrues on the balance before the payment, which lowers it from D + 1 on.
//   Payments on or before the due date lower the balance from the start; payments after
//   `asOf` are ignored. Days with a zero or negative balance accrue nothing.
// - An agreed rate below the legal floor (3 × the legal rate of the half-year, L441-10) is
//   raised to the floor; the line's basis says so and the letter prints it.
// - Each segment's interest is computed exactly (integers, BigInt) and rounded half-up to
//   the minor unit once per segment; the total is the sum of the rounded lines, so the
//   lines printed in a letter always add up to the total (letters state this rule).
// - The rate tables are an argument, never a default: workflow code receives them as a
//   recorded activity result (domain/rates.ts says why).
import { rateForDateOrLatest, type LegalRateTable, type RateTables } from './rates';
import { dateFromEpochDay, epochDay } from './dates';
import type { Audience, PenaltyResult, PenaltyTerms, RateBasis } from './types';

/** Rates are handled as integers in millionths of a percent. */
const RATE_SCALE = 1_000_000;

const scaleRate = (percent: number): number => Math.round(percent * RATE_SCALE);

/** Legal floor of an agreed late-payment rate: 3 × the legal rate ("autres cas") of the date's half-year. */
export function minimumAgreedRate(isoDate: string, legal: LegalRateTable, provisional: readonly string[] = []): number {
  return (3 * scaleRate(rateForDateOrLatest(legal, isoDate, provisional).value.other)) / RATE_SCALE;
}

export interface PenaltyArgs {
  terms: PenaltyTerms;
  /** From the customer's kind (never the policy's audience, which only chooses a policy). */
  audience: Audience;
  currency: string;
  /** YYYY-MM-DD */
  dueDate: string;
  /** YYYY-MM-DD: the day up to which (inclusive) interest is computed. */
  asOf: string;
  /** Amount due at the due date, i.e. amount - deposit, minor units. */
  principalMinor: number;
  payments: Array<{ date: string; amountMinor: number }>;
  /** The reference rates (config/rate-tables.json or RATE_TABLES_FILE, validated at start). */
  rates: RateTables;
  /**
   * YYYY-MM-DD: consumers only, the date of the formal notice (the posting date of a letter
   * posted by hand, or the registered-mail provider's dispatch date). Interest at the legal
   * rate runs from the next day (art. 1231-6 Code civil); without it a consumer owes none.
   */
  formalNoticeDate?: string;
}

interface DayRate {
  scaled: number;
  basis: RateBasis;
  provisional: boolean;
}

/** The annual rate (scaled) that applies on `day` and where it comes from, or undefined when no interest is due. */
function rateOn(args: PenaltyArgs, day: string): DayRate | undefined {
  const { terms, rates } = args;
  switch (terms.mode) {
    case 'none':
      return undefined;
    case 'commercial': {
      if (terms.agreedRatePercent !== undefined) {
        const agreed = scaleRate(terms.agreedRatePercent);
        const legal = rateForDateOrLatest(rates.legal, day, rates.provisional.legal);
        const floor = 3 * scaleRate(legal.value.other);
        if (agreed >= floor) return { scaled: agreed, basis: { kind: 'agreed', agreedPercent: terms.agreedRatePercent }, provisional: false };
        return {
          scaled: floor,
          basis: { kind: 'floor', halfYear: legal.halfYear, agreedPercent: terms.agreedRatePercent, legalPercent: legal.value.other },
          provisional: legal.provisional,
        };
      }
      const ecb = rateForDateOrLatest(rates.ecb, day, rates.provisional.ecb);
      return {
        scaled: scaleRate(ecb.value) + scaleRate(terms.spreadPoints),
        basis: { kind: 'ecb', halfYear: ecb.halfYear, ecbPercent: ecb.value, spreadPoints: terms.spreadPoints },
        provisional: ecb.provisional,
      };
    }
    case 'legal': {
      // The creditor using Relance is a business, so the rate "pour tous les autres cas"
      // applies, also towards consumer debtors: the higher rate is reserved for creditors
      // who are natural persons not acting for professional purposes (art. L313-2 CMF).
      const legal = rateForDateOrLatest(rates.legal, day, rates.provisional.legal);
      return { scaled: scaleRate(legal.value.other), basis: { kind: 'legal', halfYear: legal.halfYear }, provisional: legal.provisional };
    }
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
  const consumer = args.audience === 'B2C';
  const noticeDay = consumer && args.formalNoticeDate !== undefined ? epochDay(args.formalNoticeDate) : undefined;
  // A consumer with no notice yet: no day accrues (start after asOf).
  const startAfter = consumer ? (noticeDay === undefined ? asOfDay : Math.max(dueDay, noticeDay)) : dueDay;
  const payments = args.payments.map((p, i) => {
    assertMinorAmount(p.amountMinor, `payments[${i}].amountMinor`);
    return { day: epochDay(p.date), amountMinor: p.amountMinor };
  });

  const lines: PenaltyResult['lines'] = [];
  let belowLegalFloor = false;
  let provisionalUsed = false;
  let open: { from: number; to: number; balance: number; rate: DayRate; key: string } | undefined;
  const close = (): void => {
    if (!open) return;
    const days = open.to - open.from + 1;
    lines.push({
      from: dateFromEpochDay(open.from),
      to: dateFromEpochDay(open.to),
      days,
      balanceMinor: open.balance,
      ratePercent: open.rate.scaled / RATE_SCALE,
      interestMinor: segmentInterest(open.balance, open.rate.scaled, days),
      basis: open.rate.basis,
      ...(open.rate.provisional ? { provisional: true } : {}),
    });
    open = undefined;
  };

  for (let day = startAfter + 1; day <= asOfDay; day += 1) {
    // The payment day itself is still late on the balance before the payment.
    const balance = payments.reduce((left, p) => (p.day < day ? left - p.amountMinor : left), args.principalMinor);
    const rate = balance > 0 ? rateOn(args, dateFromEpochDay(day)) : undefined;
    if (rate === undefined || rate.scaled <= 0) {
      close();
      continue;
    }
    belowLegalFloor ||= rate.basis.kind === 'floor';
    provisionalUsed ||= rate.provisional;
    const key = `${balance}|${rate.scaled}|${JSON.stringify(rate.basis)}|${rate.provisional}`;
    if (open && open.key === key && open.to === day - 1) {
      open.to = day;
    } else {
      close();
      open = { from: day, to: day, balance, rate, key };
    }
  }
  close();

  const interestMinor = lines.reduce((sum, l) => sum + l.interestMinor, 0);
  const late = asOfDay > dueDay;
  // D441-5 is owed by businesses only; a consumer is never charged it (nor, without an
  // enforceable title, any recovery cost: L111-8 CPCE).
  const indemnityMinor = late && !consumer && args.terms.mode !== 'none' ? args.terms.fixedIndemnityMinor : 0;
  return {
    interestMinor,
    indemnityMinor,
    totalMinor: interestMinor + indemnityMinor,
    currency: args.currency,
    lines,
    belowLegalFloor,
    ...(provisionalUsed ? { provisionalRates: true } : {}),
    ...(consumer && args.formalNoticeDate !== undefined ? { formalNoticeDate: args.formalNoticeDate } : {}),
  };
}
