// Shared by the fault tests: the real peers (SMTP sink, Twilio fake, outbox directory),
// one configuration for the API and the real channel activities, the app over HTTP,
// signed webhook deliveries, second-scale policies, direct issuing with a custom policy,
// a child worker process that can be SIGKILLed, and a seeded random source.
//
// Scale: every test reads FAULT_SCALE ('ci' by default, 'chaos' from `npm run chaos*`),
// so the same code runs small in CI and large in the chaos commands.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { createApiKey } from '../../api/auth';
import { createApp } from '../../api/app';
import { normaliseIssueRequest, startInvoiceWorkflow, writeInvoiceRow } from '../../api/invoice-service';
import type { Config } from '../../config/index';
import { parsePolicy } from '../../domain/policy';
import type { DunningPolicy } from '../../domain/types';
import type { PrismaClient } from '../../prisma/client';
import { startMailSink, type MailSink, type MailSinkOptions } from '../../tools/peers/mail-sink';
import { startTwilioFake, type TwilioFake } from '../../tools/peers/sms-fake';
import { statusQuery, type DunningStatus } from '../../contracts/messages';
import { invoiceRequest, readTestResponse, testConfig, type TestResponse } from '../api/harness';

export const SCALE = process.env.FAULT_SCALE === 'chaos' ? 'chaos' : 'ci';
/** A number for CI, another for the chaos runs; an env variable overrides both. */
export function scaled(name: string, ci: number, chaos: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : SCALE === 'chaos' ? chaos : ci;
}

/** Per-test timeout: under the 90 s a CI file may take; long in the chaos runs. */
export const TEST_TIMEOUT_MS = scaled('FAULT_TIMEOUT_MS', 88_000, 1_800_000);

export const TWILIO_SID = 'AC0123456789abcdef0123456789abcdef';

export interface Peers {
  sink: MailSink;
  twilio: TwilioFake;
  dataDir: string;
  /** Environment of the activities: point them at these peers. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** `sink`: options of the SMTP sink (a server that keeps repeats, or answers its 250 late). */
export async function startPeers(opts: { sink?: Partial<MailSinkOptions> } = {}): Promise<Peers> {
  const [sink, twilio, dataDir] = await Promise.all([
    startMailSink({ smtpPort: 0, webPort: 0, ...opts.sink }),
    startTwilioFake({ port: 0 }),
    mkdtemp(path.join(tmpdir(), 'relance-faults-')),
  ]);
  return {
    sink,
    twilio,
    dataDir,
    env: {
      DATA_DIR: dataDir,
      SMTP_PORT: String(sink.smtpPort),
      TWILIO_API_BASE: twilio.url,
      TWILIO_ACCOUNT_SID: TWILIO_SID,
      PROVIDER_TIMEOUT_MS: '5000',
      CREDITOR_NAME: 'Atelier Durand SAS',
      CREDITOR_LEGAL_ID: 'SIRET 123 456 789 00012',
    },
    async stop() {
      await Promise.all([sink.stop(), twilio.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The API's and the activities' configuration (the API harness's plus the peers). */
export function faultConfig(databaseUrl: string, peers?: Peers, overrides: Record<string, string> = {}): Config {
  return testConfig({ DATABASE_URL: databaseUrl, ...(peers?.env ?? {}), ...overrides });
}

export interface RunningApp {
  baseUrl: string;
  apiKey: string;
  request(method: string, path: string, opts?: { body?: unknown; headers?: Record<string, string>; raw?: string | Buffer; auth?: boolean }): Promise<TestResponse>;
  close(): Promise<void>;
}

/** The real express app on a loopback port, with its own API key. */
export async function startApp(opts: { prisma: PrismaClient; client: Client; config: Config; taskQueue: string; keyPrisma?: PrismaClient }): Promise<RunningApp> {
  const app = createApp({
    prisma: opts.prisma,
    temporal: opts.client,
    config: opts.config,
    log: pino({ level: process.env.API_TEST_LOG ?? 'silent' }),
    workflowTaskQueue: opts.taskQueue,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { key } = await createApiKey(opts.keyPrisma ?? opts.prisma, 'fault-tests');
  const request: RunningApp['request'] = async (method, p, o = {}) => {
    const headers: Record<string, string> = { ...(o.auth === false ? {} : { authorization: `Bearer ${key}` }), ...o.headers };
    let body: string | Buffer | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    return readTestResponse(await fetch(baseUrl + p, { method, headers, body, signal: AbortSignal.timeout(30_000) }));
  };
  return {
    baseUrl,
    apiKey: key,
    request,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export { signedDelivery, type GenericPayment } from '../api/harness';

/**
 * A second-scale policy: steps `[id, seconds after the due instant, channels]`, no send
 * window, a short agency listening period (so an unpaid invoice closes as agency-closed).
 */
export function secondsPolicy(
  id: string,
  steps: Array<[string, number, Array<'email' | 'sms' | 'letter' | 'agency' | 'phone'>]>,
  agencyListenFor = 'PT2S',
): DunningPolicy {
  return parsePolicy({
    id,
    version: 1,
    name: `fault test ${id}`,
    audience: 'B2B',
    steps: steps.map(([sid, s, channels]) => ({ id: sid, offset: s < 0 ? `-PT${-s}S` : `PT${s}S`, channels, templateId: templateOf(sid), stage: sid })),
    sendWindow: { enabled: false, start: '09:00', end: '18:00', businessDaysOnly: false, skipPublicHolidays: false },
    penalties: { mode: 'none', spreadPoints: 0, fixedIndemnityMinor: 0 },
    instalmentGrace: 'PT5S',
    maxInstalments: 12,
    promiseGrace: 'PT3S',
    agencyListenFor,
  });
}

/** Templates exist for the shipped step ids; a test step "reminder-1b" renders as reminder-1. */
function templateOf(stepId: string): string {
  const known = ['courtesy', 'reminder-1', 'reminder-2', 'formal-notice', 'final-notice', 'agency-handover'];
  return known.find((k) => stepId.startsWith(k)) ?? 'reminder-1';
}

/**
 * Issues an invoice the way the API does (start-first, then the row), with a custom
 * policy snapshot (the API only takes shipped policy ids).
 */
export async function issueWithPolicy(
  deps: { client: Client; prisma: PrismaClient; config: Config; taskQueue: string },
  policy: DunningPolicy,
  overrides: Record<string, unknown> = {},
  customer: Record<string, unknown> = {},
): Promise<{ number: string; workflowId: string; balanceMinor: number }> {
  const req = invoiceRequest(overrides, customer);
  const memo = normaliseIssueRequest(req as never, deps.config);
  const withPolicy = { ...memo, policy, policyId: policy.id, policyVersion: policy.version };
  await startInvoiceWorkflow({ temporal: { client: deps.client, taskQueue: deps.taskQueue, timeoutMs: 10_000 }, config: deps.config }, withPolicy);
  await writeInvoiceRow(deps.prisma, withPolicy);
  return { number: req.number, workflowId: `invoice-${req.number}`, balanceMinor: memo.invoice.amountMinor - memo.invoice.depositMinor };
}

export async function statusOf(client: Client, workflowId: string): Promise<DunningStatus> {
  return client.workflow.getHandle(workflowId).query(statusQuery);
}

/** Waits (bounded) until every workflow is closed; returns the ones still open at the deadline. */
export async function waitAllClosed(client: Client, workflowIds: string[], timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let open = [...workflowIds];
  for (let round = 0; open.length && Date.now() < deadline && round < 10_000; round++) {
    const still: string[] = [];
    for (const id of open) {
      try {
        const d = await client.workflow.getHandle(id).describe();
        if (d.status.name === 'RUNNING') still.push(id);
      } catch {
        still.push(id); // server restarting: ask again
      }
    }
    open = still;
    if (round % 10 === 0) trace('waitAllClosed: open', open.length);
    if (open.length) await sleep(500);
  }
  return open;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Deterministic PRNG (mulberry32): a failing run can be replayed with its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromEnv(): number {
  const s = Number(process.env.FAULT_SEED);
  return Number.isFinite(s) && s > 0 ? s : Date.now() % 1_000_000;
}

const T0 = Date.now();
/** Progress lines with FAULT_DEBUG=1. */
export function trace(...args: unknown[]): void {
  if (process.env.FAULT_DEBUG === '1') console.log(`[faults +${((Date.now() - T0) / 1000).toFixed(1)}s]`, ...args);
}

/** Prints a figure line that the report and docs/guarantees.md quote. */
export function figure(test: string, values: Record<string, unknown>): void {
  console.log(`[faults] ${test}: ${JSON.stringify(values)}`);
}

// ---- the child worker process ------------------------------------------------------

export interface WorkerChild {
  proc: ChildProcess;
  /** Resolves with the first line starting with `prefix` (bounded by timeoutMs). */
  waitFor(prefix: string, timeoutMs: number): Promise<string>;
  lines: string[];
  /** Sends SIGKILL/SIGTERM, waits for the exit and for the last stdout lines. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** With FAULT_WAIT_GO=1: lets a warm child connect and poll. */
  go(options?: { stall?: boolean; skip?: string[] }): void;
}

/** Starts tests/faults/worker-child.ts: every task queue, real activities. */
export function spawnWorkerChild(env: Record<string, string>): WorkerChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.resolve('tests/faults/worker-child.ts')], {
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  proc.stdin!.on('error', () => {}); // a killed child's closed pipe
  const lines: string[] = [];
  const stdoutClosed = new Promise<void>((resolve) => proc.stdout!.once('close', () => resolve()));
  const waiters: Array<{ prefix: string; resolve: (l: string) => void }> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (line.startsWith(w.prefix)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    lines,
    waitFor(prefix, timeoutMs) {
      const seen = lines.find((l) => l.startsWith(prefix));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`worker child: no "${prefix}" line in ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        const w = {
          prefix,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(w);
        void exited.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(timer);
            reject(new Error(`worker child exited (${proc.exitCode ?? proc.signalCode}) before "${prefix}"; stderr: ${stderr}`));
          }
        });
      });
    },
    go(options = {}) {
      proc.stdin!.write(`GO ${JSON.stringify(options)}\n`);
    },
    async kill(signal) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      await Promise.race([stdoutClosed, sleep(2_000)]);
    },
  };
}
