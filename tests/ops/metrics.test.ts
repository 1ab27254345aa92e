// Observability in the embedded topology (API and worker in one process, as `npm start` runs
// them): the real worker (worker/main.ts startWorkers, the real email activity through the
// communication log) sends a reminder to a real SMTP sink, and the API's /metrics then shows
// relance_reminders_sent_total with its channel and step labels; a refused recipient shows in
// relance_send_failures_total; open invoices per stage come from the database on scrape; a
// manual payment counts as matched in relance_payments_total.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TaskQueues } from '../../contracts/task-queues';
import { createApiKey } from '../../api/auth';
import { startApi, type RunningApi } from '../../api/server';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { startWorkers, type RunningWorkers } from '../../worker/main';
import { eventually, invoiceRequest, readTestResponse, startTestDatabase, testConfig, type TestDatabase, type TestResponse } from '../api/harness';
import { createDevServerEnv } from '../helpers/temporal';

let db: TestDatabase;
let env: TestWorkflowEnvironment;
let sink: MailSink;
let prisma: PrismaClient;
let workers: RunningWorkers;
let api: RunningApi;
let key: string;
let dataDir: string;

beforeAll(async () => {
  [db, env, sink, dataDir] = await Promise.all([
    startTestDatabase(),
    createDevServerEnv(),
    startMailSink({ smtpPort: 0, webPort: 0 }),
    mkdtemp(path.join(tmpdir(), 'relance-ops-metrics-')),
  ]);
  prisma = createPrisma(db.url, { max: process.env.DATABASE_URL ? 4 : 1 });
  const config = testConfig({
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: env.address,
    SMTP_PORT: String(sink.smtpPort),
    DATA_DIR: dataDir,
    PROVIDER_TIMEOUT_MS: '5000',
    API_RECONCILE_INTERVAL_SECONDS: '0',
    WORKER_SHUTDOWN_GRACE_MS: '2000',
  });
  const taskQueuePrefix = 'ops-metrics-';
  workers = await startWorkers({ config, prisma, taskQueuePrefix });
  api = await startApi({
    config,
    prisma,
    temporal: env.client,
    log: pino({ level: 'silent' }),
    port: 0,
    host: '127.0.0.1',
    workflowTaskQueue: taskQueuePrefix + TaskQueues.workflow,
  });
  key = (await createApiKey(prisma, 'ops-metrics')).key;
});

afterAll(async () => {
  await api?.close();
  await workers?.shutdown();
  await prisma?.$disconnect();
  await Promise.all([env?.teardown(), sink?.stop(), db?.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function call(method: string, p: string, body?: unknown): Promise<TestResponse> {
  const res = await fetch(api.url + p, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return readTestResponse(res);
}

async function metrics(): Promise<string> {
  const res = await fetch(`${api.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one sample, by metric name and exact label set, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(labels).every((k) => got[k] === labels[k])) return Number(m[3]);
  }
  return undefined;
}

/** An invoice on the second-scale policy whose courtesy reminder (due − 5 s) goes out about a second after issue. */
function soonDue(email: string) {
  return invoiceRequest(
    { policyId: 'demo-seconds', dueAt: new Date(Date.now() + 6_000).toISOString(), issueDate: new Date().toISOString().slice(0, 10), dueDate: new Date().toISOString().slice(0, 10) },
    { email, phone: undefined },
  );
}

describe('/metrics after real sends', () => {
  test('a reminder sent shows per channel and step; a refused one per channel and type', async () => {
    const before = await metrics();
    expect(before).toContain('# TYPE relance_reminders_sent_total counter');
    expect(before).toContain('# TYPE relance_send_failures_total counter');
    expect(before).toContain('# TYPE relance_invoices_by_stage gauge');
    expect(sample(before, 'relance_reminders_sent_total', { channel: 'email', step: 'courtesy' })).toBeUndefined();

    const a = soonDue('compta@metrics-a.example');
    const issued = await call('POST', '/v1/invoices', a);
    expect(issued.status, issued.text).toBe(201);
    await eventually(async () => sink.messages().some((m) => m.to.includes('compta@metrics-a.example')), 20_000, 'the courtesy email in the sink');

    const afterSend = await eventually(async () => {
      const t = await metrics();
      return sample(t, 'relance_reminders_sent_total', { channel: 'email', step: 'courtesy' }) === 1 && t;
    }, 10_000, 'relance_reminders_sent_total{channel="email",step="courtesy"} 1');
    // Open invoices per stage, read from the Invoice table on scrape.
    const open = [...afterSend.matchAll(/^relance_invoices_by_stage\{stage="[^"]+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    expect(open).toBeGreaterThanOrEqual(1);

    // A manual payment of the whole balance: matched, and the invoice leaves the open stages.
    const paid = await call('POST', `/v1/invoices/${a.number}/payments`, { amount: '1000.00', reference: 'ops-metrics-a' });
    expect(paid.status, paid.text).toBe(201);
    expect(sample(await metrics(), 'relance_payments_total', { result: 'matched', source: 'manual' })).toBe(1);

    await eventually(async () => (await call('GET', `/v1/invoices/${a.number}`)).json?.stage === 'paid', 15_000, 'invoice A paid');
    // Invoice A is closed: the next message is B's, and the SMTP server refuses its recipient
    // (550 at RCPT): a permanent InvalidRecipient failure.
    sink.replyWith(550, { phase: 'rcpt', message: 'No such mailbox' });
    const b = soonDue('nobody@metrics-b.example');
    expect((await call('POST', '/v1/invoices', b)).status).toBe(201);
    await eventually(async () => {
      const t = await metrics();
      return (sample(t, 'relance_send_failures_total', { channel: 'email', type: 'InvalidRecipient' }) ?? 0) >= 1 && t;
    }, 20_000, 'relance_send_failures_total{channel="email",type="InvalidRecipient"}');
  }, 55_000);
});
