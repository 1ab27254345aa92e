import { describe, expect, it } from 'vitest';
import { addIsoDuration, durationToMillis, parseIsoDuration } from '../../../domain/duration';
import { IsoDurationSchema } from '../../../domain/policy';

describe('parseIsoDuration', () => {
  it.each([
    ['-P3D', -3 * 86_400_000],
    ['P7D', 7 * 86_400_000],
    ['PT30S', 30_000],
    ['PT1.5S', 1_500],
    ['P1W', 7 * 86_400_000],
    ['P1DT2H', 26 * 3_600_000],
    ['-PT5S', -5_000],
    ['PT0S', 0],
  ])('%s → %d ms', (iso, ms) => {
    expect(parseIsoDuration(iso).toMillis()).toBe(ms);
    expect(durationToMillis(iso)).toBe(ms);
  });

  it('keeps months as a calendar unit', () => {
    expect(parseIsoDuration('P1M').months).toBe(1);
  });

  it.each(['', 'P', 'PT', 'P1DT', 'p3d', '3D', 'P3X', 'P-3D', '+P3D', 'P1.5D', 'P1M2Y', ' P1D'])(
    'rejects %j naming the value',
    (bad) => {
      expect(() => parseIsoDuration(bad)).toThrow(`Invalid ISO-8601 duration ${JSON.stringify(bad)}`);
    },
  );
});

describe('addIsoDuration', () => {
  it('adds days in local calendar terms across the spring-forward change (10:00 stays 10:00)', () => {
    // 2026-03-28 10:00 CET (09:00Z) + 1 day = 2026-03-29 10:00 CEST (08:00Z)
    expect(addIsoDuration('2026-03-28T09:00:00Z', 'P1D', 'Europe/Paris')).toBe('2026-03-29T08:00:00.000Z');
  });

  it('adds hours as elapsed time across the change', () => {
    expect(addIsoDuration('2026-03-28T09:00:00Z', 'PT24H', 'Europe/Paris')).toBe('2026-03-29T09:00:00.000Z');
  });

  it('adds days across the autumn change', () => {
    // 2026-10-24 10:00 CEST (08:00Z) + 1 day = 2026-10-25 10:00 CET (09:00Z)
    expect(addIsoDuration('2026-10-24T08:00:00Z', 'P1D', 'Europe/Paris')).toBe('2026-10-25T09:00:00.000Z');
  });

  it('subtracts with a negative duration and accepts offsets in the input', () => {
    expect(addIsoDuration('2026-03-15T00:00:00+01:00', '-P3D', 'Europe/Paris')).toBe('2026-03-11T23:00:00.000Z');
  });

  it('clamps month ends and handles seconds', () => {
    expect(addIsoDuration('2026-01-31T12:00:00Z', 'P1M', 'UTC')).toBe('2026-02-28T12:00:00.000Z');
    expect(addIsoDuration('2026-03-10T08:00:00.000Z', 'PT1.5S', 'UTC')).toBe('2026-03-10T08:00:01.500Z');
  });

  it('names bad instants, durations and zones', () => {
    expect(() => addIsoDuration('yesterday', 'P1D', 'UTC')).toThrow(/"yesterday"/);
    expect(() => addIsoDuration('2026-01-01T00:00:00Z', 'P1X', 'UTC')).toThrow(/"P1X"/);
    expect(() => addIsoDuration('2026-01-01T00:00:00Z', 'P1D', 'Mars/Olympus')).toThrow(/Mars\/Olympus/);
  });
});

describe('IsoDurationSchema', () => {
  it('accepts valid and rejects invalid durations with the value in the message', () => {
    expect(IsoDurationSchema.parse('P7D')).toBe('P7D');
    const result = IsoDurationSchema.safeParse('seven days');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('"seven days"');
  });
});
