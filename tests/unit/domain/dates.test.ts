// Local dates and day arithmetic (domain/dates.ts) and "overdue" (domain/overdue.ts), the
// one home of each rule, tested directly.
import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, isCalendarDate, localDate, utcDate } from '../../../domain/dates';
import { customerToday, daysLate, isOverdue, todaysOfZones } from '../../../domain/overdue';

describe('localDate', () => {
  it('gives the calendar date in the zone, from an ISO instant, epoch ms or a Date', () => {
    expect(localDate('2026-03-14T23:30:00Z', 'Europe/Paris')).toBe('2026-03-15');
    expect(localDate('2026-03-14T23:30:00Z', 'UTC')).toBe('2026-03-14');
    const ms = Date.parse('2026-12-03T01:00:00Z');
    expect(localDate(ms, 'America/Los_Angeles')).toBe('2026-12-02');
    expect(localDate(new Date(ms), 'Pacific/Kiritimati')).toBe('2026-12-03');
    expect(localDate(Date.parse('2026-12-03T10:00:00Z'), 'Pacific/Kiritimati')).toBe('2026-12-04');
  });

  it('reads an instant without an offset as a wall-clock time in the zone', () => {
    expect(localDate('2026-03-14T23:30:00', 'America/Los_Angeles')).toBe('2026-03-14');
  });

  it('throws naming a bad zone or instant instead of returning no date', () => {
    expect(() => localDate(0, 'Mars/Olympus')).toThrow(/Mars\/Olympus/);
    expect(() => localDate('next tuesday', 'UTC')).toThrow(/next tuesday/);
  });
});

describe('day arithmetic', () => {
  it('adds calendar days across months, leap days and years', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(daysBetween('2026-01-01', '2027-01-01')).toBe(365);
  });

  it('refuses what is not a real YYYY-MM-DD date', () => {
    expect(isCalendarDate('2026-02-29')).toBe(false);
    expect(isCalendarDate('2028-02-29')).toBe(true);
    expect(isCalendarDate('2026-1-01')).toBe(false);
    // Years 0–99 are years, not 1900–1999 (Date.UTC's reading; found by the API fuzz).
    expect(isCalendarDate('0033-01-03')).toBe(true);
    expect(isCalendarDate('0004-02-29')).toBe(true);
    expect(isCalendarDate('0001-02-29')).toBe(false);
    expect(addDays('0099-12-31', 1)).toBe('0100-01-01');
    expect(() => addDays('2026-02-30', 1)).toThrow(/2026-02-30/);
  });

  it('utcDate reads a DATE column (UTC midnight) and any instant as its UTC date', () => {
    expect(utcDate(new Date('2026-12-03T00:00:00.000Z'))).toBe('2026-12-03');
    expect(utcDate(Date.parse('2026-12-03T23:59:59.999Z'))).toBe('2026-12-03');
    expect(utcDate(Date.parse('1969-12-31T12:00:00Z'))).toBe('1969-12-31');
  });
});

describe('overdue', () => {
  const open = { dueDate: '2026-12-02', closed: false, balanceMinor: 100 };

  it('is open with the due date before the local today: not on the due date itself', () => {
    expect(isOverdue(open, '2026-12-02')).toBe(false);
    expect(isOverdue(open, '2026-12-03')).toBe(true);
    expect(isOverdue({ ...open, closed: true }, '2026-12-03')).toBe(false);
    expect(isOverdue({ ...open, balanceMinor: 0 }, '2026-12-03')).toBe(false);
    expect(daysLate('2026-12-02', '2026-11-30')).toBe(0);
    expect(daysLate('2026-12-02', '2027-01-01')).toBe(30);
  });

  it("counts in the customer's zone: at 01:00 UTC an invoice due the day before is not overdue in Los Angeles", () => {
    const now = Date.parse('2026-12-03T01:00:00Z');
    expect(isOverdue(open, customerToday(now, 'America/Los_Angeles'))).toBe(false);
    expect(isOverdue(open, customerToday(now, 'Europe/Paris'))).toBe(true);
  });

  it('groups time zones by their today: at most three dates at any instant', () => {
    const now = Date.parse('2026-12-03T11:00:00Z');
    expect(todaysOfZones(['Pacific/Kiritimati', 'UTC', 'Pacific/Pago_Pago', 'Europe/Paris', 'UTC'], now)).toEqual([
      { today: '2026-12-03', timeZones: ['Europe/Paris', 'Pacific/Pago_Pago', 'UTC'] },
      { today: '2026-12-04', timeZones: ['Pacific/Kiritimati'] },
    ]);
    const early = Date.parse('2026-12-03T10:30:00Z');
    expect(todaysOfZones(['Pacific/Kiritimati', 'UTC', 'Etc/GMT+12'], early).map((g) => g.today)).toEqual(['2026-12-02', '2026-12-03', '2026-12-04']);
    expect(todaysOfZones([], early)).toEqual([]);
  });
});
