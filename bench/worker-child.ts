// The worker of bench/sleeping.ts, in its own process so its RSS is its own. It is the
// production worker's make-up (worker/main.ts): the real activities from createActivities
// (nodemailer, Twilio, PDF, Prisma: their modules are what a worker holds), the real
// journal on DATABASE_URL, and a prebuilt bundle file as WORKFLOW_BUNDLE_PATH gives it.
// Nothing is sent: the invoices sleep. It imports nothing from bench/lib (whose API and
// test-stack modules would add ~90 MB that no worker has).
// With roles "workflows" it loads only the workflow side (activities/local.ts), as a
// worker process with WORKER_ROLES=workflows does.
// argv: <temporal address> <task queue prefix> <maxCachedWorkflows> <database url> <bundle file> <WORKER_ROLES>;
// IPC: 'rss' → { rss, heap, journaled }.
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../config/index';
import { createPrisma } from '../prisma/client';
import { activitiesForRoles, createDunningWorkers } from '../worker/create-worker';

const [address, prefix, cache, dbUrl, bundlePath, roles = ''] = process.argv.slice(2);
const level = (process.env.BENCH_LOG ?? 'ERROR') as 'ERROR' | 'WARN';
Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } } });
const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: dbUrl, TEMPORAL_ADDRESS: address, WORKFLOW_CACHE_SIZE: cache, WORKER_ROLES: roles });
const prisma = createPrisma(dbUrl, { max: 1 });
const journaled = new Set<string>();
const acts = await activitiesForRoles(config.WORKER_ROLES, { prisma, config });
const journal = acts.journal;
acts.journal = async (input: Parameters<typeof journal>[0]) => {
  await journal(input);
  for (const e of input.events) journaled.add(e.workflowId);
};
const connection = await NativeConnection.connect({ address });
const workers = await createDunningWorkers({
  connection,
  namespace: 'default',
  activities: acts,
  roles: config.WORKER_ROLES,
  rates: { email: 1000, sms: 1000, letter: 1000, agency: 1000 },
  taskQueuePrefix: prefix,
  maxCachedWorkflows: config.WORKFLOW_CACHE_SIZE,
  workflowBundle: { codePath: bundlePath },
});
const running = Promise.all(workers.map((w) => w.run()));
process.on('message', (m: unknown) => {
  if (m === 'rss') {
    (globalThis as { gc?: () => void }).gc?.();
    const u = process.memoryUsage();
    process.send?.({ rss: u.rss, heap: u.heapUsed, journaled: journaled.size });
  } else if (m === 'stop') {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    void running.finally(async () => {
      await connection.close().catch(() => {});
      await prisma.$disconnect();
      process.exit(0);
    });
  }
});
process.send?.({ ready: true });
