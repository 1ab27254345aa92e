// The database goes away during POST /v1/invoices and during a payment webhook. The
// app reaches the database through a TCP relay the test cuts: before the request, and
// in the middle of it (right after the workflow start, after the delivery is stored,
// after the payment is journaled and signalled). Every cut request is answered 503 with
// Retry-After, never half-done in a way a retry cannot finish; the client/provider
// retries after the restore and exactly one invoice (row + workflow) / one payment exists,
// and the workflow counted the payment once.
//
// The worker keeps its own database connection (not through the relay): what is tested
// is the API's answer and the retry, not the worker's journal retries.
import { randomBytes } from 'node:crypto';
import { Client, WorkflowNotFoundError, type WorkflowClientInterceptor } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCalendarActivities } from '../../activities/calendar';
import { createJournalActivities } from '../../activities/journal';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { statusQuery } from '../../contracts/messages';
import { createDunningWorkers } from '../../worker/create-worker';
import { invoiceRequest, recordingChannels, startTestDatabase, TcpRelay, type SendCall, type TestDatabase, type TestResponse } from '../api/harness';
import { createDevServerEnv } from '../helpers/temporal';
import { faultConfig, figure, signedDelivery, sleep, startApp, type RunningApp } from './support';
import { dataConverterFromEnv } from '../../codec/index';

let db: TestDatabase;
let env: TestWorkflowEnvironment;
let direct: PrismaClient;
let viaRelay: PrismaClient;
let relay: TcpRelay;
let app: RunningApp;
let workers: Worker[] = [];
let running: Promise<unknown> | undefined;
const prefix = `dbdown-${randomBytes(3).toString('hex')}-`;
const calls: SendCall[] = [];
const figures: Record<string, unknown> = {};

/** One-shot hooks: run once right after the next workflow start / signal / delivery insert. */
const hooks: { afterStart?: () => Promise<void>; afterSignal?: () => Promise<void>; afterDeliveryStored?: () => Promise<void> } = {};
const once = async (name: keyof typeof hooks) => {
  const fn = hooks[name];
  hooks[name] = undefined;
  await fn?.();
};
const interceptor: WorkflowClientInterceptor = {
  async start(input, next) {
    const r = await next(input);
    await once('afterStart');
    return r;
  },
  async startWithDetails(input, next) {
    const r = await next(input);
    await once('afterStart');
    return r;
  },
  async signal(input, next) {
    await next(input);
    await once('afterSignal');
  },
};

beforeAll(async () => {
  [db, env] = await Promise.all([startTestDatabase(), createDevServerEnv()]);
  const url = new URL(db.url);
  relay = new TcpRelay({ host: url.hostname, port: Number(url.port || 5432) });
  await relay.start();
  const relayed = new URL(db.url);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(relay.port);
  direct = createPrisma(db.url, { max: 3 });
  const base = createPrisma(relayed.toString(), { max: 3 });
  // The app's client, with a hook right after the webhook delivery row is written.
  viaRelay = base.$extends({
    query: {
      webhookDelivery: {
        async create({ args, query }) {
          const r = await query(args);
          await once('afterDeliveryStored');
          return r;
        },
      },
    },
  }) as unknown as PrismaClient;

  workers = await createDunningWorkers({
    connection: env.nativeConnection,
    namespace: 'default',
    activities: { ...createJournalActivities(direct), ...createCalendarActivities(), ...recordingChannels(direct, calls) },
    rates: { email: 100, sms: 100, letter: 100, agency: 100 },
    taskQueuePrefix: prefix,
  });
  running = Promise.all(workers.map((w) => w.run()));
  const client = new Client({ connection: env.connection, namespace: 'default', interceptors: { workflow: [interceptor] }, dataConverter: dataConverterFromEnv() });
  app = await startApp({ prisma: viaRelay, client, config: faultConfig(db.url), taskQueue: `${prefix}dunning`, keyPrisma: direct });
});
// A failed assertion must not leave the database cut for the next test.
afterEach(async () => {
  hooks.afterStart = hooks.afterSignal = hooks.afterDeliveryStored = undefined;
  await restore().catch(() => {});
});
afterAll(async () => {
  figure('db-down', figures);
  await app?.close();
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running?.catch(() => {});
  await relay?.stop();
  await viaRelay?.$disconnect().catch(() => {});
  await direct?.$disconnect();
  await env?.teardown();
  await db?.stop();
});

const cut = () => relay.stop();
const restore = async () => {
  if (relay['server']) return; // still up
  await relay.start();
};

function expect503(r: TestResponse, what: string) {
  expect(r.status, `${what}: ${r.text}`).toBe(503);
  expect(r.headers.get('retry-after'), what).toMatch(/^\d+$/);
  expect(r.json, what).toMatchObject({ status: 503, detail: expect.stringMatching(/database/i) });
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

/** A well-behaved client: retries on 503 (bounded: 20 tries, Retry-After capped at 0.5 s for the test). */
async function withRetries(send: () => Promise<TestResponse>): Promise<{ res: TestResponse; tries: number }> {
  for (let tries = 1; ; tries++) {
    const res = await send();
    if (res.status !== 503 || tries >= 20) return { res, tries };
    await sleep(Math.min(Number(res.headers.get('retry-after') ?? 1) * 1000, 500));
  }
}

const live = (number: string) => env.client.workflow.getHandle(`invoice-${number}`).query(statusQuery);

describe('POST /v1/invoices', () => {
  it('database down before the request: 503, no workflow; the retry after the restore issues exactly once', async () => {
    const body = invoiceRequest();
    await cut();
    const down = await app.request('POST', '/v1/invoices', { body, headers: { 'idempotency-key': `k-${body.number}` } });
    expect503(down, 'issue while down');
    await expect(env.client.workflow.getHandle(`invoice-${body.number}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    await restore();
    const { res, tries } = await withRetries(() => app.request('POST', '/v1/invoices', { body, headers: { 'idempotency-key': `k-${body.number}` } }));
    expect(res.status).toBe(201);
    expect(await direct.invoice.count({ where: { number: body.number } })).toBe(1);
    expect((await env.client.workflow.getHandle(`invoice-${body.number}`).describe()).status.name).toBe('RUNNING');
    figures.issueDownBefore = { tries };
  });

  it('database gone between the workflow start and the row: 503; the retry joins the same run and writes the one row', async () => {
    const body = invoiceRequest();
    hooks.afterStart = cut;
    const down = await app.request('POST', '/v1/invoices', { body });
    expect503(down, 'issue cut after start');
    const first = await env.client.workflow.getHandle(`invoice-${body.number}`).describe();
    expect(first.status.name).toBe('RUNNING');
    expect(await direct.invoice.count({ where: { number: body.number } })).toBe(0);
    await restore();
    const { res, tries } = await withRetries(() => app.request('POST', '/v1/invoices', { body }));
    expect(res.status).toBe(201);
    const again = await app.request('POST', '/v1/invoices', { body });
    expect(again.status).toBe(200);
    expect(await direct.invoice.count({ where: { number: body.number } })).toBe(1);
    const after = await env.client.workflow.getHandle(`invoice-${body.number}`).describe();
    expect(after.runId).toBe(first.runId);
    const runs = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = 'invoice-${body.number}'` })) runs.push(wf.runId);
    expect(runs).toEqual([first.runId]);
    figures.issueCutAfterStart = { tries };
  });
});

describe('payment webhook', () => {
  async function issued(): Promise<string> {
    const body = invoiceRequest();
    expect((await app.request('POST', '/v1/invoices', { body })).status).toBe(201);
    return body.number;
  }
  const delivery = (number: string, tag: string) =>
    signedDelivery({ eventId: `evt-${tag}-${number}`, invoiceNumber: number, paymentId: `pay-${tag}-${number}`, amountMinor: 40_000, currency: 'EUR', receivedAt: new Date().toISOString() });
  const postHook = (d: ReturnType<typeof signedDelivery>) => app.request('POST', '/v1/webhooks/payments', { raw: d.raw, headers: d.headers, auth: false });

  async function assertOnePayment(number: string, tag: string) {
    expect(await direct.payment.count({ where: { invoice: { number } } })).toBe(1);
    expect(await direct.webhookDelivery.findMany({ where: { eventId: `evt-${tag}-${number}` }, select: { status: true } })).toEqual([{ status: 'processed' }]);
    for (let i = 0; i < 40 && (await live(number)).payments.length === 0; i++) await sleep(100);
    const st = await live(number);
    expect(st.payments.map((p) => p.paymentId)).toEqual([`bank:pay-${tag}-${number}`]);
    expect(st.balanceMinor).toBe(60_000);
  }

  it('database down before the delivery: 503, nothing stored; the provider retry records one payment', async () => {
    const number = await issued();
    const d = delivery(number, 'before');
    await cut();
    expect503(await postHook(d), 'webhook while down');
    await restore();
    expect(await direct.webhookDelivery.count({ where: { eventId: `evt-before-${number}` } })).toBe(0);
    const { res, tries } = await withRetries(() => postHook(d));
    expect(res.status).toBe(200);
    await assertOnePayment(number, 'before');
    figures.webhookDownBefore = { tries };
  });

  it('database gone right after the delivery is stored: 503; the retry resumes it: one payment', async () => {
    const number = await issued();
    const d = delivery(number, 'stored');
    hooks.afterDeliveryStored = cut;
    expect503(await postHook(d), 'webhook cut after the delivery row');
    await restore();
    expect(await direct.payment.count({ where: { invoice: { number } } })).toBe(0);
    expect(await direct.webhookDelivery.findMany({ where: { eventId: `evt-stored-${number}` }, select: { status: true } })).toEqual([{ status: 'received' }]);
    const { res, tries } = await withRetries(() => postHook(d));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ duplicate: true, status: 'processed', payment: { status: 'matched' } });
    await assertOnePayment(number, 'stored');
    figures.webhookCutAfterDelivery = { tries };
  });

  it('database gone after the payment is journaled and signalled: 503; the retry re-signals (idempotent): counted once', async () => {
    const number = await issued();
    const d = delivery(number, 'signalled');
    hooks.afterSignal = cut;
    expect503(await postHook(d), 'webhook cut after the signal');
    await restore();
    expect(await direct.payment.count({ where: { invoice: { number } } })).toBe(1);
    const { res, tries } = await withRetries(() => postHook(d));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ duplicate: true, status: 'processed', payment: { status: 'duplicate', signalled: true } });
    await assertOnePayment(number, 'signalled');
    figures.webhookCutAfterSignal = { tries };
  });
});
