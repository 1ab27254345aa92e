// Nothing half-done: Temporal or the database down → 503 with Retry-After and no row
// without a workflow; a workflow without a row (crash between the two) is healed by the
// retry and by the reconciler.
import net, { type AddressInfo } from 'node:net';
import { WorkflowNotFoundError } from '@temporalio/client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { normaliseIssueRequest, reconcileInvoices, startInvoiceWorkflow } from '../../api/invoice-service';
import { createPrisma } from '../../prisma/client';
import { eventually, invoiceRequest, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

useApiHarness((a) => (h = a), { relay: true });

const gateway = () => ({ client: h.client, taskQueue: `${h.taskQueuePrefix}dunning`, timeoutMs: 5_000 });

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('Temporal unreachable', () => {
  it('answers 503 with Retry-After and writes nothing; after it comes back the retry issues exactly once', async () => {
    const existing = invoiceRequest();
    expect((await h.request('POST', '/v1/invoices', { body: existing })).status).toBe(201);

    await h.relay!.stop();
    const body = invoiceRequest();
    const started = Date.now();
    const down = await h.request('POST', '/v1/invoices', { body });
    expect(down.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(down.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(down.json).toMatchObject({ status: 503, detail: expect.stringMatching(/Temporal/) });
    expect(await h.prisma.invoice.count({ where: { number: body.number } })).toBe(0);

    const ready = await h.request('GET', '/readyz', { auth: false });
    expect(ready.status).toBe(503);
    expect(ready.json.checks).toMatchObject({ database: 'ok', temporal: expect.stringMatching(/^unavailable/) });

    // Reads degrade: the record without its live status; actions are 503.
    const read = await h.request('GET', `/v1/invoices/${existing.number}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ live: null, liveError: 'Temporal unreachable' });
    expect((await h.request('POST', `/v1/invoices/${existing.number}/pause`, { body: { reason: 'x' } })).status).toBe(503);

    await h.relay!.start();
    const up = await eventually(async () => {
      const r = await h.request('POST', '/v1/invoices', { body });
      return r.status === 503 ? undefined : r;
    }, 30_000, 'Temporal back');
    expect(up.status).toBe(201);
    expect(await h.prisma.invoice.count({ where: { number: body.number } })).toBe(1);
    expect((await h.client.workflow.getHandle(`invoice-${body.number}`).describe()).status.name).toBe('RUNNING');
    expect((await h.request('GET', '/readyz', { auth: false })).status).toBe(200);

    // No orphan either way: every row has its workflow, no running workflow lacks its row.
    const rows = await h.prisma.invoice.findMany({ select: { workflowId: true } });
    for (const r of rows) await h.client.workflow.getHandle(r.workflowId).describe();
    const reconciled = await reconcileInvoices({ prisma: h.prisma, temporal: gateway() });
    expect(reconciled.recreated).toEqual([]);
  }, 50_000);
});

describe('crash between the workflow start and the row', () => {
  it('the reconciler recreates the row from the workflow memo; a repeat of the request is then idempotent', async () => {
    const body = invoiceRequest({}, { externalId: 'CUST-ORPHAN', name: 'Orphan SA' });
    const memo = { ...normaliseIssueRequest(body as never, h.config), idempotencyKey: `orphan-${body.number}` };
    await startInvoiceWorkflow({ temporal: gateway(), config: h.config }, memo);
    expect(await h.prisma.invoice.count({ where: { number: body.number } })).toBe(0);

    const result = await eventually(async () => {
      const r = await reconcileInvoices({ prisma: h.prisma, temporal: gateway() });
      return r.recreated.includes(body.number) ? r : undefined;
    }, 15_000, 'reconciler to see the workflow');
    expect(result.recreated).toEqual([body.number]);
    const row = await h.prisma.invoice.findUniqueOrThrow({ where: { number: body.number }, include: { customer: true } });
    expect(row).toMatchObject({ idempotencyKey: `orphan-${body.number}`, requestHash: memo.requestHash, workflowId: `invoice-${body.number}` });
    expect(row.customer.externalId).toBe('CUST-ORPHAN');

    const repeat = await h.request('POST', '/v1/invoices', { body, headers: { 'idempotency-key': `orphan-${body.number}` } });
    expect(repeat.status).toBe(200);
    expect((await reconcileInvoices({ prisma: h.prisma, temporal: gateway() })).recreated).toEqual([]);
  });

  it('a retry after a failed row write joins the running workflow; other content is a 409', async () => {
    const body = invoiceRequest();
    const memo = normaliseIssueRequest(body as never, h.config);
    await startInvoiceWorkflow({ temporal: gateway(), config: h.config }, memo);
    const conflicting = await h.request('POST', '/v1/invoices', { body: { ...body, amount: '999.00' } });
    expect(conflicting.status).toBe(409);
    expect(await h.prisma.invoice.count({ where: { number: body.number } })).toBe(0);
    const retry = await h.request('POST', '/v1/invoices', { body });
    expect(retry.status).toBe(201);
    expect(await h.prisma.invoice.count({ where: { number: body.number } })).toBe(1);
  });
});

describe('database unreachable', () => {
  it('answers 503 with Retry-After and starts no workflow', async () => {
    const deadDb = createPrisma(`postgresql://postgres:postgres@127.0.0.1:${await closedPort()}/postgres`);
    const app = createApp({ prisma: deadDb, temporal: h.client, config: h.config, log: pino({ level: 'silent' }), workflowTaskQueue: `${h.taskQueuePrefix}dunning` });
    const server = await new Promise<import('node:http').Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const body = invoiceRequest();
      const r = await fetch(`${url}/v1/invoices`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await r.json()) as { detail: string }).detail).toMatch(/database/i);
      await expect(h.client.workflow.getHandle(`invoice-${body.number}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await deadDb.$disconnect().catch(() => {});
    }
  });
});
