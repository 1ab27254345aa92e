import { describe, expect, it } from 'vitest';
import { ECB_MRO_RATES, FR_LEGAL_RATES, halfYearKey, mergeRateTables, rateForDate } from '../../../domain/rates';

describe('halfYearKey', () => {
  it.each([
    ['2025-01-01', '2025-H1'],
    ['2025-06-30', '2025-H1'],
    ['2025-07-01', '2025-H2'],
    ['2025-12-31', '2025-H2'],
  ])('%s → %s', (date, key) => expect(halfYearKey(date)).toBe(key));

  it('rejects malformed dates', () => {
    expect(() => halfYearKey('2025-13-01')).toThrow(/"2025-13-01"/);
    expect(() => halfYearKey('01/07/2025')).toThrow(/YYYY-MM-DD/);
  });
});

describe('rateForDate', () => {
  const table = { '2025-H1': 1.5, '2025-H2': 2.25 };

  it('picks the half-year of the date', () => {
    expect(rateForDate(table, '2025-06-30')).toBe(1.5);
    expect(rateForDate(table, '2025-07-01')).toBe(2.25);
  });

  it('throws a clear error outside the table', () => {
    expect(() => rateForDate(table, '2026-01-01')).toThrow(/No reference rate for 2026-H1 \(date 2026-01-01\).*2025-H1\.\.2025-H2/);
  });

  it('lets config override or extend a table', () => {
    const merged = mergeRateTables(table, { '2025-H2': 9, '2026-H1': 3 });
    expect(rateForDate(merged, '2025-08-01')).toBe(9);
    expect(rateForDate(merged, '2026-02-01')).toBe(3);
    expect(rateForDate(merged, '2025-02-01')).toBe(1.5);
    expect(mergeRateTables(table)).toBe(table);
  });
});

describe('shipped tables', () => {
  const halves = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => [`${from + i}-H1`, `${from + i}-H2`]).flat();

  it('ECB table covers 2020-H1..2026-H2 without gaps, non-negative', () => {
    expect(Object.keys(ECB_MRO_RATES).sort()).toEqual(halves(2020, 2026));
    for (const v of Object.values(ECB_MRO_RATES)) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('legal table covers 2020-H1..2026-H2, consumer-creditor rate above the other one', () => {
    expect(Object.keys(FR_LEGAL_RATES).sort()).toEqual(halves(2020, 2026));
    for (const v of Object.values(FR_LEGAL_RATES)) expect(v.consumerCreditor).toBeGreaterThan(v.other);
  });
});
