import { describe, expect, it } from 'vitest';
import { DEMO_SECONDS, FR_B2B_DEFAULT } from '../../../domain/policy';
import {
  addBusinessDays,
  anchorInstant,
  calendarHolidays,
  isBusinessDay,
  isPublicHoliday,
  moveIntoSendWindow,
  nextStep,
  stepInstant,
} from '../../../domain/schedule';
import { invoice, OFFICE, PARIS } from './helpers';

const customer = invoice().customer;

describe('anchorInstant', () => {
  it('is the start of the due date in the customer zone', () => {
    expect(anchorInstant({ dueDate: '2026-03-15', customer })).toBe('2026-03-14T23:00:00.000Z');
    expect(anchorInstant({ dueDate: '2026-07-15', customer })).toBe('2026-07-14T22:00:00.000Z');
  });

  it('prefers dueAt, normalised to UTC', () => {
    expect(anchorInstant({ dueDate: '2026-03-15', dueAt: '2026-03-10T09:00:00+01:00', customer })).toBe(
      '2026-03-10T08:00:00.000Z',
    );
  });
});

describe('public holidays and business days (FR 2026)', () => {
  const holidays2026 = [
    '2026-01-01', // Jour de l'an
    '2026-04-06', // Lundi de Pâques
    '2026-05-01', // Fête du travail
    '2026-05-08', // Victoire 1945
    '2026-05-14', // Ascension
    '2026-05-25', // Lundi de Pentecôte
    '2026-07-14', // Fête nationale (Tuesday)
    '2026-08-15', // Assomption (Saturday)
    '2026-11-01', // Toussaint (Sunday)
    '2026-11-11', // Armistice
    '2026-12-25', // Noël
  ];

  it.each(holidays2026)('%s is a public holiday', (d) => {
    expect(isPublicHoliday(d, 'FR')).toBe(true);
    expect(isBusinessDay(d, 'FR', OFFICE)).toBe(false);
  });

  it('observances are not public holidays (Pentecost Sunday, Mothers Day), ordinary days are', () => {
    expect(isPublicHoliday('2026-05-24', 'FR')).toBe(false);
    expect(isPublicHoliday('2026-05-31', 'FR')).toBe(false);
    expect(isPublicHoliday('2026-07-15', 'FR')).toBe(false);
  });

  it('weekends are not business days, weekdays are', () => {
    expect(isBusinessDay('2026-03-14', 'FR', OFFICE)).toBe(false); // Saturday
    expect(isBusinessDay('2026-03-15', 'FR', OFFICE)).toBe(false); // Sunday
    expect(isBusinessDay('2026-03-16', 'FR', OFFICE)).toBe(true); // Monday
  });

  it('window flags turn the rules off', () => {
    expect(isBusinessDay('2026-07-14', 'FR', { ...OFFICE, skipPublicHolidays: false })).toBe(true);
    expect(isBusinessDay('2026-03-14', 'FR', { ...OFFICE, businessDaysOnly: false })).toBe(true);
  });

  it('uses the country given (US Thanksgiving is not a French holiday)', () => {
    expect(isBusinessDay('2026-11-26', 'US', OFFICE)).toBe(false);
    expect(isBusinessDay('2026-11-26', 'FR', OFFICE)).toBe(true);
    expect(isBusinessDay('2026-07-14', 'US', OFFICE)).toBe(true);
  });

  it('an unknown country only has weekends', () => {
    expect(isBusinessDay('2026-01-01', 'ZZ', OFFICE)).toBe(true);
  });

  it('addBusinessDays skips weekends and holidays both ways', () => {
    expect(addBusinessDays('2026-07-10', 2, 'FR')).toBe('2026-07-15'); // Fri → Mon 13, (Tue 14 holiday) → Wed 15
    expect(addBusinessDays('2026-07-15', -2, 'FR')).toBe('2026-07-10');
    expect(addBusinessDays('2026-07-10', 0, 'FR')).toBe('2026-07-10');
  });
});

describe('moveIntoSendWindow (Europe/Paris, 09:00-18:00, business days)', () => {
  const move = (instant: string) => moveIntoSendWindow(instant, PARIS);

  it('leaves an instant inside the window unchanged (normalised)', () => {
    expect(move('2026-03-10T10:15:30+01:00')).toBe('2026-03-10T09:15:30.000Z');
  });

  it('before the window → 09:00 the same day', () => {
    expect(move('2026-03-10T06:00:00Z')).toBe('2026-03-10T08:00:00.000Z'); // 07:00 CET Tuesday
  });

  it('at or after the end → 09:00 the next business day', () => {
    expect(move('2026-03-10T17:00:00Z')).toBe('2026-03-11T08:00:00.000Z'); // 18:00 CET exactly: end excluded
    expect(move('2026-03-10T16:59:59.999Z')).toBe('2026-03-10T16:59:59.999Z');
    expect(move('2026-03-10T22:30:00Z')).toBe('2026-03-11T08:00:00.000Z');
  });

  it('weekend → Monday 09:00', () => {
    expect(move('2026-03-14T10:00:00Z')).toBe('2026-03-16T08:00:00.000Z');
    expect(move('2026-03-13T17:30:00Z')).toBe('2026-03-16T08:00:00.000Z'); // Friday 18:30
  });

  it('French holidays: 14 July 2026 (Tuesday) → Wednesday; 1 May (Friday) → Monday 4 May', () => {
    expect(move('2026-07-14T10:00:00Z')).toBe('2026-07-15T07:00:00.000Z');
    expect(move('2026-07-13T16:30:00Z')).toBe('2026-07-15T07:00:00.000Z'); // Monday 18:30 CEST
    expect(move('2026-05-01T08:00:00Z')).toBe('2026-05-04T07:00:00.000Z');
    expect(move('2026-12-24T18:00:00Z')).toBe('2026-12-28T08:00:00.000Z'); // Christmas Friday
  });

  it('spring forward: Sunday 2026-03-29 → Monday 09:00 CEST = 07:00Z', () => {
    expect(move('2026-03-29T10:00:00Z')).toBe('2026-03-30T07:00:00.000Z');
    expect(move('2026-03-29T01:30:00Z')).toBe('2026-03-30T07:00:00.000Z'); // inside the skipped hour
    expect(move('2026-03-27T17:30:00Z')).toBe('2026-03-30T07:00:00.000Z'); // Friday 18:30 CET
  });

  it('fall back: Sunday 2026-10-25 → Monday 09:00 CET = 08:00Z', () => {
    expect(move('2026-10-25T10:00:00Z')).toBe('2026-10-26T08:00:00.000Z');
    expect(move('2026-10-23T16:30:00Z')).toBe('2026-10-26T08:00:00.000Z'); // Friday 18:30 CEST
    expect(move('2026-10-26T06:00:00Z')).toBe('2026-10-26T08:00:00.000Z'); // Monday 07:00 CET
  });

  it('another zone: New York, Thanksgiving → Friday 09:00 EST', () => {
    const ny = { timeZone: 'America/New_York', country: 'US', window: OFFICE };
    expect(moveIntoSendWindow('2026-11-26T15:00:00Z', ny)).toBe('2026-11-27T14:00:00.000Z');
  });

  it('window disabled: passes through, normalised', () => {
    const off = { ...PARIS, window: { ...OFFICE, enabled: false } };
    expect(moveIntoSendWindow('2026-03-29T03:04:05+02:00', off)).toBe('2026-03-29T01:04:05.000Z');
  });

  it('holidays kept when skipPublicHolidays is false', () => {
    const w = { ...PARIS, window: { ...OFFICE, skipPublicHolidays: false } };
    expect(moveIntoSendWindow('2026-07-14T10:00:00Z', w)).toBe('2026-07-14T10:00:00.000Z');
  });

  it('names bad input', () => {
    expect(() => move('not a date')).toThrow(/"not a date"/);
    expect(() => moveIntoSendWindow('2026-03-10T10:00:00Z', { ...PARIS, window: { ...OFFICE, start: '19:00' } })).toThrow(
      /start 19:00 must be before end 18:00/,
    );
  });
});

describe('stepInstant and nextStep', () => {
  const anchor = anchorInstant({ dueDate: '2026-03-15', customer }); // Sunday 15 March 2026
  const at = (offset: string) => stepInstant({ anchor, offset, ...PARIS });

  it('computes each default step instant', () => {
    expect(at('-P3D')).toBe('2026-03-12T08:00:00.000Z'); // Thu 12 March 00:00 → 09:00 CET
    expect(at('P7D')).toBe('2026-03-23T08:00:00.000Z'); // Sun 22 → Mon 23
    expect(at('P15D')).toBe('2026-03-30T07:00:00.000Z'); // Mon 30 March, now CEST
    expect(at('P30D')).toBe('2026-04-14T07:00:00.000Z'); // Tue 14 April
  });

  it('nextStep returns the first step not completed, in policy order', () => {
    const args = { policy: FR_B2B_DEFAULT, anchor, timeZone: 'Europe/Paris', country: 'FR' };
    expect(nextStep({ ...args, completedStepIds: [] })).toMatchObject({
      step: { id: 'courtesy' },
      at: '2026-03-12T08:00:00.000Z',
    });
    expect(nextStep({ ...args, completedStepIds: ['courtesy', 'reminder-1'] })).toMatchObject({
      step: { id: 'reminder-2' },
      at: '2026-03-30T07:00:00.000Z',
    });
    expect(nextStep({ ...args, completedStepIds: ['reminder-1'] })?.step.id).toBe('courtesy');
    expect(nextStep({ ...args, completedStepIds: FR_B2B_DEFAULT.steps.map((s) => s.id) })).toBeUndefined();
  });

  it('demo policy: exact seconds from dueAt, no window', () => {
    const demoAnchor = anchorInstant({ dueDate: '2026-03-15', dueAt: '2026-03-15T03:00:00.000Z', customer });
    const args = { policy: DEMO_SECONDS, anchor: demoAnchor, timeZone: 'Europe/Paris', country: 'FR' };
    expect(nextStep({ ...args, completedStepIds: [] })?.at).toBe('2026-03-15T02:59:55.000Z');
    expect(nextStep({ ...args, completedStepIds: ['courtesy', 'reminder-1'] })?.at).toBe('2026-03-15T03:00:10.000Z');
  });
});

describe('calendarHolidays (the holidays the API gives the workflow at start)', () => {
  it('covers every year from the first step to the year after the last one', () => {
    const anchor = anchorInstant({ dueDate: '2026-12-01', customer });
    const h = calendarHolidays({ policy: FR_B2B_DEFAULT, anchor, timeZone: 'Europe/Paris', country: 'fr' });
    // Courtesy J-3 in 2026, agency handover J+68 in 2027, then 2028 for a send pushed past New Year.
    expect(Object.keys(h)).toEqual(['FR:2026', 'FR:2027', 'FR:2028']);
    expect(h['FR:2026']).toContain('2026-12-25');
    expect(h['FR:2027']).toContain('2027-07-14');
  });

  it('is empty when the policy does not skip holidays or has no send window', () => {
    const anchor = anchorInstant({ dueDate: '2026-12-01', customer });
    expect(calendarHolidays({ policy: DEMO_SECONDS, anchor, timeZone: 'Europe/Paris', country: 'FR' })).toEqual({});
    const noSkip = { ...FR_B2B_DEFAULT, sendWindow: { ...FR_B2B_DEFAULT.sendWindow, skipPublicHolidays: false } };
    expect(calendarHolidays({ policy: noSkip, anchor, timeZone: 'Europe/Paris', country: 'FR' })).toEqual({});
  });
});
