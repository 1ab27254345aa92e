// Benchmark 2, webhook → signal latency.
// From the start of a signed POST /v1/webhooks/payments to the moment the payment shows
// in the workflow's `status` query, versus a raw paymentReceived signal followed by the
// same query loop. Samples alternate (webhook, raw, webhook, ...) one at a time on a set
// of running invoices, so both see the same server and machine. Target: p99 ratio ≤ 1.5.
//
//   npm run bench:webhook -- [--samples 300] [--invoices 20]
import { randomBytes } from 'node:crypto';
import { signGeneric } from '../api/webhooks';
import { workflowIdFor } from '../contracts/ids';
import { paymentReceivedSignal, statusQuery } from '../contracts/messages';
import { dayPlus, flags, fmt, invoiceRequest, log, machineNote, nullActivities, runBench, startStack, summary, table, verdict, WEBHOOK_SECRET, type Stack } from './lib';

const opts = flags({
  samples: { default: 200 },
  invoices: { default: 20 },
  'max-seconds': { default: 600 },
});
const TARGET = 1.5;
const POLL_TIMEOUT_MS = 10_000;

async function untilVisible(stack: Stack, number: string, paymentId: string): Promise<number> {
  const handle = stack.client.workflow.getHandle(workflowIdFor(number));
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  let polls = 0;
  for (;;) {
    polls++;
    const st = await handle.query(statusQuery);
    if (st.payments.some((p) => p.paymentId === paymentId)) return polls;
    if (Date.now() > deadline) throw new Error(`payment ${paymentId} not visible on ${number} after ${POLL_TIMEOUT_MS} ms`);
  }
}

async function webhookSample(stack: Stack, number: string, k: number): Promise<number> {
  const externalId = `wh-${k}-${randomBytes(3).toString('hex')}`;
  const body = JSON.stringify({
    eventId: `evt-${externalId}`,
    invoiceNumber: number,
    paymentId: externalId,
    amountMinor: 100,
    currency: 'EUR',
    receivedAt: new Date().toISOString(),
  });
  const t0 = performance.now();
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`${stack.api!.url}/v1/webhooks/payments`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-relance-source': 'bank',
      'x-relance-timestamp': String(ts),
      'x-relance-signature': `v1=${signGeneric(WEBHOOK_SECRET, ts, body)}`,
    },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`webhook → ${res.status} ${text.slice(0, 300)}`);
  await untilVisible(stack, number, `bank:${externalId}`);
  return performance.now() - t0;
}

async function rawSample(stack: Stack, number: string, k: number): Promise<number> {
  const paymentId = `raw:${k}-${randomBytes(3).toString('hex')}`;
  const t0 = performance.now();
  await stack.client.workflow.getHandle(workflowIdFor(number)).signal(paymentReceivedSignal, {
    paymentId,
    amountMinor: 100,
    currency: 'EUR',
    receivedAt: new Date().toISOString(),
    source: 'raw',
  });
  await untilVisible(stack, number, paymentId);
  return performance.now() - t0;
}

runBench('webhook', opts['max-seconds'], async () => {
  console.log(`# Webhook → signal latency (${new Date().toISOString()})\nmachine: ${machineNote()}`);
  const stack = await startStack({ api: true, activities: nullActivities() });
  console.log(`database: ${stack.db.kind}`);
  const numbers: string[] = [];
  const run = Date.now().toString(36);
  for (let i = 0; i < opts.invoices; i++) {
    const number = `WH-${run}-${i}`;
    const res = await stack.request('POST', '/v1/invoices', invoiceRequest({ number, dueDate: dayPlus(60), customerId: `C-${i}` }));
    if (res.status !== 201) throw new Error(`issue → ${res.status} ${res.text}`);
    numbers.push(number);
  }
  // Every workflow has run its first task (its status answers) before sampling.
  for (const n of numbers) await stack.client.workflow.getHandle(workflowIdFor(n)).query(statusQuery);
  log(`webhook: ${opts.invoices} invoices running; warm-up`);
  for (let k = 0; k < 10; k++) {
    await webhookSample(stack, numbers[k % numbers.length], -k - 1);
    await rawSample(stack, numbers[k % numbers.length], -k - 1);
  }
  const web: number[] = [];
  const raw: number[] = [];
  const deadline = Date.now() + (opts['max-seconds'] - 60) * 1000;
  for (let k = 0; k < opts.samples && Date.now() < deadline; k++) {
    const number = numbers[k % numbers.length];
    if (k % 2 === 0) {
      web.push(await webhookSample(stack, number, k));
      raw.push(await rawSample(stack, number, k));
    } else {
      raw.push(await rawSample(stack, number, k));
      web.push(await webhookSample(stack, number, k));
    }
    if ((k + 1) % 50 === 0) log(`webhook: ${k + 1}/${opts.samples}`);
  }
  const w = summary(web);
  const r = summary(raw);
  const row = (path: string, s: typeof w) => ({ path, samples: s.n, 'p50 ms': Number(s.p50.toFixed(1)), 'p90 ms': Number(s.p90.toFixed(1)), 'p99 ms': Number(s.p99.toFixed(1)), 'max ms': Number(s.max.toFixed(1)) });
  table('Payment visible in the status query', [row('signed webhook → status', w), row('raw signal → status', r)]);
  table('Verdict', [
    verdict(`webhook/raw p99 ≤ ${TARGET}`, w.p99 / r.p99 <= TARGET, `p99 ${fmt(w.p99)} ms vs ${fmt(r.p99)} ms = ${(w.p99 / r.p99).toFixed(2)} (p50 ratio ${(w.p50 / r.p50).toFixed(2)})`),
  ]);
});
