// One reconciler for the deployment: two API processes (the real `api/server.ts`, each
// with its own timers, sharing only the database and the Temporal server) tick every 2 s;
// each interval is run by exactly one of them, the other skips, and an invoice whose row
// is missing behind its running workflow is recreated once. The visibility query asks the
// server for this deployment's running invoices started in the window only.
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { normaliseIssueRequest, reconcileInvoices, startInvoiceWorkflow } from '../../api/invoice-service';
import { RECONCILE_MARGIN_MS } from '../../api/reconciler';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { PROJECT_ROOT } from '../../tools/temporal-bin';
import { eventually, invoiceRequest, startTestDatabase, testConfig, type TestDatabase } from '../api/harness';
import { collectLines, freePort } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/temporal';
import { dataConverterFromEnv } from '../../codec/index';

const INTERVAL_SECONDS = 2;

interface Proc {
  port: number;
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

let db: TestDatabase;
let env: TestWorkflowEnvironment;
let prisma: PrismaClient;
let client: Client;
const apis: Proc[] = [];

async function startApiProcess(): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      API_PORT: String(port),
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: env.address,
      API_RECONCILE_INTERVAL_SECONDS: String(INTERVAL_SECONDS),
    },
  });
  const lines = collectLines(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { port, child, lines, exited };
}

/** relance_reconciler_* of one process, from its /metrics. */
async function reconcilerMetrics(p: Proc): Promise<{ ran: number; skipped: number; failed: number; repaired: number }> {
  const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  const value = (re: RegExp) => Number(text.match(re)?.[1] ?? 0);
  return {
    ran: value(/^relance_reconciler_runs_total\{outcome="ran"\} (\d+)/m),
    skipped: value(/^relance_reconciler_runs_total\{outcome="skipped"\} (\d+)/m),
    failed: value(/^relance_reconciler_runs_total\{outcome="failed"\} (\d+)/m),
    repaired: value(/^relance_reconciler_repaired_total (\d+)/m),
  };
}

beforeAll(async () => {
  [db, env] = await Promise.all([startTestDatabase(), createDevServerEnv()]);
  prisma = createPrisma(db.url, { max: 2 });
  client = new Client({ connection: env.connection, dataConverter: dataConverterFromEnv() });
  apis.push(await startApiProcess(), await startApiProcess());
  for (const p of apis) {
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${p.port}/healthz`).catch(() => undefined))?.ok,
      60_000,
      `API on ${p.port} (${p.lines.slice(-3).join(' | ')})`,
    );
  }
}, 120_000);

afterAll(async () => {
  for (const p of apis) p.child.kill('SIGTERM');
  await Promise.all(apis.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))])));
  for (const p of apis) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await prisma?.$disconnect();
  await env?.teardown();
  await db?.stop();
});

describe('the reconciler across two API processes', () => {
  test('runs once per interval and repairs a missing row once', async () => {
    const config = testConfig();
    const gateway = { client, taskQueue: 'dunning', timeoutMs: 5_000 };
    // A workflow whose row write never happened (a crash between the two).
    const body = invoiceRequest({}, { externalId: 'CUST-RECONCILE', name: 'Orphelin SARL' });
    const memo = normaliseIssueRequest(body as never, config);
    await startInvoiceWorkflow({ temporal: gateway, config }, memo);

    await eventually(async () => (await prisma.invoice.count({ where: { number: body.number } })) === 1, 30_000, 'the row recreated');
    // Let a few more intervals go by, so both processes contend several times.
    const firstRepair = await prisma.reconcileRun.findFirstOrThrow({ where: { recreated: { has: body.number } } });
    await eventually(
      async () => (await prisma.reconcileRun.count({ where: { slot: { gt: firstRepair.slot }, finishedAt: { not: null } } })) >= 3,
      30_000,
      'three more runs',
    );

    const runs = await prisma.reconcileRun.findMany({ where: { finishedAt: { not: null } }, orderBy: { slot: 'asc' } });
    const metrics = await Promise.all(apis.map(reconcilerMetrics));
    const sum = (k: keyof (typeof metrics)[number]) => metrics.reduce((n, m) => n + m[k], 0);

    // One run per interval: distinct slots, each a whole interval apart, none errored.
    const slots = runs.map((r) => r.slot.getTime());
    expect(new Set(slots).size).toBe(slots.length);
    for (const s of slots) expect(s % (INTERVAL_SECONDS * 1000)).toBe(0);
    expect(runs.filter((r) => r.error !== null)).toEqual([]);
    // Both processes ticked; every tick either ran its interval or found it taken.
    expect(sum('failed')).toBe(0);
    expect(sum('ran')).toBeGreaterThanOrEqual(runs.length - 1); // the newest row may be a tick not yet counted
    expect(sum('ran')).toBeLessThanOrEqual(runs.length + 2);
    expect(sum('skipped')).toBeGreaterThanOrEqual(2);
    expect(metrics.every((m) => m.ran + m.skipped > 0)).toBe(true);
    // Repaired once, in one run, and counted once.
    expect(runs.filter((r) => r.recreated.includes(body.number))).toHaveLength(1);
    expect(sum('repaired')).toBe(1);
    // The first run scanned everything; a run that found an earlier success finished scans
    // only since that one started, less the margin.
    expect(runs[0].windowStart).toBeNull();
    for (const r of runs) {
      const before = runs.filter((o) => o.finishedAt! < r.startedAt).at(-1);
      if (before === undefined) expect(r.windowStart).toBeNull();
      else expect(r.windowStart!.getTime()).toBeLessThanOrEqual(before.startedAt.getTime() - RECONCILE_MARGIN_MS);
    }
    expect(runs.at(-1)!.windowStart).not.toBeNull();

    const row = await prisma.invoice.findUniqueOrThrow({ where: { number: body.number }, include: { customer: true } });
    expect(row.customer.externalId).toBe('CUST-RECONCILE');
  }, 90_000);

  test('the visibility query is the deployment’s queue and the time window, filtered by the server', async () => {
    const config = testConfig();
    const elsewhere = { client, taskQueue: 'another-deployment-dunning', timeoutMs: 5_000 };
    const body = invoiceRequest();
    await startInvoiceWorkflow({ temporal: elsewhere, config }, normaliseIssueRequest(body as never, config));
    const mine = { client, taskQueue: 'dunning', timeoutMs: 5_000 };

    // Visibility is eventually consistent: wait until the other queue's workflow is listed.
    await eventually(
      async () => (await client.workflow.count(`TaskQueue = '${elsewhere.taskQueue}'`)).count === 1,
      20_000,
      'visibility',
    );
    const all = await reconcileInvoices({ prisma, temporal: mine });
    expect(all.scanned).toBeGreaterThanOrEqual(1);
    expect(all.recreated).toEqual([]); // the other deployment's invoice is none of ours
    expect(await prisma.invoice.count({ where: { number: body.number } })).toBe(0);
    const future = await reconcileInvoices({ prisma, temporal: elsewhere }, { startedAfter: new Date(Date.now() + 60_000) });
    expect(future).toEqual({ scanned: 0, recreated: [] });
    const theirs = await reconcileInvoices({ prisma, temporal: elsewhere }, { startedAfter: new Date(Date.now() - 60_000) });
    expect(theirs).toEqual({ scanned: 1, recreated: [body.number] });
  }, 60_000);
});
