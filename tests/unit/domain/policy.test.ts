import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import {
  BUILTIN_POLICIES,
  DEMO_SECONDS,
  DunningPolicySchema,
  FR_B2B_DEFAULT,
  FR_B2C_DEFAULT,
  getBuiltinPolicy,
  parsePolicy,
  TEN_TWENTY,
} from '../../../domain/policy';
import type { DunningPolicy } from '../../../domain/types';

const clone = (): DunningPolicy => JSON.parse(JSON.stringify(FR_B2B_DEFAULT)) as DunningPolicy;

/** Parses, expects failure, returns the issues as "path: message" strings. */
function issues(input: unknown): string[] {
  const result = DunningPolicySchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('shipped policies', () => {
  it('FR_B2B_DEFAULT has the documented calendar', () => {
    expect(FR_B2B_DEFAULT.id).toBe('fr-b2b-default');
    expect(FR_B2B_DEFAULT.version).toBe(1);
    expect(FR_B2B_DEFAULT.steps.map((s) => [s.id, s.offset, s.channels])).toEqual([
      ['courtesy', '-P3D', ['email']],
      ['reminder-1', 'P7D', ['email', 'phone']],
      ['reminder-2', 'P15D', ['email', 'sms']],
      ['formal-notice', 'P30D', ['letter', 'email']],
      ['final-notice', 'P60D', ['email', 'letter']],
      ['agency-handover', 'P68D', ['agency']],
    ]);
    expect(FR_B2B_DEFAULT.steps.find((s) => s.id === 'formal-notice')?.fallback?.email).toBe('letter');
    expect(FR_B2B_DEFAULT.sendWindow).toEqual({
      enabled: true,
      start: '09:00',
      end: '18:00',
      businessDaysOnly: true,
      skipPublicHolidays: true,
    });
    expect(FR_B2B_DEFAULT.penalties).toEqual({ mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 });
    expect([FR_B2B_DEFAULT.instalmentGrace, FR_B2B_DEFAULT.maxInstalments, FR_B2B_DEFAULT.promiseGrace, FR_B2B_DEFAULT.agencyListenFor]).toEqual(['P5D', 12, 'P2D', 'P180D']);
  });

  it('every shipped step uses its id as templateId and stage', () => {
    for (const policy of Object.values(BUILTIN_POLICIES)) {
      for (const step of policy.steps) {
        expect(step.templateId).toBe(step.id);
        expect(step.stage).toBe(step.id);
      }
    }
  });

  it('FR_B2C_DEFAULT: legal rate, no indemnity, agency at J+90', () => {
    expect(FR_B2C_DEFAULT.audience).toBe('B2C');
    expect(FR_B2C_DEFAULT.penalties.mode).toBe('legal');
    expect(FR_B2C_DEFAULT.penalties.fixedIndemnityMinor).toBe(0);
    expect(FR_B2C_DEFAULT.steps.at(-1)).toMatchObject({ id: 'agency-handover', offset: 'P90D' });
    expect(FR_B2C_DEFAULT.steps.find((s) => s.id === 'formal-notice')?.offset).toBe('P30D');
  });

  it('TEN_TWENTY: two email reminders at J+10 and J+20', () => {
    expect(TEN_TWENTY.steps.map((s) => [s.id, s.offset, s.channels])).toEqual([
      ['reminder-1', 'P10D', ['email']],
      ['reminder-2', 'P20D', ['email']],
    ]);
  });

  it('DEMO_SECONDS: the B2B steps in seconds, window off', () => {
    expect(DEMO_SECONDS.steps.map((s) => [s.id, s.offset])).toEqual([
      ['courtesy', '-PT5S'],
      ['reminder-1', 'PT5S'],
      ['reminder-2', 'PT10S'],
      ['formal-notice', 'PT15S'],
      ['final-notice', 'PT20S'],
      ['agency-handover', 'PT25S'],
    ]);
    expect(DEMO_SECONDS.steps.map((s) => s.channels)).toEqual(FR_B2B_DEFAULT.steps.map((s) => s.channels));
    expect(DEMO_SECONDS.sendWindow.enabled).toBe(false);
    expect([DEMO_SECONDS.instalmentGrace, DEMO_SECONDS.promiseGrace, DEMO_SECONDS.agencyListenFor]).toEqual(['PT5S', 'PT3S', 'PT60S']);
  });

  it('all shipped policies pass parsePolicy unchanged', () => {
    for (const policy of Object.values(BUILTIN_POLICIES)) expect(parsePolicy(policy)).toEqual(policy);
  });

  it('getBuiltinPolicy returns an independent copy and names unknown ids', () => {
    // The latest version groups per customer; version 1 is kept as it was published.
    expect(getBuiltinPolicy('fr-b2b-default')).toEqual({ ...FR_B2B_DEFAULT, version: 2, consolidate: 'friendly' });
    const copy = getBuiltinPolicy('fr-b2b-default', 1);
    expect(copy).toEqual(FR_B2B_DEFAULT);
    copy.steps[0]!.offset = 'P99D';
    expect(FR_B2B_DEFAULT.steps[0]!.offset).toBe('-P3D');
    expect(() => getBuiltinPolicy('nope')).toThrow(/"nope".*fr-b2b-default/);
  });
});

describe('parsePolicy errors name the field', () => {
  it('throws a ZodError whose issues have paths', () => {
    const bad = { ...clone(), maxInstalments: 0 };
    try {
      parsePolicy(bad);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ZodError);
      expect((error as ZodError).issues[0]?.path).toEqual(['maxInstalments']);
    }
  });

  it('empty steps', () => {
    expect(issues({ ...clone(), steps: [] })).toEqual(['steps: steps must contain at least one step']);
  });

  it('duplicate step ids', () => {
    const p = clone();
    p.steps[2]!.id = 'reminder-1';
    expect(issues(p)).toEqual(['steps.2.id: steps[2].id "reminder-1" is not unique']);
  });

  it('badly formed step ids', () => {
    const p = clone();
    p.steps[0]!.id = 'Courtesy';
    expect(issues(p)[0]).toMatch(/^steps\.0\.id: step id must be lowercase/);
  });

  it('offsets not ascending', () => {
    const p = clone();
    p.steps[3]!.offset = 'P10D'; // formal-notice before reminder-2 (P15D)
    expect(issues(p)).toEqual([
      'steps.3.offset: steps[3].offset P10D comes before the previous step "reminder-2": offsets must be ascending',
    ]);
  });

  it('compares offsets of different units (P1M vs P20D)', () => {
    const p = clone();
    p.steps[3]!.offset = 'P1M'; // ≥ 28 days, after P15D: fine
    expect(DunningPolicySchema.safeParse(p).success).toBe(true);
    p.steps[4]!.offset = 'PT100H'; // ~4 days: before P1M
    expect(issues(p)[0]).toMatch(/^steps\.4\.offset: .*ascending/);
  });

  it('malformed offset names the value', () => {
    const p = clone();
    p.steps[1]!.offset = 'P7 days';
    expect(issues(p)[0]).toBe('steps.1.offset: must be an ISO-8601 duration such as "P7D", "-P3D" or "PT30S" (got "P7 days")');
  });

  it('fallback pointing to itself or from an unused channel', () => {
    const p = clone();
    p.steps[1]!.fallback = { email: 'email' };
    expect(issues(p)).toEqual(['steps.1.fallback.email: fallback.email must not point to itself']);
    p.steps[1]!.fallback = { sms: 'letter' };
    expect(issues(p)[0]).toMatch(/^steps\.1\.fallback\.sms: fallback\.sms: "sms" is not one of this step's channels/);
  });

  it('unknown channel', () => {
    const p = clone() as unknown as { steps: Array<{ channels: string[] }> };
    p.steps[0]!.channels = ['fax'];
    expect(issues(p)[0]).toMatch(/^steps\.0\.channels\.0: /);
  });

  it('quiet hours malformed or inverted', () => {
    const p = clone();
    p.sendWindow.start = '9:00';
    expect(issues(p)).toEqual(['sendWindow.start: sendWindow.start must be a local time "HH:mm" (00:00-23:59)']);
    p.sendWindow.start = '18:00';
    p.sendWindow.end = '09:00';
    expect(issues(p)).toEqual(['sendWindow.end: sendWindow.end must be after sendWindow.start']);
    p.sendWindow.end = '18:00';
    expect(issues(p)).toEqual(['sendWindow.end: sendWindow.end must be after sendWindow.start']);
  });

  it('maxInstalments bounds', () => {
    expect(issues({ ...clone(), maxInstalments: 37 })).toEqual(['maxInstalments: maxInstalments must be between 1 and 36']);
    expect(issues({ ...clone(), maxInstalments: 2.5 })).toEqual(['maxInstalments: maxInstalments must be an integer']);
    expect(DunningPolicySchema.safeParse({ ...clone(), maxInstalments: 36 }).success).toBe(true);
  });

  it('negative or malformed graces', () => {
    expect(issues({ ...clone(), promiseGrace: '-P2D' })).toEqual(['promiseGrace: promiseGrace must not be negative']);
    expect(issues({ ...clone(), instalmentGrace: 'five days' })[0]).toMatch(/^instalmentGrace: .*"five days"/);
  });

  it('penalties fields', () => {
    const p = clone();
    p.penalties.fixedIndemnityMinor = 40.5;
    expect(issues(p)).toEqual(['penalties.fixedIndemnityMinor: penalties.fixedIndemnityMinor must be an integer (minor units)']);
    p.penalties.fixedIndemnityMinor = 4000;
    p.penalties.agreedRatePercent = 0;
    expect(issues(p)).toEqual(['penalties.agreedRatePercent: penalties.agreedRatePercent must be > 0']);
  });

  it('unknown keys are rejected (typos do not pass silently)', () => {
    const p = { ...clone(), sendWindowz: {} };
    expect(issues(p)[0]).toMatch(/sendWindowz/);
    const q = clone() as unknown as { steps: Array<Record<string, unknown>> };
    q.steps[0]!.ofset = 'P1D';
    expect(issues(q)[0]).toMatch(/^steps\.0: .*ofset/);
  });

  it('missing fields carry their path', () => {
    const { name: _name, ...rest } = clone();
    expect(issues(rest)[0]).toMatch(/^name: /);
  });
});
