// kill -9 of the worker while an email step is in flight: after the SMTP server accepted
// the message, before the activity completed (the communication row is still PENDING).
// The worker (every queue, real activities, real SMTP sink, real database) runs in a
// child process; a test seam stalls it right after acceptance and the test SIGKILLs it,
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
  waitAllClosed,
  type Peers,
  type WorkerChild,
} from './support';

const KILLS = scaled('FAULT_KILLS', 5, 25);
const INVOICES = scaled('FAULT_KILL_INVOICES', 3, 12);
const REAL_TIMEOUTS = process.env.FAULT_REAL_TIMEOUTS === '1';
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

beforeAll(async () => {
  [db, env, peers] = await Promise.all([startTestDatabase(), createDevServerEnv(), startPeers()]);
  prisma = createPrisma(db.url, { max: 2 });
});
afterAll(async () => {
  for (const c of children) await c.kill('SIGKILL');
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
  const childEnv = { ...peers.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: env.address, FAULT_TASK_QUEUE_PREFIX: prefix, FAULT_WAIT_GO: '1' };

  // Warm the first worker before the invoices fall due (bundling takes seconds).
  let next = spawnWorkerChild({ ...childEnv, FAULT_STALL_AFTER_DELIVER: '1' });
  children.push(next);
  await next.waitFor('WARM', 60_000);

  const dueAt = Date.now() + 2_000;
  const invoices = [];
  for (let i = 0; i < INVOICES; i++) {
    invoices.push(
      await issueWithPolicy({ client: env.client, prisma, config, taskQueue }, policy, {
        dueAt: new Date(dueAt + i * 700).toISOString(),
      }),
    );
  }
  const ids = invoices.map((i) => i.workflowId);

  const killed = new Set<string>();
  const kills: Array<{ key: string; at: number }> = [];
  let orphansFailed = 0;
  for (let k = 0; k < KILLS; k++) {
    const current = next;
    current.go();
    await current.waitFor('READY', 30_000);
    const line = await current.waitFor('STALLED ', 90_000);
    // Let sends in flight at the same moment reach the stall too.
    await sleep(150);
    // The next worker warms while this one is still alive (a supervisor restarts quickly).
    const last = k === KILLS - 1;
    next = spawnWorkerChild({
      ...childEnv,
      FAULT_STALL_AFTER_DELIVER: last ? '0' : '1',
      FAULT_STALL_SKIP_KEYS: [...killed, ...stalledKeys(current.lines)].join(','),
    });
    children.push(next);
    await current.kill('SIGKILL');
    expect(current.proc.signalCode).toBe('SIGKILL');
    for (const key of stalledKeys(current.lines)) killed.add(key);
    kills.push({ key: JSON.parse(line.slice('STALLED '.length)).idempotencyKey, at: Date.now() });
    if (!REAL_TIMEOUTS) orphansFailed += await failOrphans(ids);
    await next.waitFor('WARM', 60_000);
  }
  next.go();
  await next.waitFor('READY', 30_000);

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
      const row = await prisma.communication.findUniqueOrThrow({ where: { idempotencyKey: key } });
      expect(row.status, key).toBe(CommunicationStatus.SENT);
      if (killed.has(key)) expect(row.attempts, key).toBeGreaterThanOrEqual(2);
    }
  }
  expect(lost).toBe(0);
  expect(duplicatesDelivered).toBe(0);
  expect(messages).toHaveLength(INVOICES * STEPS.length);
  // Each send killed after acceptance was sent again, and recognised by its Message-ID.
  expect(killed.size).toBeGreaterThanOrEqual(KILLS);
  expect(peers.sink.duplicates).toBe(killed.size);
  expect(await prisma.communication.count({ where: { workflowId: { in: ids } } })).toBe(INVOICES * STEPS.length);

  figure('kill-worker', {
    kills: kills.length,
    sendsKilledAfterAcceptance: killed.size,
    orphanedAttemptsFailedByTest: orphansFailed,
    realTimeouts: REAL_TIMEOUTS,
    invoices: INVOICES,
    emails: messages.length,
    resendsDroppedBySink: peers.sink.duplicates,
    duplicatesDelivered,
    lostSteps: lost,
    seconds: Math.round((Date.now() - started) / 1000),
  });
}, REAL_TIMEOUTS ? 900_000 : 85_000);

function stalledKeys(lines: string[]): string[] {
  return lines.filter((l) => l.startsWith('STALLED ')).map((l) => (JSON.parse(l.slice('STALLED '.length)) as { idempotencyKey: string }).idempotencyKey);
}
