// Benchmark 5, lifecycle cost.
//  A. History events and payload bytes of the standard paths on a real dev server:
//     "paid early" (full payment before the first reminder) and "full escalation"
//     (no payment: courtesy → reminders → formal and final notices → agency handover →
//     the agency listening period ends). The policy is DEMO_SECONDS (the B2B calendar in
//     seconds; same steps and channels as fr-b2b-default), agency listening shortened.
//     Target: ≤ 150 events for the full escalation.
//  B. N full lifecycles (fr-b2b-default, 68 days of calendar + 180 days of agency
//     listening each) on the time-skipping test server with the workflow test doubles.
//     Target: 1,000 in < 60 s wall.
//
//   npm run bench:lifecycle -- [--count 1000] [--concurrency 100] [--path full|paid-early|mix] [--skip-dev] [--skip-timeskip] [--threads 1]
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { DEMO_SECONDS, FR_B2B_DEFAULT } from '../domain/policy';
import type { DunningPolicy } from '../domain/types';
import { workflowBundle } from '../worker/create-worker';
import { workflowIdFor } from '../contracts/ids';
import { paymentReceivedSignal } from '../contracts/messages';
import { dunningInput, invoiceFixture, makeDoubles, parisDatePlus, startTestWorker } from '../tests/workflow/harness';
import { historyCost, type HistoryCost } from './history';
import { createTimeSkippingEnv, flags, withTimeout, fmt, kb, log, machineNote, nullActivities, onStop, pool, quietRuntime, runBench, startStack, table, verdict } from './lib';

const opts = flags({
  count: { default: 1000 },
  concurrency: { default: 100 },
  path: { default: 'full' },
  'skip-dev': { default: false },
  'skip-timeskip': { default: false },
  'max-seconds': { default: 600 },
  'result-concurrency': { default: 1 },
  // Workflow threads of the worker (the SDK's default with a reusable V8 context is 1).
  threads: { default: 1 },
});

const EVENT_TARGET = 150;
const WALL_TARGET_S = 60;

const pay = (paymentId: string, amountMinor: number) => ({
  paymentId,
  amountMinor,
  currency: 'EUR',
  receivedAt: new Date().toISOString(),
  source: 'bench',
});

async function devServerPaths(): Promise<{ paidEarly: HistoryCost; full: HistoryCost; outcomes: string[] }> {
  const stack = await startStack({ activities: nullActivities() });
  const policy: DunningPolicy = { ...DEMO_SECONDS, agencyListenFor: 'PT5S' };
  const start = async (name: string, dueInMs: number) => {
    const invoice = invoiceFixture({ number: `LC-${name}-${randomBytes(3).toString('hex')}`, dueDate: new Date().toISOString().slice(0, 10), dueAt: new Date(Date.now() + dueInMs).toISOString() });
    return stack.client.workflow.start('invoiceDunning', {
      taskQueue: stack.workflowTaskQueue,
      workflowId: workflowIdFor(invoice.number),
      args: [dunningInput(invoice, policy)],
    });
  };
  // Paid early: due in 30 s (courtesy at 25 s), paid in full at once.
  const early = await start('early', 30_000);
  await early.signal(paymentReceivedSignal, pay('p-early', 100_000));
  // Full escalation: due in 6 s; the last step is at +25 s, then 5 s of agency listening.
  const full = await start('full', 6_000);
  log('lifecycle: waiting for the dev-server paths (~40 s)');
  const [r1, r2] = await Promise.all([early.result(), full.result()]);
  const cost = async (h: WorkflowHandle) => historyCost(await h.fetchHistory());
  return { paidEarly: await cost(early), full: await cost(full), outcomes: [r1.outcome, r2.outcome] };
}

async function timeSkipped(count: number, concurrency: number, path: string) {
  const env = await createTimeSkippingEnv();
  onStop('time-skipping env', () => env.teardown());
  await workflowBundle();
  const doubles = makeDoubles();
  const taskQueue = `lc-${randomBytes(3).toString('hex')}-dunning`;
  const worker = await startTestWorker(env, taskQueue, doubles.activities, { workflowThreadPoolSize: opts.threads });
  onStop('time-skipping worker', () => worker.stop());
  const outcomes: Record<string, number> = {};
  const deadline = Date.now() + (opts['max-seconds'] - 30) * 1000;
  // All lifecycles start at the same server time (time skipping stays locked until a
  // client waits for a result), then run side by side: the clock is shared, so starting
  // them while others are being skipped through months would start them "late".
  const t0 = Date.now();
  const now = await env.currentTimeMs();
  const handles: Array<WorkflowHandle | undefined> = new Array(count);
  const started = await pool(
    count,
    concurrency,
    async (i) => {
      const paidEarly = path === 'paid-early' || (path === 'mix' && i % 2 === 1);
      const invoice = invoiceFixture({ number: `TS-${i}-${randomBytes(3).toString('hex')}`, dueDate: parisDatePlus(now, 10) });
      const handle = await env.client.workflow.start('invoiceDunning', {
        taskQueue,
        workflowId: workflowIdFor(invoice.number),
        args: [dunningInput(invoice, FR_B2B_DEFAULT as DunningPolicy)],
      });
      if (paidEarly) await handle.signal(paymentReceivedSignal, pay(`p-${i}`, 100_000));
      handles[i] = handle;
    },
    deadline,
  );
  const startS = (Date.now() - t0) / 1000;
  log(`lifecycle: ${started.done} started in ${startS.toFixed(1)} s; skipping time`);
  // One result at a time: the clock is shared, so waiting on one lets all of them run;
  // many concurrent long polls on the time-skipping server make it stall.
  const r = await pool(
    count,
    opts['result-concurrency'],
    async (i) => {
      const handle = handles[i];
      if (!handle) throw new Error('not started');
      const res = (await withTimeout(handle.result(), Math.max(deadline - Date.now(), 1), 'lifecycle result')) as { outcome: string };
      outcomes[res.outcome] = (outcomes[res.outcome] ?? 0) + 1;
    },
    deadline,
  );
  const wallS = (Date.now() - t0) / 1000;
  return { wallS, startS, ...r, outcomes, sends: doubles.sent.length };
}

runBench('lifecycle', opts['max-seconds'], async () => {
  quietRuntime();
  console.log(`# Lifecycle cost (${new Date().toISOString()})\nmachine: ${machineNote()}`);
  const verdicts = [];
  if (!opts['skip-dev']) {
    const { paidEarly, full, outcomes } = await devServerPaths();
    table('History per lifecycle (dev server, DEMO_SECONDS calendar)', [
      { path: 'paid early', outcome: outcomes[0], events: paidEarly.events, 'history bytes': kb(paidEarly.historyBytes), 'payload bytes': kb(paidEarly.payloadBytes) },
      { path: 'full escalation', outcome: outcomes[1], events: full.events, 'history bytes': kb(full.historyBytes), 'payload bytes': kb(full.payloadBytes) },
    ]);
    const types = [...new Set([...Object.keys(full.byType), ...Object.keys(paidEarly.byType)])].sort();
    table(
      'Events by type',
      types.map((t) => ({ type: t, 'paid early': paidEarly.byType[t] ?? 0, 'full escalation': full.byType[t] ?? 0 })),
    );
    verdicts.push(verdict(`full escalation ≤ ${EVENT_TARGET} events`, full.events <= EVENT_TARGET, `${full.events} events, ${kb(full.payloadBytes)} of payloads`));
  }
  if (!opts['skip-timeskip']) {
    log(`lifecycle: ${opts.count} time-skipped lifecycles (${opts.path}), ${opts.concurrency} in flight`);
    const ts = await timeSkipped(opts.count, opts.concurrency, opts.path);
    table(`${opts.count} time-skipped lifecycles (fr-b2b-default, ${opts.path})`, [
      {
        completed: ts.done,
        errors: ts.errors,
        'wall s': Number(ts.wallS.toFixed(1)),
        'of which starting s': Number(ts.startS.toFixed(1)),
        'lifecycles/s': Number((ts.done / ts.wallS).toFixed(1)),
        sends: ts.sends,
        outcomes: Object.entries(ts.outcomes)
          .map(([k, v]) => `${k}:${v}`)
          .join(' '),
      },
    ]);
    if (ts.firstError) console.log(`first error: ${String(ts.firstError)}`);
    const scaled = (ts.wallS * 1000) / Math.max(ts.done, 1);
    verdicts.push(
      verdict(
        `1,000 time-skipped lifecycles < ${WALL_TARGET_S} s`,
        ts.errors === 0 && ts.done === opts.count && (opts.count >= 1000 ? ts.wallS < WALL_TARGET_S : scaled < WALL_TARGET_S),
        `${ts.done} in ${fmt(ts.wallS)} s${opts.count < 1000 ? ` (≈ ${fmt(scaled)} s per 1,000, extrapolated)` : ''}`,
      ),
    );
  }
  table('Verdict', verdicts);
});
