// Reference-rate tables, per half-year, as configuration data (never fetched at run time).
// Keys are "YYYY-H1" (rate in force on 1 January) and "YYYY-H2" (rate in force on 1 July).
// Values are annual rates in percent. Config may pass its own tables to override these.

/** ECB main refinancing operations rate, percent, keyed by half-year. */
export type RateTable = Readonly<Record<string, number>>;

/** French taux de l'intérêt légal, percent, keyed by half-year. */
export interface LegalRate {
  /** Créances des personnes physiques n'agissant pas pour des besoins professionnels. */
  consumerCreditor: number;
  /** "Dans tous les autres cas" (notably any professional creditor). */
  other: number;
}
export type LegalRateTable = Readonly<Record<string, LegalRate>>;

/**
 * ECB main refinancing operations (MRO) rate in force on 1 January / 1 July.
 * 0.00 from March 2016 until 27 July 2022 (so 2022-H2 is 0.00: the first hike to 0.50 came
 * after 1 July 2022); 2.50 from 21 Dec 2022; 4.00 from 21 Jun 2023; 4.50 from 20 Sep 2023;
 * 4.25 from 12 Jun 2024; 3.15 from 18 Dec 2024; 2.15 from 11 Jun 2025 (unchanged since).
 */
export const ECB_MRO_RATES: RateTable = Object.freeze({
  '2020-H1': 0.0,
  '2020-H2': 0.0,
  '2021-H1': 0.0,
  '2021-H2': 0.0,
  '2022-H1': 0.0,
  '2022-H2': 0.0,
  '2023-H1': 2.5,
  '2023-H2': 4.0,
  '2024-H1': 4.5,
  '2024-H2': 4.25,
  '2025-H1': 3.15,
  '2025-H2': 2.15,
  '2026-H1': 2.15,
  // TO CONFIRM: the rate in force on 1 July 2026 was not known when this table was written;
  // 2.15 assumes no ECB change before then. Update (or override via config) once known.
  '2026-H2': 2.15,
});

/**
 * Taux de l'intérêt légal (art. L313-2 and D313-1-A Code monétaire et financier), set by
 * arrêté each half-year.
 */
export const FR_LEGAL_RATES: LegalRateTable = Object.freeze({
  '2020-H1': { consumerCreditor: 3.15, other: 0.87 },
  '2020-H2': { consumerCreditor: 3.11, other: 0.84 },
  '2021-H1': { consumerCreditor: 3.14, other: 0.79 },
  '2021-H2': { consumerCreditor: 3.12, other: 0.76 },
  '2022-H1': { consumerCreditor: 3.13, other: 0.76 },
  '2022-H2': { consumerCreditor: 3.15, other: 0.77 },
  '2023-H1': { consumerCreditor: 4.47, other: 2.06 },
  '2023-H2': { consumerCreditor: 6.82, other: 4.22 },
  '2024-H1': { consumerCreditor: 8.01, other: 5.07 },
  '2024-H2': { consumerCreditor: 8.16, other: 4.92 },
  '2025-H1': { consumerCreditor: 7.21, other: 3.71 },
  '2025-H2': { consumerCreditor: 6.65, other: 2.76 },
  // Arrêté du 15 décembre 2025 (JORF 26 déc. 2025): 6.67 % and 2.62 %. verify
  '2026-H1': { consumerCreditor: 6.67, other: 2.62 },
  // TO CONFIRM against the arrêté published in late June 2026: carried over from 2026-H1 so
  // consumer invoices keep accruing interest instead of failing; config may override it.
  '2026-H2': { consumerCreditor: 6.67, other: 2.62 },
});

const ISO_DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** "2025-04-30" → "2025-H1"; "2025-07-01" → "2025-H2". */
export function halfYearKey(isoDate: string): string {
  const match = ISO_DATE_RE.exec(isoDate);
  const month = match ? Number(match[2]) : NaN;
  if (!match || month < 1 || month > 12) {
    throw new Error(`Invalid date ${JSON.stringify(isoDate)}: expected YYYY-MM-DD`);
  }
  return `${match[1]}-${month <= 6 ? 'H1' : 'H2'}`;
}

/**
 * The table's value for the half-year containing `isoDate` (YYYY-MM-DD). Throws a clear
 * error when the table does not cover it.
 */
export function rateForDate<T>(table: Readonly<Record<string, T>>, isoDate: string): T {
  const key = halfYearKey(isoDate);
  if (!Object.prototype.hasOwnProperty.call(table, key)) {
    const known = Object.keys(table).sort();
    throw new Error(
      `No reference rate for ${key} (date ${isoDate}); the table covers ${known[0] ?? 'nothing'}..${known[known.length - 1] ?? ''}. Add it to the rate configuration.`,
    );
  }
  return table[key] as T;
}

/**
 * Like rateForDate, but a date after the table's last half-year gets that last rate,
 * flagged provisional: the published rate for a new half-year often reaches the
 * configuration late, and interest must keep accruing meanwhile (a letter then says
 * the figure is provisional). Dates before the table still throw.
 */
export function rateForDateOrLatest<T>(table: Readonly<Record<string, T>>, isoDate: string): { value: T; provisional: boolean } {
  const key = halfYearKey(isoDate);
  if (Object.prototype.hasOwnProperty.call(table, key)) return { value: table[key] as T, provisional: false };
  const known = Object.keys(table).sort();
  const last = known[known.length - 1];
  if (last !== undefined && key > last) return { value: table[last] as T, provisional: true };
  return { value: rateForDate(table, isoDate), provisional: false };
}

/** Overlays `override` on `base` (config-supplied entries win). */
export function mergeRateTables<T>(
  base: Readonly<Record<string, T>>,
  override?: Readonly<Record<string, T>>,
): Readonly<Record<string, T>> {
  return override ? Object.freeze({ ...base, ...override }) : base;
}
