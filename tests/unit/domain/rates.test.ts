import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../config/index';
import { loadRateTables, parseRateTables } from '../../../config/rate-tables';
import { halfYearKey, rateForDate, rateForDateOrLatest } from '../../../domain/rates';

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

  it('flags a half-year listed as provisional, and any half-year past the table', () => {
    expect(rateForDateOrLatest(table, '2025-08-01', ['2025-H2'])).toEqual({ value: 2.25, provisional: true, halfYear: '2025-H2' });
    expect(rateForDateOrLatest(table, '2025-02-01', ['2025-H2'])).toEqual({ value: 1.5, provisional: false, halfYear: '2025-H1' });
    expect(rateForDateOrLatest(table, '2027-01-01')).toEqual({ value: 2.25, provisional: true, halfYear: '2027-H1' });
  });
});

describe('the shipped table (config/rate-tables.json)', () => {
  const halves = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => [`${from + i}-H1`, `${from + i}-H2`]).flat();
  const shipped = loadRateTables();

  it('ECB table covers 2020-H1..2026-H2 without gaps, non-negative', () => {
    expect(Object.keys(shipped.ecb).sort()).toEqual(halves(2020, 2026));
    for (const v of Object.values(shipped.ecb)) expect(v).toBeGreaterThanOrEqual(0);
  });

  it('legal table covers 2020-H1..2026-H2, consumer-creditor rate above the other one', () => {
    expect(Object.keys(shipped.legal).sort()).toEqual(halves(2020, 2026));
    for (const v of Object.values(shipped.legal)) expect(v.consumerCreditor).toBeGreaterThan(v.other);
  });

  it('marks the unconfirmed 2026-H2 figures provisional', () => {
    expect(shipped.provisional).toEqual({ ecb: ['2026-H2'], legal: ['2026-H2'] });
    expect(shipped.version).toMatch(/\S/);
  });
});

describe('rate-table validation (at start)', () => {
  const good = { version: 'v1', ecb: { '2025-H1': 3.15, '2025-H2': 2.15 }, legal: { '2025-H2': { consumerCreditor: 6.65, other: 2.76 } } };

  it('accepts a table and defaults provisional to none', () => {
    expect(parseRateTables(good).provisional).toEqual({ ecb: [], legal: [] });
  });

  it.each<[string, unknown, RegExp]>([
    ['a gap', { ...good, ecb: { '2025-H1': 3.15, '2026-H1': 2 } }, /ecb\.2025-H2: missing between 2025-H1 and 2026-H1/],
    ['a bad key', { ...good, ecb: { '2025-S2': 2 } }, /ecb\.2025-S2.*half-year/],
    ['a rate that is not a number', { ...good, ecb: { '2025-H1': '3.15' } }, /ecb\.2025-H1/],
    ['an absurd rate', { ...good, ecb: { '2025-H1': 315 } }, /ecb\.2025-H1/],
    ['a provisional half-year not in the table', { ...good, provisional: { ecb: ['2026-H1'] } }, /provisional\.ecb\.0: 2026-H1 is not in the ecb table/],
    ['an unknown field', { ...good, ecbRates: {} }, /ecbRates/],
    ['no version', { ...good, version: '' }, /version/],
  ])('refuses %s, naming the entry', (_what, doc, message) => {
    expect(() => parseRateTables(doc, 'rates.json')).toThrow(message);
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'rates-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('RATE_TABLES_FILE replaces the shipped table; a bad one stops the configuration', () => {
    const file = path.join(dir, 'rates.json');
    writeFileSync(file, JSON.stringify({ ...good, version: '2027-01-02', provisional: { legal: ['2025-H2'] } }));
    const config = loadConfig({ RATE_TABLES_FILE: file });
    expect(config.rateTables.version).toBe('2027-01-02');
    expect(config.rateTables.provisional.legal).toEqual(['2025-H2']);
    expect(loadConfig({}).rateTables.ecb['2026-H2']).toBe(2.15);

    writeFileSync(file, JSON.stringify({ ...good, ecb: { '2025-H1': 3.15, '2026-H1': 2 } }));
    expect(() => loadConfig({ RATE_TABLES_FILE: file })).toThrow(ConfigError);
    expect(() => loadConfig({ RATE_TABLES_FILE: file })).toThrow(/RATE_TABLES_FILE: Invalid .*rates\.json: ecb\.2025-H2: missing/);
    expect(() => loadConfig({ RATE_TABLES_FILE: path.join(dir, 'absent.json') })).toThrow(/RATE_TABLES_FILE: Cannot read/);
  });
});
