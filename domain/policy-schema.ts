// Dunning policy schemas (zod) mirroring types.ts. Kept apart from the shipped policies so
// the workflow, which validates migrations, does not build and hold those in every run.
//
// The schemas are built on first use, not at module load: the worker evaluates this module
// once per V8 context and shares it between workflow runs (worker/create-worker.ts
// preloadModules), and the SDK deep-freezes what a shared module holds at load; zod
// schemas must stay extensible (they define properties lazily on first parse).
import { z } from 'zod';
import { addIsoDuration, isIsoDuration } from './duration';
import type { Audience, Channel, DunningPolicy, PenaltyTerms, PolicyStep, SendWindow } from './types';

// zod (4.6) registers its default locale on the first schema constructed and its memoizer
// on the first container (object, array...) constructed, in a global config object; one
// object schema constructed here does both at load, before the worker freezes the shared
// modules and globals (else the first lazy build throws "object is not extensible").
z.object({});

function buildPolicySchemas() {
  /** Offsets are compared by adding them to this fixed instant, in UTC. */
  const REFERENCE_INSTANT = '2026-01-01T00:00:00.000Z';
  /** Milliseconds of REFERENCE_INSTANT + offset; NaN for a malformed offset or one past the calendar (reported elsewhere). */
  const atReference = (offset: string): number => {
    if (!isIsoDuration(offset)) return NaN;
    try {
      return Date.parse(addIsoDuration(REFERENCE_INSTANT, offset, 'UTC'));
    } catch {
      return NaN; // "P9728188Y": no date that far (a 500 before, not a 422)
    }
  };

  const IsoDurationSchema = z
    .string()
    .refine(isIsoDuration, {
      error: (issue) =>
        `must be an ISO-8601 duration such as "P7D", "-P3D" or "PT30S" (got ${JSON.stringify(issue.input)})`,
    })
    .refine((d) => !isIsoDuration(d) || !Number.isNaN(atReference(d)), {
      error: (issue) => `is too long: ${JSON.stringify(issue.input)} ends past the last date a calendar can hold`,
    });

  const ChannelSchema = z.enum(['email', 'sms', 'letter', 'agency', 'phone']);


  const HH_MM_RE = /^([01]\d|2[0-3]):[0-5]\d$/;
  const hhmm = (field: string) =>
    z.string().regex(HH_MM_RE, { error: `${field} must be a local time "HH:mm" (00:00-23:59)` });

  const nonNegativeDuration = (field: string) =>
    IsoDurationSchema.refine((d) => !isIsoDuration(d) || atReference(d) >= Date.parse(REFERENCE_INSTANT), {
      error: `${field} must not be negative`,
    });

  const PolicyStepSchema = z
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
      approval: z
        .strictObject({
          required: z.boolean().optional(),
          within: nonNegativeDuration('approval.within').optional(),
          onTimeout: z.enum(['send', 'escalate']).optional(),
        })
        .optional(),
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

  const SendWindowSchema = z
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

  const PenaltyTermsSchema = z
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

  const DunningPolicySchema = z
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
      noticeDeadlineDays: z
        .number()
        .int({ error: 'noticeDeadlineDays must be an integer' })
        .min(1, { error: 'noticeDeadlineDays must be between 1 and 90' })
        .max(90, { error: 'noticeDeadlineDays must be between 1 and 90' })
        .optional(),
      onReply: z.enum(['hold', 'note']).optional(),
      replyHoldMax: nonNegativeDuration('replyHoldMax').optional(),
      pendingPaymentMax: nonNegativeDuration('pendingPaymentMax').optional(),
      holdRecheck: IsoDurationSchema.refine((d) => !isIsoDuration(d) || atReference(d) >= Date.parse(REFERENCE_INSTANT) + 60_000, {
        error: 'holdRecheck must be at least one minute',
      }).optional(),
      consolidate: z.enum(['friendly', 'off'], { error: 'consolidate must be "friendly" or "off"' }).optional(),
      consolidateAt: hhmm('consolidateAt').optional(),
      consolidateWaitFor: nonNegativeDuration('consolidateWaitFor').optional(),
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

  return { IsoDurationSchema, ChannelSchema, PolicyStepSchema, SendWindowSchema, PenaltyTermsSchema, DunningPolicySchema };
}

let built: ReturnType<typeof buildPolicySchemas> | undefined;
/** The policy schemas, built once on first use (see the top of this file for why not at load). */
export function policySchemas(): ReturnType<typeof buildPolicySchemas> {
  return (built ??= buildPolicySchemas());
}

/** Validates unknown input as a policy; throws a ZodError whose issues carry paths. */
export function parsePolicy(input: unknown): DunningPolicy {
  return policySchemas().DunningPolicySchema.parse(input);
}

/**
 * Why `policy` cannot run an invoice of a `customerKind` customer, or undefined when it can.
 * The law that applies (interest from the due date or from a formal notice, the €40) follows
 * the customer's kind; a policy's audience only says which customers it was written for, so
 * a policy written for the other kind is refused rather than silently mixed.
 */
export function policyAudienceMismatch(policy: Pick<DunningPolicy, 'id' | 'audience'>, customerKind: Audience): string | undefined {
  if (policy.audience === customerKind) return undefined;
  return `policy ${policy.id} is written for ${policy.audience} customers but the customer is ${customerKind}; choose a ${customerKind} policy`;
}

/** Days a formal notice gives the debtor when its policy does not say. */
export const DEFAULT_NOTICE_DEADLINE_DAYS = 8;

/** The payment deadline a formal notice states, in days after its date: the policy's, else 8. */
export function noticeDeadlineDays(policy: Pick<DunningPolicy, 'noticeDeadlineDays'>): number {
  return policy.noticeDeadlineDays ?? DEFAULT_NOTICE_DEADLINE_DAYS;
}
