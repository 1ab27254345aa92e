import { describe, expect, it } from 'vitest';
import { computePenalties, minimumAgreedRate, type PenaltyArgs } from '../../../domain/penalties';
import { loadRateTables } from '../../../config/rate-tables';
import type { LegalRateTable } from '../../../domain/rates';
import type { PenaltyTerms } from '../../../domain/types';
import { rateTables } from './helpers';

const COMMERCIAL: PenaltyTerms = { mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 };
const LEGAL: PenaltyTerms = { mode: 'legal', spreadPoints: 0, fixedIndemnityMinor: 0 };

// Fixed tables so the worked examples do not depend on the shipped (real-world) data.
const ECB = { '2024-H1': 4.5, '2024-H2': 4.25, '2025-H1': 3.15, '2025-H2': 2.15 };
const LEGAL_RATES: LegalRateTable = {
  '2024-H1': { consumerCreditor: 8.01, other: 5.07 },
  '2024-H2': { consumerCreditor: 8.16, other: 4.92 },
  '2025-H1': { consumerCreditor: 7.21, other: 3.71 },
  '2025-H2': { consumerCreditor: 6.65, other: 2.76 },
};

function penalties(args: Partial<PenaltyArgs> & Pick<PenaltyArgs, 'dueDate' | 'asOf' | 'principalMinor'>) {
  return computePenalties({
    terms: COMMERCIAL,
    audience: 'B2B',
    currency: 'EUR',
    payments: [],
    rates: rateTables({ ecb: ECB, legal: LEGAL_RATES }),
    ...args,
  });
}

describe('computePenalties: worked examples (to the cent)', () => {
  it('€10,000 due 2025-03-31, nothing paid, as of 2025-04-30', () => {
    // 1 April..30 April = 30 days at ECB 2025-H1 3.15 % + 10 = 13.15 %
    // 1,000,000 c × 0.1315 × 30 / 365 = 3,945,000 / 365 = 10,808.219… → 10,808 c = €108.08
    // + €40 indemnity (B2B, late) → €148.08
    const r = penalties({ dueDate: '2025-03-31', asOf: '2025-04-30', principalMinor: 1_000_000 });
    expect(r.lines).toEqual([
      {
        from: '2025-04-01',
        to: '2025-04-30',
        days: 30,
        balanceMinor: 1_000_000,
        ratePercent: 13.15,
        interestMinor: 10_808,
        basis: { kind: 'ecb', halfYear: '2025-H1', ecbPercent: 3.15, spreadPoints: 10 },
      },
    ]);
    expect(r).toMatchObject({ interestMinor: 10_808, indemnityMinor: 4_000, totalMinor: 14_808, currency: 'EUR' });
    expect(r.belowLegalFloor).toBe(false);
  });

  it('crossing 1 July 2025: the rate changes from 13.15 % to 12.15 %', () => {
    // €5,000 due 2025-06-15, as of 2025-07-15
    // 16 June..30 June = 15 days × 13.15 %: 500,000 × 0.1315 × 15 / 365 = 986,250 / 365 = 2,702.05 → 2,702
    // 1 July..15 July = 15 days × 12.15 %: 500,000 × 0.1215 × 15 / 365 = 911,250 / 365 = 2,496.58 → 2,497
    // interest 5,199 c = €51.99; + €40 = €91.99
    const r = penalties({ dueDate: '2025-06-15', asOf: '2025-07-15', principalMinor: 500_000 });
    expect(r.lines.map((l) => [l.from, l.to, l.days, l.ratePercent, l.interestMinor])).toEqual([
      ['2025-06-16', '2025-06-30', 15, 13.15, 2_702],
      ['2025-07-01', '2025-07-15', 15, 12.15, 2_497],
    ]);
    expect(r.interestMinor).toBe(5_199);
    expect(r.totalMinor).toBe(9_199);
  });

  it('partial payment mid-way lowers the balance the day after it (the payment day is late)', () => {
    // €2,000 due 2025-01-31; €500 paid 2025-02-10; as of 2025-02-28; 13.15 %
    // 1 Feb..10 Feb = 10 days on 200,000 (10 Feb, the payment day, is a day late):
    //   200,000 × 0.1315 × 10 / 365 = 263,000 / 365 = 720.55 → 721
    // 11 Feb..28 Feb = 18 days on 150,000: 150,000 × 0.1315 × 18 / 365 = 355,050 / 365 = 972.74 → 973
    // interest 1,694 c = €16.94; + €40
    const r = penalties({
      dueDate: '2025-01-31',
      asOf: '2025-02-28',
      principalMinor: 200_000,
      payments: [{ date: '2025-02-10', amountMinor: 50_000 }],
    });
    expect(r.lines.map((l) => [l.from, l.to, l.days, l.balanceMinor, l.interestMinor])).toEqual([
      ['2025-02-01', '2025-02-10', 10, 200_000, 721],
      ['2025-02-11', '2025-02-28', 18, 150_000, 973],
    ]);
    expect(r.interestMinor).toBe(1_694);
    expect(r.totalMinor).toBe(5_694);
  });

  it('B2C at the legal rate ("autres cas": the creditor is a business), from the formal notice, no €40', () => {
    // €1,500 due 2025-09-30, notice dated 2025-09-30, as of 2025-10-30: 30 days at 2.76 % (2025-H2, other)
    // 150,000 × 0.0276 × 30 / 365 = 124,200 / 365 = 340.27 → 340 c = €3.40
    const r = penalties({ terms: LEGAL, audience: 'B2C', dueDate: '2025-09-30', asOf: '2025-10-30', principalMinor: 150_000, formalNoticeDate: '2025-09-30' });
    expect(r.lines).toEqual([
      { from: '2025-10-01', to: '2025-10-30', days: 30, balanceMinor: 150_000, ratePercent: 2.76, interestMinor: 340, basis: { kind: 'legal', halfYear: '2025-H2' } },
    ]);
    expect(r).toMatchObject({ interestMinor: 340, indemnityMinor: 0, totalMinor: 340, formalNoticeDate: '2025-09-30' });
  });

  it('case 1 (issue 15): B2C €800.00 due 2025-06-30, notice 2025-10-15, as of 2025-12-31 → €4.66, no €40', () => {
    // Interest runs from the notice (Code civil 1231-6, 1344-1), not from the due date:
    // 16 Oct..31 Oct = 16 days, November 30, December 31 → 77 days, all in 2025-H2.
    // Legal rate "autres cas" 2025-H2 = 2.76 % (the creditor is a business).
    // 80,000 c × 0.0276 × 77 / 365 = 170,016 / 365 = 465.80 → 466 c = €4.66.
    // No €40 for a consumer, even though these terms carry 4,000 (D441-5 is B2B only).
    const r = penalties({
      terms: { ...LEGAL, fixedIndemnityMinor: 4_000 },
      audience: 'B2C',
      dueDate: '2025-06-30',
      formalNoticeDate: '2025-10-15',
      asOf: '2025-12-31',
      principalMinor: 80_000,
    });
    expect(r.lines.map((l) => [l.from, l.to, l.days, l.ratePercent, l.interestMinor])).toEqual([['2025-10-16', '2025-12-31', 77, 2.76, 466]]);
    expect(r).toMatchObject({ interestMinor: 466, indemnityMinor: 0, totalMinor: 466, formalNoticeDate: '2025-10-15' });
  });

  it('B2C before any formal notice: no interest at all, and never the indemnity', () => {
    // Same invoice as case 1 with no notice recorded: the consumer owes the principal only.
    const r = penalties({ terms: { ...LEGAL, fixedIndemnityMinor: 4_000 }, audience: 'B2C', dueDate: '2025-06-30', asOf: '2025-12-31', principalMinor: 80_000 });
    expect(r).toMatchObject({ interestMinor: 0, indemnityMinor: 0, totalMinor: 0, lines: [] });
    expect(r.formalNoticeDate).toBeUndefined();
    // Commercial terms on a consumer invoice do not bring the €40 back either.
    expect(penalties({ audience: 'B2C', dueDate: '2025-09-30', asOf: '2025-10-30', principalMinor: 150_000, formalNoticeDate: '2025-10-01' }).indemnityMinor).toBe(0);
  });

  it('case 2 (issue 15): B2B €2,400.00 due 2024-11-15, €1,000.00 paid 2025-01-20, the rest 2025-04-10 → €100.74 + €40 = €140.74', () => {
    // The payment day counts as a day late (D − due days for an amount paid on day D).
    // 16 Nov..31 Dec 2024 = 15 + 31 = 46 days on 240,000 at 2024-H2 ECB 4.25 + 10 = 14.25 %:
    //   240,000 × 0.1425 × 46 / 365 = 1,573,200 / 365 = 4,310.14 → 4,310
    // 1 Jan..20 Jan 2025 = 20 days on 240,000 at 2025-H1 3.15 + 10 = 13.15 %:
    //   240,000 × 0.1315 × 20 / 365 = 631,200 / 365 = 1,729.32 → 1,729
    // 21 Jan..10 Apr 2025 = 11 + 28 + 31 + 10 = 80 days on 140,000 at 13.15 %:
    //   140,000 × 0.1315 × 80 / 365 = 1,472,800 / 365 = 4,035.07 → 4,035
    // Rounded per line (the letter prints each line): 4,310 + 1,729 + 4,035 = 10,074 c = €100.74.
    // (Rounding the exact total instead, 10,074.52, would give €100.75; the old count, which
    // lowered the balance on the payment day itself, gave 9,988 c = €99.88 → €139.88.)
    const r = penalties({
      dueDate: '2024-11-15',
      asOf: '2025-06-30',
      principalMinor: 240_000,
      payments: [
        { date: '2025-01-20', amountMinor: 100_000 },
        { date: '2025-04-10', amountMinor: 140_000 },
      ],
    });
    expect(r.lines.map((l) => [l.from, l.to, l.days, l.balanceMinor, l.ratePercent, l.interestMinor])).toEqual([
      ['2024-11-16', '2024-12-31', 46, 240_000, 14.25, 4_310],
      ['2025-01-01', '2025-01-20', 20, 240_000, 13.15, 1_729],
      ['2025-01-21', '2025-04-10', 80, 140_000, 13.15, 4_035],
    ]);
    expect(r).toMatchObject({ interestMinor: 10_074, indemnityMinor: 4_000, totalMinor: 14_074 });
  });

  it('JPY (no minor unit)', () => {
    // ¥250,000 due 2024-12-31, as of 2025-01-20: 20 days at 13.15 % (2025-H1)
    // 250,000 × 0.1315 × 20 / 365 = 657,500 / 365 = 1,801.37 → ¥1,801; indemnity 0 in these terms
    const r = penalties({
      terms: { ...COMMERCIAL, fixedIndemnityMinor: 0 },
      currency: 'JPY',
      dueDate: '2024-12-31',
      asOf: '2025-01-20',
      principalMinor: 250_000,
    });
    expect(r).toMatchObject({ interestMinor: 1_801, indemnityMinor: 0, totalMinor: 1_801, currency: 'JPY' });
  });

  it('leap years still divide by 365', () => {
    // €3,650 due 2024-02-28, as of 2024-03-01: 29 Feb + 1 Mar = 2 days at 4.5 + 10 = 14.5 %
    // 365,000 × 0.145 × 2 / 365 = 290 c exactly
    const r = penalties({ dueDate: '2024-02-28', asOf: '2024-03-01', principalMinor: 365_000 });
    expect(r.interestMinor).toBe(290);
    expect(r.lines[0]?.days).toBe(2);
  });

  it('rounds half-up once per segment', () => {
    // 365 c × 10 % × 5 / 365 = 0.5 c → 1 c (half-up); 365 c × 10 % × 4 / 365 = 0.4 → 0
    // (a legal rate of 3 % here, so that 10 % is above the 9 % floor)
    const agreed = { ...COMMERCIAL, agreedRatePercent: 10 };
    const rates = rateTables({ legal: { '2024-H1': { consumerCreditor: 6, other: 3 } } });
    expect(penalties({ terms: agreed, rates, dueDate: '2024-01-10', asOf: '2024-01-15', principalMinor: 365 }).interestMinor).toBe(1);
    expect(penalties({ terms: agreed, rates, dueDate: '2024-01-10', asOf: '2024-01-14', principalMinor: 365 }).interestMinor).toBe(0);
  });

  it('case 3 (issue 15): an agreed rate below 3 × the legal rate is raised to that floor', () => {
    // 100,000 × 0.12 × 30 / 365 = 360,000 / 365 = 986.30 → 986; floor 2025-H1 = 3 × 3.71 = 11.13 % → OK
    const r = penalties({
      terms: { ...COMMERCIAL, agreedRatePercent: 12 },
      dueDate: '2025-03-31',
      asOf: '2025-04-30',
      principalMinor: 100_000,
    });
    expect(r.interestMinor).toBe(986);
    expect(r.lines[0]?.ratePercent).toBe(12);
    expect(r.belowLegalFloor).toBe(false);
    expect(r.lines[0]?.basis).toEqual({ kind: 'agreed', agreedPercent: 12 });
    // 10 % < 11.13 % (3 × 3.71 %, legal rate 2025-H1) → raised to 11.13 % (L441-10), flagged:
    // 100,000 × 0.1113 × 30 / 365 = 333,900 / 365 = 914.79 → 915 (the agreed 10 % would give 822)
    const low = penalties({
      terms: { ...COMMERCIAL, agreedRatePercent: 10 },
      dueDate: '2025-03-31',
      asOf: '2025-04-30',
      principalMinor: 100_000,
    });
    expect(low.belowLegalFloor).toBe(true);
    expect(low.interestMinor).toBe(915);
    expect(low.lines[0]).toMatchObject({ ratePercent: 11.13, basis: { kind: 'floor', halfYear: '2025-H1', agreedPercent: 10, legalPercent: 3.71 } });
  });

  it('past the legal table the floor uses its last rate: an agreed rate above it applies as is', () => {
    // floor from 2025-H2 carried forward: 3 × 2.76 = 8.28 % < 12 %
    // 100,000 × 0.12 × 10 / 365 = 120,000 / 365 = 328.77 → 329
    const r = penalties({
      terms: { ...COMMERCIAL, agreedRatePercent: 12 },
      dueDate: '2026-08-01',
      asOf: '2026-08-11',
      principalMinor: 100_000,
    });
    expect(r.interestMinor).toBe(329);
    expect(r.belowLegalFloor).toBe(false);
  });

  it('minimumAgreedRate is 3 × the legal "other" rate of the half-year', () => {
    expect(minimumAgreedRate('2025-03-01', LEGAL_RATES)).toBeCloseTo(11.13, 10);
    expect(minimumAgreedRate('2025-07-01', LEGAL_RATES)).toBeCloseTo(8.28, 10);
  });
});

describe('computePenalties: edges', () => {
  it('nothing before or on the due date', () => {
    for (const asOf of ['2025-03-30', '2025-03-31']) {
      const r = penalties({ dueDate: '2025-03-31', asOf, principalMinor: 1_000_000 });
      expect(r).toEqual({ interestMinor: 0, indemnityMinor: 0, totalMinor: 0, currency: 'EUR', lines: [], belowLegalFloor: false });
    }
  });

  it('one day late: one day of interest and the indemnity', () => {
    // 1,000,000 × 0.1315 / 365 = 360.27 → 360
    const r = penalties({ dueDate: '2025-03-31', asOf: '2025-04-01', principalMinor: 1_000_000 });
    expect(r.interestMinor).toBe(360);
    expect(r.indemnityMinor).toBe(4_000);
  });

  it('mode none: nothing at all', () => {
    const r = penalties({ terms: { ...COMMERCIAL, mode: 'none' }, dueDate: '2025-03-31', asOf: '2025-04-30', principalMinor: 1_000_000 });
    expect(r.totalMinor).toBe(0);
    expect(r.lines).toEqual([]);
  });

  it('full payment stops interest after its day; the indemnity stays due', () => {
    // 1 Apr..10 Apr = 10 days (the payment day counts): 1,000,000 × 0.1315 × 10 / 365 = 3,602.74 → 3,603
    const r = penalties({
      dueDate: '2025-03-31',
      asOf: '2025-04-30',
      principalMinor: 1_000_000,
      payments: [{ date: '2025-04-10', amountMinor: 1_000_000 }],
    });
    expect(r.lines).toHaveLength(1);
    expect(r.interestMinor).toBe(3_603);
    expect(r.indemnityMinor).toBe(4_000);
  });

  it('payments on/before the due date lower the starting balance; payments after asOf are ignored', () => {
    const r = penalties({
      dueDate: '2025-03-31',
      asOf: '2025-04-30',
      principalMinor: 1_500_000,
      payments: [
        { date: '2025-03-31', amountMinor: 500_000 },
        { date: '2025-05-02', amountMinor: 1_000_000 },
      ],
    });
    expect(r.interestMinor).toBe(10_808); // same as the €10,000 example
  });

  it('a consumer notice dated after the due date delays interest to the next day', () => {
    // legal 2.76 %: 150,000 × 0.0276 × 10 / 365 = 41,400 / 365 = 113.42 → 113
    const r = penalties({
      terms: LEGAL,
      audience: 'B2C',
      dueDate: '2025-09-30',
      asOf: '2025-10-30',
      formalNoticeDate: '2025-10-20',
      principalMinor: 150_000,
    });
    expect(r.lines[0]).toMatchObject({ from: '2025-10-21', to: '2025-10-30', days: 10, interestMinor: 113 });
  });

  it('with the shipped table (config/rate-tables.json), 2026-H2 is provisional', () => {
    const shipped = loadRateTables();
    // €1,000 due 2026-06-30, as of 2026-07-10: 10 days at ECB 2026-H2 (copied from H1, not confirmed) 2.15 + 10 = 12.15 %
    // 100,000 × 0.1215 × 10 / 365 = 121,500 / 365 = 332.88 → 333
    const r = computePenalties({ terms: COMMERCIAL, audience: 'B2B', currency: 'EUR', dueDate: '2026-06-30', asOf: '2026-07-10', principalMinor: 100_000, payments: [], rates: shipped });
    expect(r.lines).toEqual([expect.objectContaining({ ratePercent: 12.15, interestMinor: 333, provisional: true })]);
    expect(r.provisionalRates).toBe(true);
  });

  it('case 4 (issue 15): a half-year marked provisional flags its lines and the result', () => {
    // €1,000 due 2025-06-15, as of 2025-07-15, 2025-H2 ECB marked provisional:
    // 16..30 Jun = 15 days × 13.15 %: 100,000 × 0.1315 × 15 / 365 = 197,250 / 365 = 540.41 → 540 (confirmed)
    // 1..15 Jul = 15 days × 12.15 %: 100,000 × 0.1215 × 15 / 365 = 182,250 / 365 = 499.32 → 499 (provisional)
    const r = penalties({ dueDate: '2025-06-15', asOf: '2025-07-15', principalMinor: 100_000, rates: rateTables({ ecb: ECB, legal: LEGAL_RATES, provisional: { ecb: ['2025-H2'] } }) });
    expect(r.lines.map((l) => [l.from, l.interestMinor, l.provisional ?? false])).toEqual([
      ['2025-06-16', 540, false],
      ['2025-07-01', 499, true],
    ]);
    expect(r.provisionalRates).toBe(true);
    expect(penalties({ dueDate: '2025-03-15', asOf: '2025-04-15', principalMinor: 100_000 }).provisionalRates).toBeUndefined();
  });

  it('carries the last known rate past the table, flagged provisional, and throws before it', () => {
    const late = penalties({ dueDate: '2025-12-20', asOf: '2026-01-10', principalMinor: 1_000_000 });
    expect(late.provisionalRates).toBe(true);
    const lastH2 = late.lines.find((l) => l.from === '2026-01-01');
    const before = late.lines.find((l) => l.to === '2025-12-31');
    expect(lastH2?.ratePercent).toBe(before?.ratePercent);
    expect(penalties({ dueDate: '2025-03-31', asOf: '2025-04-30', principalMinor: 1_000 }).provisionalRates).toBeUndefined();
    expect(() => penalties({ dueDate: '2019-12-20', asOf: '2020-01-10', principalMinor: 1_000 })).toThrow(/No reference rate for 2019-H2/);
  });

  it('rejects non-integer amounts and bad dates', () => {
    expect(() => penalties({ dueDate: '2025-03-31', asOf: '2025-04-30', principalMinor: 10.5 })).toThrow(/principalMinor/);
    expect(() => penalties({ dueDate: '2025-02-30', asOf: '2025-04-30', principalMinor: 10 })).toThrow(/"2025-02-30"/);
    expect(() =>
      penalties({ dueDate: '2025-03-31', asOf: '2025-04-30', principalMinor: 10, payments: [{ date: '2025-04-01', amountMinor: 0.1 }] }),
    ).toThrow(/payments\[0\]\.amountMinor/);
  });
});
