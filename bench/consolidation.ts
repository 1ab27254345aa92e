// One conversation per customer (issue 18), measured: N invoices of N/10 customers whose
// reminder falls due the same day, on the time-skipping server with the real workflows and
// the real customer activities (signal-with-start, updates); the sends are doubles that record
// what they were asked. Grouping on: exactly N/10 emails expected, each listing 10 invoices,
// the lag of each batch after its batch time, and the send rate (most sends started in any
// one-second window) against the email provider's limit (RATE_EMAIL_PER_SEC, enforced by the
// same sliding-window limiter the production email worker puts before every email activity). Grouping on and off: the billable actions per invoice,
// counted from the histories up to just after the batch.
//
//   npm run bench:consolidation -- --count 1000
//
// Bounded: --count (default 200, at most 2,000) and --max-seconds (default 600). --threads
// (workflow threads, default 2) and --wft-slots (workflow task slots, default 100) size the
// workflow worker: at the batch minute every invoice answers its customer's update in a
// workflow task of its own.
import { randomBytes } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import protoPkg from '@temporalio/proto';
import type { temporal as proto } from '@temporalio/proto';
import { createCustomerActivities } from '../activities/customer';
import { createSendRateLimiter } from '../activities/rate-limit';
import type { BatchChannelActivities } from '../activities/types';
import { customerWorkflowIdFor, workflowIdFor } from '../contracts/ids';
import { batchSpreadMs, nextBatchAt } from '../domain/consolidation';
import { TEN_TWENTY } from '../domain/policy';
import { anchorInstant, publicHolidays, stepInstant } from '../domain/schedule';
import type { DunningPolicy } from '../domain/types';
import { dunningInput, invoiceFixture, makeDoubles, parisDatePlus, startTestWorker } from '../tests/workflow/harness';
import { workflowBundle } from '../worker/create-worker';
import { benchConfig, createTimeSkippingEnv, flags, fmt, log, machineNote, onStop, pool, quietRuntime, runBench, summary, table, verdict } from './lib';

const { temporal } = protoPkg;
const opts = flags({
  count: { default: 200 },
  concurrency: { default: 50 },
  'max-seconds': { default: 600 },
  threads: { default: 2 },
  'wft-slots': { default: 100 },
});
const EMAIL_RATE = benchConfig().RATE_EMAIL_PER_SEC;
const PER_CUSTOMER = 10;
const LAG_TARGET_MS = 2_000;

/** Reminder at J+10, email only (friendly): the step every invoice of the run reaches the same day. */
const policyOf = (consolidate: 'friendly' | 'off'): DunningPolicy => ({ ...TEN_TWENTY, id: `bench-${consolidate}`, steps: TEN_TWENTY.steps.slice(0, 1), consolidate });

/**
 * Billable actions as Temporal Cloud counts them, read from a history: the start, each signal
 * received, each update accepted, each activity scheduled, each timer, each signal sent to
 * another workflow, each search-attribute upsert, each local-activity marker, each continue-as-new.
 * Workflow tasks, patch markers and queries of state are not actions (queries are, but none run here).
 */
function billableActions(history: proto.api.history.v1.IHistory): number {
  const T = temporal.api.enums.v1.EventType;
  const counted = new Set<number>([
    T.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    T.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    T.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    T.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    T.EVENT_TYPE_TIMER_STARTED,
    T.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
    T.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    T.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
  ]);
  let n = 0;
  for (const e of history.events ?? []) {
    if (counted.has(e.eventType ?? 0)) n += 1;
    else if (e.eventType === T.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_local_activity') n += 1;
  }
  return n;
}

/** The most starts within any one-second window. */
function maxPerSecond(startsMs: readonly number[]): number {
  const t = [...startsMs].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i += 1) {
    while (t[i]! - t[j]! >= 1_000) j += 1;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

interface RunResult {
  emails: number;
  /** Most sends started within one second (wall clock). */
  maxRate: number;
  listedPerEmail: number[];
  lagsMs: number[];
  actionsPerInvoice: number;
  wallSeconds: number;
}

async function run(consolidate: 'friendly' | 'off', count: number): Promise<RunResult> {
  const env = await createTimeSkippingEnv();
  onStop(`time-skipping env (${consolidate})`, () => env.teardown());
  const doubles = makeDoubles();
  const batches: Array<{ key: string; listed: number; atMs: number; customerId: string }> = [];
  const starts: number[] = [];
  const sendEmail = doubles.activities.sendEmail!;
  // The email worker's hard cap, as worker/create-worker.ts puts it before every email activity.
  const limiter = createSendRateLimiter(EMAIL_RATE, { marginMs: 25 });
  const batchEmail: BatchChannelActivities & Pick<typeof doubles.activities, 'sendEmail'> = {
    async sendEmail(input) {
      await limiter.acquire();
      starts.push(Date.now());
      return sendEmail(input);
    },
    async sendBatchEmail(input) {
      await limiter.acquire();
      starts.push(Date.now());
      batches.push({ key: input.idempotencyKey, listed: input.lines.length, atMs: Context.current().info.scheduledTimestampMs, customerId: input.customer.id });
      return { status: 'SENT', communicationId: input.idempotencyKey, listed: input.lines.map((l) => l.invoiceNumber), skipped: [] };
    },
    async sendBatchSms(input) {
      return { status: 'SENT', communicationId: input.idempotencyKey, listed: input.lines.map((l) => l.invoiceNumber), skipped: [] };
    },
  };
  const taskQueue = `cons-${consolidate}-${randomBytes(3).toString('hex')}-dunning`;
  const worker = await startTestWorker(
    env,
    taskQueue,
    { ...doubles.activities, ...batchEmail, ...createCustomerActivities(env.client) },
    { workflowThreadPoolSize: opts.threads, maxConcurrentWorkflowTaskExecutions: opts['wft-slots'], maxCachedWorkflows: count + count / PER_CUSTOMER + 100 },
  );
  onStop(`worker (${consolidate})`, () => worker.stop());
  const policy = policyOf(consolidate);
  const now = await env.currentTimeMs();
  const dueDate = parisDatePlus(now, 3);
  const tag = randomBytes(2).toString('hex').toUpperCase();
  const invoices = Array.from({ length: count }, (_, i) => {
    const customer = `B${tag}${Math.floor(i / PER_CUSTOMER)}`;
    const inv = invoiceFixture({ number: `${customer}-${i % PER_CUSTOMER}`, dueDate });
    inv.customer = { ...inv.customer, id: customer, name: `Client ${customer}`, email: `compta@${customer.toLowerCase()}.example` };
    return inv;
  });
  const stepAt = stepInstant({ anchor: anchorInstant(invoices[0]!), offset: policy.steps[0]!.offset, timeZone: 'Europe/Paris', country: 'FR', window: policy.sendWindow });
  const batchAt = Date.parse(nextBatchAt({ fromMs: Date.parse(stepAt), timeZone: 'Europe/Paris', country: 'FR', at: '09:30', window: policy.sendWindow, holidays: publicHolidays }));
  const t0 = Date.now();
  const handles: WorkflowHandle[] = [];
  await pool(count, opts.concurrency, async (i) => {
    handles[i] = await env.client.workflow.start('invoiceDunning', { taskQueue, workflowId: workflowIdFor(invoices[i]!.number), args: [dunningInput(invoices[i]!, policy)] });
  });
  // Past the batch time: every reminder is due (09:00) and every batch (09:30) has gone.
  await env.sleep(batchAt + 10 * 60_000 - (await env.currentTimeMs()));
  const expected = consolidate === 'friendly' ? count / PER_CUSTOMER : count;
  const sent = () => (consolidate === 'friendly' ? batches.length : doubles.sent.filter((s) => s.stepId === 'reminder-1').length);
  const deadline = Date.now() + 120_000;
  while (sent() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const wallSeconds = (Date.now() - t0) / 1000;
  let actions = 0;
  const ids = [...invoices.map((i) => workflowIdFor(i.number)), ...(consolidate === 'friendly' ? [...new Set(invoices.map((i) => customerWorkflowIdFor(i.customer.id)))] : [])];
  await pool(ids.length, 20, async (k) => {
    const n = billableActions(await env.client.workflow.getHandle(ids[k]!).fetchHistory());
    actions += n;
  });
  const emails = consolidate === 'friendly' ? batches.length + doubles.sent.filter((s) => s.stepId === 'reminder-1').length : sent();
  await pool(ids.length, 20, async (k) => {
    await env.client.workflow.getHandle(ids[k]!).terminate('bench over').catch(() => undefined);
  });
  return {
    emails,
    maxRate: maxPerSecond(starts),
    listedPerEmail: batches.map((b) => b.listed),
    // After the customer's own batch instant: the batch time plus its second of the minute.
    lagsMs: batches.map((b) => b.atMs - batchAt - batchSpreadMs(b.customerId)),
    actionsPerInvoice: actions / count,
    wallSeconds,
  };
}

runBench('bench:consolidation', opts['max-seconds'], async () => {
  quietRuntime();
  const count = Math.min(2_000, Math.max(PER_CUSTOMER, Math.round(opts.count / PER_CUSTOMER) * PER_CUSTOMER));
  await workflowBundle();
  log(`${count} invoices of ${count / PER_CUSTOMER} customers, reminder due the same day; grouping on, then off`);
  const on = await run('friendly', count);
  const off = await run('off', count);
  const lag = summary([...on.lagsMs].sort((a, b) => a - b));
  table('consolidation', [
    { grouping: 'on', invoices: count, emails: on.emails, 'listed/email': on.listedPerEmail.length ? `${Math.min(...on.listedPerEmail)}–${Math.max(...on.listedPerEmail)}` : '-', 'lag p50 ms': fmt(lag.p50, 0), 'lag p99 ms': fmt(lag.p99, 0), 'lag max ms': fmt(lag.max, 0), 'actions/invoice': fmt(on.actionsPerInvoice, 1), 'max sends/s': on.maxRate, 'wall s': fmt(on.wallSeconds, 1) },
    { grouping: 'off', invoices: count, emails: off.emails, 'listed/email': 1, 'lag p50 ms': '-', 'lag p99 ms': '-', 'lag max ms': '-', 'actions/invoice': fmt(off.actionsPerInvoice, 1), 'max sends/s': off.maxRate, 'wall s': fmt(off.wallSeconds, 1) },
  ]);
  table('verdicts', [
    verdict(`exactly ${count / PER_CUSTOMER} emails with grouping on`, on.emails === count / PER_CUSTOMER, `${on.emails} emails`),
    verdict(`batch lag p99 under ${LAG_TARGET_MS} ms after the batch time`, lag.p99 < LAG_TARGET_MS, `p99 ${fmt(lag.p99, 0)} ms (server time)`),
    verdict(`${count} emails with grouping off`, off.emails === count, `${off.emails} emails`),
    verdict(`send rate never above the email limit (${EMAIL_RATE}/s)`, on.maxRate <= EMAIL_RATE && off.maxRate <= EMAIL_RATE, `max ${on.maxRate}/s on, ${off.maxRate}/s off`),
  ]);
  log(machineNote());
});
