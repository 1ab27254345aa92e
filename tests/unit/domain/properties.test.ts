import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { computePenalties } from '../../../domain/penalties';
import { isBusinessDay, moveIntoSendWindow, parseHHmm } from '../../../domain/schedule';
import type { SendWindow } from '../../../domain/types';
import { rateTables } from './helpers';

const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC'];
const COUNTRY: Record<string, string> = { 'Europe/Paris': 'FR', 'America/New_York': 'US', 'Asia/Tokyo': 'JP', UTC: 'GB' };

const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

const windowArb = fc
  .tuple(fc.integer({ min: 0, max: 23 * 60 + 58 }), fc.integer({ min: 1, max: 12 * 60 }), fc.boolean(), fc.boolean())
  .map(([start, length, businessDaysOnly, skipPublicHolidays]): SendWindow => ({
    enabled: true,
    start: hhmm(start),
    end: hhmm(Math.min(start + length, 23 * 60 + 59)),
    businessDaysOnly,
    skipPublicHolidays,
  }));

// 2025-01-01 .. 2027-12-31, ms precision
const instantArb = fc
  .integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 11, 31) })
  .map((ms) => new Date(ms).toISOString());

describe('properties', () => {
  it('moveIntoSendWindow: output >= input, inside the window on a business day, idempotent', () => {
    fc.assert(
      fc.property(instantArb, windowArb, fc.constantFrom(...ZONES), (instant, window, timeZone) => {
        const opts = { timeZone, country: COUNTRY[timeZone]!, window };
        const out = moveIntoSendWindow(instant, opts);
        expect(Date.parse(out)).toBeGreaterThanOrEqual(Date.parse(instant));
        const local = DateTime.fromISO(out).setZone(timeZone);
        const wall = local.hour * 60 + local.minute;
        expect(wall).toBeGreaterThanOrEqual(parseHHmm(window.start));
        expect(wall).toBeLessThan(parseHHmm(window.end));
        expect(isBusinessDay(local.toISODate()!, opts.country, window)).toBe(true);
        expect(moveIntoSendWindow(out, opts)).toBe(out);
      }),
      { numRuns: 400 },
    );
  });

  it('moveIntoSendWindow: an input already inside the window is returned unchanged', () => {
    fc.assert(
      fc.property(instantArb, fc.constantFrom(...ZONES), (instant, timeZone) => {
        const opts = {
          timeZone,
          country: COUNTRY[timeZone]!,
          window: { enabled: true, start: '00:00', end: '23:59', businessDaysOnly: false, skipPublicHolidays: false },
        };
        const local = DateTime.fromISO(instant).setZone(timeZone);
        fc.pre(local.hour * 60 + local.minute < 23 * 60 + 59);
        expect(moveIntoSendWindow(instant, opts)).toBe(instant);
      }),
    );
  });

  const ECB = { '2025-H1': 3.15, '2025-H2': 2.15, '2026-H1': 2.15, '2026-H2': 2.15 };
  const dayArb = fc.integer({ min: 0, max: 500 });
  const dateFrom = (base: string, days: number) => DateTime.fromISO(base, { zone: 'UTC' }).plus({ days }).toISODate()!;

  it('penalties are monotonic in days late and never negative', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000_00 }),
        fc.integer({ min: 0, max: 180 }),
        dayArb,
        dayArb,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 500_000 })), { maxLength: 4 }),
        (principalMinor, dueOffset, a, b, rawPayments) => {
          const dueDate = dateFrom('2025-01-01', dueOffset);
          const payments = rawPayments.map(([d, amountMinor]) => ({ date: dateFrom(dueDate, d), amountMinor }));
          const run = (days: number) =>
            computePenalties({
              terms: { mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 },
              audience: 'B2B',
              currency: 'EUR',
              dueDate,
              asOf: dateFrom(dueDate, days),
              principalMinor,
              payments,
              rates: rateTables({ ecb: ECB }),
            });
          const [lo, hi] = [run(Math.min(a, b)), run(Math.max(a, b))];
          expect(lo.interestMinor).toBeGreaterThanOrEqual(0);
          expect(hi.interestMinor).toBeGreaterThanOrEqual(lo.interestMinor);
          expect(hi.totalMinor).toBe(hi.interestMinor + hi.indemnityMinor);
          expect(hi.lines.reduce((s, l) => s + l.interestMinor, 0)).toBe(hi.interestMinor);
          expect(hi.lines.reduce((s, l) => s + l.days, 0)).toBeLessThanOrEqual(Math.max(a, b));
        },
      ),
      { numRuns: 200 },
    );
  });
});
