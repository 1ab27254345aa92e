// The HTTP API as an express application (no listen: api/server.ts does that, tests listen
// on port 0). Order: security headers, request ids and logs, metrics; then the routes that
// need no API key (health, metrics, docs, signature-checked webhooks with their raw bodies);
// then the API key, JSON bodies (size-limited) and the /v1 routers; problems last.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express from 'express';
import helmet from 'helmet';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { TaskQueues } from '../contracts/task-queues';
import type { Config } from '../config/index';
import type { PrismaClient } from '../prisma/client';
import { approvalsRouter } from './approvals';
import { auditRouter } from './audit';
import { privacyRouter } from './erasure';
import { communicationsRouter } from './communications';
import { requireApiKey } from './auth';
import { codecPreamble, codecRouter, redactCodecKey } from './codec';
import { healthRouter } from './health';
import { ImportJobProcessor, importJobsRouter } from './import-jobs';
import { inboundWebhooksRouter, repliesRouter } from './inbound/routes';
import { invoiceImportRoute } from './invoice-import';
import { invoicesRouter } from './invoices';
import { customersRouter } from './customers';
import { behaviourRouter } from './customer-behaviour';
import { statementRouter } from './customer-statement';
import { insolvencyRouter } from './insolvency';
import { customerHoldsRouter } from './customer-holds';
import { tasksRouter } from './tasks';
import { createMetrics, type ApiMetrics } from './metrics';
import { methodNotAllowed } from './method-not-allowed';
import { opsActionsRouter } from './ops-actions';
import { policiesRouter } from './policies';
import { PolicyCatalog } from '../policies/catalog';
import { Problem, problemErrorHandler } from './problem';
import { reportsRouter } from './reports';
import { createRegistry } from './schemas';
import type { TemporalGateway } from './temporal';
import { unmatchedPaymentsRouter } from './unmatched-payments';
import { webhooksRouter } from './webhooks';

export interface AppDeps {
  prisma: PrismaClient;
  temporal: Client;
  config: Config;
  log?: Logger;
  /** Workflow task queue; default TaskQueues.workflow (tests use a prefixed one). */
  workflowTaskQueue?: string;
  metrics?: ApiMetrics;
  /** Published policies and rules (cached); one per app by default. */
  policies?: PolicyCatalog;
}

export function createPolicyCatalog(prisma: PrismaClient, config: Config): PolicyCatalog {
  return new PolicyCatalog(prisma, {
    ttlMs: config.POLICY_CACHE_SECONDS * 1000,
    defaults: { B2B: config.DEFAULT_POLICY_ID, B2C: config.DEFAULT_B2C_POLICY_ID },
  });
}

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function createApp(deps: AppDeps): express.Application {
  const { prisma, config } = deps;
  const log = deps.log ?? pino({ level: config.LOG_LEVEL, base: { service: 'relance-api' } });
  const metrics = deps.metrics ?? createMetrics();
  const temporal: TemporalGateway = {
    client: deps.temporal,
    taskQueue: deps.workflowTaskQueue ?? TaskQueues.workflow,
    timeoutMs: config.API_TEMPORAL_TIMEOUT_MS,
  };
  const registry = createRegistry();
  const policies = deps.policies ?? createPolicyCatalog(prisma, config);
  const routeDeps = { prisma, temporal, config, metrics, policies };

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(helmet());
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/metrics' },
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactCodecKey(req.url) }),
        // The status only: every response header in every line drowned the console (the request id is in req.id).
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(metrics.middleware);
  // The codec's CORS preflight first: the generic OPTIONS answer below carries no CORS headers.
  app.use(...codecPreamble(config));
  app.use(methodNotAllowed(registry));

  app.use(healthRouter({ prisma, temporal, metrics }, registry));
  // Before the payment webhooks: these parse their own bodies (raw MIME up to INBOUND_MAX_BYTES, Twilio's form).
  app.use(inboundWebhooksRouter(routeDeps, registry));
  app.use(webhooksRouter(routeDeps, registry));

  const apiKey = requireApiKey(prisma, { cacheSeconds: config.API_KEY_CACHE_SECONDS });
  app.use('/codec', apiKey);
  app.use('/v1', apiKey);
  app.use(express.json({ limit: config.API_BODY_LIMIT, type: ['application/json', 'application/*+json'] }));
  const invoices = invoicesRouter(routeDeps, registry);
  invoiceImportRoute(invoices, routeDeps, registry);
  app.use(invoices);
  // Started by api/server.ts (and tests that want it); a route kicks it when it writes a job.
  const importJobs = new ImportJobProcessor({ prisma, temporal, config, log, metrics });
  app.locals.importJobs = importJobs;
  app.use(importJobsRouter({ prisma, temporal, config, log, metrics, processor: importJobs }, registry));
  app.use(opsActionsRouter(routeDeps, registry));
  app.use(customersRouter(routeDeps, registry));
  app.use(statementRouter(routeDeps, registry));
  app.use(behaviourRouter(routeDeps, registry));
  app.use(insolvencyRouter(routeDeps, registry));
  app.use(customerHoldsRouter(routeDeps, registry));
  app.use(tasksRouter(routeDeps, registry));
  app.use(unmatchedPaymentsRouter(routeDeps, registry));
  app.use(reportsRouter(routeDeps, registry));
  app.use(auditRouter(routeDeps, registry));
  app.use(repliesRouter(routeDeps, registry));
  app.use(codecRouter(routeDeps, registry));
  app.use(policiesRouter({ ...routeDeps, log }, registry));
  app.use(communicationsRouter(routeDeps, registry));
  app.use(approvalsRouter(routeDeps, registry));
  app.use(privacyRouter({ ...routeDeps, log }, registry));

  app.use((req, _res, next) => next(new Problem(404, 'Not found', `No route ${req.method} ${req.path}`)));
  app.use(problemErrorHandler(log));
  return app;
}
