// The OpenAPI document (generated from the zod schemas) is structurally valid and covers
// every express route; Swagger UI, health and metrics answer without an API key.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { Application } from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { testConfig } from './harness';

let app: Application;
let server: Server;
let base: string;
let prisma: PrismaClient;
let connection: Connection;

beforeAll(async () => {
  // Nothing here touches the database or Temporal: both point at nowhere.
  prisma = createPrisma('postgresql://postgres:postgres@127.0.0.1:1/none');
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  app = createApp({ prisma, temporal: new Client({ connection }), config: testConfig(), log: pino({ level: 'silent' }) });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await connection?.close().catch(() => {});
  await prisma?.$disconnect().catch(() => {});
});

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** "METHOD /path/{param}" of every route express would answer. */
function expressRoutes(stack: Layer[]): string[] {
  const out: string[] = [];
  for (const layer of stack) {
    if (layer.route) {
      for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
    } else if (layer.handle?.stack) {
      out.push(...expressRoutes(layer.handle.stack));
    }
  }
  return out;
}

type Json = Record<string, any>;

function resolveRef(doc: Json, ref: string): unknown {
  expect(ref.startsWith('#/'), ref).toBe(true);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Json | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document covering every route', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Json;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Relance API', version: expect.any(String) });
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });

    const documented: string[] = [];
    const operationIds = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      expect(path.startsWith('/'), path).toBe(true);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const [method, op] of Object.entries(item as Json)) {
        expect(['get', 'post', 'put', 'patch', 'delete']).toContain(method);
        documented.push(`${method.toUpperCase()} ${path}`);
        expect(op.operationId, `${method} ${path}`).toMatch(/^[A-Za-z]+$/);
        expect(operationIds.has(op.operationId), `duplicate operationId ${op.operationId}`).toBe(false);
        operationIds.add(op.operationId);
        expect(op.summary).toBeTruthy();
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        for (const [code, response] of Object.entries(op.responses as Json)) {
          expect(code === 'default' || /^[1-5]\d\d$/.test(code), code).toBe(true);
          expect(response.description, `${method} ${path} ${code}`).toBeTruthy();
        }
        const pathParams = (op.parameters ?? []).filter((p: Json) => p.in === 'path');
        expect(pathParams.map((p: Json) => p.name).sort()).toEqual([...templated].sort());
        for (const p of pathParams) expect(p.required).toBe(true);
        if (method === 'post') expect(op.requestBody?.content, `${method} ${path} body`).toBeTruthy();
        const problem = op.responses.default?.content?.['application/problem+json'];
        expect(problem?.schema?.$ref).toBe('#/components/schemas/Problem');
      }
    }
    for (const ref of collectRefs(doc)) expect(resolveRef(doc, ref), ref).toBeDefined();

    const routes = expressRoutes((app as unknown as { router: { stack: Layer[] } }).router.stack);
    expect(new Set(routes)).toEqual(new Set(documented));
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /v1/invoices',
        'POST /v1/invoices/import',
        'GET /v1/invoices',
        'GET /v1/invoices/{number}',
        'GET /v1/invoices/{number}/timeline',
        'GET /v1/invoices/{number}/reminders/{step}/preview',
        'POST /v1/invoices/{number}/payments',
        'POST /v1/invoices/{number}/instalment-plan',
        'POST /v1/invoices/{number}/promise-to-pay',
        'POST /v1/invoices/{number}/disputes',
        'POST /v1/invoices/{number}/disputes/resolve',
        'POST /v1/invoices/{number}/pause',
        'POST /v1/invoices/{number}/resume',
        'POST /v1/invoices/{number}/cancel',
        'POST /v1/invoices/{number}/agency-outcome',
        'POST /v1/webhooks/payments',
        'POST /v1/webhooks/stripe',
        'GET /v1/unmatched-payments',
        'POST /v1/unmatched-payments/{id}/assign',
        'GET /v1/reports/aging',
        'GET /v1/reports/dso',
        'GET /v1/reports/tracking-sheet.csv',
        'GET /v1/audit',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
        'GET /openapi.json',
      ]),
    );
    // Webhooks and operations need no API key; everything else does.
    expect(doc.paths['/v1/webhooks/stripe'].post.security).toEqual([]);
    expect(doc.paths['/v1/invoices'].post.security).toEqual([{ apiKey: ['collector'] }]);
    // Every operation behind a key names its least role and answers 403 below it.
    for (const [path, ops] of Object.entries<Json>(doc.paths)) {
      for (const [method, op] of Object.entries<Json>(ops)) {
        if (!op.security?.length) continue;
        expect(['viewer', 'collector', 'admin'], `${method} ${path}`).toContain(op['x-relance-role']);
        expect(op.security).toEqual([{ apiKey: [op['x-relance-role']] }]);
        expect(op.responses['403'], `${method} ${path}`).toBeDefined();
      }
    }
    expect(doc.paths['/v1/invoices/{number}/pause'].post['x-relance-role']).toBe('collector');
    expect(doc.paths['/v1/invoices/{number}/timeline'].get['x-relance-role']).toBe('viewer');
    expect(doc.paths['/v1/invoices/{number}/pause'].post.description).toContain('**Role:** collector or admin');
    // The schema carries the validation rules.
    const issue = doc.components.schemas.IssueInvoiceRequest;
    expect(issue.required).toEqual(expect.arrayContaining(['number', 'issueDate', 'amount', 'currency', 'customer']));
    // dueDate may come from the customer's agreed payment term.
    expect(issue.required).not.toContain('dueDate');
  });

  it('serves Swagger UI, liveness and metrics without a key; 404s are problems', async () => {
    const docs = await fetch(`${base}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger-ui');
    const health = await fetch(`${base}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('x-content-type-options')).toBe('nosniff'); // helmet
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('relance_http_request_duration_seconds_bucket');
    expect(metrics).toMatch(/route="\/healthz"/);
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const id = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'req-abc.1' } });
    expect(id.headers.get('x-request-id')).toBe('req-abc.1');
  });
});

describe('api/server.ts', () => {
  it('listens, answers, and closes gracefully after the in-flight request', async () => {
    const { startApi } = await import('../../api/server');
    const api = await startApi({
      config: testConfig({ API_RECONCILE_INTERVAL_SECONDS: '0', API_SHUTDOWN_TIMEOUT_MS: '8000' }),
      prisma,
      temporal: new Client({ connection }),
      log: pino({ level: 'silent' }),
      port: 0,
      host: '127.0.0.1',
    });
    // /readyz waits for the (unreachable) dependencies: in flight while the server closes.
    const inFlight = fetch(`${api.url}/readyz`);
    await new Promise((r) => setTimeout(r, 50));
    const closed = api.close();
    const res = await inFlight;
    expect(res.status).toBe(503);
    await closed;
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
  });
});
