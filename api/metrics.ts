// Prometheus metrics of the API, on a registry per app (tests build several apps).
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { registerDunningMetrics } from '../observability/metrics';

export interface ApiMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  invoicesIssued: Counter<'via'>;
  payments: Counter<'result' | 'source'>;
  webhooksRejected: Counter<'source' | 'reason'>;
  reconcileRuns: Counter<'outcome'>;
  reconcileRepaired: Counter;
  middleware: RequestHandler;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'relance_api_' });
  // Reminders sent, send failures, invoices by stage: shared with the worker in the same process.
  registerDunningMetrics(registry);
  const httpDuration = new Histogram({
    name: 'relance_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const invoicesIssued = new Counter({
    name: 'relance_invoices_issued_total',
    help: 'Invoices issued (workflow started and row written), by channel of issue',
    labelNames: ['via'] as const,
    registers: [registry],
  });
  const payments = new Counter({
    name: 'relance_payments_total',
    help: 'Payments reported, matched to an invoice or stored as unmatched',
    labelNames: ['result', 'source'] as const,
    registers: [registry],
  });
  const webhooksRejected = new Counter({
    name: 'relance_webhooks_rejected_total',
    help: 'Webhook deliveries rejected (bad signature, stale timestamp, unknown source, malformed)',
    labelNames: ['source', 'reason'] as const,
    registers: [registry],
  });
  const reconcileRuns = new Counter({
    name: 'relance_reconciler_runs_total',
    help: 'Reconciler ticks of this process: ran (it held the interval), skipped (another process did), failed',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const reconcileRepaired = new Counter({
    name: 'relance_reconciler_repaired_total',
    help: 'Invoice rows the reconciler recreated behind running workflows',
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const end = httpDuration.startTimer();
    res.on('finish', () => {
      // The route template, never the raw URL: bounded label cardinality.
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
  return { registry, httpDuration, invoicesIssued, payments, webhooksRejected, reconcileRuns, reconcileRepaired, middleware };
}
