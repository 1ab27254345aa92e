// Benchmark 1, ingest.
//  A. Invoices issued through POST /v1/invoices per second vs raw client.workflow.start
//     per second, same server, same run, same concurrency, same workflow input (the raw
//     path calls startInvoiceWorkflow with the snapshot normalised beforehand, i.e. exactly
//     the start the API makes, without HTTP, validation, the look-up and the row writes).
//     The two paths alternate in rounds so machine noise hits both. Target: ratio ≥ 0.8.
//  B. A CSV import job (POST /v1/imports, polled until done) of --csv-rows rows: rows per second.
// No worker polls the workflow queue: this measures the ingest path, not the workflows.
//
//   npm run bench:ingest -- [--count 2000] [--concurrency 16] [--rounds 4] [--csv-rows 10000]
import { IMPORT_COLUMNS } from '../api/csv-upload';
import { normaliseIssueRequest, startInvoiceWorkflow } from '../api/invoice-service';
import type { IssueInvoiceRequest } from '../api/schemas';
import { cpuSnapshot, dayPlus, flags, fmt, invoiceRequest, log, machineNote, pool, runBench, startStack, summary, table, verdict, type Stack } from './lib';

const opts = flags({
  count: { default: 1000 },
  concurrency: { default: 16 },
  rounds: { default: 4 },
  'csv-rows': { default: 1000 },
  customers: { default: 200 },
  'max-seconds': { default: 900 },
});

const TARGET = 0.8;
const run = Date.now().toString(36);

async function apiRound(stack: Stack, from: number, n: number): Promise<{ seconds: number; latencies: number[]; errors: number; firstError?: unknown }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  const r = await pool(n, opts.concurrency, async (i) => {
    const k = from + i;
    const body = invoiceRequest({ number: `API-${run}-${k}`, dueDate: dayPlus(30), customerId: `C-${k % opts.customers}` });
    const s = performance.now();
    const res = await stack.request('POST', '/v1/invoices', body);
    latencies.push(performance.now() - s);
    if (res.status !== 201) throw new Error(`POST /v1/invoices → ${res.status} ${res.text.slice(0, 300)}`);
  });
  return { seconds: (performance.now() - t0) / 1000, latencies, errors: r.errors, firstError: r.firstError };
}

async function rawRound(stack: Stack, from: number, n: number): Promise<{ seconds: number; latencies: number[]; errors: number; firstError?: unknown }> {
  const gateway = { client: stack.client, taskQueue: stack.workflowTaskQueue, timeoutMs: stack.config.API_TEMPORAL_TIMEOUT_MS };
  // The same normalised input the API builds, prepared outside the timed part.
  const memos = Array.from({ length: n }, (_, i) => {
    const k = from + i;
    const req = invoiceRequest({ number: `RAW-${run}-${k}`, dueDate: dayPlus(30), customerId: `C-${k % opts.customers}` }) as unknown as IssueInvoiceRequest;
    return normaliseIssueRequest(req, stack.config);
  });
  const latencies: number[] = [];
  const t0 = performance.now();
  const r = await pool(n, opts.concurrency, async (i) => {
    const s = performance.now();
    await startInvoiceWorkflow({ temporal: gateway, config: stack.config }, memos[i]);
    latencies.push(performance.now() - s);
  });
  return { seconds: (performance.now() - t0) / 1000, latencies, errors: r.errors, firstError: r.firstError };
}

function csv(rows: number): string {
  const lines = [IMPORT_COLUMNS.join(',')];
  const due = dayPlus(30);
  const issue = dayPlus(0);
  for (let i = 0; i < rows; i++) {
    const row: Record<string, string> = {
      number: `CSV-${run}-${i}`,
      issue_date: issue,
      due_date: due,
      due_at: '',
      amount: '1200.00',
      deposit: '200.00',
      currency: 'EUR',
      payment_link: `https://pay.example.test/i/CSV-${i}`,
      policy_id: '',
      customer_id: `C-${i % opts.customers}`,
      customer_name: 'Dupont SARL',
      customer_kind: 'B2B',
      customer_email: 'compta@dupont.example',
      customer_phone: '+33612345678',
      address_line1: '3 rue des Lilas',
      address_line2: '',
      postal_code: '69001',
      city: 'Lyon',
      customer_country: 'FR',
      language: 'fr',
      time_zone: 'Europe/Paris',
    };
    lines.push(IMPORT_COLUMNS.map((c) => row[c]).join(','));
  }
  return lines.join('\n') + '\n';
}

runBench('ingest', opts['max-seconds'], async () => {
  console.log(`# Ingest (${new Date().toISOString()})\nmachine: ${machineNote()}`);
  const stack = await startStack({ api: true });
  console.log(`database: ${stack.db.kind}${stack.db.kind === 'pglite' ? ' (embedded, one backend: pool of 1)' : ''}`);

  // Warm-up: connections, JIT, prepared statements, the customers.
  log('ingest: warm-up');
  await apiRound(stack, 1_000_000, Math.min(opts.customers, 200));
  await rawRound(stack, 1_000_000, 100);

  const per = Math.ceil(opts.count / opts.rounds);
  const api = { seconds: 0, n: 0, lat: [] as number[], errors: 0, cpu: { self: 0, temporal: 0, postgres: 0 } };
  const raw = { seconds: 0, n: 0, lat: [] as number[], errors: 0, cpu: { self: 0, temporal: 0, postgres: 0 } };
  const rounds: Array<Record<string, string | number>> = [];
  for (let r = 0; r < opts.rounds; r++) {
    const order = r % 2 === 0 ? (['api', 'raw'] as const) : (['raw', 'api'] as const);
    const got: Record<string, number> = {};
    for (const which of order) {
      const c0 = cpuSnapshot(stack);
      const res = which === 'api' ? await apiRound(stack, r * per, per) : await rawRound(stack, r * per, per);
      const c1 = cpuSnapshot(stack);
      if (res.firstError) console.log(`${which} round ${r}: ${res.errors} errors, first: ${String(res.firstError)}`);
      const acc = which === 'api' ? api : raw;
      acc.seconds += res.seconds;
      acc.n += per - res.errors;
      acc.errors += res.errors;
      acc.lat.push(...res.latencies);
      for (const k of ['self', 'temporal', 'postgres'] as const) acc.cpu[k] += c1[k] - c0[k];
      got[which] = (per - res.errors) / res.seconds;
    }
    rounds.push({ round: r + 1, 'API /s': Number(got.api.toFixed(1)), 'raw start /s': Number(got.raw.toFixed(1)), ratio: Number((got.api / got.raw).toFixed(2)) });
    log(`ingest: round ${r + 1}/${opts.rounds}: api ${fmt(got.api)}/s raw ${fmt(got.raw)}/s`);
  }
  table(`Rounds (${per} invoices per path per round, ${opts.concurrency} in flight)`, rounds);
  const apiRate = api.n / api.seconds;
  const rawRate = raw.n / raw.seconds;
  const ratio = apiRate / rawRate;
  const la = summary(api.lat);
  const lr = summary(raw.lat);
  table('Ingest: POST /v1/invoices vs client.workflow.start', [
    { path: 'POST /v1/invoices', invoices: api.n, errors: api.errors, 'per s': Number(apiRate.toFixed(1)), 'p50 ms': Number(la.p50.toFixed(1)), 'p99 ms': Number(la.p99.toFixed(1)) },
    { path: 'raw workflow.start', invoices: raw.n, errors: raw.errors, 'per s': Number(rawRate.toFixed(1)), 'p50 ms': Number(lr.p50.toFixed(1)), 'p99 ms': Number(lr.p99.toFixed(1)) },
  ]);

  const ms = (v: number, n: number) => Number(((v * 1000) / Math.max(n, 1)).toFixed(2));
  table('CPU per invoice (ms): where the time goes', [
    { path: 'POST /v1/invoices', 'node (API + client + PGlite if embedded)': ms(api.cpu.self, api.n), 'Temporal server': ms(api.cpu.temporal, api.n), PostgreSQL: ms(api.cpu.postgres, api.n) },
    { path: 'raw workflow.start', 'node (API + client + PGlite if embedded)': ms(raw.cpu.self, raw.n), 'Temporal server': ms(raw.cpu.temporal, raw.n), PostgreSQL: ms(raw.cpu.postgres, raw.n) },
  ]);

  let csvRate = NaN;
  let csvResult: { rows: number; created: number; failed: number };
  if (opts['csv-rows'] > 0) {
    const body = csv(opts['csv-rows']);
    log(`ingest: CSV import of ${opts['csv-rows']} rows (${(body.length / 1024).toFixed(0)} KB)`);
    const t0 = performance.now();
    // An import job (POST /v1/imports), polled as a client would: the synchronous endpoint
    // takes at most IMPORT_SYNC_MAX_ROWS rows.
    const res = await stack.request('POST', '/v1/imports', body, { 'content-type': 'text/csv' });
    if (res.status !== 202) throw new Error(`import → ${res.status} ${res.text.slice(0, 500)}`);
    for (;;) {
      const job = await stack.request('GET', `/v1/imports/${res.json.id}`);
      csvResult = { rows: job.json.rows, created: job.json.created, failed: job.json.refused };
      if (job.json.status === 'done') break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const seconds = (performance.now() - t0) / 1000;
    csvRate = csvResult.created / seconds;
    table('CSV import job (POST /v1/imports, IMPORT_CONCURRENCY rows at a time)', [
      { rows: csvResult.rows, created: csvResult.created, failed: csvResult.failed, 'wall s': Number(seconds.toFixed(1)), 'rows/s': Number(csvRate.toFixed(1)) },
    ]);
  }

  table('Verdict', [
    verdict(`API/raw ingest ratio ≥ ${TARGET}`, ratio >= TARGET, `${fmt(apiRate)}/s vs ${fmt(rawRate)}/s = ${ratio.toFixed(2)}`),
    ...(Number.isFinite(csvRate) ? [{ target: 'CSV import rows/s (no target)', result: 'INFO', detail: `${fmt(csvRate)} rows/s` }] : []),
  ]);
});
