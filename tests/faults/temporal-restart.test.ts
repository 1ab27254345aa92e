// Restart the Temporal dev server (persistent SQLite file) with invoices in flight:
// stopped once with SIGTERM and once with SIGKILL, mid-way through their calendars, and
// started again on the same file. The worker and the client are NOT restarted: they must
// reconnect by themselves. Every invoice must then finish as its policy says:
//   group A  paid (signal) before the first stop        → paid, no reminder after the payment
//   group B  paid while the server had been restarted   → paid
//   group C  never paid                                 → every step, then agency-closed
// The worker is a child process (tests/faults/worker-child.ts: every queue, the real
// activities, the real SMTP sink and database), started once and never restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { messageIdFor } from '../../activities/email';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { locateTemporalBinary } from '../../tools/temporal-bin';
import { paymentReceivedSignal } from '../../contracts/messages';
import { SEARCH_ATTRIBUTE_CLI_ARGS } from '../../contracts/search-attributes';
import { startTestDatabase, type TestDatabase } from '../api/harness';
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

// 100 invoices take ~70 s alone and time out beside another file on two shared cores:
// CI runs 40, `npm run chaos:restart` the 100 of the issue (FAULT_RESTART_INVOICES for more).
const INVOICES = scaled('FAULT_RESTART_INVOICES', 40, 100);
const STEPS = ['reminder-1', 'reminder-2', 'formal-notice'];
const REAL_TIMEOUTS = process.env.FAULT_REAL_TIMEOUTS === '1';
const policy = secondsPolicy(
  'restart-test',
  [
    ['reminder-1', 1, ['email']],
    ['reminder-2', 5, ['email']],
    ['formal-notice', 9, ['email']],
  ],
  'PT2S',
);

let db: TestDatabase;
let prisma: PrismaClient;
let dir: string;
let port: number;
let server: ChildProcess | undefined;
let connection: Connection | undefined;
let peers: Peers;
let worker: WorkerChild | undefined;
const address = () => `127.0.0.1:${port}`;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

async function startServer(): Promise<number> {
  const t0 = Date.now();
  const args = [
    'server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port),
    '--db-filename', path.join(dir, 'temporal.sqlite'), '--namespace', 'default', '--log-level', 'error',
    ...SEARCH_ATTRIBUTE_CLI_ARGS.flatMap((sa) => ['--search-attribute', sa]),
  ];
  server = spawn(locateTemporalBinary('cli'), args, { stdio: 'ignore' });
  for (let i = 0; i < 120; i++) {
    if (server.exitCode !== null) throw new Error(`dev server exited with ${server.exitCode}`);
    try {
      const c = await Connection.connect({ address: address(), connectTimeout: 1_000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      return Date.now() - t0;
    } catch {
      await sleep(250);
    }
  }
  throw new Error('dev server did not answer in 30 s');
}

async function stopServer(signal: 'SIGTERM' | 'SIGKILL'): Promise<number> {
  const t0 = Date.now();
  const s = server!;
  if (s.exitCode !== null || s.signalCode !== null) return 0;
  const exited = new Promise<void>((r) => s.once('exit', () => r()));
  s.kill(signal);
  const timer = setTimeout(() => s.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
  return Date.now() - t0;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'relance-restart-'));
  port = await freePort();
  [db, peers] = await Promise.all([startTestDatabase(), startPeers(), startServer()]);
  prisma = createPrisma(db.url, { max: 4 });
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await connection?.close().catch(() => {});
  if (server) await stopServer('SIGKILL');
  await prisma?.$disconnect();
  await db?.stop();
  await peers?.stop();
  await rm(dir, { recursive: true, force: true });
});

it(`${INVOICES} invoices in flight survive a SIGTERM and a SIGKILL restart of the dev server (same SQLite file)`, async () => {
  const started = Date.now();
  const prefix = `restart-${randomBytes(3).toString('hex')}-`;
  const taskQueue = `${prefix}dunning`;
  worker = spawnWorkerChild({ ...peers.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: address(), FAULT_TASK_QUEUE_PREFIX: prefix });
  connection = await Connection.connect({
    address: address(),
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1_000 },
  });
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFromEnv() });
  const config = faultConfig(db.url, peers);
  await worker.waitFor('READY', 60_000);

  // Issuing takes up to ~120 ms an invoice on a busy machine (start, then the row): all are due after that.
  const dueAt = Date.now() + 1_500 + INVOICES * 120;
  const invoices: Array<{ number: string; workflowId: string; group: 'A' | 'B' | 'C' }> = [];
  for (let i = 0; i < INVOICES; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, INVOICES - i) }, (_, j) =>
        issueWithPolicy({ client, prisma, config, taskQueue }, policy, { dueAt: new Date(dueAt + ((i + j) % 20) * 100).toISOString() }),
      ),
    );
    batch.forEach((b, j) => invoices.push({ ...b, group: (['A', 'B', 'C'] as const)[(i + j) % 3]! }));
  }
  trace('issued', invoices.length, 'in', Date.now() - started, 'ms; due in', dueAt - Date.now(), 'ms');
  expect(dueAt - Date.now(), 'issuing was slower than planned (overloaded machine): the first steps would be skipped').toBeGreaterThan(0);
  const ids = invoices.map((i) => i.workflowId);
  // As the API does: journal the Payment row first (the activities' settled-check reads
  // it), then signal.
  const pay = async (inv: { number: string; workflowId: string }) => {
    const row = await prisma.invoice.findUniqueOrThrow({ where: { number: inv.number }, select: { id: true } });
    await prisma.payment.upsert({
      where: { source_externalId: { source: 'bank', externalId: `pay-${inv.number}` } },
      create: { invoiceId: row.id, source: 'bank', externalId: `pay-${inv.number}`, amountMinor: 100_000n, currency: 'EUR', receivedAt: new Date() },
      update: {},
    });
    await client.workflow.getHandle(inv.workflowId).signal(paymentReceivedSignal, {
      paymentId: `bank:pay-${inv.number}`,
      amountMinor: 100_000,
      currency: 'EUR',
      receivedAt: new Date().toISOString(),
      source: 'bank',
    });
  };

  // Group A pays once reminder-1 is out; then the server is stopped gracefully while
  // reminder-2 falls due.
  await sleep(Math.max(0, dueAt + 2_000 - Date.now()));
  await Promise.all(invoices.filter((i) => i.group === 'A').map(pay));
  await sleep(500);
  const term = { stopMs: await stopServer('SIGTERM'), downMs: 2_500, startMs: 0 };
  trace('SIGTERM: stopped in', term.stopMs);
  await sleep(term.downMs); // reminder-2 falls due while the server is down
  term.startMs = await startServer();
  trace('restarted in', term.startMs);

  // Group B pays after the first restart (the client must have reconnected).
  await sleep(500);
  for (let t = 0; ; t++) {
    try {
      await Promise.all(invoices.filter((i) => i.group === 'B').map(pay));
      break;
    } catch (err) {
      if (t >= 20) throw err;
      await sleep(500);
    }
  }
  // Mid-way through formal-notice: SIGKILL, nothing flushed on purpose.
  await sleep(Math.max(0, dueAt + 9_000 - Date.now()));
  const kill = { stopMs: await stopServer('SIGKILL'), downMs: 1_500, startMs: 0 };
  await sleep(kill.downMs);
  kill.startMs = await startServer();
  trace('SIGKILL restart in', kill.startMs);

  // An activity that finished while the server was down may have lost its completion
  // (the worker's report gave up): Temporal retries it when its startToCloseTimeout (2 min)
  // expires. CI stands in for that timeout (fails attempts STARTED for > 5 s, by id, as
  // kill-worker.test.ts does); FAULT_REAL_TIMEOUTS=1 (chaos) waits for the real one.
  let lostCompletions = 0;
  let open = await waitAllClosed(client, ids, REAL_TIMEOUTS ? 400_000 : 15_000);
  for (let round = 0; !REAL_TIMEOUTS && open.length && round < 3; round++) {
    for (const workflowId of open) {
      const d = await client.workflow.getHandle(workflowId).describe();
      for (const a of d.raw.pendingActivities ?? []) {
        const startedAt = Number(a.lastStartedTime?.seconds ?? 0) * 1000;
        if (Number(a.state) !== 2 /* STARTED */ || !a.activityId || Date.now() - startedAt < 5_000) continue;
        await client.activity
          .fail({ workflowId, activityId: a.activityId }, new Error('completion lost in the server restart (test stand-in for startToCloseTimeout)'))
          .then(() => lostCompletions++)
          .catch(() => {});
      }
    }
    open = await waitAllClosed(client, open, 15_000);
  }
  trace('closed; open', open.length);
  expect(open, 'workflows still running').toEqual([]);
  expect(worker.proc.exitCode, 'the worker process lived through both restarts').toBeNull();

  const outcomes: Record<string, number> = {};
  const messages = peers.sink.messages();
  let lost = 0;
  let duplicatesDelivered = 0;
  let skippedSettled = 0;
  for (const inv of invoices) {
    const st = await statusOf(client, inv.workflowId);
    outcomes[`${inv.group}:${st.outcome}`] = (outcomes[`${inv.group}:${st.outcome}`] ?? 0) + 1;
    const rows = await prisma.communication.findMany({ where: { invoiceNumber: inv.number } });
    for (const row of rows) {
      const delivered = messages.filter((m) => m.messageId === messageIdFor(row.idempotencyKey)).length;
      duplicatesDelivered += Math.max(0, delivered - 1);
      if (row.status === 'SENT' && delivered === 0) lost++;
    }
    const steps = rows.filter((r) => STEPS.includes(r.stepId));
    if (inv.group === 'C') {
      expect(st.outcome, inv.number).toBe('agency-closed');
      expect(st.completedSteps, inv.number).toEqual(STEPS);
      expect(steps.map((r) => `${r.stepId}:${r.status}`).sort(), inv.number).toEqual(STEPS.map((id) => `${id}:SENT`).sort());
    } else {
      expect(st.outcome, inv.number).toBe('paid');
      expect(st.payments, inv.number).toHaveLength(1);
      const paidAt = (await prisma.payment.findUniqueOrThrow({ where: { source_externalId: { source: 'bank', externalId: `pay-${inv.number}` } } })).createdAt.getTime();
      // No reminder started after the payment was journaled and signalled got out
      // (a send the workflow had decided before it may start, and is skipped as settled).
      const late = steps.filter((r) => r.createdAt.getTime() > paidAt);
      skippedSettled += late.filter((r) => r.status !== 'SENT').length;
      expect(late.filter((r) => r.status === 'SENT').map((r) => r.idempotencyKey), inv.number).toEqual([]);
      expect(rows.filter((r) => r.stepId === 'receipt' && r.status === 'SENT'), inv.number).toHaveLength(1);
    }
  }
  expect(lost).toBe(0);
  expect(duplicatesDelivered).toBe(0);
  figure('temporal-restart', {
    invoices: INVOICES,
    outcomes,
    sigterm: term,
    sigkill: kill,
    workerReconnectedItself: true,
    lostCompletions: REAL_TIMEOUTS ? 'waited for Temporal' : lostCompletions,
    emails: messages.length,
    resendsDroppedBySink: peers.sink.duplicates,
    duplicatesDelivered,
    lostSends: lost,
    startedAfterPaymentSkippedSettled: skippedSettled,
    seconds: Math.round((Date.now() - started) / 1000),
  });
}, TEST_TIMEOUT_MS);
