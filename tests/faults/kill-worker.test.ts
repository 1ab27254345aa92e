// kill -9 of the worker while an email is in flight, against an SMTP server like most real
// ones: it keeps a repeated message (no Message-ID deduplication), and it stores each
// message, then answers its 250 only ACCEPT_DELAY_MS later. The test SIGKILLs the worker
// in that window: the server holds the message, the worker never heard back, and the
// communication row is still PENDING. That attempt is ambiguous, and the per-step rule of
// README "Guarantees" applies (domain/delivery.ts):
//   - a friendly step (reminder-1, reminder-2) is resent once: the customer may get it
//     twice, never three times, and it is never lost;
//   - a formal step (formal-notice) is never resent blindly: the workflow holds, the send
//     is listed by GET /v1/communications?status=ambiguous, and a collector resolves it
//     (POST /v1/communications/{id}/resolve). The test plays the collector over HTTP,
//     reading the server's mailbox as she would read the transcript: delivered when the
//     message is there, resend when it is not. The formal notice arrives exactly once.
// The worker (real activities, real SMTP server, real database) runs in a child process:
// in CI the channel queues only, the workflow queue staying in the test process (a
// restart then takes ~1 s instead of a workflow bundle build); in the chaos run
// (FAULT_KILL_ALL_QUEUES=1) every queue, so the workflow worker dies too.
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
import type { TestResponse } from '../api/harness';
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
  startApp,
  startPeers,
  statusOf,
  TEST_TIMEOUT_MS,
  trace,
  waitAllClosed,
  type Peers,
  type RunningApp,
  type WorkerChild,
} from './support';
import { dataConverterFromEnv } from '../../codec/index';

const KILLS = scaled('FAULT_KILLS', 5, 25);
/** How long the SMTP server holds its 250 after storing a message: the window of each kill. */
const ACCEPT_DELAY_MS = scaled('FAULT_ACCEPT_DELAY_MS', 1_500, 1_500);
const INVOICES = scaled('FAULT_KILL_INVOICES', 6, 30);
/** Due instants this far apart, so sends keep coming while the worker is killed again and again. */
const SPACING_MS = scaled('FAULT_KILL_SPACING_MS', 700, 5_000);
const REAL_TIMEOUTS = process.env.FAULT_REAL_TIMEOUTS === '1';
const ALL_QUEUES = process.env.FAULT_KILL_ALL_QUEUES === '1';
const STEPS = ['reminder-1', 'reminder-2', 'formal-notice'];
const FORMAL = new Set(['formal-notice']);
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
let api: RunningApp | undefined;

beforeAll(async () => {
  [db, env, peers] = await Promise.all([
    startTestDatabase(),
    createDevServerEnv(),
    startPeers({ sink: { dropDuplicates: false, acceptDelayMs: ACCEPT_DELAY_MS } }),
  ]);
  prisma = createPrisma(db.url, { max: 2 });
});
afterAll(async () => {
  await api?.close();
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

it(`SIGKILL between an SMTP server storing a message and its 250, ${KILLS} sends: friendly steps resent once, formal ones held and resolved, none lost`, async () => {
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
  api = await startApp({ prisma, client: env.client, config, taskQueue });

  // The next worker is always warming (loaded; bundle built in all-queues mode) while the
  // current one runs, so a restart after a kill takes about a second, as under a supervisor.
  const warm = () => {
    const c = spawnWorkerChild(childEnv);
    children.push(c);
    return c;
  };
  const start = async (c: WorkerChild) => {
    await c.waitFor('WARM', 60_000);
    c.go({ stall: false });
    await c.waitFor('READY', 30_000);
  };
  // Running before the invoices are issued: a workflow whose first task ran only after two
  // of its steps were past would skip the earlier one ("already past when issued").
  let current = warm();
  await start(current);

  const dueAt = Date.now() + 3_000;
  const invoices: Array<Awaited<ReturnType<typeof issueWithPolicy>>> = [];
  for (let i = 0; i < INVOICES; i++) {
    invoices.push(
      await issueWithPolicy({ client: env.client, prisma, config, taskQueue }, policy, {
        dueAt: new Date(dueAt + i * SPACING_MS).toISOString(),
      }),
    );
  }
  const ids = invoices.map((i) => i.workflowId);
  // The sends to kill: invoice i's step i mod 3, so friendly and formal steps are both hit.
  const targets = new Set(invoices.slice(0, KILLS).map((inv, i) => `${inv.workflowId}/${STEPS[i % STEPS.length]}/email`));
  const keyOf = (m: { headers: Map<string, unknown> }) => String(m.headers.get('x-relance-idempotency-key') ?? '');
  /** Sends stored by the server while the worker was waiting for its 250, then killed. */
  const killedAfterStore = new Set<string>();
  let orphansFailed = 0;
  let kills = 0;

  const killDeadline = Date.now() + 60_000;
  while (killedAfterStore.size < targets.size && kills < KILLS && Date.now() < killDeadline) {
    const next = warm();
    // Wait until the server stores a target not killed yet: its 250 is ACCEPT_DELAY_MS away.
    let hit: string | undefined;
    while (!hit && Date.now() < killDeadline) {
      hit = peers.sink.messages().map(keyOf).find((k) => targets.has(k) && !killedAfterStore.has(k));
      if (!hit) await sleep(20);
    }
    if (!hit) break;
    await current.kill('SIGKILL');
    expect(current.proc.signalCode).toBe('SIGKILL');
    kills++;
    // Every target the server holds by now was in the same window (a resend carries the same key).
    for (const k of peers.sink.messages().map(keyOf)) if (targets.has(k)) killedAfterStore.add(k);
    trace('killed after the server stored', hit, 'kills', kills);
    if (!REAL_TIMEOUTS) orphansFailed += await failOrphans(ids);
    await start(next);
    current = next;
  }
  expect(killedAfterStore.size, 'every target killed between store and 250').toBe(targets.size);

  // The collector's work: the held formal sends, resolved over HTTP while the workflows wait.
  const resolutions = await resolveHeldSends(api, ids, REAL_TIMEOUTS ? 400_000 : 90_000);
  const open = await waitAllClosed(env.client, ids, REAL_TIMEOUTS ? 400_000 : 60_000);
  expect(open, 'workflows still running').toEqual([]);

  const messages = peers.sink.messages();
  const delivered = (key: string) => messages.filter((m) => keyOf(m) === key || m.messageId === messageIdFor(key)).length;
  const tally = { friendlyResent: 0, friendlyLeftAmbiguous: 0, formalHeld: 0, duplicatesDelivered: 0, lost: 0 };
  /** Sends no kill touched (one attempt): delivered once, SENT. */
  const untouched: Array<{ key: string; delivered: number; status: string }> = [];
  for (const inv of invoices) {
    const st = await statusOf(env.client, inv.workflowId);
    expect(st.outcome).toBe('agency-closed');
    expect(st.completedSteps).toEqual(STEPS);
    for (const step of STEPS) {
      const key = `${inv.workflowId}/${step}/email`;
      const n = delivered(key);
      const row = await prisma.communication.findUniqueOrThrow({ where: { idempotencyKey: key } });
      const story = `${key}: delivered ${n}, row ${row.status} attempts ${row.attempts} resends ${row.resends} resolution ${row.resolution}`;
      if (n === 0) tally.lost++;
      tally.duplicatesDelivered += Math.max(0, n - 1);
      if (FORMAL.has(step)) {
        // Never resent blindly: exactly one notice, whatever happened to the worker.
        expect(n, story).toBe(1);
        expect(row.resends, story).toBe(row.resolution === 'resend' ? 1 : 0);
        expect(row.status, story).toBe(CommunicationStatus.SENT);
        if (killedAfterStore.has(key)) {
          expect(row.resolution, story).toBe('delivered');
          tally.formalHeld++;
        }
      } else {
        // Resent once at most: never lost, never a third copy.
        tally.friendlyLeftAmbiguous += row.status === CommunicationStatus.AMBIGUOUS ? 1 : 0;
        expect(n, story).toBeGreaterThanOrEqual(1);
        expect(n, story).toBeLessThanOrEqual(1 + row.resends);
        expect(row.resends, story).toBeLessThanOrEqual(1);
        if (killedAfterStore.has(key)) {
          // Resent once, and both copies are in the mailbox. When a later kill caught that resend
          // too (a third attempt), the rule sends no third copy and leaves the row AMBIGUOUS: the
          // resend may or may not have reached the server before that kill (1 or 2 copies).
          const resendCaught = row.attempts > 2;
          expect({ resends: row.resends, status: row.status, copies: n }, story).toEqual({
            resends: 1,
            status: resendCaught ? CommunicationStatus.AMBIGUOUS : CommunicationStatus.SENT,
            copies: resendCaught ? expect.toBeOneOf([1, 2]) : 2,
          });
          tally.friendlyResent++;
        }
      }
      if (!killedAfterStore.has(key) && row.attempts === 1) untouched.push({ key, delivered: n, status: row.status });
    }
  }
  // Sends no kill touched went out exactly once. (Under a loaded CI machine every send may be
  // in flight at some kill, leaving none untouched: their count is in the figure line.)
  expect(untouched).toEqual(untouched.map(({ key }) => ({ key, delivered: 1, status: CommunicationStatus.SENT })));
  expect(tally.lost).toBe(0);
  expect(tally.friendlyResent + tally.formalHeld).toBe(targets.size);
  expect(tally.formalHeld).toBeGreaterThanOrEqual(1);
  expect(tally.friendlyResent).toBeGreaterThanOrEqual(1);
  // Each resolution the collector gave is on record with her name, and no formal send is left
  // held. (A friendly send whose one resend a later kill caught stays listed as ambiguous: the
  // collector may look at it, nothing waits for her.)
  expect(resolutions.length).toBeGreaterThanOrEqual(tally.formalHeld);
  const stillHeld = await api.request('GET', '/v1/communications?status=ambiguous&unresolved=true&limit=500');
  const ours = (stillHeld.json.items as Array<{ invoiceNumber: string; stepId: string }>).filter((c) => invoices.some((i) => i.number === c.invoiceNumber));
  expect(ours.filter((c) => FORMAL.has(c.stepId))).toEqual([]);
  expect(ours.length).toBe(tally.friendlyLeftAmbiguous);
  expect(await prisma.communication.count({ where: { workflowId: { in: ids } } })).toBe(INVOICES * STEPS.length);

  figure('kill-worker', {
    kills,
    sendsKilledBetweenStoreAnd250: killedAfterStore.size,
    friendlyResentOnce: tally.friendlyResent,
    friendlyLeftAmbiguous: tally.friendlyLeftAmbiguous,
    untouchedSends: untouched.length,
    formalHeldAndResolved: tally.formalHeld,
    collectorResolutions: resolutions.map((r) => r.action).join(',') || 'none',
    orphanedAttemptsFailedByTest: orphansFailed,
    realTimeouts: REAL_TIMEOUTS,
    killedQueues: ALL_QUEUES ? 'all' : 'channels',
    invoices: INVOICES,
    emails: messages.length,
    duplicatesDelivered: tally.duplicatesDelivered,
    lostSteps: tally.lost,
    seconds: Math.round((Date.now() - started) / 1000),
  });
}, REAL_TIMEOUTS || ALL_QUEUES ? Math.max(TEST_TIMEOUT_MS, 900_000) : Math.max(TEST_TIMEOUT_MS, 240_000)); // 55 s alone, ~90 s on a loaded 2-core machine

/**
 * Plays the collector until every workflow is closed or past the holds: each ambiguous,
 * unresolved send of these invoices is resolved as `delivered` when the server's mailbox
 * holds it, `resend` when it does not. A workflow not yet waiting for that answer refuses
 * it (409/422): asked again at the next round.
 */
async function resolveHeldSends(app: RunningApp, workflowIds: string[], timeoutMs: number): Promise<Array<{ key: string; action: string }>> {
  const done: Array<{ key: string; action: string }> = [];
  const deadline = Date.now() + timeoutMs;
  const numbers = new Set(workflowIds.map((w) => w.replace(/^invoice-/, '')));
  for (let round = 0; Date.now() < deadline && round < 2_000; round++) {
    const list: TestResponse = await app.request('GET', '/v1/communications?status=ambiguous&unresolved=true&limit=500');
    expect(list.status, list.text).toBe(200);
    const held = (list.json.items as Array<{ id: string; invoiceNumber: string; stepId: string; channel: string }>).filter((c) => numbers.has(c.invoiceNumber));
    for (const c of held) {
      const key = `invoice-${c.invoiceNumber}/${c.stepId}/${c.channel}`;
      const inMailbox = peers.sink.messages().some((m) => m.headers.get('x-relance-idempotency-key') === key);
      const action = inMailbox ? 'delivered' : 'resend';
      const r = await app.request('POST', `/v1/communications/${c.id}/resolve`, { body: { action, note: 'checked the mailbox' } });
      if (r.status === 200) done.push({ key, action });
      else trace('resolve refused, asked again', r.status, r.text.slice(0, 200));
    }
    const open = (await Promise.all(workflowIds.map(async (id) => ((await env.client.workflow.getHandle(id).describe()).status.name === 'RUNNING' ? id : undefined)))).filter(Boolean);
    if (open.length === 0) break;
    await sleep(500);
  }
  return done;
}
