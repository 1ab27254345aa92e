// The production form of the processes, as the image runs them (deploy/entrypoint.sh api |
// worker): the API and the worker compiled by `npm run build:dist` (no tsx), and the worker split in two
// processes by WORKER_ROLES as docker-compose.yml does: one for the workflows, one for the
// channels. An invoice issued through the compiled API is dunned by the workflows worker and
// its emails (the courtesy one, then reminder-2 with its PDF extract, pdfkit being loaded in
// the channel process only) arrive in a real SMTP sink; a manual payment ends it with the
// receipt. Each worker's /healthz lists only its own task queues; SIGTERM stops all three
// with exit code 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../api/auth';
import { DEFAULT_WORKFLOW_CACHE_SIZE } from '../../config/index';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { buildDist, DIST_DIR } from '../../scripts/build-dist';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { PROJECT_ROOT } from '../../tools/temporal-bin';
import { eventually, invoiceRequest, startTestDatabase, type TestDatabase } from '../api/harness';
import { workerHeapMb } from '../../worker/heap';
import { collectLines, freePort } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/temporal';

interface Proc {
  name: string;
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

/** `deploy/entrypoint.sh <role>`: the image's own command (it execs node, so signals reach it). */
function startProcess(name: string, role: 'api' | 'worker', env: Record<string, string>): Proc {
  const child = spawn('sh', ['deploy/entrypoint.sh', role], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines = collectLines(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, lines, exited };
}

let db: TestDatabase;
let env: TestWorkflowEnvironment;
let sink: MailSink;
let prisma: PrismaClient;
let dataDir: string;
let key: string;
const ports = { api: 0, workflows: 0, channels: 0 };
const procs: Proc[] = [];
const tail = () => procs.map((p) => `${p.name}: ${p.lines.slice(-3).join(' | ')}`).join('\n');

beforeAll(async () => {
  let files: string[];
  [db, env, sink, dataDir, ports.api, ports.workflows, ports.channels, files] = await Promise.all([
    startTestDatabase(),
    createDevServerEnv(),
    startMailSink({ smtpPort: 0, webPort: 0 }),
    mkdtemp(path.join(tmpdir(), 'relance-ops-dist-')),
    freePort(),
    freePort(),
    freePort(),
    buildDist(),
  ]);
  expect(files.map((f) => path.relative(DIST_DIR, f)).sort()).toEqual(['api.mjs', 'worker.mjs']);
  prisma = createPrisma(db.url, { max: 1 });
  key = (await createApiKey(prisma, 'ops-dist')).key;
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: env.address,
    SMTP_PORT: String(sink.smtpPort),
    DATA_DIR: dataDir,
    WORKER_METRICS_ADDRESS: 'off',
    WORKER_SHUTDOWN_GRACE_MS: '3000',
    API_RECONCILE_INTERVAL_SECONDS: '0',
  };
  // The workflows worker builds its bundle itself (no WORKFLOW_BUNDLE_PATH); its heap cap comes from its cache size.
  procs.push(
    startProcess('workflows worker', 'worker', { ...common, WORKER_ROLES: 'workflows', WORKFLOW_CACHE_SIZE: '100', WORKER_METRICS_PORT: String(ports.workflows) }),
    startProcess('channel worker', 'worker', { ...common, WORKER_ROLES: 'email,sms,letter,agency', WORKER_METRICS_PORT: String(ports.channels) }),
    startProcess('api', 'api', { ...common, API_PORT: String(ports.api) }),
  );
  for (const port of Object.values(ports)) {
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok, 60_000, `/healthz on ${port}\n${tail()}`);
  }
}, 90_000);

afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await prisma?.$disconnect();
  await Promise.all([env?.teardown(), sink?.stop(), db?.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const api = (method: string, p: string, body?: unknown) =>
  fetch(`http://127.0.0.1:${ports.api}${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });

describe('compiled processes, workers split by role', () => {
  test('each worker polls only the task queues of its roles', async () => {
    const workers = async (port: number) => ((await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { workers: string[] }).workers;
    expect(await workers(ports.workflows)).toEqual(['RUNNING']);
    expect(await workers(ports.channels)).toEqual(Array(4).fill('RUNNING'));
    const started = (name: string) =>
      procs.find((p) => p.name === name)!.lines.map((l) => JSON.parse(l) as { msg?: string; roles?: string[]; heapLimitMb?: number }).find((j) => j.msg === 'Relance worker running');
    expect(started('workflows worker')?.roles).toEqual(['workflows']);
    expect(started('channel worker')?.roles).toEqual(['email', 'sms', 'letter', 'agency']);
    // The entrypoint's heap cap (V8 adds its young generation to the old-space cap it was given).
    expect(started('workflows worker')?.heapLimitMb).toBeGreaterThanOrEqual(workerHeapMb(100));
    expect(started('workflows worker')?.heapLimitMb).toBeLessThan(workerHeapMb(100) + 32);
    expect(started('channel worker')?.heapLimitMb).toBeLessThan(workerHeapMb(DEFAULT_WORKFLOW_CACHE_SIZE) + 32);
  });

  test('an invoice issued through the compiled API is dunned across the two workers, then paid', async () => {
    const email = `compta+${Date.now().toString(36)}@dist.example`;
    const req = invoiceRequest({ policyId: 'demo-seconds', dueAt: new Date(Date.now() + 8_000).toISOString(), dueDate: new Date().toISOString().slice(0, 10) }, { email });
    const issued = await api('POST', '/v1/invoices', req);
    expect(issued.status, await issued.clone().text()).toBe(201);
    const to = () => sink.messages().filter((m) => m.to.includes(email));
    // Courtesy at due − 5 s, reminder-2 (with the invoice extract as a PDF) at due + 10 s.
    const withPdf = await eventually(async () => to().find((m) => m.attachments.some((a) => a.contentType === 'application/pdf')), 45_000, `reminder-2 with its PDF\n${tail()}`);
    expect(withPdf.attachments.find((a) => a.contentType === 'application/pdf')!.content.subarray(0, 5).toString()).toBe('%PDF-');
    expect(to().length).toBeGreaterThanOrEqual(3); // courtesy, reminder-1, reminder-2
    // Open invoices per stage are served by the workflows worker only (no double count across the split).
    const stageSamples = async (port: number) => [...(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).matchAll(/^relance_invoices_by_stage\{stage="[^"]+"\} (\d+)$/gm)].length;
    expect(await stageSamples(ports.workflows)).toBeGreaterThan(0);
    expect(await stageSamples(ports.channels)).toBe(0);

    const paid = await api('POST', `/v1/invoices/${req.number}/payments`, { amount: '1000.00', reference: 'DIST-1' });
    expect(paid.status).toBe(201);
    await eventually(async () => (await prisma.invoice.findUnique({ where: { number: req.number } }))?.outcome === 'paid', 20_000, `paid\n${tail()}`);
    // The timeline holds what both workers recorded: the journal's events and the sends.
    const timeline = (await (await api('GET', `/v1/invoices/${req.number}/timeline`)).json()) as { entries: Array<{ kind: string; type?: string }> };
    expect(timeline.entries.map((e) => e.kind)).toContain('communication');
    expect(timeline.entries.filter((e) => e.kind === 'event').map((e) => e.type)).toContain('issued');
  }, 70_000);

  test('SIGTERM: all three drain and exit 0', async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))])));
    expect(codes, tail()).toEqual([0, 0, 0]);
  }, 30_000);
});
