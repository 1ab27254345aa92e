import { describe, expect, it } from 'vitest';
import {
  addMoney,
  assertSameCurrency,
  formatMoney,
  minorUnits,
  money,
  parseDecimalToMinor,
  subtractMoney,
} from '../../../domain/money';
import { plainSpaces } from './helpers';

describe('minorUnits', () => {
  it.each([
    ['EUR', 2],
    ['USD', 2],
    ['JPY', 0],
    ['KWD', 3],
  ])('%s has %d decimals', (currency, digits) => expect(minorUnits(currency)).toBe(digits));

  it('rejects malformed codes', () => {
    expect(() => minorUnits('euro')).toThrow(/"euro"/);
  });
});

describe('formatMoney', () => {
  it('formats French with Intl narrow no-break spaces', () => {
    expect(formatMoney(money(123456, 'EUR'), 'fr')).toBe('1\u202f234,56\u00a0€');
    expect(plainSpaces(formatMoney(money(123456, 'EUR'), 'fr'))).toBe('1 234,56 €');
  });

  it('formats English', () => {
    expect(formatMoney(money(123456, 'EUR'), 'en')).toBe('€1,234.56');
    expect(formatMoney(money(5, 'EUR'), 'en')).toBe('€0.05');
    expect(formatMoney(money(-500, 'EUR'), 'en')).toBe('-€5.00');
  });

  it('uses the currency minor unit (JPY has none)', () => {
    expect(plainSpaces(formatMoney(money(1234, 'JPY'), 'fr'))).toBe('1 234 JPY');
    expect(formatMoney(money(1234, 'JPY'), 'en')).toBe('JP¥1,234');
  });

  it('formats large amounts exactly', () => {
    expect(formatMoney(money(987654321012, 'EUR'), 'en')).toBe('€9,876,543,210.12');
  });
});

describe('parseDecimalToMinor', () => {
  it.each([
    ['1234.56', 'EUR', 123456],
    ['1234.5', 'EUR', 123450],
    ['1234', 'EUR', 123400],
    ['0.07', 'EUR', 7],
    ['-12.30', 'EUR', -1230],
    ['1500', 'JPY', 1500],
    ['1.234', 'KWD', 1234],
  ])('%s %s → %d', (s, currency, minor) => expect(parseDecimalToMinor(s, currency)).toBe(minor));

  it('rejects more decimals than the currency allows, with a clear error', () => {
    expect(() => parseDecimalToMinor('1.234', 'EUR')).toThrow('"1.234" has 3 decimals but EUR allows at most 2');
    expect(() => parseDecimalToMinor('15.5', 'JPY')).toThrow(/JPY allows at most 0/);
  });

  it.each(['', 'abc', '1,5', '1.', '.5', '1e3', '1 000'])('rejects %j', (bad) => {
    expect(() => parseDecimalToMinor(bad, 'EUR')).toThrow(/Invalid decimal amount/);
  });
});

describe('arithmetic', () => {
  it('adds and subtracts in the same currency', () => {
    expect(addMoney(money(100, 'EUR'), money(250, 'EUR'))).toEqual({ amountMinor: 350, currency: 'EUR' });
    expect(subtractMoney(money(100, 'EUR'), money(250, 'EUR'))).toEqual({ amountMinor: -150, currency: 'EUR' });
  });

  it('refuses mixed currencies', () => {
    expect(() => assertSameCurrency(money(1, 'EUR'), money(1, 'USD'))).toThrow('Currency mismatch: EUR vs USD');
    expect(() => addMoney(money(1, 'EUR'), money(1, 'JPY'))).toThrow(/mismatch/);
  });

  it('refuses non-integer amounts', () => {
    expect(() => money(12.5, 'EUR')).toThrow(/safe integer/);
    expect(() => money(Number.MAX_SAFE_INTEGER + 1, 'EUR')).toThrow(/safe integer/);
  });
});
