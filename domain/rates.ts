// Reference-rate tables, per half-year, as configuration data (never fetched at run time).
// Keys are "YYYY-H1" (rate in force on 1 January) and "YYYY-H2" (rate in force on 1 July).
// Values are annual rates in percent. The shipped figures are in config/rate-tables.json.

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
 * The reference rates Relance computes with, as data: config/rate-tables.json by default,
 * or the file named by RATE_TABLES_FILE, validated at start (config/rate-tables.ts). Workflow
 * code never reads the file: it receives the tables as a recorded activity result, so a
 * newly confirmed rate reaches running invoices and replay still sees what each run saw.
 */
export interface RateTables {
  /** Free-form version of the table (e.g. the date it was last confirmed), shown in timelines. */
  version: string;
  ecb: RateTable;
  legal: LegalRateTable;
  /**
   * Half-years whose rate is not yet published (copied forward until it is): interest
   * computed with them is marked provisional in letters, previews and the API.
   */
  provisional: { ecb: readonly string[]; legal: readonly string[] };
}

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
 * the figure is provisional). A half-year listed in `provisional` is flagged too. Dates
 * before the table still throw.
 */
export function rateForDateOrLatest<T>(
  table: Readonly<Record<string, T>>,
  isoDate: string,
  provisional: readonly string[] = [],
): { value: T; provisional: boolean; halfYear: string } {
  const key = halfYearKey(isoDate);
  if (Object.prototype.hasOwnProperty.call(table, key)) return { value: table[key] as T, provisional: provisional.includes(key), halfYear: key };
  const known = Object.keys(table).sort();
  const last = known[known.length - 1];
  if (last !== undefined && key > last) return { value: table[last] as T, provisional: true, halfYear: key };
  return { value: rateForDate(table, isoDate), provisional: false, halfYear: key };
}

/** Overlays `override` on `base` (config-supplied entries win). */
export function mergeRateTables<T>(
  base: Readonly<Record<string, T>>,
  override?: Readonly<Record<string, T>>,
): Readonly<Record<string, T>> {
  return override ? Object.freeze({ ...base, ...override }) : base;
}
