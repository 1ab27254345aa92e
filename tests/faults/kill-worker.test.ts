// kill -9 of the worker while an email step is in flight: after the SMTP server accepted
// the message, before the activity completed (the communication row is still PENDING).
// The worker (real activities, real SMTP sink, real database) runs in a child process:
// in CI the channel queues only, the workflow queue staying in the test process (a
// restart then takes ~1 s instead of a workflow bundle build); in the chaos run
// (FAULT_KILL_ALL_QUEUES=1) every queue, so the workflow worker dies too; a test seam stalls it right after acceptance and the test SIGKILLs it,
// N times, each time on a send not killed before, then restarts it. Per invoice and
// step: exactly one message delivered (a resend carries the same Message-ID and the
// sink drops it: `duplicates` counts those), the step completed, its row SENT.
//
// Recovery of the killed attempt: Temporal retries it when its startToCloseTimeout (2 min
// in the workflow) expires. In CI the test does what that timeout would do, at once: it
// fails the orphaned attempt by id (client.activity.fail), and the activity's retry
// policy runs the next attempt 2 s later. FAULT_REAL_TIMEOUTS=1 (the chaos run) waits
// for the real timeout instead.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { messageIdFor } from '../../activities/email';
import { CommunicationStatus, createPrisma, type PrismaClient } from '../../prisma/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestDatabase, type TestDatabase } from '../api/harness';
import { createDevServerEnv } from '../helpers/temporal';
import { Worker } from '@temporalio/worker';
import { createCalendarActivities } from '../../activities/calendar';
import { createJournalActivities } from '../../activities/journal';
import { workflowBundle } from '../../worker/create-worker';
import {
  faultConfig,
  figure,
  issueWithPolicy,
  scaled,
  secondsPolicy,
  sleep,
  spawnWorkerChild,
  startPeers,
  statusOf,
  TEST_TIMEOUT_MS,
  trace,
  waitAllClosed,
  type Peers,
  type WorkerChild,
} from './support';
import { dataConverterFromEnv } from '../../codec/index';

const KILLS = scaled('FAULT_KILLS', 5, 25);
const INVOICES = scaled('FAULT_KILL_INVOICES', 6, 30);
/** Due instants this far apart, so sends keep coming while the worker is killed again and again. */
const SPACING_MS = scaled('FAULT_KILL_SPACING_MS', 700, 5_000);
const REAL_TIMEOUTS = process.env.FAULT_REAL_TIMEOUTS === '1';
const ALL_QUEUES = process.env.FAULT_KILL_ALL_QUEUES === '1';
const STEPS = ['reminder-1', 'reminder-2', 'formal-notice'];
const policy = secondsPolicy(
  'kill-test',
  STEPS.map((id, i) => [id, 1 + i * 2, ['email']]),
  'PT1S',
);

let db: TestDatabase;
let env: TestWorkflowEnvironment;
let peers: Peers;
let prisma: PrismaClient;
const children: WorkerChild[] = [];
let workflowWorker: Worker | undefined;
let workflowRunning: Promise<void> | undefined;

beforeAll(async () => {
  [db, env, peers] = await Promise.all([startTestDatabase(), createDevServerEnv(), startPeers()]);
  prisma = createPrisma(db.url, { max: 2 });
});
afterAll(async () => {
  for (const c of children) await c.kill('SIGKILL');
  workflowWorker?.shutdown();
  await workflowRunning?.catch(() => {});
  await prisma?.$disconnect();
  await env?.teardown();
  await db?.stop();
  await peers?.stop();
});

/** Fails every STARTED activity attempt of these workflows (their worker is dead). */
async function failOrphans(workflowIds: string[]): Promise<number> {
  let failed = 0;
  for (const workflowId of workflowIds) {
    const d = await env.client.workflow.getHandle(workflowId).describe();
    for (const a of d.raw.pendingActivities ?? []) {
      if (Number(a.state) !== 2 /* PENDING_ACTIVITY_STATE_STARTED */ || !a.activityId) continue;
      await env.client.activity
        .fail({ workflowId, activityId: a.activityId }, new Error('worker SIGKILLed (test stand-in for startToCloseTimeout)'))
        .then(() => failed++)
        .catch(() => {}); // completed meanwhile
    }
  }
  return failed;
}

it(`SIGKILL after SMTP acceptance ×${KILLS}: no duplicate delivered, no step lost`, async () => {
  const started = Date.now();
  const prefix = `kill-${randomBytes(3).toString('hex')}-`;
  const taskQueue = `${prefix}dunning`;
  const config = faultConfig(db.url, peers);
  const childEnv = {
    ...peers.env,
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: env.address,
    FAULT_TASK_QUEUE_PREFIX: prefix,
    FAULT_WAIT_GO: '1',
    FAULT_QUEUES: ALL_QUEUES ? 'all' : 'channels',
  };
  if (!ALL_QUEUES) {
    const journal = createJournalActivities(prisma);
    workflowWorker = await Worker.create({
      connection: env.nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowBundle: await workflowBundle(),
      dataConverter: dataConverterFromEnv(),
      activities: { journal: journal.journal, createPhoneTask: journal.createPhoneTask, ...createCalendarActivities() },
    });
    workflowRunning = workflowWorker.run();
  }

  // The next worker is always warming (loaded; bundle built in all-queues mode) while the
  // current one runs, so a restart after a kill takes about a second, as under a supervisor.
  const warm = () => {
    const c = spawnWorkerChild(childEnv);
    children.push(c);
    return c;
  };
  const killed = new Set<string>();
  const kills: Array<{ key: string; at: number }> = [];
  let orphansFailed = 0;
  const start = async (c: WorkerChild, stall: boolean) => {
    await c.waitFor('WARM', 60_000);
    c.go({ stall, skip: [...killed] });
    await c.waitFor('READY', 30_000);
  };
  // Running before the invoices are issued: a workflow whose first task ran only after two
  // of its steps were past would skip the earlier one ("already past when issued").
  let current = warm();
  await start(current, true);

  const dueAt = Date.now() + 3_000;
  const invoices = [];
  for (let i = 0; i < INVOICES; i++) {
    invoices.push(
      await issueWithPolicy({ client: env.client, prisma, config, taskQueue }, policy, {
        dueAt: new Date(dueAt + i * SPACING_MS).toISOString(),
      }),
    );
  }
  const ids = invoices.map((i) => i.workflowId);

  for (let k = 0; k < KILLS; k++) {
    const next = warm();
    trace('kill', k, 'waiting for a send to stall');
    const line = await current.waitFor('STALLED ', 30_000).catch(() => undefined);
    if (line) {
      trace('stalled', line);
      await sleep(150); // let sends in flight at the same moment reach the stall too
    }
    await current.kill('SIGKILL');
    expect(current.proc.signalCode).toBe('SIGKILL');
    for (const key of stalledKeys(current.lines)) killed.add(key);
    if (line) kills.push({ key: JSON.parse(line.slice('STALLED '.length)).idempotencyKey, at: Date.now() });
    if (!REAL_TIMEOUTS) orphansFailed += await failOrphans(ids);
    trace('killed; orphans failed', orphansFailed);
    const last = !line || k === KILLS - 1; // no send left to stall: stop killing (asserted below)
    await start(next, !last);
    current = next;
    if (last) break;
  }
  trace('final worker ready');
  const open = await waitAllClosed(env.client, ids, REAL_TIMEOUTS ? 400_000 : 60_000);
  expect(open, 'workflows still running').toEqual([]);

  // Per invoice and step: one message delivered, the step completed, the row SENT.
  const messages = peers.sink.messages();
  let lost = 0;
  let duplicatesDelivered = 0;
  for (const inv of invoices) {
    const st = await statusOf(env.client, inv.workflowId);
    expect(st.outcome).toBe('agency-closed');
    expect(st.completedSteps).toEqual(STEPS);
    for (const step of STEPS) {
      const key = `${inv.workflowId}/${step}/email`;
      const delivered = messages.filter((m) => m.messageId === messageIdFor(key) || m.headers.get('x-relance-idempotency-key') === key);
      if (delivered.length === 0) lost++;
      duplicatesDelivered += Math.max(0, delivered.length - 1);
      const row = await prisma.communication.findUnique({ where: { idempotencyKey: key } });
      const story = () => JSON.stringify(st.timeline.filter((t) => (t.detail as { stepId?: string }).stepId === step));
      expect(row?.status, `${key}: ${story()}`).toBe(CommunicationStatus.SENT);
      if (!row) continue;
      if (killed.has(key)) expect(row.attempts, key).toBeGreaterThanOrEqual(2);
    }
  }
  expect(lost).toBe(0);
  expect(duplicatesDelivered).toBe(0);
  expect(messages).toHaveLength(INVOICES * STEPS.length);
  // Each send killed after acceptance was sent again, and recognised by its Message-ID
  // (an orphan killed after acceptance but before its STALLED line adds one more).
  expect(kills.length).toBe(KILLS);
  expect(killed.size).toBeGreaterThanOrEqual(KILLS);
  expect(peers.sink.duplicates).toBeGreaterThanOrEqual(killed.size);
  expect(peers.sink.duplicates).toBeLessThanOrEqual(killed.size + orphansFailed);
  expect(await prisma.communication.count({ where: { workflowId: { in: ids } } })).toBe(INVOICES * STEPS.length);

  figure('kill-worker', {
    kills: kills.length,
    sendsKilledAfterAcceptance: killed.size,
    orphanedAttemptsFailedByTest: orphansFailed,
    realTimeouts: REAL_TIMEOUTS,
    killedQueues: ALL_QUEUES ? 'all' : 'channels',
    invoices: INVOICES,
    emails: messages.length,
    resendsDroppedBySink: peers.sink.duplicates,
    duplicatesDelivered,
    lostSteps: lost,
    seconds: Math.round((Date.now() - started) / 1000),
  });
}, REAL_TIMEOUTS || ALL_QUEUES ? Math.max(TEST_TIMEOUT_MS, 900_000) : TEST_TIMEOUT_MS);

function stalledKeys(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith('STALLED ')).map((l) => (JSON.parse(l.slice('STALLED '.length)) as { idempotencyKey: string }).idempotencyKey);
}
