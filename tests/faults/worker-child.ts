// Test-only worker entry for the kill -9 tests: every task queue of Relance (workflow,
// email, sms, letter, agency) with the REAL activities (createActivities: SMTP, Twilio
// API, outbox, Prisma), like worker/main.ts, plus one test seam:
//
//   FAULT_STALL_AFTER_DELIVER=1  every send, once its provider accepted it, prints
//                                "STALLED <json>" and never completes: the parent
//                                SIGKILLs the process at exactly that moment (after
//                                SMTP acceptance, before the communication log is SENT).
//
// FAULT_QUEUES=channels runs only the four channel queues (email, sms, letter, agency:
// no workflow bundle to build, so a restart takes about a second); the parent then runs
// the workflow queue itself. Default: all five, as worker/main.ts.
// Env: DATABASE_URL, TEMPORAL_ADDRESS, FAULT_TASK_QUEUE_PREFIX (must make queue names end
// with 'dunning'), and the activity configuration (SMTP_PORT, TWILIO_API_BASE, DATA_DIR).
// FAULT_STALL_SKIP_KEYS: comma-separated idempotency keys that are not stalled (sends
// killed before, whose retry must now complete).
// Startup is in two halves so the parent can have the next worker warm while it kills
// the current one (FAULT_WAIT_GO=1): the workflow bundle is built, "WARM" printed, then
// it waits for a line "GO <json>" on stdin ({ stall?: boolean, skip?: string[] }, which
// override the env settings) before connecting; "READY" once the workers poll.
import { createInterface } from 'node:readline';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../../activities/index';
import type { SendHooks } from '../../activities/communication-log';
import { loadConfig } from '../../config/index';
import { createPrisma } from '../../prisma/client';
import { createDunningWorkers, workflowBundle } from '../../worker/create-worker';

Runtime.install({ logger: new DefaultLogger('ERROR') });

const config = loadConfig(process.env);
let stall = process.env.FAULT_STALL_AFTER_DELIVER === '1';
const skip = new Set((process.env.FAULT_STALL_SKIP_KEYS ?? '').split(',').filter(Boolean));
const prisma = createPrisma(config.DATABASE_URL!, { max: 5 });
const hooks: SendHooks = {
  async afterDeliver(info) {
    if (!stall || skip.has(info.idempotencyKey)) return;
    process.stdout.write(`STALLED ${JSON.stringify(info)}\n`);
    await new Promise(() => {}); // the parent kills us here
  },
};
const quiet = { info: () => {}, warn: () => {} };

const channelsOnly = process.env.FAULT_QUEUES === 'channels';
if (!channelsOnly) await workflowBundle(); // cached: createDunningWorkers reuses it
process.stdout.write('WARM\n');
if (process.env.FAULT_WAIT_GO === '1') {
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (l) => {
      if (l.startsWith('GO')) {
        const o = JSON.parse(l.slice(2).trim() || '{}') as { stall?: boolean; skip?: string[] };
        if (o.stall !== undefined) stall = o.stall;
        for (const k of o.skip ?? []) skip.add(k);
        resolve();
        rl.close();
      }
    });
    rl.on('close', () => reject(new Error('stdin closed before GO')));
  });
}
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
const activities = createActivities({ prisma, config, log: quiet, hooks });
const prefix = process.env.FAULT_TASK_QUEUE_PREFIX ?? '';
// Channels only: the workflows run elsewhere (the chaos command's own worker), as with WORKER_ROLES.
const workers = await createDunningWorkers({
  connection,
  namespace: 'default',
  activities,
  roles: channelsOnly ? ['email', 'sms', 'letter', 'agency'] : undefined,
  rates: { email: 200, sms: 200, letter: 200, agency: 200 },
  taskQueuePrefix: prefix,
});
const running = Promise.all(workers.map((w) => w.run()));
process.stdout.write('READY\n');
await running;
await prisma.$disconnect();
await connection.close();
