import { describe, expect, it } from 'vitest';
import { computePenalties, minimumAgreedRate, type PenaltyArgs } from '../../../domain/penalties';
import type { LegalRateTable } from '../../../domain/rates';
import type { PenaltyTerms } from '../../../domain/types';

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
    rates: { ecb: ECB, legal: LEGAL_RATES },
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
      { from: '2025-04-01', to: '2025-04-30', days: 30, balanceMinor: 1_000_000, ratePercent: 13.15, interestMinor: 10_808 },
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

  it('partial payment mid-way lowers the balance from its date on', () => {
    // €2,000 due 2025-01-31; €500 paid 2025-02-10; as of 2025-02-28; 13.15 %
    // 1 Feb..9 Feb = 9 days on 200,000: 200,000 × 0.1315 × 9 / 365 = 236,700 / 365 = 648.49 → 648
    // 10 Feb..28 Feb = 19 days on 150,000 (payment day uses the reduced balance):
    //   150,000 × 0.1315 × 19 / 365 = 374,775 / 365 = 1,026.78 → 1,027
    // interest 1,675 c = €16.75; + €40
    const r = penalties({
      dueDate: '2025-01-31',
      asOf: '2025-02-28',
      principalMinor: 200_000,
      payments: [{ date: '2025-02-10', amountMinor: 50_000 }],
    });
    expect(r.lines.map((l) => [l.from, l.to, l.days, l.balanceMinor, l.interestMinor])).toEqual([
      ['2025-02-01', '2025-02-09', 9, 200_000, 648],
      ['2025-02-10', '2025-02-28', 19, 150_000, 1_027],
    ]);
    expect(r.interestMinor).toBe(1_675);
    expect(r.totalMinor).toBe(5_675);
  });

  it('B2C at the legal rate ("autres cas": the creditor is a business), no €40', () => {
    // €1,500 due 2025-09-30, as of 2025-10-30: 30 days at 2.76 % (2025-H2, other)
    // 150,000 × 0.0276 × 30 / 365 = 124,200 / 365 = 340.27 → 340 c = €3.40
    const r = penalties({ terms: LEGAL, audience: 'B2C', dueDate: '2025-09-30', asOf: '2025-10-30', principalMinor: 150_000 });
    expect(r.lines).toEqual([
      { from: '2025-10-01', to: '2025-10-30', days: 30, balanceMinor: 150_000, ratePercent: 2.76, interestMinor: 340 },
    ]);
    expect(r).toMatchObject({ interestMinor: 340, indemnityMinor: 0, totalMinor: 340 });
  });

  it('B2C never gets the indemnity even if the terms carry one', () => {
    const r = penalties({ audience: 'B2C', dueDate: '2025-09-30', asOf: '2025-10-30', principalMinor: 150_000 });
    expect(r.indemnityMinor).toBe(0);
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
    const agreed = { ...COMMERCIAL, agreedRatePercent: 10 };
    expect(penalties({ terms: agreed, dueDate: '2024-01-10', asOf: '2024-01-15', principalMinor: 365 }).interestMinor).toBe(1);
    expect(penalties({ terms: agreed, dueDate: '2024-01-10', asOf: '2024-01-14', principalMinor: 365 }).interestMinor).toBe(0);
  });

  it('agreed rate replaces ECB + spread and is checked against 3 × legal rate', () => {
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
    // 10 % < 11.13 % → flagged, still computed at the agreed rate:
    // 100,000 × 0.10 × 30 / 365 = 300,000 / 365 = 821.92 → 822
    const low = penalties({
      terms: { ...COMMERCIAL, agreedRatePercent: 10 },
      dueDate: '2025-03-31',
      asOf: '2025-04-30',
      principalMinor: 100_000,
    });
    expect(low.belowLegalFloor).toBe(true);
    expect(low.interestMinor).toBe(822);
  });

  it('an agreed rate is still computed when the legal table does not cover the period (flag unset)', () => {
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

  it('full payment stops interest; the indemnity stays due', () => {
    // 1 Apr..9 Apr = 9 days: 1,000,000 × 0.1315 × 9 / 365 = 3,242.47 → 3,242
    const r = penalties({
      dueDate: '2025-03-31',
      asOf: '2025-04-30',
      principalMinor: 1_000_000,
      payments: [{ date: '2025-04-10', amountMinor: 1_000_000 }],
    });
    expect(r.lines).toHaveLength(1);
    expect(r.interestMinor).toBe(3_242);
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

  it('interestStartsAfter (formal notice date for consumers) delays interest, not the due date', () => {
    // legal 2.76 %: 150,000 × 0.0276 × 10 / 365 = 41,400 / 365 = 113.42 → 113
    const r = penalties({
      terms: LEGAL,
      audience: 'B2C',
      dueDate: '2025-09-30',
      asOf: '2025-10-30',
      interestStartsAfter: '2025-10-20',
      principalMinor: 150_000,
    });
    expect(r.lines[0]).toMatchObject({ from: '2025-10-21', to: '2025-10-30', days: 10, interestMinor: 113 });
  });

  it('uses the shipped tables by default', () => {
    const withDefaults = computePenalties({
      terms: COMMERCIAL,
      audience: 'B2B',
      currency: 'EUR',
      dueDate: '2025-03-31',
      asOf: '2025-04-30',
      principalMinor: 1_000_000,
      payments: [],
    });
    expect(withDefaults.lines[0]?.ratePercent).toBeGreaterThan(10);
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
