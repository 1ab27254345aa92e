// Policies in the database: versions (draft, then published and immutable), their
// templates, the change history, the shipped policies as seed data, and a folder of YAML
// or JSON files loaded at start (read-only through the API).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BUILTIN_POLICIES, BUILTIN_POLICY_VERSIONS, DunningPolicySchema } from '../domain/policy';
import type { DunningPolicy, Language } from '../domain/types';
import type { TemplateChannel } from '../domain/templates';
import type { Prisma, PrismaClient } from '../prisma/client';
import { actorName, recordAudit, type AuditActor } from '../api/audit';
import { canonicalJson } from '../api/invoice-service';

export type PolicySource = 'api' | 'builtin' | 'file';

export interface TemplateRecord {
  step: string;
  channel: TemplateChannel;
  language: Language;
  subject?: string | null;
  body: string;
}

/** `steps[2].offset` from zod's ['steps', 2, 'offset']. */
export function formatPath(p: ReadonlyArray<PropertyKey>): string {
  return p.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)), '');
}

export interface PathError {
  field: string;
  message: string;
}

/** Issues of a policy document, each naming its path (`steps[2].offset: ...`). */
export function policyErrors(input: unknown): { policy?: DunningPolicy; errors: PathError[] } {
  const r = DunningPolicySchema.safeParse(input);
  if (r.success) return { policy: r.data, errors: [] };
  return { errors: r.error.issues.map((i) => ({ field: formatPath(i.path) || '(policy)', message: i.message })) };
}

export const TemplateRecordSchema = z.strictObject({
  step: z.string().min(1),
  channel: z.enum(['email', 'sms', 'letter']),
  language: z.enum(['fr', 'en']),
  subject: z.string().max(500).nullish(),
  body: z.string().min(1).max(50_000),
});

/** The same definition and templates always hash the same (file vs database comparison). */
export function contentHash(definition: DunningPolicy, templates: TemplateRecord[]): string {
  const sorted = [...templates]
    .map((t) => ({ step: t.step, channel: t.channel, language: t.language, subject: t.subject ?? null, body: t.body }))
    .sort((a, b) => `${a.step}/${a.channel}/${a.language}`.localeCompare(`${b.step}/${b.channel}/${b.language}`));
  return createHash('sha256').update(canonicalJson({ definition, templates: sorted })).digest('hex');
}

/**
 * Records a change of a policy (its versions, templates, rules naming it, migrations) in the
 * audit log: action `policy.<action>`, target `policy`/<id>; GET /v1/policies/{id}/changes
 * is a view of those entries.
 */
export async function recordChange(
  db: PrismaClient | Prisma.TransactionClient,
  change: { policyId: string; version?: number; action: string; actor: AuditActor; diff: unknown },
): Promise<void> {
  await recordAudit(db, {
    actor: change.actor,
    action: `policy.${change.action}`,
    targetType: 'policy',
    targetId: change.policyId,
    detail: JSON.parse(JSON.stringify({ ...(change.version !== undefined ? { version: change.version } : {}), diff: change.diff ?? {} })) as Record<string, unknown>,
  });
}

/** A shallow JSON diff: the top-level members that changed, with before and after. */
export function jsonDiff(before: unknown, after: unknown): Record<string, { before?: unknown; after?: unknown }> {
  const a = (before ?? {}) as Record<string, unknown>;
  const b = (after ?? {}) as Record<string, unknown>;
  const out: Record<string, { before?: unknown; after?: unknown }> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (canonicalJson(a[key]) !== canonicalJson(b[key])) out[key] = { before: a[key], after: b[key] };
  }
  return out;
}

async function insertPublished(
  prisma: PrismaClient,
  p: { definition: DunningPolicy; templates: TemplateRecord[]; source: PolicySource; sourcePath?: string; actor: AuditActor },
): Promise<void> {
  const { definition } = p;
  await prisma.$transaction(async (tx) => {
    await tx.policy.upsert({
      where: { id: definition.id },
      create: { id: definition.id, source: p.source },
      update: p.source === 'file' ? { source: 'file' } : {},
    });
    await tx.policyVersion.create({
      data: {
        policyId: definition.id,
        version: definition.version,
        status: 'published',
        definition: definition as unknown as Prisma.InputJsonValue,
        contentHash: contentHash(definition, p.templates),
        source: p.source,
        sourcePath: p.sourcePath ?? null,
        createdBy: actorName(p.actor),
        publishedAt: new Date(),
        templates: { create: p.templates.map((t) => ({ step: t.step, channel: t.channel, language: t.language, subject: t.subject ?? null, body: t.body })) },
      },
    });
    await recordChange(tx, {
      policyId: definition.id,
      version: definition.version,
      action: p.source === 'file' ? 'loaded-from-file' : 'seeded',
      actor: p.actor,
      diff: { after: definition, templates: p.templates.length, ...(p.sourcePath ? { file: p.sourcePath } : {}) },
    });
  });
}

/** The shipped policies as published versions, once (an existing id@version is left as it is). */
export async function seedBuiltinPolicies(prisma: PrismaClient): Promise<string[]> {
  const seeded: string[] = [];
  const existing = new Set(
    (await prisma.policyVersion.findMany({ where: { policyId: { in: Object.keys(BUILTIN_POLICIES) } }, select: { policyId: true, version: true } })).map(
      (v) => `${v.policyId}@${v.version}`,
    ),
  );
  for (const policy of BUILTIN_POLICY_VERSIONS) {
    if (existing.has(`${policy.id}@${policy.version}`)) continue;
    try {
      await insertPublished(prisma, { definition: policy, templates: [], source: 'builtin', actor: { system: 'seed' } });
      seeded.push(`${policy.id}@${policy.version}`);
    } catch (err) {
      // Another process seeded it meanwhile.
      if (!(await prisma.policyVersion.findUnique({ where: { policyId_version: { policyId: policy.id, version: policy.version } } }))) throw err;
    }
  }
  return seeded;
}

// ---------------------------------------------------------------------------------------
// A folder of policy files.

export interface PolicyFile {
  path: string;
  definition: DunningPolicy;
  templates: TemplateRecord[];
}

/** A policy file: the policy document, plus `templates: [{ step, channel, language, subject, body }]`. */
export async function readPolicyFolder(dir: string): Promise<PolicyFile[]> {
  const names = (await readdir(dir)).filter((n) => /\.(ya?ml|json)$/i.test(n)).sort();
  const files: PolicyFile[] = [];
  const errors: string[] = [];
  for (const name of names) {
    const file = path.resolve(dir, name);
    let doc: unknown;
    try {
      const text = await readFile(file, 'utf8');
      doc = /\.json$/i.test(name) ? JSON.parse(text) : parseYaml(text);
    } catch (err) {
      errors.push(`${file}: ${(err as Error).message}`);
      continue;
    }
    const { templates: rawTemplates = [], ...definition } = (doc ?? {}) as { templates?: unknown };
    const { policy, errors: perr } = policyErrors(definition);
    const t = z.array(TemplateRecordSchema).safeParse(rawTemplates);
    for (const e of perr) errors.push(`${file}: ${e.field}: ${e.message}`);
    if (!t.success) for (const i of t.error.issues) errors.push(`${file}: ${formatPath(['templates', ...i.path])}: ${i.message}`);
    if (policy && t.success) files.push({ path: file, definition: policy, templates: t.data as TemplateRecord[] });
  }
  if (errors.length) throw new Error(`Invalid policy files:\n  ${errors.join('\n  ')}`);
  const seen = new Map<string, string>();
  for (const f of files) {
    const key = `${f.definition.id}@${f.definition.version}`;
    const other = seen.get(key);
    if (other) throw new Error(`Policy ${key} is defined twice: ${other} and ${f.path}`);
    seen.set(key, f.path);
  }
  return files;
}

export class PolicyConflictError extends Error {}

/**
 * Loads the files into the database. The same id@version with other content in a file and
 * in the database is a conflict: nothing is written and the error names both.
 */
export async function syncPolicyFiles(prisma: PrismaClient, files: PolicyFile[]): Promise<{ loaded: string[]; unchanged: string[] }> {
  const conflicts: string[] = [];
  const toInsert: PolicyFile[] = [];
  const unchanged: string[] = [];
  for (const f of files) {
    const key = `${f.definition.id}@${f.definition.version}`;
    const row = await prisma.policyVersion.findUnique({
      where: { policyId_version: { policyId: f.definition.id, version: f.definition.version } },
    });
    if (!row) {
      toInsert.push(f);
      continue;
    }
    if (row.contentHash === contentHash(f.definition, f.templates) && row.status === 'published') {
      unchanged.push(key);
      continue;
    }
    conflicts.push(
      `policy ${key}: the file ${f.path} differs from the database's ${key} (${row.status}, source ${row.source}${
        row.sourcePath ? ` ${row.sourcePath}` : ''
      }, created by ${row.createdBy} at ${row.createdAt.toISOString()})`,
    );
  }
  if (conflicts.length) {
    throw new PolicyConflictError(
      `Refusing to start: policy files conflict with the database (publish a new version instead of editing one):\n  ${conflicts.join('\n  ')}`,
    );
  }
  for (const f of toInsert) await insertPublished(prisma, { definition: f.definition, templates: f.templates, source: 'file', sourcePath: f.path, actor: { system: 'policy-files' } });
  return { loaded: toInsert.map((f) => `${f.definition.id}@${f.definition.version}`), unchanged };
}

/** At start: the shipped policies, then the folder (POLICY_DIR) if any. Throws on a conflict. */
export async function initPolicies(prisma: PrismaClient, opts: { policyDir?: string }): Promise<{ seeded: string[]; loaded: string[] }> {
  const seeded = await seedBuiltinPolicies(prisma);
  if (!opts.policyDir) return { seeded, loaded: [] };
  const files = await readPolicyFolder(opts.policyDir);
  const { loaded } = await syncPolicyFiles(prisma, files);
  return { seeded, loaded };
}
