// Money in integer minor units (cents) with its ISO 4217 currency. Stored amounts are
// always safe integers; floats appear only transiently for display through Intl.
import type { Language, Money } from './types';

const CURRENCY_RE = /^[A-Z]{3}$/;

function assertCurrency(currency: string): void {
  if (!CURRENCY_RE.test(currency)) {
    throw new Error(`Invalid ISO 4217 currency code ${JSON.stringify(currency)}`);
  }
}

function assertMinor(amountMinor: number, what = 'amountMinor'): void {
  if (!Number.isSafeInteger(amountMinor)) {
    throw new Error(`${what} must be a safe integer number of minor units (got ${amountMinor})`);
  }
}

export function money(amountMinor: number, currency: string): Money {
  assertCurrency(currency);
  assertMinor(amountMinor);
  return { amountMinor, currency };
}

const minorUnitsCache = new Map<string, number>();

/** Number of decimals of a currency's minor unit per Intl (EUR 2, JPY 0, KWD 3). */
export function minorUnits(currency: string): number {
  assertCurrency(currency);
  let digits = minorUnitsCache.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
    minorUnitsCache.set(currency, digits);
  }
  return digits;
}

/** Intl locale used for a language: 'fr' → fr-FR, 'en' → en-GB; anything else as given. */
export function localeFor(language: Language | string): string {
  if (language === 'fr') return 'fr-FR';
  if (language === 'en') return 'en-GB';
  return language;
}

/**
 * Formats with Intl: fr → "1 234,56 €" (with U+202F narrow no-break spaces as Intl emits
 * them), en → "€1,234.56".
 */
export function formatMoney(m: Money, language: Language | string): string {
  assertMinor(m.amountMinor);
  const digits = minorUnits(m.currency);
  return new Intl.NumberFormat(localeFor(language), {
    style: 'currency',
    currency: m.currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(m.amountMinor / 10 ** digits);
}

/**
 * "1234.56" EUR → 123456. Accepts an optional leading "-", digits, an optional "." and at
 * most as many decimals as the currency has (EUR 2, JPY 0); anything else throws.
 */
export function parseDecimalToMinor(decimal: string, currency: string): number {
  const digits = minorUnits(currency);
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(decimal.trim());
  if (!match) {
    throw new Error(`Invalid decimal amount ${JSON.stringify(decimal)}: expected e.g. "1234.56"`);
  }
  const [, sign, whole, fraction = ''] = match;
  if (fraction.length > digits) {
    throw new Error(
      `Amount ${JSON.stringify(decimal)} has ${fraction.length} decimals but ${currency} allows at most ${digits}`,
    );
  }
  const minor = Number(whole + fraction.padEnd(digits, '0'));
  if (!Number.isSafeInteger(minor)) {
    throw new Error(`Amount ${JSON.stringify(decimal)} is too large`);
  }
  return sign === '-' && minor !== 0 ? -minor : minor;
}

export function assertSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new Error(`Currency mismatch: ${a.currency} vs ${b.currency}`);
  }
}

export function addMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amountMinor + b.amountMinor, a.currency);
}

export function subtractMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amountMinor - b.amountMinor, a.currency);
}
