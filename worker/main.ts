// The worker process: the task queues of its WORKER_ROLES (default: all of Relance's),
// graceful on SIGTERM/SIGINT (stop polling, let in-flight activities finish, then exit).
import v8 from 'node:v8';
import { pino } from 'pino';
import { loadConfig, type Config } from '../config/index';
import { relanceDataConverter, warnOnLocalDevKey } from '../codec/index';
import { connectClient, connectWorkerConnection } from '../config/temporal';
import { createCustomerActivities } from '../activities/customer';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { activitiesForRoles, createDunningWorkers, workflowBundleFile } from './create-worker';
import type { Worker } from '@temporalio/worker';
import { setInvoiceStageSource } from '../observability/metrics';
import { installWorkerRuntime } from '../observability/runtime';
import { startWorkerHttp } from '../observability/worker-http';

export interface RunningWorkers {
  workers: Worker[];
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function startWorkers(opts: {
  config: Config;
  prisma: PrismaClient;
  taskQueuePrefix?: string;
  /** A bundle file (workflowBundleFile()); default: bundle in this process, as tests and `npm start` do. */
  workflowBundle?: { codePath: string };
}): Promise<RunningWorkers> {
  const { config, prisma } = opts;
  const roles = config.WORKER_ROLES;
  // Before the first NativeConnection: JSON logs and the SDK's Prometheus exporter (once per process).
  installWorkerRuntime(config);
  // The stage gauge reads the whole Invoice table: one process type serves it (the one with
  // the workflows), so that summing over worker instances does not count invoices twice.
  if (roles.includes('workflows')) setInvoiceStageSource(prisma);
  const connection = await connectWorkerConnection(config);
  // A client for the customer's conversation (signal-with-start, updates to invoices): issue 18.
  const client = roles.includes('workflows') ? await connectClient(config) : undefined;
  const activities = { ...(await activitiesForRoles(roles, { prisma, config })), ...(client ? createCustomerActivities(client) : {}) };
  const workers = await createDunningWorkers({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    activities,
    roles,
    taskQueuePrefix: opts.taskQueuePrefix,
    maxCachedWorkflows: config.WORKFLOW_CACHE_SIZE,
    workflowBundle: opts.workflowBundle,
    workflowThreads: config.WORKFLOW_THREADS,
    shutdownGraceTime: config.WORKER_SHUTDOWN_GRACE_MS,
    dataConverter: relanceDataConverter(config),
    rates: {
      email: config.RATE_EMAIL_PER_SEC,
      sms: config.RATE_SMS_PER_SEC,
      letter: config.RATE_LETTER_PER_SEC,
      agency: config.RATE_AGENCY_PER_SEC,
    },
  });
  const done = Promise.all(workers.map((w) => w.run())).then(async () => {
    await connection.close();
    await client?.connection.close();
  });
  return {
    workers,
    done,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

async function main() {
  const config = loadConfig();
  const log = pino({ level: config.LOG_LEVEL, base: { service: 'relance-worker' } });
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required (npm start runs an embedded database for you)');
  const prisma = createPrisma(config.DATABASE_URL);
  const runtime = installWorkerRuntime(config, log);
  const bundle = config.WORKER_ROLES.includes('workflows') ? await workflowBundleFile(config.WORKFLOW_BUNDLE_PATH) : undefined;
  const running = await startWorkers({ config, prisma, workflowBundle: bundle });
  // /healthz and /metrics (dunning + SDK metrics) for the container and Prometheus.
  const http =
    config.WORKER_METRICS_PORT > 0
      ? await startWorkerHttp({
          port: config.WORKER_METRICS_PORT,
          host: config.HOST,
          workerStates: () => running.workers.map((w) => w.getState()),
          sdkMetricsAddress: runtime.sdkMetricsAddress,
        })
      : undefined;
  // The heap cap the process runs with (deploy/entrypoint.sh sets it from the cache size).
  const heapLimitMb = Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20);
  warnOnLocalDevKey(config, log);
  log.info({ roles: config.WORKER_ROLES, queues: running.workers.length, heapLimitMb, http: http?.url, sdkMetrics: runtime.sdkMetricsAddress }, 'Relance worker running');
  // The SDK's Runtime handles SIGINT/SIGTERM by shutting the workers down gracefully: polling
  // stops, in-flight activities get WORKER_SHUTDOWN_GRACE_MS to finish, then the process exits.
  process.once('SIGTERM', () => log.info('SIGTERM: draining in-flight activities'));
  await running.done;
  await http?.close();
  await prisma.$disconnect();
  log.info('Relance worker stopped');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
