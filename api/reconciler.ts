// The reconciler, once for the deployment. Every API process ticks each interval, but the
// database hands the interval's slot to exactly one of them: the first to insert the slot's
// row runs it, the others see the row and skip. A run checks only the invoices started
// since the last successful run (less a margin for a start whose row write was still in
// flight then), or every running invoice when there was none. What a run repaired is
// written on its row and counted in relance_reconciler_* metrics.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { PrismaClient } from '../prisma/client';
import { reconcileInvoices, type ReconcileResult } from './invoice-service';
import type { ApiMetrics } from './metrics';
import type { TemporalGateway } from './temporal';

/** A start whose row write was in flight during the last run is still covered by the next one. */
export const RECONCILE_MARGIN_MS = 60 * 60 * 1000;

export interface ReconcilerDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  intervalSeconds: number;
  /** Names this process on the runs it holds. */
  holder?: string;
  metrics?: Pick<ApiMetrics, 'reconcileRuns' | 'reconcileRepaired'>;
  log?: Logger;
}

export type ReconcileTick = { ran: false; slot: Date } | { ran: true; slot: Date; windowStart?: Date; result: ReconcileResult };

export function startReconciler(deps: ReconcilerDeps): { stop(): void } {
  const holder = deps.holder ?? `api-${process.pid}-${randomUUID().slice(0, 8)}`;
  const tick = () =>
    reconcileTick({ ...deps, holder })
      .then((t) => {
        if (t.ran && t.result.recreated.length) deps.log?.warn({ recreated: t.result.recreated }, 'invoice rows recreated from workflows');
      })
      .catch((err: unknown) => deps.log?.warn({ err }, 'reconcile failed; the next interval retries'));
  const timer = setInterval(tick, deps.intervalSeconds * 1000);
  timer.unref();
  const first = setTimeout(tick, 2_000);
  first.unref();
  return {
    stop() {
      clearInterval(timer);
      clearTimeout(first);
    },
  };
}

export async function reconcileTick(deps: ReconcilerDeps & { holder: string; now?: Date }): Promise<ReconcileTick> {
  const slot = slotOf(deps.now ?? new Date(), deps.intervalSeconds);
  const windowStart = await claimSlot(deps.prisma, slot, deps.holder);
  if (windowStart === false) {
    deps.metrics?.reconcileRuns.inc({ outcome: 'skipped' });
    return { ran: false, slot };
  }
  try {
    const result = await reconcileInvoices(deps, { startedAfter: windowStart ?? undefined });
    await deps.prisma.reconcileRun.update({
      where: { slot },
      data: { finishedAt: new Date(), scanned: result.scanned, recreated: result.recreated },
    });
    deps.metrics?.reconcileRuns.inc({ outcome: 'ran' });
    deps.metrics?.reconcileRepaired.inc(result.recreated.length);
    return { ran: true, slot, windowStart: windowStart ?? undefined, result };
  } catch (err) {
    deps.metrics?.reconcileRuns.inc({ outcome: 'failed' });
    await deps.prisma.reconcileRun
      .update({ where: { slot }, data: { finishedAt: new Date(), error: String((err as Error)?.message ?? err).slice(0, 2000) } })
      .catch(() => undefined);
    throw err;
  }
}

export function slotOf(now: Date, intervalSeconds: number): Date {
  const ms = intervalSeconds * 1000;
  return new Date(Math.floor(now.getTime() / ms) * ms);
}

/**
 * Inserts the slot's row; false when another process holds it. Otherwise the window the
 * run must cover: since the last successful run less the margin, or null (everything).
 */
async function claimSlot(prisma: PrismaClient, slot: Date, holder: string): Promise<Date | null | false> {
  const last = await prisma.reconcileRun.findFirst({
    where: { finishedAt: { not: null }, error: null },
    orderBy: { slot: 'desc' },
    select: { startedAt: true },
  });
  const windowStart = last ? new Date(last.startedAt.getTime() - RECONCILE_MARGIN_MS) : null;
  const inserted = await prisma.$executeRaw`
    INSERT INTO "ReconcileRun" ("slot", "holder", "windowStart", "recreated")
    VALUES (${slot}, ${holder}, ${windowStart}, ARRAY[]::text[])
    ON CONFLICT ("slot") DO NOTHING`;
  return inserted === 1 ? windowStart : false;
}
