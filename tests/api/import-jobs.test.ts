// Import jobs (POST /v1/imports, GET /v1/imports/{id}) over HTTP against the real database
// and a Temporal dev server: a 10,000-row file (rows/s printed: docs/benchmarks.md), the
// same file uploaded again, rows refused while issuing (by line and field), and an API
// process SIGKILLed in the middle of a job whose rows another process finishes, each
// invoice issued once.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TaskQueues } from '../../contracts/task-queues';
import { collectLines } from '../helpers/processes';
import { daysFromToday, eventually, invoiceRequest, useApiHarness, type ApiHarness, type TestResponse } from './harness';

const HEADER = 'number,issue_date,due_date,amount,currency,customer_id,customer_name,customer_kind,customer_email,customer_country';
const fileOf = (prefix: string, count: number, from = 0) =>
  [
    HEADER,
    // Every field derives from the row's number, so a row seen in two files is the same row.
    ...Array.from({ length: count }, (_, k) => from + k).map(
      (i) => `${prefix}-${i},${daysFromToday(0)},${daysFromToday(60)},${100 + (i % 50)}.00,EUR,JOB-C${i % 97},Client ${i % 97} SARL,B2B,c${i % 97}@client.example,FR`,
    ),
  ].join('\n');

let h: ApiHarness;
useApiHarness((a) => (h = a), { workers: false, importJobs: true, config: { API_IMPORT_LIMIT: '8mb' } });

const upload = (body: string) => h.request('POST', '/v1/imports', { raw: body, headers: { 'content-type': 'text/csv' } });
const job = (id: string) => h.request('GET', `/v1/imports/${id}`);
/** Polls the job once a second (as a client would) until it is done. */
async function untilDone(id: string, timeoutMs: number, seen: TestResponse[] = []): Promise<TestResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await job(id);
    seen.push(r);
    if (r.json?.status === 'done') return r;
    if (Date.now() > deadline) throw new Error(`import job ${id} not done after ${timeoutMs} ms: ${r.text.slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

describe('POST /v1/imports', () => {
  it('issues a 10,000-row file in the background; progress can be polled; the same file again creates nothing', async () => {
    const rows = 10_000;
    const body = fileOf('BIG', rows);
    const started = Date.now();
    const r = await upload(body);
    expect(r.status, r.text).toBe(202);
    expect(r.headers.get('location')).toBe(`/v1/imports/${r.json.id}`);
    expect(r.json).toMatchObject({ rows, refused: 0, refusedRows: [] });
    const accepted = Date.now();
    const polls: TestResponse[] = [];
    const done = await untilDone(r.json.id, 560_000, polls);
    const seconds = (Date.now() - started) / 1000;
    const rate = Math.round(rows / seconds);
    console.log(`[import-jobs] ${rows} rows: accepted (validated + stored) in ${((accepted - started) / 1000).toFixed(1)} s, done in ${seconds.toFixed(1)} s: ${rate} rows/s (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`);
    expect(done.json).toMatchObject({ status: 'done', rows, processed: rows, created: rows, existing: 0, refused: 0, pending: 0 });
    expect(polls.some((p) => p.json.processed > 0 && p.json.processed < rows), 'progress seen midway').toBe(true);
    expect(await h.prisma.invoice.count({ where: { number: { startsWith: 'BIG-' } } })).toBe(rows);

    // The same bytes again: the same job, nothing new.
    const again = await upload(body);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: r.json.id, status: 'done', created: rows });
    // Another file holding 200 of those rows (and 1 new): the 200 are existing, not issued twice.
    const overlap = await upload(fileOf('BIG', 201, rows - 200));
    expect(overlap.status).toBe(202);
    const second = await untilDone(overlap.json.id, 60_000);
    expect(second.json).toMatchObject({ rows: 201, created: 1, existing: 200, refused: 0 });
    expect(await h.prisma.invoice.count({ where: { number: { startsWith: 'BIG-' } } })).toBe(rows + 1);
  }, 600_000);

  it('an invalid row: 422 naming its line and column, and no job', async () => {
    const before = await h.prisma.importJob.count();
    const body = `${fileOf('BAD', 3)}\nBAD-3,${daysFromToday(0)},${daysFromToday(60)},12.5.0,EUR,JOB-X,X,B2B,x@x.example,FR`;
    const r = await upload(body);
    expect(r.status).toBe(422);
    expect(r.json.errors).toEqual([{ field: 'line 5: amount', message: expect.any(String) }]);
    expect(await h.prisma.importJob.count()).toBe(before);
    expect(await h.prisma.invoice.count({ where: { number: { startsWith: 'BAD-' } } })).toBe(0);
    expect((await job('00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('a row whose number was issued elsewhere after the upload is refused with its line and field; the others are created', async () => {
    await h.importJobs.stop(); // hold the job queued while the number is taken
    const r = await upload(fileOf('RACE', 3));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'queued', pending: 3 });
    const taken = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ number: 'RACE-1' }) });
    expect(taken.status).toBe(201);
    h.importJobs.start();
    const done = await untilDone(r.json.id, 30_000);
    expect(done.json).toMatchObject({ created: 2, refused: 1 });
    expect(done.json.refusedRows).toEqual([{ line: 3, number: 'RACE-1', errors: [{ field: 'number', message: expect.stringMatching(/already issued/) }] }]);
  });

  it('an API process killed (SIGKILL) midway: another one resumes the job; every invoice issued once', async () => {
    await h.importJobs.stop(); // only the child works until it dies
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('tests/api/import-child.ts')], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        DATABASE_URL: h.config.DATABASE_URL,
        TEMPORAL_ADDRESS: h.env.address,
        WORKFLOW_TASK_QUEUE: `${h.taskQueuePrefix}${TaskQueues.workflow}`,
        API_RECONCILE_INTERVAL_SECONDS: '0',
        IMPORT_CONCURRENCY: '2',
        IMPORT_JOB_LEASE_MS: '1500',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = collectLines(child);
    try {
      const url = (await eventually(async () => lines.find((l) => l.startsWith('LISTENING ')), 60_000, 'child API listening')).split(' ')[1];
      const rows = 200;
      const res = await fetch(`${url}/v1/imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'text/csv' },
        body: fileOf('CRASH', rows),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      await eventually(async () => (await h.prisma.importJobRow.count({ where: { jobId: id, status: { not: 'PENDING' } } })) >= 20, 60_000, '20 rows done');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const atKill = await job(id);
      expect(atKill.json.status).toBe('running');
      expect(atKill.json.pending).toBeGreaterThan(0);

      h.importJobs.start(); // as a restarted API does: takes the job once the dead one's lease runs out
      const done = await untilDone(id, 120_000);
      expect(done.json).toMatchObject({ rows, processed: rows, created: rows, existing: 0, refused: 0 });
      const numbers = await h.prisma.invoice.findMany({ where: { number: { startsWith: 'CRASH-' } }, select: { number: true } });
      expect(new Set(numbers.map((n) => n.number)).size).toBe(rows);
      expect(numbers.length).toBe(rows);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 240_000);
});
