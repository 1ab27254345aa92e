// The real API over HTTP against a real database (a throwaway database on DATABASE_URL's
// server in CI, the embedded PGlite otherwise) and a real Temporal dev server running the
// invoiceDunning workflow, with the journal activities and recording channel doubles.
import { signGeneric } from '../../api/webhooks';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { createCalendarActivities } from '../../activities/calendar';
import { createJournalActivities } from '../../activities/journal';
import type { ChannelActivities, SendInput } from '../../activities/types';
import { TaskQueues } from '../../contracts/task-queues';
import { createApiKey } from '../../api/auth';
import { createApp } from '../../api/app';
import type { ImportJobProcessor } from '../../api/import-jobs';
import { loadConfig, type Config } from '../../config/index';
import { startEmbeddedPostgres } from '../../tools/db/embedded';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { applyMigrations } from '../../tools/db/migrate';
import { createDunningWorkers } from '../../worker/create-worker';
import { createThrowawayDatabase } from '../db/support';
import { createDevServerEnv } from '../helpers/temporal';
import { dataConverterFromEnv } from '../../codec/index';

export const WEBHOOK_SECRET = 'bank-webhook-secret-for-tests';
export const STRIPE_SECRET = 'whsec_test_relance_api_secret';

export interface SendCall {
  at: number;
  stepId: string;
  channel: string;
  invoiceNumber: string;
}

export interface TestDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  let db: TestDatabase;
  if (process.env.DATABASE_URL) {
    const t = await createThrowawayDatabase(process.env.DATABASE_URL);
    db = { url: t.url, stop: t.drop };
  } else {
    const e = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
    db = { url: e.url, stop: e.stop };
  }
  await applyMigrations({ databaseUrl: db.url });
  return db;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WEBHOOK_SECRETS: JSON.stringify({ bank: WEBHOOK_SECRET }),
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    API_TEMPORAL_TIMEOUT_MS: '2500',
    API_BODY_LIMIT: '64kb',
    API_IMPORT_LIMIT: '1mb',
    ...overrides,
  });
}

/** Channel activities that record the call and journal a SENT communication. */
export function recordingChannels(prisma: PrismaClient, calls: SendCall[]): ChannelActivities {
  const send = (channel: string) => async (input: SendInput) => {
    calls.push({ at: Date.now(), stepId: input.stepId, channel, invoiceNumber: input.invoice.number });
    const invoice = await prisma.invoice.findUnique({ where: { number: input.invoice.number }, select: { id: true } });
    const now = new Date();
    await prisma.communication.upsert({
      where: { idempotencyKey: input.idempotencyKey },
      create: {
        idempotencyKey: input.idempotencyKey,
        invoiceId: invoice?.id ?? null,
        invoiceNumber: input.invoice.number,
        workflowId: input.workflowId,
        stepId: input.stepId,
        channel,
        templateId: input.templateId,
        status: 'SENT',
        provider: 'test-double',
        sentAt: now,
      },
      update: {},
    });
    return { status: 'SENT' as const, provider: 'test-double' };
  };
  return {
    sendEmail: send('email'),
    sendSms: send('sms'),
    sendLetter: send('letter'),
    handoverToAgency: async (input) => {
      calls.push({ at: Date.now(), stepId: 'agency-handover', channel: 'agency', invoiceNumber: input.invoice.number });
      return { status: 'SENT' as const };
    },
  };
}

/** A TCP relay in front of the Temporal server, to "stop" and "restart" Temporal for the API only. */
export class TcpRelay {
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface ApiHarness {
  baseUrl: string;
  apiKey: string;
  prisma: PrismaClient;
  env: TestWorkflowEnvironment;
  /** Client straight to the dev server (the app's may go through the relay). */
  client: Client;
  config: Config;
  calls: SendCall[];
  relay?: TcpRelay;
  taskQueuePrefix: string;
  importJobs: ImportJobProcessor;
  /** With the harness's key, or `key` (another role's). */
  request(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string>; raw?: string | Buffer; auth?: boolean; key?: string }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** Status, headers, the body as text and, when it is JSON, parsed. */
export async function readTestResponse(res: Response): Promise<TestResponse> {
  // ignoreBOM: keep a byte-order mark in the text, the tracking sheet's is asserted.
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(await res.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

let runtimeInstalled = false;
/** Worker logs at WARN: the INFO state changes of five workers per file drown the test output. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already installed in this process (another helper did): keep it.
  }
}

export interface ApiHarnessOptions {
  relay?: boolean;
  config?: Record<string, string>;
  workers?: boolean;
  temporalDbFile?: string;
  importJobs?: boolean;
  /** Real channel activities in place of the recording doubles (they are not recorded in `calls`). */
  channels?: (prisma: PrismaClient, config: Config) => Partial<ChannelActivities>;
}

export async function startApiHarness(opts: ApiHarnessOptions = {}): Promise<ApiHarness> {
  quietRuntime();
  const [db, env] = await Promise.all([startTestDatabase(), createDevServerEnv({ dbFilename: opts.temporalDbFile })]);
  // PGlite is one Postgres session: concurrent pooled connections interleave their
  // extended-protocol messages ("bind message supplies 4 parameters..."), so the embedded
  // database gets a pool of one; a real server (DATABASE_URL, CI) gets a real pool.
  const prisma = createPrisma(db.url, { max: process.env.DATABASE_URL ? 8 : 1 });
  const config = testConfig({ DATABASE_URL: db.url, ...opts.config });
  const calls: SendCall[] = [];
  const taskQueuePrefix = `api-${randomBytes(3).toString('hex')}-`;

  let workers: Worker[] = [];
  let running: Promise<unknown> | undefined;
  if (opts.workers ?? true) {
    workers = await createDunningWorkers({
      connection: env.nativeConnection,
      namespace: 'default',
      activities: {
        ...createJournalActivities(prisma),
        ...createCalendarActivities(),
        ...recordingChannels(prisma, calls),
        ...opts.channels?.(prisma, config),
      },
      rates: { email: 100, sms: 100, letter: 100, agency: 100 },
      taskQueuePrefix,
    });
    running = Promise.all(workers.map((w) => w.run()));
  }

  let relay: TcpRelay | undefined;
  let appClient = env.client;
  let appConnection: Connection | undefined;
  if (opts.relay) {
    const [host, port] = env.address.split(':');
    relay = new TcpRelay({ host, port: Number(port) });
    await relay.start();
    appConnection = await Connection.connect({
      address: `127.0.0.1:${relay.port}`,
      // Reconnect quickly once the relay is back (gRPC's default backoff grows to minutes).
      channelArgs: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1_000 },
    });
    appClient = new Client({ connection: appConnection, namespace: 'default', dataConverter: dataConverterFromEnv() });
  }

  const app = createApp({
    prisma,
    temporal: appClient,
    config,
    log: pino({ level: process.env.API_TEST_LOG ?? 'silent' }),
    workflowTaskQueue: `${taskQueuePrefix}${TaskQueues.workflow}`,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const importJobs = app.locals.importJobs as ImportJobProcessor;
  if (opts.importJobs) importJobs.start();
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { key } = await createApiKey(prisma, 'api-tests');

  const request: ApiHarness['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.auth === false ? {} : { authorization: `Bearer ${o.key ?? key}` }), ...o.headers };
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    return readTestResponse(await fetch(baseUrl + path, { method, headers, body }));
  };

  return {
    baseUrl,
    apiKey: key,
    prisma,
    env,
    client: env.client,
    config,
    calls,
    relay,
    taskQueuePrefix,
    request,
    importJobs,
    async close() {
      await importJobs.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      for (const w of workers) w.shutdown();
      await running?.catch(() => {});
      await relay?.stop();
      await appConnection?.close().catch(() => {});
      await env.teardown();
      await prisma.$disconnect();
      await db.stop();
    },
  };
}

/**
 * The test file's harness: started before its tests (a `beforeAll` the file registers
 * after this call runs once it is up) and closed after them. `set` hands it to the file.
 */
export function useApiHarness(set: (h: ApiHarness) => void, opts: ApiHarnessOptions = {}): void {
  let h: ApiHarness | undefined;
  beforeAll(async () => {
    h = await startApiHarness(opts);
    set(h);
  });
  afterAll(async () => {
    await h?.close();
  });
}

/** The fields a refusal (problem+json `errors`) names, sorted. */
export const problemFields = (r: { json: { errors?: Array<{ field: string }> } }): string[] => (r.json.errors ?? []).map((e) => e.field).sort();

let customers = 0;
/** A customer external id of its own, so that tests sharing a database do not see each other's invoices. */
export const uniqueCustomerId = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${++customers}`;

export const daysFromToday = (n: number): string => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

let seq = 0;
/** A valid issue request; override what the test is about. */
export function invoiceRequest(overrides: Record<string, unknown> = {}, customer: Record<string, unknown> = {}) {
  seq++;
  return {
    number: `T-${Date.now().toString(36)}-${seq}`,
    issueDate: daysFromToday(0),
    dueDate: daysFromToday(30),
    amount: '1200.00',
    deposit: '200.00',
    currency: 'EUR',
    paymentLink: 'https://pay.example.test/i/1',
    customer: {
      externalId: 'CUST-1',
      name: 'Dupont SARL',
      kind: 'B2B',
      email: 'compta@dupont.example',
      phone: '+33612345678',
      address: { lines: ['3 rue des Lilas'], postalCode: '69001', city: 'Lyon', country: 'FR' },
      country: 'FR',
      language: 'fr',
      timeZone: 'Europe/Paris',
      ...customer,
    },
    ...overrides,
  };
}

export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

export interface GenericPayment {
  eventId: string;
  invoiceNumber?: string;
  paymentId: string;
  amountMinor: number;
  currency: string;
  receivedAt: string;
}

/** A signed delivery of the generic payment webhook, as a provider sends it. */
export function signedDelivery(
  payload: GenericPayment | Record<string, unknown>,
  opts: { secret?: string; timestamp?: number; source?: string; raw?: string } = {},
): { raw: string; headers: Record<string, string> } {
  const raw = opts.raw ?? JSON.stringify(payload);
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    raw,
    headers: {
      'content-type': 'application/json',
      'x-relance-source': opts.source ?? 'bank',
      'x-relance-timestamp': String(ts),
      'x-relance-signature': `v1=${signGeneric(opts.secret ?? WEBHOOK_SECRET, ts, raw)}`,
    },
  };
}
