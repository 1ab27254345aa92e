// The API process: connects to the database and Temporal, listens, takes its turn at
// reconciling invoice rows (api/reconciler.ts: one run per interval for the deployment),
// and shuts down gracefully on SIGTERM/SIGINT: stop accepting, let in-flight requests
// finish (up to API_SHUTDOWN_TIMEOUT_MS), then close connections.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import { pino, type Logger } from 'pino';
import { TaskQueues } from '../contracts/task-queues';
import { loadConfig, type Config } from '../config/index';
import { connectClient } from '../config/temporal';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { createApp, createPolicyCatalog } from './app';
import type { ImportJobProcessor } from './import-jobs';
import { createMetrics } from './metrics';
import { resumeMigrations } from './policies';
import { startReconciler } from './reconciler';
import { startRetention } from './erasure';
import { warnOnLocalDevKey } from '../codec/index';
import { initPolicies } from '../policies/store';

export interface RunningApi {
  server: Server;
  url: string;
  /** Graceful stop; resolves when the server is closed. */
  close(): Promise<void>;
}

export async function startApi(opts: {
  config: Config;
  prisma: PrismaClient;
  temporal: Client;
  log?: Logger;
  port?: number;
  host?: string;
  workflowTaskQueue?: string;
}): Promise<RunningApi> {
  const { config, prisma, temporal } = opts;
  const log = opts.log ?? pino({ level: config.LOG_LEVEL, base: { service: 'relance-api' } });
  const metrics = createMetrics();
  // The shipped policies and the POLICY_DIR files, before anything listens: a file that
  // conflicts with the database stops the start here, naming both.
  // Without POLICY_DIR an unreachable database does not stop the start (the catalogue seeds
  // the shipped policies on first use, /readyz reports the database).
  try {
    const loaded = await initPolicies(prisma, { policyDir: config.POLICY_DIR });
    if (loaded.seeded.length || loaded.loaded.length) log.info(loaded, 'policies seeded / loaded from files');
  } catch (err) {
    if (config.POLICY_DIR) throw err;
    log.warn({ err }, 'shipped policies not seeded yet (database unreachable); retried on first use');
  }
  const policies = createPolicyCatalog(prisma, config);
  const app = createApp({ prisma, temporal, config, log, metrics, workflowTaskQueue: opts.workflowTaskQueue, policies });
  const server = app.listen(opts.port ?? config.API_PORT, opts.host ?? config.HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 5_000;
  const address = server.address() as AddressInfo;
  const url = `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url }, 'Relance API listening');
  warnOnLocalDevKey(config, log);
  const gatewayForMigrations = { client: temporal, taskQueue: opts.workflowTaskQueue ?? TaskQueues.workflow, timeoutMs: config.API_TEMPORAL_TIMEOUT_MS };
  // Off the start's path: migrations interrupted by a stop carry on shortly after.
  const resumeTimer = setTimeout(() => {
    resumeMigrations({ prisma, temporal: gatewayForMigrations, policies, log }).catch((err: unknown) => log.warn({ err }, 'resuming policy migrations failed'));
  }, 1_000).unref();
  // Import jobs left unfinished by a stopped or crashed API process are resumed from here.
  const importJobs = app.locals.importJobs as ImportJobProcessor;
  importJobs.start();

  const reconciler =
    config.API_RECONCILE_INTERVAL_SECONDS > 0
      ? startReconciler({
          prisma,
          temporal: { client: temporal, taskQueue: opts.workflowTaskQueue ?? TaskQueues.workflow, timeoutMs: config.API_TEMPORAL_TIMEOUT_MS },
          intervalSeconds: config.API_RECONCILE_INTERVAL_SECONDS,
          metrics,
          log,
        })
      : undefined;

  const retention = startRetention({
    prisma,
    temporal: { client: temporal, taskQueue: opts.workflowTaskQueue ?? TaskQueues.workflow, timeoutMs: config.API_TEMPORAL_TIMEOUT_MS },
    config,
    log,
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      reconciler?.stop();
      retention?.stop();
      clearTimeout(resumeTimer);
      log.info('shutting down: no new connections, draining in-flight requests');
      const force = setTimeout(() => server.closeAllConnections(), config.API_SHUTDOWN_TIMEOUT_MS);
      force.unref();
      const stopping = importJobs.stop().catch(() => {});
      server.close(() => {
        clearTimeout(force);
        void stopping.then(() => resolve());
      });
      server.closeIdleConnections();
    }));
  return { server, url, close };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const log = pino({ level: config.LOG_LEVEL, base: { service: 'relance-api' } });
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL is required (npm run dev starts an embedded database)');
  const prisma = createPrisma(config.DATABASE_URL);
  const temporal = await connectClient(config);
  const api = await startApi({ config, prisma, temporal, log });
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'signal received');
    await api.close();
    await temporal.connection.close().catch(() => {});
    await prisma.$disconnect().catch(() => {});
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
