// The worker of bench/sleeping.ts, in its own process so its RSS is its own: the
// invoiceDunning worker with the real journal (DATABASE_URL) and channel doubles.
// argv: <temporal address> <task queue prefix> <maxCachedWorkflows> <database url|-> [<prebuilt bundle file>];
// IPC: 'rss' → { rss, heap, journaled }.
import { NativeConnection } from '@temporalio/worker';
import { createJournalActivities } from '../activities/journal';
import { createPrisma } from '../prisma/client';
import { createDunningWorkers } from '../worker/create-worker';
import { nullActivities, quietRuntime } from './lib';

const [address, prefix, cache, dbUrl, bundlePath] = process.argv.slice(2);
quietRuntime();
const journaled = new Set<string>();
const acts = nullActivities();
const prisma = dbUrl && dbUrl !== '-' ? createPrisma(dbUrl, { max: 1 }) : undefined;
const real = prisma ? createJournalActivities(prisma) : undefined;
acts.journal = async (input) => {
  if (real) await real.journal(input);
  for (const e of input.events) journaled.add(e.workflowId);
};
const connection = await NativeConnection.connect({ address });
const workers = await createDunningWorkers({
  connection,
  namespace: 'default',
  activities: acts,
  rates: { email: 1000, sms: 1000, letter: 1000, agency: 1000 },
  taskQueuePrefix: prefix,
  maxCachedWorkflows: Number(cache),
  ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
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
      await prisma?.$disconnect();
      process.exit(0);
    });
  }
});
process.send?.({ ready: true });
