// Benchmark 3, sleeping invoices.
// --count invoices issued on fr-b2b-default with a due date months ahead (the next step is
// far away): each is started exactly as the API does (startInvoiceWorkflow) and its row
// written (writeInvoiceRow), and runs its first task on ONE worker process (a child, so its
// RSS is its own) with the real journal and channel doubles (nothing is sent).
// Worker RSS: before, after N sleeping workflows, for several workflow cache sizes (a new
// worker per size; the sleeping workflows are brought into its cache by a status query
// each). Target with a bounded cache: < 300 MB.
// Size per invoice: the Temporal dev server's SQLite file (--db-filename) and the database
// (pg_database_size), growth divided by N.
//
// The worker runs as the image runs it: compiled (npm run build:dist: no tsx loader) with
// --max-semi-space-size=2 (--runtime tsx and --semi-space-mb 0 for the development form).
// --roles: the worker's WORKER_ROLES; default "workflows", the process type that holds the
// sleeping invoices (the channel workers are separate processes); "all" for one process
// with every task queue.
//
//   npm run bench:sleeping -- [--count 10000] [--caches 100,1000,all] [--concurrency 16] [--worker-heap-mb auto|0|256] [--roles workflows|all] [--runtime compiled|tsx] [--semi-space-mb 2]
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { normaliseIssueRequest, startInvoiceWorkflow, writeInvoiceRow } from '../api/invoice-service';
import type { IssueInvoiceRequest } from '../api/schemas';
import { buildDist } from '../scripts/build-dist';
import { workflowBundle } from '../worker/create-worker';
import { workerHeapMb } from '../worker/heap';
import { workflowIdFor } from '../contracts/ids';
import { statusQuery } from '../contracts/messages';
import { dayPlus, dirSize, flags, invoiceRequest, log, machineNote, mb, kb, onStop, pool, runBench, sleep, startStack, table, tempDir, verdict, type Stack } from './lib';

const opts = flags({
  count: { default: 2000 },
  caches: { default: '100,1000,all' },
  concurrency: { default: 16 },
  'max-seconds': { default: 1800 },
  /** --max-old-space-size of the worker: auto = as deploy/entrypoint.sh (worker/heap.ts, from the cache size); 0 = Node's default. */
  'worker-heap-mb': { default: 'auto' },
  roles: { default: 'workflows' },
  runtime: { default: 'compiled' },
  /** V8's --max-semi-space-size for the worker (as deploy/entrypoint.sh); 0: Node's default (16 MB). */
  'semi-space-mb': { default: 2 },
});
const RSS_TARGET = 300 * 1024 * 1024;
const here = path.dirname(fileURLToPath(import.meta.url));

interface ChildWorker {
  child: ChildProcess;
  rss(): Promise<{ rss: number; heap: number; journaled: number }>;
  stop(): Promise<void>;
}

/** The worker's --max-old-space-size for a cache size (0: none). */
function heapMb(cache: number): number {
  if (opts['worker-heap-mb'] === 'auto') return workerHeapMb(cache);
  const mb = Number(opts['worker-heap-mb']);
  if (!Number.isInteger(mb) || mb < 0) throw new Error(`--worker-heap-mb must be auto or a number of MB, got ${opts['worker-heap-mb']}`);
  return mb;
}

/** The worker child's entry: compiled like dist/worker.mjs (into .build/), or the TypeScript source through tsx. */
async function childEntry(): Promise<{ file: string; execArgv: string[] }> {
  if (opts.runtime === 'tsx') return { file: path.join(here, 'worker-child.ts'), execArgv: ['--import', 'tsx'] };
  if (opts.runtime !== 'compiled') throw new Error(`--runtime must be compiled or tsx, got ${opts.runtime}`);
  const [file] = await buildDist({ outdir: path.join(here, '..', '.build'), entries: { 'bench-worker-child': 'bench/worker-child.ts' } });
  return { file, execArgv: [] };
}

async function startChild(stack: Stack, cache: number, bundlePath: string, entry: { file: string; execArgv: string[] }): Promise<ChildWorker> {
  const v8Flags = [
    '--expose-gc',
    ...(heapMb(cache) ? [`--max-old-space-size=${heapMb(cache)}`] : []),
    ...(opts['semi-space-mb'] ? [`--max-semi-space-size=${opts['semi-space-mb']}`] : []),
  ];
  const child = fork(entry.file, [stack.temporal.address, stack.taskQueuePrefix, String(cache), stack.db.url, bundlePath, opts.roles === 'all' ? '' : opts.roles], {
    execArgv: [...entry.execArgv, ...v8Flags],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  onStop(`worker child (cache ${cache})`, async () => kill());
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`worker child exited (${code})`)));
  });
  return {
    child,
    rss: () =>
      new Promise((resolve) => {
        child.once('message', (m) => resolve(m as { rss: number; heap: number; journaled: number }));
        child.send('rss');
      }),
    async stop() {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.send('stop');
      const t = setTimeout(kill, 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

runBench('sleeping', opts['max-seconds'], async () => {
  console.log(`# Sleeping invoices (${new Date().toISOString()})\nmachine: ${machineNote()}`);
  const dir = tempDir('sleeping');
  const sqlite = path.join(dir, 'temporal.sqlite');
  const stack = await startStack({ temporalDbFile: sqlite });
  console.log(`database: ${stack.db.kind}; Temporal dev server with --db-filename ${sqlite}; worker roles: ${opts.roles}; worker runtime: ${opts.runtime}, semi-space ${opts['semi-space-mb'] || 'default'} MB; workflow bundle prebuilt, passed as a file; worker heap limit ${opts['worker-heap-mb'] === 'auto' ? '128 MB + 0.5 MB per cached workflow (as the image)' : opts['worker-heap-mb'] === '0' ? "Node's default" : `${opts['worker-heap-mb']} MB`}`);
  const gateway = { client: stack.client, taskQueue: stack.workflowTaskQueue, timeoutMs: stack.config.API_TEMPORAL_TIMEOUT_MS };
  const caches = opts.caches.split(',').map((c) => (c === 'all' ? opts.count + 100 : Number(c)));
  const run = Date.now().toString(36);
  // The workflow bundle is built here and handed to the worker as a file, as `npm run worker`
  // does (WORKFLOW_BUNDLE_PATH, or a child process that bundles): no webpack in the worker.
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await workflowBundle()).code);
  const entry = await childEntry();
  const sizeOfServer = () => dirSize(sqlite) + dirSize(`${sqlite}-wal`) + dirSize(`${sqlite}-shm`);

  // The first worker (largest cache) takes the starts: every workflow runs its first task there.
  const order = [...caches].sort((a, b) => b - a);
  const rows: Array<Record<string, string | number>> = [];
  const server0 = sizeOfServer();
  const db0 = await stack.db.size();
  let started = 0;
  for (const [idx, cache] of order.entries()) {
    const w = await startChild(stack, cache, bundlePath, entry);
    await sleep(2_000);
    const before = await w.rss();
    const t0 = Date.now();
    const deadline = t0 + (opts['max-seconds'] - 120) * 1000 * (idx === 0 ? 0.6 : 0.15);
    if (idx === 0) {
      log(`sleeping: issuing ${opts.count} invoices (worker cache ${cache})`);
      const r = await pool(
        opts.count,
        opts.concurrency,
        async (i) => {
          const req = invoiceRequest({ number: `SLP-${run}-${i}`, dueDate: dayPlus(120), customerId: `C-${i % 500}` }) as unknown as IssueInvoiceRequest;
          const memo = normaliseIssueRequest(req, stack.config);
          await startInvoiceWorkflow({ temporal: gateway, config: stack.config }, memo);
          await writeInvoiceRow(stack.prisma, memo);
          if ((i + 1) % 2000 === 0) log(`sleeping: ${i + 1} issued, worker journaled ${(await w.rss()).journaled}`);
        },
        deadline,
      );
      started = r.done;
      if (r.errors) console.log(`${r.errors} starts failed, first: ${String(r.firstError)}`);
      if (started < opts.count) console.log(`STOPPED at ${started} invoices: the time budget (--max-seconds) ran out`);
      // Wait until the worker has put every workflow to sleep (its first task journaled).
      for (;;) {
        const s = await w.rss();
        if (s.journaled >= started || Date.now() > deadline + 120_000) break;
        await sleep(1_000);
      }
    } else {
      log(`sleeping: worker cache ${cache}: bringing ${started} workflows through it (a status query each)`);
      await pool(
        started,
        opts.concurrency,
        async (i) => {
          await stack.client.workflow.getHandle(workflowIdFor(`SLP-${run}-${i}`)).query(statusQuery);
        },
        deadline,
      );
    }
    const seconds = (Date.now() - t0) / 1000;
    await sleep(2_000);
    const after = await w.rss();
    rows.push({
      'max cached workflows': cache > opts.count ? `${cache} (all)` : cache,
      workflows: started,
      'RSS before': mb(before.rss),
      'RSS after': mb(after.rss),
      'heap after': mb(after.heap),
      'per cached workflow': cache > 0 ? kb((after.rss - before.rss) / Math.min(cache, started)) : '-',
      phase: idx === 0 ? `issue + first task (${(started / seconds).toFixed(0)}/s)` : `query each (${(started / seconds).toFixed(0)}/s)`,
      _rss: after.rss,
    });
    await w.stop();
  }
  const serverBytes = sizeOfServer() - server0;
  const dbBytes = (await stack.db.size()) - db0;
  table(`Worker RSS with ${started} sleeping invoices (one worker process, roles ${opts.roles})`, rows.map(({ _rss, ...r }) => r));
  table('Size per sleeping invoice', [
    { store: 'Temporal dev server (SQLite file + WAL)', total: mb(serverBytes), 'per invoice': kb(serverBytes / started) },
    { store: `database (${stack.db.kind}, pg_database_size)`, total: mb(dbBytes), 'per invoice': kb(dbBytes / started) },
  ]);
  const bounded = rows.filter((r) => typeof r['max cached workflows'] === 'number' && (r['max cached workflows'] as number) <= 1000);
  table('Verdict', [
    ...bounded.map((r) =>
      verdict(`worker RSS < 300 MB with cache ${r['max cached workflows']}`, (r._rss as number) < RSS_TARGET, `${r['RSS after']} with ${started} sleeping invoices`),
    ),
  ]);
});
