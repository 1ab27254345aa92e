// Bulk migration: move the running invoices of one policy version to another through
// each workflow's existing `migratePolicy` update (which keeps the steps already done and
// computes the next one from the new calendar).
//
// The candidates are the open invoice rows on the source version; each is checked against
// its workflow (status query) before anything is sent. A migration is a row and one item
// row per invoice, written before the first update: progress is a count of item states,
// the report lists each invoice's outcome. It is
//   - idempotent: an invoice already on the target version is "unchanged" (the workflow
//     refuses a migration to the version it runs, and the update id is per migration and
//     invoice, so a retried call is answered by Temporal, not applied twice);
//   - resumable: items still pending after a crash are taken up again by the next POST of
//     the same move, or when the API starts.
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { anchorInstant, nextStep } from '../domain/schedule';
import type { DunningPolicy, InvoiceSnapshot } from '../domain/types';
import type { PrismaClient } from '../prisma/client';
import { MEMO_KEY, type IssueMemo } from '../api/invoice-service';
import { withDeadline, type TemporalGateway } from '../api/temporal';
import { migratePolicyUpdate, statusQuery, type DunningStatus } from '../contracts/messages';

export interface MigrationDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  log?: { warn(obj: object, msg: string): void };
}

export interface PlannedItem {
  invoiceNumber: string;
  workflowId: string;
  from: string;
  to: string;
  /** Current stage and the steps already done (they stay done). */
  stage?: string;
  completedSteps?: string[];
  nextActionNow?: { stepId: string; at: string };
  /** The next step under the target version, and when it would fire. */
  nextStepAfter?: { stepId: string; at: string };
  /** migrate | unchanged (already on the target) | skipped (closed or not found) */
  action: 'migrate' | 'unchanged' | 'skipped';
  reason?: string;
}

async function candidates(prisma: PrismaClient, policyId: string, fromVersion: number) {
  return prisma.invoice.findMany({
    where: { policyId, policyVersion: fromVersion, closedAt: null },
    select: { number: true, workflowId: true },
    orderBy: { number: 'asc' },
  });
}

async function statusOf(t: TemporalGateway, workflowId: string): Promise<{ status?: DunningStatus; invoice?: InvoiceSnapshot; reason?: string }> {
  try {
    const handle = t.client.workflow.getHandle(workflowId);
    const [status, desc] = await Promise.all([
      withDeadline(t, () => handle.query(statusQuery)),
      withDeadline(t, () => handle.describe()),
    ]);
    if (desc.status.name !== 'RUNNING') return { reason: `workflow ${desc.status.name.toLowerCase()}` };
    return { status, invoice: (desc.memo?.[MEMO_KEY] as IssueMemo | undefined)?.invoice };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { reason: 'workflow not found' };
    throw err;
  }
}

/** What a migration would do, invoice by invoice (the dry run). */
export async function planMigration(deps: MigrationDeps, args: { policyId: string; fromVersion: number; target: DunningPolicy }): Promise<PlannedItem[]> {
  const rows = await candidates(deps.prisma, args.policyId, args.fromVersion);
  const to = `${args.target.id}@${args.target.version}`;
  const out: PlannedItem[] = [];
  for (const row of rows) {
    const s = await statusOf(deps.temporal, row.workflowId);
    const from = s.status ? `${s.status.policy.id}@${s.status.policy.version}` : `${args.policyId}@${args.fromVersion}`;
    const item: PlannedItem = { invoiceNumber: row.number, workflowId: row.workflowId, from, to, action: 'migrate' };
    if (!s.status) {
      out.push({ ...item, action: 'skipped', reason: s.reason });
      continue;
    }
    item.stage = s.status.stage;
    item.completedSteps = s.status.completedSteps;
    if (s.status.nextAction) item.nextActionNow = { stepId: s.status.nextAction.stepId, at: s.status.nextAction.at };
    if (from === to) {
      out.push({ ...item, action: 'unchanged', reason: `already on ${to}` });
      continue;
    }
    if (s.status.policy.id !== args.policyId || s.status.policy.version !== args.fromVersion) {
      out.push({ ...item, action: 'skipped', reason: `runs ${from}, not ${args.policyId}@${args.fromVersion}` });
      continue;
    }
    if (s.invoice) {
      const next = nextStep({
        policy: args.target,
        anchor: anchorInstant(s.invoice),
        completedStepIds: s.status.completedSteps,
        timeZone: s.invoice.customer.timeZone,
        country: s.invoice.customer.country,
      });
      if (next) item.nextStepAfter = { stepId: next.step.id, at: next.at };
    }
    out.push(item);
  }
  return out;
}

/** Writes the migration and its items (pending); the caller then runs it. */
export async function createMigration(
  deps: MigrationDeps,
  args: { policyId: string; fromVersion: number; toVersion: number; reason?: string; actor: string },
): Promise<string> {
  const rows = await candidates(deps.prisma, args.policyId, args.fromVersion);
  const migration = await deps.prisma.policyMigration.create({
    data: {
      policyId: args.policyId,
      fromVersion: args.fromVersion,
      toVersion: args.toVersion,
      reason: args.reason ?? null,
      createdBy: args.actor,
      status: rows.length ? 'running' : 'completed',
      finishedAt: rows.length ? null : new Date(),
      items: { create: rows.map((r) => ({ workflowId: r.workflowId, invoiceNumber: r.number })) },
    },
  });
  return migration.id;
}

const active = new Map<string, Promise<void>>();

/** Runs (or resumes) a migration's pending items; one runner per migration per process. */
export function runMigration(deps: MigrationDeps, migrationId: string, target: DunningPolicy, concurrency = 4): Promise<void> {
  const running = active.get(migrationId);
  if (running) return running;
  const run = (async () => {
    const pending = await deps.prisma.policyMigrationItem.findMany({ where: { migrationId, status: 'pending' }, orderBy: { invoiceNumber: 'asc' } });
    const migration = await deps.prisma.policyMigration.findUniqueOrThrow({ where: { id: migrationId } });
    let next = 0;
    const worker = async () => {
      for (;;) {
        const item = pending[next++];
        if (!item) return;
        const result = await migrateOne(deps, migrationId, item.workflowId, target, migration.reason ?? undefined);
        await deps.prisma.policyMigrationItem.update({
          where: { migrationId_workflowId: { migrationId, workflowId: item.workflowId } },
          data: result,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    await deps.prisma.policyMigration.update({ where: { id: migrationId }, data: { status: 'completed', finishedAt: new Date() } });
  })()
    .catch((err: unknown) => {
      // Left running: the next POST of the same move (or the next start) resumes it.
      deps.log?.warn({ err, migrationId }, 'policy migration interrupted; it resumes on the next request or start');
    })
    .finally(() => active.delete(migrationId));
  active.set(migrationId, run);
  return run;
}

async function migrateOne(
  deps: MigrationDeps,
  migrationId: string,
  workflowId: string,
  target: DunningPolicy,
  reason: string | undefined,
): Promise<{ status: string; fromVersion?: number | null; nextStep?: string | null; error?: string | null }> {
  const s = await statusOf(deps.temporal, workflowId);
  if (!s.status) return { status: 'skipped', error: s.reason ?? null };
  const current = s.status.policy;
  if (current.id === target.id && current.version === target.version) return { status: 'unchanged', fromVersion: current.version };
  try {
    const handle = deps.temporal.client.workflow.getHandle(workflowId);
    const r = await withDeadline(deps.temporal, () =>
      handle.executeUpdate(migratePolicyUpdate, {
        args: [{ policy: target, reason: reason ?? `bulk migration ${migrationId}` }],
        updateId: `policy-migration-${migrationId}`,
      }),
    );
    return { status: 'migrated', fromVersion: current.version, nextStep: r.nextStep ?? null, error: null };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const message = err.cause?.message ?? err.message;
      if (/already runs/.test(message)) return { status: 'unchanged', fromVersion: current.version };
      return { status: 'refused', fromVersion: current.version, error: message };
    }
    if (err instanceof WorkflowNotFoundError) return { status: 'skipped', error: 'workflow not found' };
    throw err;
  }
}

export async function migrationReport(prisma: PrismaClient, migrationId: string) {
  const m = await prisma.policyMigration.findUnique({ where: { id: migrationId }, include: { items: { orderBy: { invoiceNumber: 'asc' } } } });
  if (!m) return undefined;
  const counts: Record<string, number> = { pending: 0, migrated: 0, unchanged: 0, refused: 0, skipped: 0 };
  for (const i of m.items) counts[i.status] = (counts[i.status] ?? 0) + 1;
  return {
    id: m.id,
    policyId: m.policyId,
    from: `${m.policyId}@${m.fromVersion}`,
    to: `${m.policyId}@${m.toVersion}`,
    status: m.status,
    reason: m.reason,
    createdBy: m.createdBy,
    createdAt: m.createdAt.toISOString(),
    finishedAt: m.finishedAt?.toISOString() ?? null,
    progress: { total: m.items.length, done: m.items.length - counts.pending!, ...counts },
    items: m.items.map((i) => ({
      invoiceNumber: i.invoiceNumber,
      workflowId: i.workflowId,
      status: i.status,
      nextStep: i.nextStep,
      error: i.error,
    })),
  };
}

