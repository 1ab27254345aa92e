// Dunning policies: the schemas (policy-schema.ts) and the shipped policies as data.
import { parsePolicy, policySchemas } from './policy-schema';
import type { Channel, DunningPolicy, PenaltyTerms, PolicyStep, SendWindow } from './types';

export * from './policy-schema';
// Outside the workflow (API, tests, OpenAPI) the schemas are wanted as plain constants.
export const { IsoDurationSchema, ChannelSchema, PolicyStepSchema, SendWindowSchema, PenaltyTermsSchema, DunningPolicySchema } =
  policySchemas();

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
  replyHoldMax: 'PT12S',
  pendingPaymentMax: 'PT12S',
});

/**
 * Version 2 of the default policies: the same calendar, one conversation per customer (issue
 * 18: the friendly emails and SMS of a customer's invoices go in its daily batch). Version 1
 * stays published as it was: the invoices pinned to it keep their send times.
 */
export const FR_B2B_GROUPED: DunningPolicy = validated({ ...FR_B2B_DEFAULT, version: 2, consolidate: 'friendly' });
export const FR_B2C_GROUPED: DunningPolicy = validated({ ...FR_B2C_DEFAULT, version: 2, consolidate: 'friendly' });

/** Every shipped version (seeded into the database as published versions). */
export const BUILTIN_POLICY_VERSIONS: readonly DunningPolicy[] = Object.freeze([FR_B2B_DEFAULT, FR_B2C_DEFAULT, TEN_TWENTY, DEMO_SECONDS, FR_B2B_GROUPED, FR_B2C_GROUPED]);

/** The latest shipped version of each policy, by id. */
export const BUILTIN_POLICIES: Readonly<Record<string, DunningPolicy>> = Object.freeze(
  Object.fromEntries(BUILTIN_POLICY_VERSIONS.map((p) => [p.id, p]).sort(([, a], [, b]) => (a as DunningPolicy).version - (b as DunningPolicy).version)),
);

/** A shipped policy by id, latest version unless `version` is given (a fresh deep copy, safe to mutate); throws naming unknown ids. */
export function getBuiltinPolicy(id: string, version?: number): DunningPolicy {
  const policy =
    version === undefined
      ? Object.prototype.hasOwnProperty.call(BUILTIN_POLICIES, id)
        ? BUILTIN_POLICIES[id]
        : undefined
      : BUILTIN_POLICY_VERSIONS.find((p) => p.id === id && p.version === version);
  if (!policy) {
    throw new Error(`Unknown built-in policy ${JSON.stringify(version === undefined ? id : `${id}@${version}`)}; known: ${Object.keys(BUILTIN_POLICIES).join(', ')}`);
  }
  return JSON.parse(JSON.stringify(policy)) as DunningPolicy;
}
