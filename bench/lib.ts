// Shared pieces of the benchmarks (bench/*.ts): a throwaway stack on free loopback
// ports in a temp directory (Temporal dev server, database, API on port 0, in-process
// workers), bounded concurrency, percentiles and a table printer.
//
// Every benchmark is bounded in count (size flags) and in time (--max-seconds), talks to
// 127.0.0.1 only, and stops every child it started (also on Ctrl-C).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, readdirSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { pino } from 'pino';
import { createCalendarActivities } from '../activities/calendar';
import type { CalendarActivities, ChannelActivities, JournalActivities } from '../activities/types';
import { createApiKey } from '../api/auth';
import { startApi } from '../api/server';
import { loadConfig, type Config } from '../config/index';
import { createPrisma, type PrismaClient } from '../prisma/client';
import { startEmbeddedPostgres } from '../tools/db/embedded';
import { applyMigrations } from '../tools/db/migrate';
import { locateTemporalBinary } from '../tools/temporal-bin';
import { createDunningWorkers, type RateLimits } from '../worker/create-worker';
import { freePort } from '../tests/helpers/processes';
import { daysFromToday, invoiceRequest as validInvoiceRequest } from '../tests/api/harness';
import { SEARCH_ATTRIBUTE_CLI_ARGS } from '../contracts/search-attributes';

export const WEBHOOK_SECRET = 'bench-webhook-secret';

// ---------------------------------------------------------------------------------------
// flags

export function flags<T extends Record<string, { default: number | string | boolean }>>(
  spec: T,
): { [K in keyof T]: T[K]['default'] } {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const [k, v] of Object.entries(spec)) options[k] = { type: typeof v.default === 'boolean' ? 'boolean' : 'string' };
  const { values } = parseArgs({ options, allowPositionals: false, strict: true });
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    const raw = (values as Record<string, unknown>)[k];
    if (raw === undefined) out[k] = v.default;
    else if (typeof v.default === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`--${k} must be a number, got ${String(raw)}`);
      out[k] = n;
    } else out[k] = raw;
  }
  return out as { [K in keyof T]: T[K]['default'] };
}

// ---------------------------------------------------------------------------------------
// cleanup: everything started registers its stopper; stopAll runs them in reverse order

const stoppers: Array<{ name: string; stop: () => Promise<unknown> }> = [];
const children = new Set<ChildProcess>();
export function onStop(name: string, stop: () => Promise<unknown>): void {
  stoppers.push({ name, stop });
}
let stopping: Promise<void> | undefined;
export function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const s of stoppers.splice(0).reverse()) {
      try {
        await withTimeout(s.stop(), 20_000, `stopping ${s.name}`);
      } catch (err) {
        console.error(`[bench] stopping ${s.name}: ${(err as Error).message}`);
      }
    }
  })();
  return stopping;
}
process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Runs a benchmark's main, always stopping the stack; a hard deadline kills everything. */
export function runBench(name: string, maxSeconds: number, main: () => Promise<void>): void {
  const hard = setTimeout(() => {
    console.error(`[${name}] hard deadline of ${maxSeconds}s reached: stopping`);
    void stopAll().then(() => process.exit(3));
  }, maxSeconds * 1000);
  hard.unref();
  main()
    .then(
      () => 0,
      (err: unknown) => {
        console.error(`[${name}] failed:`, err);
        return 1;
      },
    )
    .then(async (code) => {
      await stopAll();
      clearTimeout(hard);
      process.exit(code);
    });
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function log(...args: unknown[]): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...args);
}

// ---------------------------------------------------------------------------------------
// ports, temp dirs

export { freePort };

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `relance-bench-${prefix}-`));
  onStop(`temp dir ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function dirSize(p: string): number {
  let total = 0;
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  for (const e of readdirSync(p)) total += dirSize(path.join(p, e));
  return total;
}

// ---------------------------------------------------------------------------------------
// Temporal dev server

export interface TemporalServer {
  address: string;
  child: ChildProcess;
  dbFile?: string;
  stop(): Promise<void>;
}

/** `temporal server start-dev` on free ports, headless; in memory unless dbFile is given. */
export async function startTemporal(opts: { dbFile?: string; logFile?: string; dynamicConfig?: string[] } = {}): Promise<TemporalServer> {
  const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const bin = locateTemporalBinary('cli');
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--headless',
    '--namespace',
    'default',
    '--log-level',
    'error',
    ...(opts.dbFile ? ['--db-filename', opts.dbFile] : []),
    ...(opts.dynamicConfig ?? []).flatMap((d) => ['--dynamic-config-value', d]),
    ...SEARCH_ATTRIBUTE_CLI_ARGS.flatMap((sa) => ['--search-attribute', sa]),
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
    if (opts.logFile) writeFileSync(opts.logFile, b, { flag: 'a' });
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
    children.delete(child);
  };
  onStop('Temporal dev server', stop);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited (${child.exitCode}): ${output}`);
    try {
      const c = await Connection.connect({ address, connectTimeout: 1_000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`temporal dev server not answering: ${(err as Error).message}; ${output}`);
      await sleep(250);
    }
  }
  return { address, child, dbFile: opts.dbFile, stop };
}

// ---------------------------------------------------------------------------------------
// database

export interface BenchDatabase {
  url: string;
  kind: 'postgres' | 'pglite';
  /** Size of the data: pg_database_size for PostgreSQL and PGlite alike. */
  size(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * BENCH_POSTGRES=1: a private PostgreSQL cluster (Debian's binaries, initdb in a temp dir,
 * run as the postgres user when we are root) on a free loopback port, default settings.
 * Returns its admin URL; stopped and removed with the stack.
 */
export async function startPrivatePostgres(): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  const { existsSync, readdirSync: ls, chownSync, mkdirSync } = await import('node:fs');
  const base = '/usr/lib/postgresql';
  const version = existsSync(base) ? ls(base).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!version) throw new Error('BENCH_POSTGRES=1 needs PostgreSQL server binaries under /usr/lib/postgresql');
  const bin = path.join(base, version, 'bin');
  const dir = tempDir('pg');
  const data = path.join(dir, 'data');
  const sock = path.join(dir, 'sock');
  mkdirSync(sock);
  const root = process.getuid?.() === 0;
  const asPg = (cmd: string, args: string[]) => (root ? ['su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map((a) => `'${a}'`).join(' ')]] : [cmd, args]) as [string, string[]];
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
    chownSync(sock, uid, gid);
  }
  execFileSync(...asPg(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']), { stdio: 'ignore' });
  const port = await freePort();
  const child = spawn(...asPg(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', sock, '-c', 'max_connections=200']), { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  onStop('private PostgreSQL', async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    execFileSync(...asPg(path.join(bin, 'pg_ctl'), ['-D', data, 'stop', '-m', 'fast']), { stdio: 'ignore' });
    await withTimeout(exited, 15_000, 'PostgreSQL stop').catch(() => child.kill('SIGKILL'));
  });
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.end();
      return url;
    } catch (e) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`PostgreSQL did not start: ${(e as Error).message} ${err}`);
      await sleep(200);
    }
  }
}

/** A throwaway database on DATABASE_URL's server (or a private cluster, BENCH_POSTGRES=1), or an embedded PGlite (in memory). */
export async function startDatabase(): Promise<BenchDatabase> {
  if (!process.env.DATABASE_URL && process.env.BENCH_POSTGRES === '1') process.env.DATABASE_URL = await startPrivatePostgres();
  let db: BenchDatabase;
  const size = (url: string) => async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const r = await c.query('SELECT pg_database_size(current_database())::bigint AS s');
      return Number(r.rows[0].s);
    } finally {
      await c.end();
    }
  };
  if (process.env.DATABASE_URL) {
    const admin = process.env.DATABASE_URL;
    const name = `relance_bench_${randomBytes(5).toString('hex')}`;
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    await c.query(`CREATE DATABASE "${name}"`);
    await c.end();
    const u = new URL(admin);
    u.pathname = `/${name}`;
    const url = u.toString();
    db = {
      url,
      kind: 'postgres',
      size: size(url),
      async stop() {
        const d = new pg.Client({ connectionString: admin });
        await d.connect();
        await d.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await d.end();
      },
    };
  } else {
    const e = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
    db = { url: e.url, kind: 'pglite', size: size(e.url), stop: e.stop };
  }
  onStop('database', () => db.stop());
  await applyMigrations({ databaseUrl: db.url });
  return db;
}

// ---------------------------------------------------------------------------------------
// the stack

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // Core's own log lines (task timeouts, retries) at ERROR unless BENCH_LOG=WARN: the
    // figures are what counts, and the benchmarks detect failures themselves.
    const level = (process.env.BENCH_LOG ?? 'ERROR') as 'ERROR' | 'WARN';
    Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: { core: level, other: level }, forward: {} } } });
  } catch {
    /* already installed */
  }
}

export interface Stack {
  temporal: TemporalServer;
  db: BenchDatabase;
  prisma: PrismaClient;
  client: Client;
  config: Config;
  taskQueuePrefix: string;
  workflowTaskQueue: string;
  api?: { url: string; key: string };
  workers: Worker[];
  /** POST/GET with the API key. */
  request(method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; text: string }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface StackOptions {
  api?: boolean;
  /** In-process workers with these activities (none if omitted). */
  activities?: ChannelActivities & JournalActivities & CalendarActivities;
  rates?: RateLimits;
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  temporalDbFile?: string;
  env?: Record<string, string>;
  /** Database pool size; default 1 for PGlite (one backend), 8 for PostgreSQL. */
  poolMax?: number;
}

export function benchConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    WEBHOOK_SECRETS: JSON.stringify({ bank: WEBHOOK_SECRET }),
    API_RECONCILE_INTERVAL_SECONDS: '0',
    API_IMPORT_LIMIT: '64mb',
    API_TEMPORAL_TIMEOUT_MS: '30000',
    ...env,
  });
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  quietRuntime();
  const [temporal, db] = await Promise.all([startTemporal({ dbFile: opts.temporalDbFile }), startDatabase()]);
  const poolMax = opts.poolMax ?? (db.kind === 'pglite' ? 1 : 8);
  const prisma = createPrisma(db.url, { max: poolMax });
  onStop('prisma', () => prisma.$disconnect());
  const config = benchConfig({ DATABASE_URL: db.url, TEMPORAL_ADDRESS: temporal.address, ...opts.env });
  const connection = await Connection.connect({ address: temporal.address });
  onStop('client connection', () => connection.close());
  const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFromEnv() });
  const taskQueuePrefix = `bench-${randomBytes(3).toString('hex')}-`;
  const workflowTaskQueue = `${taskQueuePrefix}dunning`;

  let workers: Worker[] = [];
  if (opts.activities) {
    const nc = await NativeConnection.connect({ address: temporal.address });
    onStop('worker connection', () => nc.close());
    workers = await createDunningWorkers({
      connection: nc,
      namespace: 'default',
      activities: opts.activities,
      rates: opts.rates ?? { email: 1000, sms: 1000, letter: 1000, agency: 1000 },
      taskQueuePrefix,
      maxCachedWorkflows: opts.maxCachedWorkflows,
      maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions,
    });
    const running = Promise.all(workers.map((w) => w.run()));
    onStop('workers', async () => {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await running.catch(() => {});
    });
  }

  let api: Stack['api'];
  if (opts.api) {
    const running = await startApi({ config, prisma, temporal: client, log: pino({ level: 'silent' }), port: 0, host: '127.0.0.1', workflowTaskQueue });
    onStop('API', async () => {
      running.server.closeAllConnections();
      await running.close();
    });
    const { key } = await createApiKey(prisma, 'bench');
    api = { url: running.url, key };
  }

  const request: Stack['request'] = async (method, p, body, headers = {}) => {
    if (!api) throw new Error('no API in this stack');
    const h: Record<string, string> = { authorization: `Bearer ${api.key}`, ...headers };
    let payload: string | undefined;
    if (typeof body === 'string') payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    return httpRequest(api.url + p, method, h, payload);
  };

  return { temporal, db, prisma, client, config, taskQueuePrefix, workflowTaskQueue, api, workers, request };
}

// The load generator's HTTP client: node:http over a keep-alive agent (sockets ≥ any
// concurrency used here). It was the global fetch (undici), whose streams, body clones and
// header objects cost ~0.7 ms of CPU per request in this process, charged to the API path
// of bench:ingest although the load generator is not the system under test.
const benchAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256, scheduling: 'lifo' });
onStop('bench HTTP agent', async () => benchAgent.destroy());

/** One request: status, the body as text (a byte-order mark kept) and, when it is JSON, parsed. */
export function httpRequest(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; json: any; text: string }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = http.request(url, { method, headers: h, agent: benchAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------
// workloads

/** Runs fn over 0..count-1 with `concurrency` in flight; stops starting new ones after deadlineMs. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>, deadlineMs = Infinity): Promise<{ done: number; errors: number; firstError?: unknown }> {
  let next = 0;
  let done = 0;
  let errors = 0;
  let firstError: unknown;
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= count || Date.now() > deadlineMs) return;
      try {
        await fn(i);
        done++;
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { done, errors, firstError };
}

// ---------------------------------------------------------------------------------------
// statistics and output

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function summary(values: number[]): { n: number; p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

export const fmt = (n: number, digits = 1): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(n);
export const mb = (bytes: number): string => `${fmt(bytes / 1024 / 1024, 1)} MB`;
export const kb = (bytes: number): string => `${fmt(bytes / 1024, 1)} KB`;

export function table(title: string, rows: Array<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? fmt(v, Number.isInteger(v) ? 0 : 2) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  const line = (vals: string[]) => '| ' + vals.map((v, i) => v.padEnd(widths[i])).join(' | ') + ' |';
  console.log(`\n### ${title}\n`);
  console.log(line(cols));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c] ?? ''))));
}

export function verdict(name: string, ok: boolean, detail: string): { target: string; result: string; detail: string } {
  return { target: name, result: ok ? 'MET' : 'MISSED', detail };
}

export function machineNote(): string {
  return `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GB, node ${process.version}, load avg ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
}

// ---------------------------------------------------------------------------------------
// fixtures

export interface InvoiceRequestOptions {
  number: string;
  dueDate: string;
  dueAt?: string;
  policyId?: string;
  customerId?: string;
}

export const dayPlus = daysFromToday;

/** A POST /v1/invoices body: the tests' valid request with this benchmark's number, dates, policy and customer. */
export function invoiceRequest(o: InvoiceRequestOptions) {
  return validInvoiceRequest(
    {
      number: o.number,
      dueDate: o.dueDate,
      ...(o.dueAt ? { dueAt: o.dueAt } : {}),
      paymentLink: 'https://pay.example.test/i/' + o.number,
      ...(o.policyId ? { policyId: o.policyId } : {}),
    },
    { externalId: o.customerId ?? 'CUST-1' },
  );
}

/** Activities that do nothing (no I/O): for measuring Temporal and the workflow alone. */
export function nullActivities(onSend?: (channel: string, input: { workflowId: string; stepId: string }) => void): ChannelActivities & JournalActivities & CalendarActivities {
  const send = (channel: string) => async (input: { workflowId: string; stepId: string }) => {
    onSend?.(channel, input);
    return { status: 'SENT' as const, provider: 'bench-double' };
  };
  return {
    sendEmail: send('email'),
    sendSms: send('sms'),
    sendLetter: send('letter'),
    handoverToAgency: async (input) => {
      onSend?.('agency', { workflowId: input.workflowId, stepId: 'agency-handover' });
      return { status: 'SENT' as const };
    },
    async journal() {},
    async createPhoneTask() {
      return { taskId: 'bench' };
    },
    ...createCalendarActivities(),
  };
}

export type { Server };

// ---------------------------------------------------------------------------------------
// time skipping

/**
 * tests/helpers/temporal.ts createTimeSkippingEnv, without its import of
 * scripts/setup-search-attributes.ts: that file's named import from '@temporalio/proto'
 * (a CommonJS module) works under vitest but not under plain Node ESM/tsx.
 */
export async function createTimeSkippingEnv() {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const protoPkg = (await import('@temporalio/proto')).default;
  const T = protoPkg.temporal.api.enums.v1.IndexedValueType;
  const types: Record<string, number> = { Keyword: T.INDEXED_VALUE_TYPE_KEYWORD, Double: T.INDEXED_VALUE_TYPE_DOUBLE, Datetime: T.INDEXED_VALUE_TYPE_DATETIME };
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: locateTemporalBinary('test-server') } },
    client: { dataConverter: dataConverterFromEnv() },
  });
  const searchAttributes = Object.fromEntries(SEARCH_ATTRIBUTE_CLI_ARGS.map((p) => p.split('=')).map(([n, t]) => [n, types[t]]));
  await env.connection.operatorService.addSearchAttributes({ namespace: env.namespace ?? 'default', searchAttributes });
  return env;
}

// ---------------------------------------------------------------------------------------
// CPU accounting: CPU seconds used by this process, the Temporal server and PostgreSQL

import { readFileSync as readFileSyncForCpu } from 'node:fs';
import { dataConverterFromEnv } from '../codec/index';

function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSyncForCpu(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime are fields 14 and 15 (1-based) of the whole line: 12 and 13 after the comm.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSyncForCpu(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e), ...descendants(Number(e)));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds so far of: this process, the Temporal server, and PostgreSQL (when it is our child). */
export function cpuSnapshot(stack: { temporal: TemporalServer }): { self: number; temporal: number; postgres: number } {
  const self = process.cpuUsage();
  let postgres = 0;
  for (const c of children) {
    if (c.pid && c !== stack.temporal.child) for (const p of [c.pid, ...descendants(c.pid)]) postgres += procCpuSeconds(p);
  }
  return { self: (self.user + self.system) / 1e6, temporal: stack.temporal.child.pid ? procCpuSeconds(stack.temporal.child.pid) : 0, postgres };
}
