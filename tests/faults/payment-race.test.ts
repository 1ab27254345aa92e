// The promise users care most about: no reminder is STARTED after the payment that
// settles the invoice was accepted (the webhook answered 2xx).
//
// N invoices on the shipped second-scale policy (demo-seconds: a step every 5 s) through
// the real API, the real workflow on a real dev server, the real channel activities (SMTP
// sink, Twilio fake, letter/agency outbox); each invoice is paid in full through the real
// signed webhook at a random moment around one of its step instants (seeded: FAULT_SEED).
//
// Counted per invoice, from the database and the sinks:
//   violation       a reminder Communication row CREATED after the 2xx and then SENT, or a
//                   phone task created after the 2xx (the promise broken);
//   skippedSettled  a row (or phone task) the activity's payment-table check stopped;
//   inFlight        a reminder whose row was created before the 2xx and that was delivered
//                   after the payment request left the provider (the window that remains);
//   receipt         exactly one thank-you email, delivered after every reminder, saying
//                   to disregard a reminder that crossed the payment.
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { CommunicationReasons } from '../../activities/communication-log';
import { getBuiltinPolicy } from '../../domain/policy';
import { CommunicationStatus, createPrisma, type PrismaClient } from '../../prisma/client';
import { createDunningWorkers } from '../../worker/create-worker';
import { invoiceRequest, startTestDatabase, type TestDatabase } from '../api/harness';
import { createDevServerEnv } from '../helpers/temporal';
import {
  faultConfig,
  figure,
  rng,
  scaled,
  SCALE,
  seedFromEnv,
  signedDelivery,
  sleep,
  startApp,
  startPeers,
  TEST_TIMEOUT_MS,
  statusOf,
  trace,
  waitAllClosed,
  type Peers,
  type RunningApp,
} from './support';

const INVOICES = scaled('FAULT_RACE_INVOICES', 40, 300);
const SEED = seedFromEnv();

let db: TestDatabase;
let env: TestWorkflowEnvironment;
let peers: Peers;
let prisma: PrismaClient;
let app: RunningApp;
let workers: Worker[] = [];
let running: Promise<unknown> | undefined;
const prefix = `race-${randomBytes(3).toString('hex')}-`;

beforeAll(async () => {
  [db, env, peers] = await Promise.all([startTestDatabase(), createDevServerEnv(), startPeers()]);
  prisma = createPrisma(db.url, { max: 6 });
  const config = faultConfig(db.url, peers);
  workers = await createDunningWorkers({
    connection: env.nativeConnection,
    namespace: 'default',
    activities: createActivities({ prisma, config, log: { info: () => {}, warn: () => {} } }),
    rates: { email: 500, sms: 500, letter: 500, agency: 500 },
    taskQueuePrefix: prefix,
  });
  running = Promise.all(workers.map((w) => w.run()));
  app = await startApp({ prisma, client: env.client, config, taskQueue: `${prefix}dunning` });
});
afterAll(async () => {
  await app?.close();
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running?.catch(() => {});
  await prisma?.$disconnect();
  await env?.teardown();
  await db?.stop();
  await peers?.stop();
});

interface Planned {
  number: string;
  dueAt: number;
  stepId: string;
  offsetMs: number;
  payAt: number;
  tReq?: number;
  t2xx?: number;
  status?: number;
  body: unknown;
}

it(`payments at random moments around step instants (${INVOICES} invoices): no reminder started after the 2xx`, async () => {
  const started = Date.now();
  const policy = getBuiltinPolicy('demo-seconds');
  const stepOffsetMs: Record<string, number> = { 'reminder-1': 5_000, 'reminder-2': 10_000, 'formal-notice': 15_000 };
  const targets = Object.keys(stepOffsetMs);
  const random = rng(SEED);

  // Issue every invoice through the API, due a few seconds from now, spread over a few seconds.
  const spread = Math.max(4_000, INVOICES * 40);
  const base = Date.now() + 6_000 + INVOICES * 80;
  const plan: Planned[] = [];
  for (let i = 0; i < INVOICES; i++) {
    const dueAt = base + Math.floor(random() * spread);
    const stepId = targets[Math.floor(random() * targets.length)]!;
    // Half anywhere within ±1 s of the step, half in the activity-start window (−150..+350 ms).
    const offsetMs = random() < 0.5 ? Math.round(-1_000 + random() * 2_000) : Math.round(-150 + random() * 500);
    const body = invoiceRequest({ policyId: 'demo-seconds', dueAt: new Date(dueAt).toISOString() }, { externalId: `RACE-${i % 7}` });
    plan.push({ number: body.number, dueAt, stepId, offsetMs, payAt: dueAt + stepOffsetMs[stepId]! + offsetMs, body });
  }
  for (let i = 0; i < plan.length; i += 5) {
    await Promise.all(
      plan.slice(i, i + 5).map(async (p) => {
        const r = await app.request('POST', '/v1/invoices', { body: p.body });
        expect(r.status, r.text).toBe(201);
      }),
    );
  }
  trace('issued', INVOICES, 'in', Date.now() - started, 'ms');
  expect(Math.min(...plan.map((p) => p.dueAt)), 'issuing took longer than planned (overloaded machine)').toBeGreaterThan(Date.now());

  // Fire each payment at its moment through the signed webhook.
  await Promise.all(
    plan.map(async (p) => {
      await sleep(Math.max(0, p.payAt - Date.now()));
      const delivery = signedDelivery({
        eventId: `evt-${p.number}`,
        invoiceNumber: p.number,
        paymentId: `pay-${p.number}`,
        amountMinor: 100_000,
        currency: 'EUR',
        receivedAt: new Date().toISOString(),
      });
      p.tReq = Date.now();
      const r = await app.request('POST', '/v1/webhooks/payments', { raw: delivery.raw, headers: delivery.headers, auth: false });
      p.t2xx = Date.now();
      p.status = r.status;
    }),
  );
  trace('payments fired');
  expect(plan.filter((p) => p.status !== 200)).toEqual([]);

  const ids = plan.map((p) => `invoice-${p.number}`);
  const open = await waitAllClosed(env.client, ids, SCALE === 'chaos' ? 600_000 : 45_000);
  expect(open, 'workflows still running').toEqual([]);

  const stepIds = new Set(policy.steps.map((s) => s.id));
  const messages = peers.sink.messages();
  const violations: unknown[] = [];
  const inFlight: Array<{ number: string; key: string; startedBefore2xxMs: number; deliveredAfterReqMs: number }> = [];
  let skippedSettled = 0;
  let startedBetweenReqAnd2xx = 0;
  let receiptsLast = 0;
  let remindersSent = 0;
  for (const p of plan) {
    const st = await statusOf(env.client, `invoice-${p.number}`);
    expect(st.outcome, p.number).toBe('paid');
    expect(st.payments.map((x) => x.paymentId)).toEqual([`bank:pay-${p.number}`]);

    const rows = await prisma.communication.findMany({ where: { invoiceNumber: p.number } });
    for (const row of rows) {
      if (!stepIds.has(row.stepId)) continue;
      const created = row.createdAt.getTime();
      if (row.reason === CommunicationReasons.SkippedSettled) {
        skippedSettled++;
        continue;
      }
      if (row.status === CommunicationStatus.SENT) remindersSent++;
      if (created > p.t2xx! && row.status !== CommunicationStatus.FAILED_PERMANENT) {
        violations.push({ number: p.number, key: row.idempotencyKey, status: row.status, createdAfter2xxMs: created - p.t2xx!, plan: p });
      } else if (created > p.tReq! && created <= p.t2xx!) {
        startedBetweenReqAnd2xx++;
      }
      if (row.status === CommunicationStatus.SENT && created <= p.t2xx! && row.sentAt!.getTime() > p.tReq!) {
        inFlight.push({ number: p.number, key: row.idempotencyKey, startedBefore2xxMs: p.t2xx! - created, deliveredAfterReqMs: row.sentAt!.getTime() - p.tReq! });
      }
    }
    // A phone task is a reminder too (ops are told to call): same rule, same guard.
    skippedSettled += await prisma.dunningEvent.count({ where: { invoiceNumber: p.number, type: 'phone-task-skipped' } });
    const phoneTasks = await prisma.dunningEvent.findMany({ where: { invoiceNumber: p.number, type: 'phone-task' } });
    for (const t of phoneTasks) {
      if (t.createdAt.getTime() > p.t2xx!) violations.push({ number: p.number, phoneTask: t.eventKey, createdAfter2xxMs: t.createdAt.getTime() - p.t2xx!, plan: p });
    }

    // The thank-you: exactly one, and the last message the customer gets by email.
    const mine = messages.filter((m) => m.headers.get('x-relance-invoice') === p.number);
    const receipts = mine.filter((m) => String(m.headers.get('x-relance-idempotency-key')).endsWith('/receipt/email'));
    expect(receipts, p.number).toHaveLength(1);
    // …and it tells the customer to disregard a reminder that crossed the payment.
    expect(receipts[0]!.text, p.number).toContain('merci de ne pas en tenir compte');
    const reminders = mine.filter((m) => m !== receipts[0]);
    if (reminders.every((m) => m.receivedAt.getTime() <= receipts[0]!.receivedAt.getTime())) receiptsLast++;
  }

  const windows = inFlight.map((f) => f.startedBefore2xxMs).sort((a, b) => a - b);
  figure('payment-race', {
    seed: SEED,
    invoices: INVOICES,
    violations: violations.length,
    skippedSettled,
    remindersSent,
    startedBetweenRequestAnd2xx: startedBetweenReqAnd2xx,
    inFlightWhenPaymentLanded: inFlight.length,
    inFlightStartedBefore2xxMs: windows.length ? { min: windows[0], max: windows[windows.length - 1] } : null,
    receiptsAfterEveryReminder: `${receiptsLast}/${INVOICES}`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  if (inFlight.length) trace('in flight', inFlight);
  expect(violations).toEqual([]);
  expect(receiptsLast).toBe(INVOICES);
}, TEST_TIMEOUT_MS);
