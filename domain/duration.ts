// ISO-8601 durations ("P7D", "-P3D", "PT30S", "P1M", "PT1.5S") used for policy offsets and
// graces. Pure: no clock, no I/O (imported inside the Temporal workflow sandbox).
import { DateTime, Duration } from 'luxon';

/**
 * Signed ISO-8601 duration: an optional leading "-", then "P", at least one component,
 * "T" only when a time component follows. Fractions are allowed on seconds only
 * ("PT1.5S"): a fractional day or month has no calendar meaning we want to guess.
 */
const ISO_DURATION_RE =
  /^-?P(?=\d|T\d)(?:\d+Y)?(?:\d+M)?(?:\d+W)?(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/;

export function isIsoDuration(s: unknown): s is string {
  return typeof s === 'string' && ISO_DURATION_RE.test(s) && Duration.fromISO(s).isValid;
}

/** Parses a signed ISO-8601 duration; throws an Error naming the bad value. */
export function parseIsoDuration(s: string): Duration {
  if (!isIsoDuration(s)) {
    throw new Error(
      `Invalid ISO-8601 duration ${JSON.stringify(s)}: expected e.g. "P7D", "-P3D", "PT30S", "P1M", "PT1.5S"`,
    );
  }
  return Duration.fromISO(s);
}

/** Milliseconds of a duration; months and years use luxon's casual lengths (30 d, 365 d). */
export function durationToMillis(s: string): number {
  return parseIsoDuration(s).toMillis();
}

/** Parses an ISO instant (with offset or "Z"); throws an Error naming the bad value. */
export function parseInstant(instantIso: string): DateTime {
  const dt = DateTime.fromISO(instantIso, { setZone: true });
  if (!dt.isValid) {
    throw new Error(`Invalid ISO-8601 instant ${JSON.stringify(instantIso)}: ${dt.invalidExplanation ?? dt.invalidReason}`);
  }
  return dt;
}

/** Normalises an instant to the UTC form used everywhere: "2026-03-10T08:00:00.000Z". */
export function toUtcIso(dt: DateTime): string {
  const iso = dt.toUTC().toISO();
  if (iso === null) throw new Error(`Invalid instant: ${dt.invalidExplanation ?? dt.invalidReason}`);
  return iso;
}

/** Throws an Error naming the zone when it is not a valid IANA time zone. */
export function assertTimeZone(timeZone: string): void {
  if (!DateTime.fromMillis(0, { zone: timeZone }).isValid) {
    throw new Error(`Invalid IANA time zone ${JSON.stringify(timeZone)}`);
  }
}

/**
 * Adds a duration to an instant. Year/month/week/day parts are calendar arithmetic in
 * `timeZone` (P1D across a DST change keeps the local wall-clock time); hour/minute/second
 * parts are exact elapsed time. Returns the UTC ISO instant with milliseconds.
 */
export function addIsoDuration(instantIso: string, durationIso: string, timeZone: string): string {
  assertTimeZone(timeZone);
  const start = parseInstant(instantIso).setZone(timeZone);
  return toUtcIso(start.plus(parseIsoDuration(durationIso)));
}
