// /v1/policies: dunning policies and their templates as data (policies/*.ts).
//
// A policy has versions: a draft (editable: definition and templates), then published
// (immutable; invoices pin id@version). A policy loaded from POLICY_DIR files is read-only
// here. Every change is recorded (who: the API key's name; when; a diff) and listed per
// policy. Also: segment rules (/v1/policy-rules), which policy an invoice would get
// (/v1/policies/resolve), previews, and bulk migrations of running invoices.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../config/index';
import { hasTemplate, TEMPLATE_LANGUAGES, type TemplateChannel } from '../domain/templates';
import { DunningPolicySchema, PolicyStepSchema, SendWindowSchema } from '../domain/policy';
import type { DunningPolicy, Language } from '../domain/types';
import type { Prisma, PrismaClient } from '../prisma/client';
import { describeMatch, PolicyCatalog, ResolveError, RuleMatchSchema, type RuleMatch } from '../policies/catalog';
import { createMigration, migrationReport, planMigration, runMigration } from '../policies/migrations';
import { previewPolicy } from '../policies/preview';
import { creditorOf } from '../documents/pdf';
import {
  contentHash,
  jsonDiff,
  policyErrors,
  recordChange,
  TemplateRecordSchema,
  type PathError,
  type TemplateRecord,
} from '../policies/store';
import { renderTemplate, sampleRenderArgs, validateTemplate, VARIABLE_CATALOGUE } from '../policies/templates';
import { actorName, requestActor, type AuditActor } from './audit';
import { parseDecimalToMinor } from '../domain/money';
import { RISK_CLASSES, type RiskClass } from '../domain/payment-behaviour';
import { customerBehaviour } from './customer-behaviour';
import { loadInvoice, snapshotOf } from './invoices';
import { jsonResponse, problemResponse, defineRoute } from './route';
import { Problem, problems } from './problem';
import { Decimal } from './schemas';
import type { TemporalGateway } from './temporal';
import { isUniqueViolation } from './infra-errors';

export interface PolicyRouteDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
  policies: PolicyCatalog;
  log?: { warn(obj: object, msg: string): void };
}

/** Ids that would shadow a route under /v1/policies. */
const RESERVED_IDS = new Set(['resolve']);
/** Service messages a policy may override besides its steps. */
const SERVICE_MESSAGES = ['receipt', 'plan-confirmed', 'plan-breached'];

const Loose = z.looseObject({});
const IdParams = z.object({ id: z.string().min(1).max(100) });
// A version is a 32-bit integer column: a larger number names no version (422, not a database error).
const VersionParams = z.object({ id: z.string().min(1).max(100), version: z.coerce.number().int().min(1).max(2_147_483_647) });
const TemplateParams = VersionParams.extend({
  step: z.string().min(1).max(100),
  channel: z.enum(['email', 'sms', 'letter']),
  language: z.enum(['fr', 'en']),
});
const TemplateBody = z.strictObject({ subject: z.string().max(500).nullish(), body: z.string().min(1).max(50_000) });
/** A policy document as sent: the policy without its version (the server numbers versions), and optional templates. */
const PolicyBody = z.looseObject({
  id: z.string().min(1).max(100),
  templates: z.array(TemplateRecordSchema).max(200).optional(),
});
const DraftBody = z.looseObject({ templates: z.array(TemplateRecordSchema).max(200).optional() });

// ---- the policy document as the OpenAPI document states it ----
// The handlers parse loosely and validate with parsePolicy (errors named as in policy files,
// e.g. steps[2].offset); the document shows the same fields from the same zod schemas. What
// only a refinement checks is said as a pattern where one can say it (durations; a looser
// pattern than ISO_DURATION_RE, which needs lookaheads) and in the description otherwise
// (ascending offsets, unique step ids, fallbacks within the step's channels, window end after
// start, templates naming a step of the policy and only known variables).
const DURATION = '(?:\\d+Y)?(?:\\d+M)?(?:\\d+W)?(?:\\d+D)?(?:T(?:\\d+H)?(?:\\d+M)?(?:\\d+(?:\\.\\d+)?S)?)?';
const SignedDuration = z.string().openapi({ pattern: `^-?P${DURATION}$`, description: 'ISO-8601 duration, e.g. "P7D", "-P3D", "PT30S"', example: 'P7D' });
const Duration = z.string().openapi({ pattern: `^P${DURATION}$`, description: 'Non-negative ISO-8601 duration, e.g. "P5D"', example: 'P5D' });
const { version: _version, ...policyFields } = DunningPolicySchema.shape;
const documentedPolicy = (id: z.ZodType) =>
  z
    .strictObject({
      ...policyFields,
      id,
      version: z.unknown().optional().openapi({ description: 'Ignored: the server numbers versions' }),
      steps: z
        .array(z.strictObject({ ...PolicyStepSchema.shape, offset: SignedDuration }))
        .min(1)
        .openapi({ description: 'Offsets ascending, step ids unique; a fallback maps one of the step\'s channels to another' }),
      sendWindow: z.strictObject(SendWindowSchema.shape).openapi({ description: 'end after start' }),
      instalmentGrace: Duration,
      promiseGrace: Duration,
      agencyListenFor: Duration,
      replyHoldMax: Duration.optional(),
      pendingPaymentMax: Duration.optional(),
      templates: z
        .array(TemplateRecordSchema)
        .max(200)
        .optional()
        .openapi({ description: "Each names a step of this policy (or receipt, plan-confirmed, plan-breached), one of the step's channels, and only known variables" }),
    })
    .openapi({ description: 'A dunning policy (see GET /v1/policies/{id}) without its version, with optional templates' });
const PolicyBodyDocument = documentedPolicy(policyFields.id.max(100));
const DraftBodyDocument = documentedPolicy(z.unknown().optional().openapi({ description: 'Ignored: the path names the policy' }));
const ResolveQuery = z.object({
  // Decimal: at most 11 digits before the point, so the amount in minor units is never "too large".
  policyId: z.string().min(1).max(120).optional(),
  customerId: z.string().min(1).max(100).optional(),
  customerPolicyId: z.string().min(1).max(120).optional(),
  audience: z.enum(['B2B', 'B2C']),
  country: z.string().regex(/^[A-Za-z]{2}$/),
  currency: z.string().regex(/^[A-Za-z]{3}$/),
  amount: Decimal,
  tags: z.string().max(1000).optional(),
  riskClass: z.enum(RISK_CLASSES).optional(),
});
const RulesBody = z.strictObject({
  rules: z
    // minProperties: the refinement "a rule needs at least one condition", in the document.
    .array(z.strictObject({ name: z.string().min(1).max(200), policyId: z.string().min(1).max(120), match: RuleMatchSchema.openapi({ minProperties: 1 }) }))
    .max(500),
});
const MigrationBody = z.strictObject({
  fromVersion: z.number().int().min(1).max(2_147_483_647),
  toVersion: z.number().int().min(1).max(2_147_483_647).optional(),
  dryRun: z.boolean().optional(),
  reason: z.string().max(500).optional(),
});
const MigrationParams = IdParams.extend({ migrationId: z.uuid() });
const PreviewQuery = z.object({ invoice: z.string().min(1).max(100).optional(), language: z.enum(['fr', 'en']).optional() });

const actorOf = (res: Response): AuditActor => requestActor(res);

function validationProblem(errors: PathError[]): Problem {
  return problems.validation(errors);
}

type VersionRow = Awaited<ReturnType<PrismaClient['policyVersion']['findUnique']>> & {};

function versionDto(v: VersionRow, templates?: TemplateRecord[]) {
  return {
    id: v.policyId,
    version: v.version,
    status: v.status,
    source: v.source,
    sourcePath: v.sourcePath,
    contentHash: v.contentHash,
    createdBy: v.createdBy,
    createdAt: v.createdAt.toISOString(),
    publishedAt: v.publishedAt?.toISOString() ?? null,
    definition: v.definition,
    ...(templates ? { templates } : {}),
  };
}

const templateOf = (t: { step: string; channel: string; language: string; subject: string | null; body: string }): TemplateRecord => ({
  step: t.step,
  channel: t.channel as TemplateChannel,
  language: t.language as Language,
  subject: t.subject,
  body: t.body,
});

/** Problems of one template in the context of a policy definition (step, channel, mentions). */
function templateErrors(policy: DunningPolicy, t: TemplateRecord, prefix: string): PathError[] {
  const step = policy.steps.find((s) => s.id === t.step);
  if (!step && !SERVICE_MESSAGES.includes(t.step)) {
    return [{ field: `${prefix}step`, message: `"${t.step}" is not a step of ${policy.id} (steps: ${policy.steps.map((s) => s.id).join(', ')}; or ${SERVICE_MESSAGES.join(', ')})` }];
  }
  if (step && !step.channels.includes(t.channel)) {
    return [{ field: `${prefix}channel`, message: `step "${t.step}" does not send by ${t.channel} (channels: ${step.channels.join(', ')})` }];
  }
  return validateTemplate(t, { templateId: step?.templateId ?? t.step, step: t.step, channel: t.channel, language: t.language }).map((p) => ({
    field: `${prefix}${p.field}`,
    message: p.message,
  }));
}

/** Every message a published version can send must render: its own template or a built-in one. */
function publishErrors(policy: DunningPolicy, templates: TemplateRecord[]): PathError[] {
  const errors: PathError[] = [];
  const have = new Set(templates.map((t) => `${t.step}/${t.channel}/${t.language}`));
  policy.steps.forEach((step, i) => {
    if (hasTemplate(step.templateId)) return;
    for (const channel of step.channels.filter((c): c is TemplateChannel => c === 'email' || c === 'sms' || c === 'letter')) {
      for (const language of TEMPLATE_LANGUAGES) {
        if (!have.has(`${step.id}/${channel}/${language}`)) {
          errors.push({ field: `steps[${i}].templateId`, message: `"${step.templateId}" is not a built-in template: save a ${channel} template in ${language} for step ${step.id}` });
        }
      }
    }
  });
  templates.forEach((t, i) => errors.push(...templateErrors(policy, t, `templates[${i}].`)));
  return errors;
}

export function policiesRouter(deps: PolicyRouteDeps, registry: OpenAPIRegistry): Router {
  const { prisma, policies, config } = deps;
  const router = Router();
  const tags = ['Policies'];

  async function policyRow(id: string) {
    const p = await prisma.policy.findUnique({ where: { id } });
    if (!p) throw problems.notFound(`Policy ${id}`);
    return p;
  }
  async function writable(id: string) {
    const p = await policyRow(id);
    if (p.source === 'file') {
      throw problems.conflict(`Policy ${id} is defined in a policy file (POLICY_DIR): change the file, not the API`, 'policy-read-only');
    }
    return p;
  }
  async function versionRow(id: string, version: number) {
    const v = await prisma.policyVersion.findUnique({ where: { policyId_version: { policyId: id, version } } });
    if (!v) throw problems.notFound(`Policy ${id}@${version}`);
    return v;
  }
  async function draftRow(id: string, version: number) {
    await writable(id);
    const v = await versionRow(id, version);
    if (v.status !== 'draft') {
      throw problems.conflict(`Policy ${id}@${version} is published and cannot change: create a new version (POST /v1/policies)`, 'policy-published');
    }
    return v;
  }
  async function templatesOf(id: string, version: number): Promise<TemplateRecord[]> {
    const rows = await prisma.policyTemplate.findMany({ where: { policyId: id, version }, orderBy: [{ step: 'asc' }, { channel: 'asc' }, { language: 'asc' }] });
    return rows.map(templateOf);
  }
  async function refreshHash(id: string, version: number, tx: Prisma.TransactionClient = prisma as unknown as Prisma.TransactionClient) {
    const v = await tx.policyVersion.findUniqueOrThrow({ where: { policyId_version: { policyId: id, version } } });
    const rows = await tx.policyTemplate.findMany({ where: { policyId: id, version } });
    await tx.policyVersion.update({
      where: { policyId_version: { policyId: id, version } },
      data: { contentHash: contentHash(v.definition as unknown as DunningPolicy, rows.map(templateOf)) },
    });
  }

  /** Validates a policy document (+ templates) for id@version; 422 naming every path. */
  function validateDocument(doc: Record<string, unknown>, id: string, version: number): { policy: DunningPolicy; templates: TemplateRecord[] } {
    const { templates = [], ...rest } = doc as { templates?: TemplateRecord[] };
    const { policy, errors } = policyErrors({ ...withApiDefaults(rest), id, version });
    if (!policy) throw validationProblem(errors);
    const terrors = (templates as TemplateRecord[]).flatMap((t, i) => templateErrors(policy, t, `templates[${i}].`));
    if (terrors.length) throw validationProblem(terrors);
    return { policy, templates: templates as TemplateRecord[] };
  }

  // ---- rules and resolve (before /v1/policies/{id}) ----

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies/resolve',
    operationId: 'resolvePolicy',
    summary: 'Which policy an invoice with these attributes gets, and the rule that chose it',
    description:
      'Order: the policy named on the invoice, the customer\'s agreed policy, the segment rules in order (B2B/B2C, country, currency, amount range, customer tag, customer risk class), then the default per audience.',
    tags,
    query: ResolveQuery,
    responses: { 200: jsonResponse('The policy and the rule', Loose) },
    handler: async ({ res, query }) => {
      const snapshot = await policies.snapshot();
      let amountMinor: number;
      try {
        amountMinor = parseDecimalToMinor(query.amount, query.currency.toUpperCase());
      } catch (err) {
        throw problems.field('query.amount', (err as Error).message);
      }
      const customer = query.customerId ? await customerFacts(prisma, query.customerId, config) : undefined;
      try {
        const r = snapshot.resolve({
          policyId: query.policyId,
          customerPolicyId: query.customerPolicyId ?? customer?.policyId,
          audience: query.audience,
          country: query.country.toUpperCase(),
          currency: query.currency.toUpperCase(),
          amountMinor,
          tags: query.tags ? query.tags.split(',').map((t) => t.trim()).filter(Boolean) : customer?.tags,
          riskClass: query.riskClass ?? customer?.riskClass,
        });
        res.json({ policy: { id: r.policy.id, version: r.policy.version, name: r.policy.name }, rule: r.chosenBy, definition: r.policy });
      } catch (err) {
        if (err instanceof ResolveError) throw problems.field(`query.${err.field === 'customer.policyId' ? 'customerPolicyId' : err.field}`, err.message);
        throw err;
      }
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policy-rules',
    operationId: 'listPolicyRules',
    summary: 'The segment rules, in the order they are tried',
    tags,
    responses: { 200: jsonResponse('The rules', Loose) },
    handler: async ({ res }) => {
      const rules = await prisma.policyRule.findMany({ orderBy: { position: 'asc' } });
      res.json({ rules: rules.map((r) => ({ id: r.id, position: r.position, name: r.name, policyId: r.policyId, match: r.match, describes: describeMatch(r.match as RuleMatch) })) });
    },
  });

  defineRoute(router, registry, {
    method: 'put',
    role: 'admin',
    path: '/v1/policy-rules',
    operationId: 'replacePolicyRules',
    summary: 'Replace the segment rules (the list order is the order they are tried)',
    tags,
    body: RulesBody,
    responses: { 200: jsonResponse('The rules', Loose) },
    handler: async ({ res, body }) => {
      const snapshot = await policies.snapshot();
      const errors: PathError[] = [];
      body.rules.forEach((r, i) => {
        if (!snapshot.find(r.policyId)) errors.push({ field: `rules[${i}].policyId`, message: `no published policy ${JSON.stringify(r.policyId)}` });
      });
      if (errors.length) throw validationProblem(errors);
      const actor = actorOf(res);
      const before = await prisma.policyRule.findMany({ orderBy: { position: 'asc' } });
      await prisma.$transaction(async (tx) => {
        await tx.policyRule.deleteMany({});
        await tx.policyRule.createMany({
          data: body.rules.map((r, i) => ({ position: i + 1, name: r.name, policyId: r.policyId, match: r.match as Prisma.InputJsonValue, createdBy: actorName(actor) })),
        });
        const ids = new Set([...before.map((r) => r.policyId), ...body.rules.map((r) => r.policyId)]);
        for (const policyId of ids) {
          await recordChange(tx, {
            policyId,
            action: 'rules-replaced',
            actor,
            diff: {
              before: before.map((r) => ({ position: r.position, name: r.name, policyId: r.policyId, match: r.match })),
              after: body.rules.map((r, i) => ({ position: i + 1, ...r })),
            },
          });
        }
      });
      policies.invalidate();
      const rules = await prisma.policyRule.findMany({ orderBy: { position: 'asc' } });
      res.json({ rules: rules.map((r) => ({ id: r.id, position: r.position, name: r.name, policyId: r.policyId, match: r.match })) });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies/template-variables',
    operationId: 'templateVariables',
    summary: 'The variables a template may use, with their meaning',
    tags,
    responses: { 200: jsonResponse('The catalogue', Loose) },
    handler: async ({ res }) => {
      res.json({ variables: VARIABLE_CATALOGUE });
    },
  });

  // ---- policies ----

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies',
    operationId: 'listPolicies',
    summary: 'Policies with their versions (status, source)',
    tags,
    responses: { 200: jsonResponse('The policies', Loose) },
    handler: async ({ res }) => {
      const rows = await prisma.policy.findMany({
        orderBy: { id: 'asc' },
        include: { versions: { orderBy: { version: 'asc' }, select: { version: true, status: true, publishedAt: true, createdBy: true } } },
      });
      res.json({
        policies: rows.map((p) => ({
          id: p.id,
          source: p.source,
          readOnly: p.source === 'file',
          latestPublished: [...p.versions].reverse().find((v) => v.status === 'published')?.version ?? null,
          versions: p.versions.map((v) => ({ version: v.version, status: v.status, publishedAt: v.publishedAt?.toISOString() ?? null, createdBy: v.createdBy })),
        })),
      });
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    role: 'admin',
    path: '/v1/policies',
    operationId: 'createPolicyDraft',
    summary: 'Create a draft: a new policy (version 1) or the next version of an existing one',
    description: 'Body: the policy document without `version` (the next number is taken), optionally with `templates`. 422 errors name the path, e.g. `steps[2].offset`.',
    tags,
    body: PolicyBody,
    bodyDocument: PolicyBodyDocument,
    responses: { 201: jsonResponse('The draft', Loose), 409: problemResponse('A draft exists already, or the policy is read-only') },
    handler: async ({ res, body }) => {
      const id = body.id;
      if (RESERVED_IDS.has(id)) throw problems.field('id', `"${id}" is reserved`);
      const existing = await prisma.policy.findUnique({ where: { id }, include: { versions: { select: { version: true, status: true } } } });
      if (existing?.source === 'file') {
        throw problems.conflict(`Policy ${id} is defined in a policy file (POLICY_DIR): change the file, not the API`, 'policy-read-only');
      }
      const draft = existing?.versions.find((v) => v.status === 'draft');
      if (draft) throw problems.conflict(`Policy ${id} has a draft already (version ${draft.version}): change it with PUT /v1/policies/${id}/versions/${draft.version}`, 'policy-draft-exists');
      const version = Math.max(0, ...(existing?.versions.map((v) => v.version) ?? [])) + 1;
      const { version: _ignored, ...doc } = body as Record<string, unknown>;
      const { policy, templates } = validateDocument(doc, id, version);
      const actor = actorOf(res);
      const previous = existing ? await prisma.policyVersion.findUnique({ where: { policyId_version: { policyId: id, version: version - 1 } } }) : null;
      try {
        await prisma.$transaction(async (tx) => {
          if (!existing) await tx.policy.create({ data: { id, source: 'api' } });
          await tx.policyVersion.create({
            data: {
              policyId: id,
              version,
              status: 'draft',
              definition: policy as unknown as Prisma.InputJsonValue,
              contentHash: contentHash(policy, templates),
              createdBy: actorName(actor),
              templates: { create: templates.map((t) => ({ step: t.step, channel: t.channel, language: t.language, subject: t.subject ?? null, body: t.body })) },
            },
          });
          await recordChange(tx, {
            policyId: id,
            version,
            action: 'draft-created',
            actor,
            diff: { definition: jsonDiff(previous?.definition, policy), templates: templates.map((t) => `${t.step}/${t.channel}/${t.language}`) },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw problems.conflict(`Policy ${id}@${version} was created concurrently; retry`);
        throw err;
      }
      res.status(201).location(`/v1/policies/${id}/versions/${version}`).json(versionDto(await versionRow(id, version), templates));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies/{id}',
    operationId: 'getPolicy',
    summary: 'A policy: its versions, the latest published definition',
    tags,
    params: IdParams,
    responses: { 200: jsonResponse('The policy', Loose), 404: problemResponse('Unknown policy') },
    handler: async ({ res, params }) => {
      const p = await policyRow(params.id);
      const versions = await prisma.policyVersion.findMany({ where: { policyId: p.id }, orderBy: { version: 'asc' } });
      const latest = [...versions].reverse().find((v) => v.status === 'published');
      res.json({
        id: p.id,
        source: p.source,
        readOnly: p.source === 'file',
        latestPublished: latest?.version ?? null,
        definition: latest?.definition ?? null,
        versions: versions.map((v) => ({ version: v.version, status: v.status, createdBy: v.createdBy, createdAt: v.createdAt.toISOString(), publishedAt: v.publishedAt?.toISOString() ?? null })),
      });
    },
  });

  defineRoute(router, registry, {
    method: 'delete',
    role: 'admin',
    path: '/v1/policies/{id}',
    operationId: 'deletePolicy',
    summary: 'Delete a policy and all its versions (refused while an open invoice or a rule uses it)',
    tags,
    params: IdParams,
    responses: { 204: { description: 'Deleted' }, 404: problemResponse('Unknown policy'), 409: problemResponse('In use, seed data or read-only') },
    handler: async ({ res, params }) => {
      const p = await writable(params.id);
      if (p.source === 'builtin') throw problems.conflict(`Policy ${p.id} is shipped seed data; it cannot be deleted (rules can stop using it)`, 'policy-builtin');
      await assertUnused(p.id);
      const rules = await prisma.policyRule.count({ where: { policyId: p.id } });
      if (rules) throw problems.conflict(`Policy ${p.id} is used by ${rules} segment rule(s): change the rules first`, 'policy-in-use');
      await prisma.$transaction(async (tx) => {
        await tx.policy.delete({ where: { id: p.id } });
        await recordChange(tx, { policyId: p.id, action: 'policy-deleted', actor: actorOf(res), diff: {} });
      });
      policies.invalidate();
      res.status(204).end();
    },
  });

  async function assertUnused(id: string, version?: number) {
    const open = await prisma.invoice.count({ where: { policyId: id, ...(version ? { policyVersion: version } : {}), closedAt: null } });
    if (open) {
      throw problems.conflict(
        `Policy ${version ? `${id}@${version}` : id} is used by ${open} open invoice(s): migrate them first (POST /v1/policies/${id}/migrations)`,
        'policy-in-use',
      );
    }
  }

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies/{id}/versions/{version}',
    operationId: 'getPolicyVersion',
    summary: 'One version: definition and templates',
    tags,
    params: VersionParams,
    responses: { 200: jsonResponse('The version', Loose), 404: problemResponse('Unknown policy version') },
    handler: async ({ res, params }) => {
      const v = await versionRow(params.id, params.version);
      res.json(versionDto(v, await templatesOf(params.id, params.version)));
    },
  });

  defineRoute(router, registry, {
    method: 'put',
    role: 'admin',
    path: '/v1/policies/{id}/versions/{version}',
    operationId: 'replacePolicyDraft',
    summary: 'Replace a draft\'s definition (and its templates when `templates` is given)',
    tags,
    params: VersionParams,
    body: DraftBody,
    bodyDocument: DraftBodyDocument,
    responses: { 200: jsonResponse('The draft', Loose), 404: problemResponse('Unknown policy version'), 409: problemResponse('Published or read-only') },
    handler: async ({ res, params, body }) => {
      const v = await draftRow(params.id, params.version);
      const { id: _id, version: _v, ...doc } = body as Record<string, unknown>;
      const withTemplates = 'templates' in body;
      const { policy, templates } = validateDocument(withTemplates ? doc : { ...doc, templates: await templatesOf(params.id, params.version) }, params.id, params.version);
      const actor = actorOf(res);
      await prisma.$transaction(async (tx) => {
        await tx.policyVersion.update({
          where: { policyId_version: { policyId: params.id, version: params.version } },
          data: { definition: policy as unknown as Prisma.InputJsonValue },
        });
        if (withTemplates) {
          await tx.policyTemplate.deleteMany({ where: { policyId: params.id, version: params.version } });
          await tx.policyTemplate.createMany({
            data: templates.map((t) => ({ policyId: params.id, version: params.version, step: t.step, channel: t.channel, language: t.language, subject: t.subject ?? null, body: t.body })),
          });
        }
        await refreshHash(params.id, params.version, tx);
        await recordChange(tx, { policyId: params.id, version: params.version, action: 'draft-updated', actor, diff: { definition: jsonDiff(v.definition, policy) } });
      });
      res.json(versionDto(await versionRow(params.id, params.version), await templatesOf(params.id, params.version)));
    },
  });

  defineRoute(router, registry, {
    method: 'delete',
    role: 'admin',
    path: '/v1/policies/{id}/versions/{version}',
    operationId: 'deletePolicyVersion',
    summary: 'Delete a draft, or a published version no open invoice uses',
    tags,
    params: VersionParams,
    responses: { 204: { description: 'Deleted' }, 404: problemResponse('Unknown policy version'), 409: problemResponse('In use or read-only') },
    handler: async ({ res, params }) => {
      const p = await writable(params.id);
      const v = await versionRow(params.id, params.version);
      if (v.status === 'published') {
        if (v.source === 'builtin') throw problems.conflict(`Policy ${p.id}@${v.version} is shipped seed data; it cannot be deleted`, 'policy-builtin');
        await assertUnused(p.id, v.version);
      }
      await prisma.$transaction(async (tx) => {
        await tx.policyVersion.delete({ where: { policyId_version: { policyId: params.id, version: params.version } } });
        await recordChange(tx, { policyId: params.id, version: params.version, action: `${v.status}-deleted`, actor: actorOf(res), diff: { before: v.definition } });
      });
      policies.invalidate();
      res.status(204).end();
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    role: 'admin',
    path: '/v1/policies/{id}/versions/{version}/publish',
    operationId: 'publishPolicyVersion',
    summary: 'Publish a draft: from now on it is immutable and new invoices can pin it',
    tags,
    params: VersionParams,
    body: z.strictObject({ note: z.string().max(500).optional() }),
    responses: { 200: jsonResponse('The published version', Loose), 409: problemResponse('Already published or read-only'), 422: problemResponse('A message could not be rendered') },
    handler: async ({ res, params, body }) => {
      const v = await draftRow(params.id, params.version);
      const templates = await templatesOf(params.id, params.version);
      const { policy, errors } = policyErrors(v.definition);
      if (!policy) throw validationProblem(errors);
      const perrors = publishErrors(policy, templates);
      if (perrors.length) throw validationProblem(perrors);
      await prisma.$transaction(async (tx) => {
        const updated = await tx.policyVersion.updateMany({
          where: { policyId: params.id, version: params.version, status: 'draft' },
          data: { status: 'published', publishedAt: new Date(), contentHash: contentHash(policy, templates) },
        });
        if (updated.count !== 1) throw problems.conflict(`Policy ${params.id}@${params.version} was published concurrently`, 'policy-published');
        await recordChange(tx, { policyId: params.id, version: params.version, action: 'published', actor: actorOf(res), diff: { status: { before: 'draft', after: 'published' }, ...(body.note ? { note: body.note } : {}) } });
      });
      policies.invalidate();
      res.json(versionDto(await versionRow(params.id, params.version), templates));
    },
  });

  defineRoute(router, registry, {
    method: 'put',
    role: 'admin',
    path: '/v1/policies/{id}/versions/{version}/templates/{step}/{channel}/{language}',
    operationId: 'saveTemplate',
    summary: "Save a draft's template for one step, channel and language (LiquidJS; checked against a sample)",
    description:
      'Refused (422, naming the variable or the error): unknown variables, broken syntax, and formal notices without the mandatory legal mentions. GET /v1/policies/template-variables lists the variables.',
    tags,
    params: TemplateParams,
    body: TemplateBody,
    responses: {
      200: jsonResponse('The template and its rendering against the sample', Loose),
      404: problemResponse('Unknown policy version, or a step or channel it does not have'),
      409: problemResponse('Published or read-only'),
    },
    handler: async ({ res, params, body }) => {
      const v = await draftRow(params.id, params.version);
      const policy = v.definition as unknown as DunningPolicy;
      // The path names a template slot: a step or channel the version does not have is a 404, as an unknown version is.
      const slot = policy.steps.find((s) => s.id === params.step);
      if (slot ? !slot.channels.includes(params.channel) : !SERVICE_MESSAGES.includes(params.step)) {
        throw problems.notFound(`Template ${params.step}/${params.channel} of ${params.id}@${params.version} (steps: ${policy.steps.map((s) => `${s.id} [${s.channels.join(', ')}]`).join('; ')}; or ${SERVICE_MESSAGES.join(', ')})`);
      }
      const record: TemplateRecord = { step: params.step, channel: params.channel, language: params.language, subject: body.subject ?? null, body: body.body };
      const errors = templateErrors(policy, record, '');
      if (errors.length) throw validationProblem(errors);
      const key = { policyId: params.id, version: params.version, step: params.step, channel: params.channel, language: params.language };
      const before = await prisma.policyTemplate.findUnique({ where: { policyId_version_step_channel_language: key } });
      await prisma.$transaction(async (tx) => {
        await tx.policyTemplate.upsert({
          where: { policyId_version_step_channel_language: key },
          create: { ...key, subject: record.subject, body: record.body },
          update: { subject: record.subject, body: record.body },
        });
        await refreshHash(params.id, params.version, tx);
        await recordChange(tx, {
          policyId: params.id,
          version: params.version,
          action: before ? 'template-updated' : 'template-created',
          actor: actorOf(res),
          diff: { template: `${params.step}/${params.channel}/${params.language}`, ...jsonDiff(before ? { subject: before.subject, body: before.body } : {}, { subject: record.subject, body: record.body }) },
        });
      });
      const sample = renderTemplate(record, sampleRenderArgs(params.language, params.step, params.channel));
      res.json({ ...record, sample });
    },
  });

  defineRoute(router, registry, {
    method: 'delete',
    role: 'admin',
    path: '/v1/policies/{id}/versions/{version}/templates/{step}/{channel}/{language}',
    operationId: 'deleteTemplate',
    summary: "Remove a draft's template (the built-in pack applies again)",
    tags,
    params: TemplateParams,
    responses: { 204: { description: 'Deleted' }, 404: problemResponse('No such template'), 409: problemResponse('Published or read-only') },
    handler: async ({ res, params }) => {
      await draftRow(params.id, params.version);
      const key = { policyId: params.id, version: params.version, step: params.step, channel: params.channel, language: params.language };
      const before = await prisma.policyTemplate.findUnique({ where: { policyId_version_step_channel_language: key } });
      if (!before) throw problems.notFound(`Template ${params.step}/${params.channel}/${params.language} of ${params.id}@${params.version}`);
      await prisma.$transaction(async (tx) => {
        await tx.policyTemplate.delete({ where: { policyId_version_step_channel_language: key } });
        await refreshHash(params.id, params.version, tx);
        await recordChange(tx, {
          policyId: params.id,
          version: params.version,
          action: 'template-deleted',
          actor: actorOf(res),
          diff: { template: `${params.step}/${params.channel}/${params.language}`, before: { subject: before.subject, body: before.body } },
        });
      });
      res.status(204).end();
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies/{id}/versions/{version}/preview',
    operationId: 'previewPolicyVersion',
    summary: 'The whole calendar for an invoice (given, or a sample), dates in the customer\'s time zone, every message rendered',
    tags,
    params: VersionParams,
    query: PreviewQuery,
    responses: { 200: jsonResponse('The calendar and messages', Loose), 404: problemResponse('Unknown policy version or invoice') },
    handler: async ({ res, params, query }) => {
      const v = await versionRow(params.id, params.version);
      const policy = v.definition as unknown as DunningPolicy;
      const templates = await templatesOf(params.id, params.version);
      let invoice = query.invoice ? snapshotOf(await loadInvoice(prisma, query.invoice)) : sampleRenderArgs(query.language ?? 'fr', '', 'email').invoice;
      if (query.language) invoice = { ...invoice, customer: { ...invoice.customer, language: query.language } };
      const creditor = creditorOf(config);
      res.json({ policy: { id: policy.id, version: policy.version, status: v.status }, invoice: { number: invoice.number, dueDate: invoice.dueDate, sample: !query.invoice }, ...previewPolicy({ policy, templates, invoice, creditor, rates: config.rateTables }) });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies/{id}/changes',
    operationId: 'listPolicyChanges',
    summary: 'Every change to the policy, its templates and the rules naming it: who, when, what (a view of the audit log)',
    tags,
    params: IdParams,
    responses: { 200: jsonResponse('The changes, oldest first', Loose) },
    handler: async ({ res, params }) => {
      const rows = await prisma.auditEntry.findMany({ where: { targetType: 'policy', targetId: params.id }, orderBy: { id: 'asc' } });
      res.json({
        policyId: params.id,
        changes: rows.map((c) => {
          const detail = c.detail as { version?: number; diff?: unknown };
          return { at: c.at.toISOString(), actor: c.actor, action: c.action.replace(/^policy\./, ''), version: detail.version ?? null, diff: detail.diff ?? {} };
        }),
      });
    },
  });

  // ---- bulk migration ----

  defineRoute(router, registry, {
    method: 'post',
    role: 'admin',
    path: '/v1/policies/{id}/migrations',
    operationId: 'migrateRunningInvoices',
    summary: 'Move the running invoices of one version to another (dryRun: list what would change)',
    description:
      'dryRun: 200 with one entry per invoice (current stage, steps done, next step after the move). Otherwise 202: the migration runs in the background through each workflow\'s migratePolicy update; GET its Location for progress and the report. Repeating the same move resumes an unfinished migration; invoices already on the target are reported unchanged.',
    tags,
    params: IdParams,
    body: MigrationBody,
    responses: { 200: jsonResponse('Dry run', Loose), 202: jsonResponse('Started (or resumed)', Loose), 404: problemResponse('Unknown policy or version') },
    handler: async ({ res, params, body }) => {
      await policyRow(params.id);
      const snapshot = await policies.snapshot();
      const toRef = body.toVersion ? `${params.id}@${body.toVersion}` : params.id;
      const target = snapshot.find(toRef);
      // The documented 404 (an unknown version, like an unknown policy), not a 422: the request is well-formed.
      if (!target) throw problems.notFound(`Published version ${toRef}`);
      if (target.version === body.fromVersion) throw problems.field('toVersion', `must differ from fromVersion (${body.fromVersion})`);
      const mdeps = { prisma, temporal: deps.temporal, log: deps.log };
      if (body.dryRun) {
        const items = await planMigration(mdeps, { policyId: params.id, fromVersion: body.fromVersion, target });
        const count = (a: string) => items.filter((i) => i.action === a).length;
        res.json({ dryRun: true, from: `${params.id}@${body.fromVersion}`, to: `${target.id}@${target.version}`, summary: { total: items.length, migrate: count('migrate'), unchanged: count('unchanged'), skipped: count('skipped') }, items });
        return;
      }
      const unfinished = await prisma.policyMigration.findFirst({
        where: { policyId: params.id, fromVersion: body.fromVersion, toVersion: target.version, status: 'running' },
        orderBy: { createdAt: 'asc' },
      });
      const id = unfinished?.id ?? (await createMigration(mdeps, { policyId: params.id, fromVersion: body.fromVersion, toVersion: target.version, reason: body.reason, actor: actorName(actorOf(res)) }));
      if (!unfinished) {
        await recordChange(prisma, { policyId: params.id, version: target.version, action: 'migration-started', actor: actorOf(res), diff: { migrationId: id, from: body.fromVersion, to: target.version } });
      }
      void runMigration(mdeps, id, target);
      res.status(202).location(`/v1/policies/${params.id}/migrations/${id}`).json({ ...(await migrationReport(prisma, id)), resumed: Boolean(unfinished) });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    role: 'viewer',
    path: '/v1/policies/{id}/migrations/{migrationId}',
    operationId: 'getPolicyMigration',
    summary: 'Progress and report of a bulk migration',
    tags,
    params: MigrationParams,
    responses: { 200: jsonResponse('The migration', Loose), 404: problemResponse('Unknown migration') },
    handler: async ({ res, params }) => {
      const report = await migrationReport(prisma, params.migrationId);
      if (!report || report.policyId !== params.id) throw problems.notFound(`Migration ${params.migrationId}`);
      res.json(report);
    },
  });

  return router;
}

/** The customer's agreed policy and tags (customer records). */
export async function customerFacts(
  prisma: PrismaClient,
  externalId: string,
  config: Config,
): Promise<{ policyId?: string; tags?: string[]; riskClass?: RiskClass } | undefined> {
  const row = await prisma.customer.findUnique({ where: { externalId }, select: { id: true, timeZone: true, agreedPolicyId: true, tags: true } });
  if (!row) return undefined;
  return { policyId: row.agreedPolicyId ?? undefined, tags: row.tags, riskClass: (await customerBehaviour(prisma, row, config)).riskClass };
}

/** Resumes migrations left running by a stopped process (called at API start). */
export async function resumeMigrations(deps: Omit<PolicyRouteDeps, 'config'>): Promise<number> {
  const running = await deps.prisma.policyMigration.findMany({ where: { status: 'running' } });
  const snapshot = await deps.policies.snapshot();
  for (const m of running) {
    const target = snapshot.find(`${m.policyId}@${m.toVersion}`);
    if (target) void runMigration({ prisma: deps.prisma, temporal: deps.temporal, log: deps.log }, m.id, target);
  }
  return running.length;
}

/**
 * What a policy written through the API (POST/PUT, the CLI) gets when it does not say: approval
 * before its formal steps and one conversation per customer. Built-in and POLICY_DIR policies
 * are taken as written: their published versions keep the behaviour they were published with.
 */
export function withApiDefaults(doc: Record<string, unknown>): Record<string, unknown> {
  return withDefaultConsolidation(withDefaultApprovals(doc));
}

/**
 * The customer is the unit of conversation (issue 18): a new policy groups its friendly emails
 * in the customer's daily batch unless it says `consolidate: off`. Written into the document,
 * so the published version says what it does and the workflows (whose absent field means
 * `off`, for the versions published before) need no change.
 */
export function withDefaultConsolidation(doc: Record<string, unknown>): Record<string, unknown> {
  return 'consolidate' in doc ? doc : { ...doc, consolidate: 'friendly' };
}

/** Steps a policy written through the API submits to approval unless it says otherwise. */
const APPROVED_BY_DEFAULT = new Set(['formal-notice', 'agency-handover']);

/**
 * A policy written through the API asks approval before its formal notice and its agency
 * handover (P3D, then escalate) unless the step says `approval: { required: false }` or sets
 * its own. Built-in and POLICY_DIR policies are taken as written.
 */
export function withDefaultApprovals(doc: Record<string, unknown>): Record<string, unknown> {
  if (!Array.isArray(doc.steps)) return doc;
  const steps = doc.steps.map((step: unknown) => {
    if (typeof step !== 'object' || step === null || 'approval' in step) return step;
    const s = step as { templateId?: unknown; channels?: unknown };
    const formal = (typeof s.templateId === 'string' && APPROVED_BY_DEFAULT.has(s.templateId)) || (Array.isArray(s.channels) && s.channels.includes('agency'));
    return formal ? { ...step, approval: { within: 'P3D', onTimeout: 'escalate' } } : step;
  });
  return { ...doc, steps };
}
