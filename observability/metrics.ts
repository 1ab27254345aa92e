// Relance's own Prometheus metrics (the dunning side), shared by every part of a process.
//
//   relance_reminders_sent_total{channel,step}   a provider accepted a reminder (counted once per idempotency key)
//   relance_send_failures_total{channel,type}    a send attempt failed (type: InvalidRecipient, RateLimited, Unavailable, ...)
//   relance_invoices_by_stage{stage}             open invoices per dunning stage, read from the Invoice table on scrape
//
// The counters are incremented in activities/communication-log.ts, the one place every send
// goes through. The metric objects are module singletons; each registry that should expose
// them (the API's per-app registry, the worker's own /metrics) registers them with
// `registerDunningMetrics`. Payments matched/unmatched are the API's relance_payments_total.
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { PrismaClient } from '../prisma/client';

export const remindersSent = new Counter({
  name: 'relance_reminders_sent_total',
  help: 'Reminders accepted by a provider, by channel and step (template id)',
  labelNames: ['channel', 'step'] as const,
  registers: [],
});

export const sendFailures = new Counter({
  name: 'relance_send_failures_total',
  help: 'Failed send attempts, by channel and failure type (permanent ones are not retried)',
  labelNames: ['channel', 'type'] as const,
  registers: [],
});

let stageSource: PrismaClient | undefined;

/** The database the invoices-by-stage gauge reads on scrape (the worker process sets it). */
export function setInvoiceStageSource(prisma: PrismaClient | undefined): void {
  stageSource = prisma;
}

export const invoicesByStage = new Gauge({
  name: 'relance_invoices_by_stage',
  help: 'Open invoices (not paid, cancelled or closed) per dunning stage, from the Invoice table',
  labelNames: ['stage'] as const,
  registers: [],
  async collect() {
    const prisma = stageSource;
    if (!prisma) return;
    try {
      const rows = await prisma.invoice.groupBy({ by: ['stage'], where: { closedAt: null }, _count: { _all: true } });
      this.reset();
      for (const r of rows) this.set({ stage: r.stage }, r._count._all);
    } catch {
      // A scrape must not fail because the database is away: keep the last values.
    }
  },
});

const DUNNING_METRICS: Metric[] = [remindersSent, sendFailures, invoicesByStage];

/** Adds the dunning metrics to a registry (idempotent). */
export function registerDunningMetrics(registry: Registry): Registry {
  for (const m of DUNNING_METRICS) {
    const name = (m as unknown as { name: string }).name;
    if (!registry.getSingleMetric(name)) registry.registerMetric(m);
  }
  return registry;
}

/** The step label: the template id (= step id in shipped policies), without a per-invoice sequence suffix. */
export function stepLabel(spec: { stepId: string; templateId?: string }): string {
  return spec.templateId ?? spec.stepId.replace(/-\d+$/, '');
}
