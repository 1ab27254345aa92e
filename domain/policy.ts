// Dunning policies: zod schemas mirroring types.ts, and the shipped policies as data.
import { z } from 'zod';
import { addIsoDuration, isIsoDuration, IsoDurationSchema } from './duration';
import type { Channel, DunningPolicy, PenaltyTerms, PolicyStep, SendWindow } from './types';

export const ChannelSchema = z.enum(['email', 'sms', 'letter', 'agency', 'phone']);

/** Offsets are compared by adding them to this fixed instant, in UTC. */
const REFERENCE_INSTANT = '2026-01-01T00:00:00.000Z';
/** Milliseconds of REFERENCE_INSTANT + offset; NaN for a malformed offset (reported elsewhere). */
const atReference = (offset: string): number =>
  isIsoDuration(offset) ? Date.parse(addIsoDuration(REFERENCE_INSTANT, offset, 'UTC')) : NaN;

const HH_MM_RE = /^([01]\d|2[0-3]):[0-5]\d$/;
const hhmm = (field: string) =>
  z.string().regex(HH_MM_RE, { error: `${field} must be a local time "HH:mm" (00:00-23:59)` });

const nonNegativeDuration = (field: string) =>
  IsoDurationSchema.refine((d) => !isIsoDuration(d) || atReference(d) >= Date.parse(REFERENCE_INSTANT), {
    error: `${field} must not be negative`,
  });

export const PolicyStepSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, {
      error: 'step id must be lowercase letters, digits and "-", starting with a letter or digit',
    }),
    offset: IsoDurationSchema,
    channels: z
      .array(ChannelSchema)
      .min(1, { error: 'channels must list at least one channel' })
      .refine((cs) => new Set(cs).size === cs.length, { error: 'channels must not repeat a channel' }),
    templateId: z.string().min(1, { error: 'templateId must not be empty' }),
    fallback: z.partialRecord(ChannelSchema, ChannelSchema).optional(),
    stage: z.string().min(1, { error: 'stage must not be empty' }).optional(),
  })
  .superRefine((step, ctx) => {
    for (const [from, to] of Object.entries(step.fallback ?? {})) {
      if (from === to) {
        ctx.addIssue({ code: 'custom', path: ['fallback', from], message: `fallback.${from} must not point to itself` });
      }
      if (!step.channels.includes(from as Channel)) {
        ctx.addIssue({
          code: 'custom',
          path: ['fallback', from],
          message: `fallback.${from}: "${from}" is not one of this step's channels (${step.channels.join(', ')})`,
        });
      }
    }
  }) satisfies z.ZodType<PolicyStep>;

export const SendWindowSchema = z
  .strictObject({
    enabled: z.boolean(),
    start: hhmm('sendWindow.start'),
    end: hhmm('sendWindow.end'),
    businessDaysOnly: z.boolean(),
    skipPublicHolidays: z.boolean(),
  })
  .refine((w) => !HH_MM_RE.test(w.start) || !HH_MM_RE.test(w.end) || w.start < w.end, {
    path: ['end'],
    error: 'sendWindow.end must be after sendWindow.start',
  }) satisfies z.ZodType<SendWindow>;

export const PenaltyTermsSchema = z
  .strictObject({
    mode: z.enum(['commercial', 'legal', 'none']),
    spreadPoints: z.number().min(0, { error: 'penalties.spreadPoints must be >= 0' }).max(100),
    agreedRatePercent: z
      .number()
      .gt(0, { error: 'penalties.agreedRatePercent must be > 0' })
      .max(100, { error: 'penalties.agreedRatePercent must be <= 100' })
      .optional(),
    fixedIndemnityMinor: z
      .number()
      .int({ error: 'penalties.fixedIndemnityMinor must be an integer (minor units)' })
      .min(0, { error: 'penalties.fixedIndemnityMinor must be >= 0' }),
  }) satisfies z.ZodType<PenaltyTerms>;

export const DunningPolicySchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, {
      error: 'policy id must be lowercase letters, digits and "-", starting with a letter or digit',
    }),
    version: z.number().int({ error: 'version must be an integer' }).min(1, { error: 'version must be >= 1' }),
    name: z.string().min(1, { error: 'name must not be empty' }),
    audience: z.enum(['B2B', 'B2C']),
    steps: z.array(PolicyStepSchema).min(1, { error: 'steps must contain at least one step' }),
    sendWindow: SendWindowSchema,
    penalties: PenaltyTermsSchema,
    instalmentGrace: nonNegativeDuration('instalmentGrace'),
    maxInstalments: z
      .number()
      .int({ error: 'maxInstalments must be an integer' })
      .min(1, { error: 'maxInstalments must be between 1 and 36' })
      .max(36, { error: 'maxInstalments must be between 1 and 36' }),
    promiseGrace: nonNegativeDuration('promiseGrace'),
    agencyListenFor: nonNegativeDuration('agencyListenFor'),
  })
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    let previous: { id: string; at: number } | undefined;
    policy.steps.forEach((step, i) => {
      if (seen.has(step.id)) {
        ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `steps[${i}].id "${step.id}" is not unique` });
      }
      seen.add(step.id);
      const at = atReference(step.offset);
      if (Number.isNaN(at)) return;
      if (previous && at < previous.at) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i, 'offset'],
          message: `steps[${i}].offset ${step.offset} comes before the previous step "${previous.id}": offsets must be ascending`,
        });
      }
      previous = { id: step.id, at };
    });
  }) satisfies z.ZodType<DunningPolicy>;

/** Validates unknown input as a policy; throws a ZodError whose issues carry paths. */
export function parsePolicy(input: unknown): DunningPolicy {
  return DunningPolicySchema.parse(input);
}

// ---------------------------------------------------------------------------------------
// Shipped policies. Steps are data; templateId = step id; stage = step id.

type StepSpec = [id: string, offset: string, channels: Channel[], fallback?: PolicyStep['fallback']];

const steps = (specs: StepSpec[]): PolicyStep[] =>
  specs.map(([id, offset, channels, fallback]) => ({
    id,
    offset,
    channels,
    templateId: id,
    stage: id,
    ...(fallback ? { fallback } : {}),
  }));

/** 09:00-18:00 local, business days, public holidays skipped. */
const OFFICE_HOURS: SendWindow = {
  enabled: true,
  start: '09:00',
  end: '18:00',
  businessDaysOnly: true,
  skipPublicHolidays: true,
};

const COMMERCIAL_PENALTIES: PenaltyTerms = { mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 };
const LEGAL_PENALTIES: PenaltyTerms = { mode: 'legal', spreadPoints: 0, fixedIndemnityMinor: 0 };

const ARRANGEMENTS = {
  instalmentGrace: 'P5D',
  maxInstalments: 12,
  promiseGrace: 'P2D',
  agencyListenFor: 'P180D',
} as const;

const B2B_STEPS: StepSpec[] = [
  ['courtesy', '-P3D', ['email']],
  ['reminder-1', 'P7D', ['email', 'phone'], { email: 'letter' }],
  ['reminder-2', 'P15D', ['email', 'sms'], { email: 'letter' }],
  ['formal-notice', 'P30D', ['letter', 'email'], { email: 'letter', letter: 'email' }],
  ['final-notice', 'P60D', ['email', 'letter'], { email: 'letter', letter: 'email' }],
  ['agency-handover', 'P68D', ['agency']],
];

/** Shipped data goes through the same validation as configured policies. */
const validated = (policy: DunningPolicy): DunningPolicy => parsePolicy(policy);

export const FR_B2B_DEFAULT: DunningPolicy = validated({
  id: 'fr-b2b-default',
  version: 1,
  name: 'France B2B (Code de commerce L441-10)',
  audience: 'B2B',
  steps: steps(B2B_STEPS),
  sendWindow: OFFICE_HOURS,
  penalties: COMMERCIAL_PENALTIES,
  ...ARRANGEMENTS,
});

/** Same calendar as B2B, legal interest rate, no €40 indemnity, agency later (J+90). */
export const FR_B2C_DEFAULT: DunningPolicy = validated({
  id: 'fr-b2c-default',
  version: 1,
  name: 'France B2C (consumers)',
  audience: 'B2C',
  steps: steps(B2B_STEPS.map(([id, offset, ...rest]): StepSpec => [id, id === 'agency-handover' ? 'P90D' : offset, ...rest])),
  sendWindow: OFFICE_HOURS,
  penalties: LEGAL_PENALTIES,
  ...ARRANGEMENTS,
});

/** First reminder 10 days late, second 20 days late, email only. */
export const TEN_TWENTY: DunningPolicy = validated({
  id: 'ten-twenty',
  version: 1,
  name: 'Reminders at J+10 and J+20 (email only)',
  audience: 'B2B',
  steps: steps([
    ['reminder-1', 'P10D', ['email']],
    ['reminder-2', 'P20D', ['email']],
  ]),
  sendWindow: OFFICE_HOURS,
  penalties: COMMERCIAL_PENALTIES,
  ...ARRANGEMENTS,
});

/** The B2B calendar in seconds, no send window: a whole lifecycle in half a minute. */
export const DEMO_SECONDS: DunningPolicy = validated({
  id: 'demo-seconds',
  version: 1,
  name: 'Demo: the B2B calendar in seconds',
  audience: 'B2B',
  steps: steps(
    B2B_STEPS.map(([id, , ...rest], i): StepSpec => [id, i === 0 ? '-PT5S' : `PT${i * 5}S`, ...rest]),
  ),
  sendWindow: { ...OFFICE_HOURS, enabled: false },
  penalties: COMMERCIAL_PENALTIES,
  instalmentGrace: 'PT5S',
  maxInstalments: 12,
  promiseGrace: 'PT3S',
  agencyListenFor: 'PT60S',
});

export const BUILTIN_POLICIES: Readonly<Record<string, DunningPolicy>> = Object.freeze({
  [FR_B2B_DEFAULT.id]: FR_B2B_DEFAULT,
  [FR_B2C_DEFAULT.id]: FR_B2C_DEFAULT,
  [TEN_TWENTY.id]: TEN_TWENTY,
  [DEMO_SECONDS.id]: DEMO_SECONDS,
});

/** A shipped policy by id (a fresh deep copy, safe to mutate); throws naming unknown ids. */
export function getBuiltinPolicy(id: string): DunningPolicy {
  const policy = Object.prototype.hasOwnProperty.call(BUILTIN_POLICIES, id) ? BUILTIN_POLICIES[id] : undefined;
  if (!policy) {
    throw new Error(`Unknown built-in policy ${JSON.stringify(id)}; known: ${Object.keys(BUILTIN_POLICIES).join(', ')}`);
  }
  return JSON.parse(JSON.stringify(policy)) as DunningPolicy;
}
