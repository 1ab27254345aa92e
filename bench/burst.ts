// Benchmark 4, month-end burst.
// --count invoices whose reminder falls due at the same instant (or spread over
// --spread seconds: "the same minute"), on a DEMO-like policy (send window disabled; one
// email step at the due instant). One worker process with the real configuration's
// email rate limit (RATE_EMAIL_PER_SEC, maxTaskQueueActivitiesPerSecond); the email
// activity is a double that records when it started (no SMTP).
//  - timer lag: TimerFired − the step's intended instant, read from each history
//    (target p99 < 2 s); also the workflow's reaction (ActivityTaskScheduled − intended).
//  - send rate: email activity starts per second, max over 1 s windows must stay at or
//    under the configured limit.
//
//   npm run bench:burst -- [--count 1000] [--spread 0] [--start-rate 25] [--lead <count/rate + 30>] [--wft-slots N]
import { randomBytes } from 'node:crypto';
import { normaliseIssueRequest } from '../api/invoice-service';
import type { IssueInvoiceRequest } from '../api/schemas';
import { DEMO_SECONDS } from '../domain/policy';
import type { DunningPolicy } from '../domain/types';
import { workflowIdFor } from '../contracts/ids';
import type { InvoiceDunningInput } from '../contracts/messages';
import { eventTime, eventTypeName } from './history';
import { benchConfig, dayPlus, flags, fmt, invoiceRequest, log, machineNote, nullActivities, pool, runBench, sleep, startStack, summary, table, verdict } from './lib';

const opts = flags({
  count: { default: 1000 },
  spread: { default: 0 },
  lead: { default: 0 },
  'start-rate': { default: 25 },
  'wft-slots': { default: 0 },
  'max-seconds': { default: 600 },
});
const LAG_TARGET_MS = 2_000;

const policy: DunningPolicy = {
  ...DEMO_SECONDS,
  id: 'bench-burst',
  steps: [{ id: 'reminder-1', offset: 'PT0S', channels: ['email'], templateId: 'reminder-1', stage: 'reminder-1' }],
};

/** Max count of instants in any window [t, t + 1 s) starting at an instant, and in fixed 1 s buckets. */
function rates(times: number[]): { sliding: number; bucket: number; mean: number } {
  const t = [...times].sort((a, b) => a - b);
  let sliding = 0;
  let j = 0;
  for (let i = 0; i < t.length; i++) {
    while (j < t.length && t[j] < t[i] + 1000) j++;
    sliding = Math.max(sliding, j - i);
  }
  const buckets = new Map<number, number>();
  for (const x of t) buckets.set(Math.floor(x / 1000), (buckets.get(Math.floor(x / 1000)) ?? 0) + 1);
  const span = (t[t.length - 1] - t[0]) / 1000;
  return { sliding, bucket: Math.max(0, ...buckets.values()), mean: span > 0 ? (t.length - 1) / span : NaN };
}

runBench('burst', opts['max-seconds'], async () => {
  console.log(`# Month-end burst (${new Date().toISOString()})\nmachine: ${machineNote()}`);
  const real = benchConfig();
  const limit = real.RATE_EMAIL_PER_SEC;
  const sends: Array<{ at: number; workflowId: string }> = [];
  // Workflows that have run their first task (journaled "issued"): the burst must find
  // them all asleep, as on a real month end (invoices issued days before).
  const settled = new Set<string>();
  const activities = nullActivities((channel, input) => {
    if (channel === 'email') sends.push({ at: Date.now(), workflowId: input.workflowId });
  });
  activities.journal = async (input) => {
    for (const e of input.events) settled.add(e.workflowId);
  };
  const stack = await startStack({
    activities,
    rates: { email: real.RATE_EMAIL_PER_SEC, sms: real.RATE_SMS_PER_SEC, letter: real.RATE_LETTER_PER_SEC, agency: real.RATE_AGENCY_PER_SEC },
    maxCachedWorkflows: real.WORKFLOW_CACHE_SIZE,
    maxConcurrentWorkflowTaskExecutions: opts['wft-slots'] || undefined,
  });
  // Default lead: the paced starts plus 30 s for the worker to put every workflow to sleep.
  const lead = opts.lead || Math.ceil(opts.count / opts['start-rate']) + 30;
  const dueAt = Date.now() + lead * 1000;
  const intended = new Map<string, number>();
  const run = randomBytes(3).toString('hex');
  log(`burst: starting ${opts.count} workflows due at ${new Date(dueAt).toISOString()} (email limit ${limit}/s)`);
  const t0 = Date.now();
  // Starts paced at --start-rate/s: a burst of starts would back the worker up, and a
  // workflow's timer is relative (set when its task completes, for the duration it
  // computed when the task started), so its fire time would inherit that backlog.
  const started = await pool(opts.count, 16, async (i) => {
    const slot = t0 + (i * 1000) / opts['start-rate'];
    if (slot > Date.now()) await sleep(slot - Date.now());
    const at = dueAt + (opts.spread > 0 ? Math.floor((i / opts.count) * opts.spread * 1000) : 0);
    const req = invoiceRequest({ number: `BURST-${run}-${i}`, dueDate: dayPlus(0), dueAt: new Date(at).toISOString() }) as unknown as IssueInvoiceRequest;
    const memo = normaliseIssueRequest(req, stack.config);
    const input: InvoiceDunningInput = { invoice: memo.invoice, policy };
    const workflowId = workflowIdFor(memo.invoice.number);
    intended.set(workflowId, at);
    await stack.client.workflow.start('invoiceDunning', { workflowId, taskQueue: stack.workflowTaskQueue, args: [input] });
  });
  const startS = (Date.now() - t0) / 1000;
  if (Date.now() > dueAt - 2000) console.log(`WARNING: starting took ${startS.toFixed(1)} s, close to the lead of ${lead} s: raise --lead`);
  while (settled.size < started.done && Date.now() < dueAt) await sleep(200);
  const settleS = (Date.now() - t0) / 1000;
  if (settled.size < started.done) console.log(`WARNING: only ${settled.size}/${started.done} workflows asleep at the due instant: raise --lead`);
  log(`burst: ${started.done} started in ${startS.toFixed(1)} s (${started.errors} errors), all asleep after ${settleS.toFixed(1)} s; waiting for the due instant and the drain (~${Math.ceil(opts.count / limit)} s)`);
  const drainDeadline = Math.min(dueAt + opts.spread * 1000 + ((opts.count / limit) * 1.5 + 60) * 1000, Date.now() + (opts['max-seconds'] - 90) * 1000);
  while (sends.length < started.done && Date.now() < drainDeadline) await sleep(500);
  const drained = sends.length;
  log(`burst: ${drained}/${started.done} emails sent; reading histories`);

  const timerLag: number[] = [];
  const reactLag: number[] = [];
  const startLag: number[] = [];
  const serverLag: number[] = [];
  const skew: number[] = [];
  await pool(started.done, 16, async (i) => {
    const workflowId = workflowIdFor(`BURST-${run}-${i}`);
    const hist = await stack.client.workflow.getHandle(workflowId).fetchHistory();
    const want = intended.get(workflowId)!;
    const fired = hist.events?.find((e) => eventTypeName(e) === 'TIMER_FIRED');
    const scheduled = hist.events?.find((e) => eventTypeName(e) === 'ACTIVITY_TASK_SCHEDULED');
    const startedEv = hist.events?.find((e) => eventTypeName(e) === 'ACTIVITY_TASK_STARTED');
    const timer = hist.events?.find((e) => eventTypeName(e) === 'TIMER_STARTED');
    if (fired) timerLag.push(eventTime(fired) - want);
    if (fired && timer) {
      const d = timer.timerStartedEventAttributes?.startToFireTimeout;
      const due = eventTime(timer) + Number(d?.seconds ?? 0) * 1000 + Math.floor((d?.nanos ?? 0) / 1e6);
      serverLag.push(eventTime(fired) - due);
      skew.push(due - want);
    }
    if (scheduled) reactLag.push(eventTime(scheduled) - want);
    if (startedEv) startLag.push(eventTime(startedEv) - want);
  });
  const tl = summary(timerLag);
  const rl = summary(reactLag);
  const sl = summary(startLag);
  const row = (what: string, s: typeof tl) => ({ what, n: s.n, 'p50 ms': Math.round(s.p50), 'p99 ms': Math.round(s.p99), 'max ms': Math.round(s.max) });
  table(`Lag after the intended instant (${opts.count} invoices due ${opts.spread ? `over ${opts.spread} s` : 'at the same instant'})`, [
    row('timer fired (server)', tl),
    row('  of which: timer set late (start + duration − intended)', summary(skew)),
    row('  of which: server fired late (fired − start − duration)', summary(serverLag)),
    row('email scheduled (workflow reacted)', rl),
    row('email started (after rate limiting)', sl),
  ]);
  const r = rates(sends.map((s) => s.at));
  table(`Email send rate (limit RATE_EMAIL_PER_SEC = ${limit}/s)`, [
    { sent: drained, 'max in any 1 s window': r.sliding, 'max per wall-clock second': r.bucket, 'mean /s over the drain': Number(r.mean.toFixed(2)), 'drain s': Number(((Math.max(...sends.map((s) => s.at)) - Math.min(...sends.map((s) => s.at))) / 1000).toFixed(1)) },
  ]);
  table('Verdict', [
    verdict(`timer lag p99 < ${LAG_TARGET_MS} ms`, tl.p99 < LAG_TARGET_MS && tl.n === opts.count, `p99 ${fmt(tl.p99, 0)} ms over ${tl.n} timers (workflow reaction p99 ${fmt(rl.p99, 0)} ms)`),
    verdict(`send rate ≤ ${limit}/s`, r.bucket <= limit && r.sliding <= limit, `max ${r.sliding} in any 1 s window, ${r.bucket} per clock second, mean ${fmt(r.mean, 2)}/s; ${drained}/${opts.count} sent`),
  ]);
});
