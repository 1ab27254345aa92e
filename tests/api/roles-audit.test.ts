// API key roles (viewer < collector < admin) on the real API, the audit log of ops actions
// and key changes (GET /v1/audit, append-only at the database), and the migration's
// defaults for keys created before roles existed.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { createApiKey } from '../../api/auth';
import { createPrisma } from '../../prisma/client';
import { startEmbeddedPostgres } from '../../tools/db/embedded';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from '../../tools/db/migrate';
import { main as cli } from '../../scripts/relance-cli';
import { createThrowawayDatabase, withClient } from '../db/support';
import { eventually, invoiceRequest, readTestResponse, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
const keys: Record<'viewer' | 'collector' | 'admin', string> = { viewer: '', collector: '', admin: '' };

useApiHarness((a) => (h = a));
beforeAll(async () => {
  for (const role of ['viewer', 'collector', 'admin'] as const) keys[role] = (await createApiKey(h.prisma, `${role}-key`, role)).key;
}, 120_000);

const as = (role: keyof typeof keys, method: string, p: string, body?: unknown) => h.request(method, p, { body, key: keys[role] });

describe('API key roles', () => {
  it('a viewer reads but cannot act (403 with the reason); a collector acts; an admin does both', async () => {
    const req = invoiceRequest();
    const refused = await as('viewer', 'POST', '/v1/invoices', req);
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ status: 403, requiredRole: 'collector', role: 'viewer' });
    expect(refused.json.detail).toMatch(/needs the collector role; API key "viewer-key" \(rlk_\w+\) has the viewer role/);
    expect(await h.prisma.invoice.count({ where: { number: req.number } })).toBe(0);

    expect((await as('collector', 'POST', '/v1/invoices', req)).status).toBe(201);
    const base = `/v1/invoices/${req.number}`;
    for (const role of ['viewer', 'collector', 'admin'] as const) {
      expect((await as(role, 'GET', base)).status, role).toBe(200);
      expect((await as(role, 'GET', `${base}/timeline`)).status, role).toBe(200);
      expect((await as(role, 'GET', '/v1/audit')).status, role).toBe(200);
    }

    const pause = await as('viewer', 'POST', `${base}/pause`, { reason: 'viewer tries' });
    expect(pause.status).toBe(403);
    expect(pause.json.detail).toContain('needs the collector role');
    expect((await as('viewer', 'POST', '/v1/unmatched-payments/00000000-0000-4000-8000-000000000000/assign', { invoiceNumber: req.number })).status).toBe(403);

    expect((await as('collector', 'POST', `${base}/pause`, { reason: 'customer on holiday' })).status).toBe(202);
    expect((await as('admin', 'POST', `${base}/resume`, {})).status).toBe(202);
    await eventually(async () => {
      const r = await as('viewer', 'GET', base);
      return r.json.live?.timeline.some((e: { type: string }) => e.type === 'resumed');
    }, 15_000, 'resumed');

    // No key at all is still a 401, before any role check.
    expect((await h.request('POST', `${base}/pause`, { body: { reason: 'x' }, auth: false })).status).toBe(401);
  });

  it('records each ops action with its actor in the audit log, filterable, newest first', async () => {
    const req = invoiceRequest();
    expect((await as('collector', 'POST', '/v1/invoices', req)).status).toBe(201);
    const base = `/v1/invoices/${req.number}`;
    expect((await as('collector', 'POST', `${base}/pause`, { reason: 'audit me' })).status).toBe(202);
    expect((await as('admin', 'POST', `${base}/resume`, { note: 'back' })).status).toBe(202);
    expect((await as('collector', 'POST', `${base}/payments`, { amount: '10.00', reference: 'AUD-1' })).status).toBe(201);
    // A refused action leaves no entry.
    expect((await as('viewer', 'POST', `${base}/pause`, { reason: 'refused' })).status).toBe(403);

    const all = await as('viewer', 'GET', `/v1/audit?targetType=invoice&targetId=${req.number}`);
    expect(all.status).toBe(200);
    expect(all.json.items.map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
      ['invoice.recordManualPayment', 'collector-key'],
      ['invoice.resumeDunning', 'admin-key'],
      ['invoice.pauseDunning', 'collector-key'],
      ['invoice.issue', 'collector-key'],
    ]);
    expect(all.json.items[2].detail).toEqual({ reason: 'audit me' });

    // The invoice's timeline shows each action with its actor.
    const timeline = await as('viewer', 'GET', `${base}/timeline`);
    const actions = timeline.json.entries.filter((e: { kind: string }) => e.kind === 'action');
    expect(actions.map((e: { type: string; detail: { actor: string } }) => [e.type, e.detail.actor])).toEqual([
      ['invoice.issue', 'collector-key'],
      ['invoice.pauseDunning', 'collector-key'],
      ['invoice.resumeDunning', 'admin-key'],
      ['invoice.recordManualPayment', 'collector-key'],
    ]);

    const byActor = await as('viewer', 'GET', `/v1/audit?actor=admin-key&targetId=${req.number}`);
    expect(byActor.json.items.map((e: { action: string }) => e.action)).toEqual(['invoice.resumeDunning']);
    const byPrefix = await as('viewer', 'GET', `/v1/audit?action=invoice.pause*&targetId=${req.number}`);
    expect(byPrefix.json.items).toHaveLength(1);

    const page1 = await as('viewer', 'GET', `/v1/audit?targetId=${req.number}&limit=2`);
    expect(page1.json.items).toHaveLength(2);
    const page2 = await as('viewer', 'GET', `/v1/audit?targetId=${req.number}&limit=2&cursor=${page1.json.nextCursor}`);
    expect(page2.json.items.map((e: { action: string }) => e.action)).toEqual(['invoice.pauseDunning', 'invoice.issue']);
    expect(page2.json.nextCursor).toBeNull();

    const future = await as('viewer', 'GET', `/v1/audit?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.json.items).toEqual([]);
    const bad = await as('viewer', 'GET', '/v1/audit?cursor=abc&from=yesterday');
    expect(bad.status).toBe(422);
    expect(bad.json.errors.map((e: { field: string }) => e.field)).toContain('query.from');
  });

  it('the audit table refuses UPDATE and DELETE', async () => {
    await expect(h.prisma.$executeRawUnsafe(`UPDATE "AuditEntry" SET "actor" = 'someone-else'`)).rejects.toThrow(/append-only/);
    await expect(h.prisma.$executeRawUnsafe(`DELETE FROM "AuditEntry"`)).rejects.toThrow(/append-only/);
    expect(await h.prisma.auditEntry.count({ where: { actor: 'someone-else' } })).toBe(0);
  });

  it('the CLI creates keys with a named role and audits creation and revocation', async () => {
    const prev = process.env.DATABASE_URL;
    process.env.DATABASE_URL = h.config.DATABASE_URL;
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    try {
      expect(await cli(['api-key', 'create', 'no-role'])).toBe(2);
      expect(lines.join('\n')).toMatch(/needs --role viewer\|collector\|admin/);
      expect(await cli(['api-key', 'create', 'bad-role', '--role', 'root'])).toBe(2);
      expect(await cli(['api-key', 'create', 'reporting', '--role', 'viewer'])).toBe(0);
      const key = lines.pop()!;
      const row = await h.prisma.apiKey.findFirstOrThrow({ where: { name: 'reporting' } });
      expect(row.role).toBe('viewer');
      const r = await readTestResponse(await fetch(`${h.baseUrl}/v1/invoices`, { method: 'POST', headers: { authorization: `Bearer ${key}` } }));
      expect(r.status).toBe(403);
      expect(await cli(['api-key', 'revoke', row.prefix])).toBe(0);
    } finally {
      log.mockRestore();
      err.mockRestore();
      if (prev === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = prev;
    }
    const entries = await h.prisma.auditEntry.findMany({ where: { targetType: 'apiKey' }, orderBy: { id: 'asc' } });
    expect(entries.map((e) => [e.actor, e.action])).toEqual([
      ['system:cli', 'apiKey.create'],
      ['system:cli', 'apiKey.revoke'],
    ]);
    expect(entries[0].detail).toMatchObject({ name: 'reporting', role: 'viewer' });
  });
});

describe('roles migration', () => {
  it('keys created before roles become collector, the npm start dev key admin, new keys viewer', async () => {
    const db = process.env.DATABASE_URL
      ? await createThrowawayDatabase(process.env.DATABASE_URL).then((t) => ({ url: t.url, stop: t.drop }))
      : await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
    const dir = await mkdtemp(path.join(tmpdir(), 'relance-mig-'));
    try {
      // A database as it was before roles: the first migration only.
      await cp(path.join(DEFAULT_MIGRATIONS_DIR, '20261123000000_init'), path.join(dir, '20261123000000_init'), { recursive: true });
      await applyMigrations({ databaseUrl: db.url, migrationsDir: dir });
      await withClient(db.url, (c) =>
        c.query(`INSERT INTO "ApiKey" (id, name, "keyHash", prefix) VALUES
          (gen_random_uuid(), 'billing', 'h1', 'rlk_aaaaaa'), (gen_random_uuid(), 'dev (npm start)', 'h2', 'rlk_bbbbbb')`),
      );
      await applyMigrations({ databaseUrl: db.url });
      const prisma = createPrisma(db.url, { max: 1 });
      try {
        const rows = await prisma.apiKey.findMany({ orderBy: { name: 'asc' } });
        expect(rows.map((r) => [r.name, r.role])).toEqual([
          ['billing', 'collector'],
          ['dev (npm start)', 'admin'],
        ]);
        const fresh = await prisma.apiKey.create({ data: { name: 'new', keyHash: 'h3', prefix: 'rlk_cccccc' } });
        expect(fresh.role).toBe('viewer');
      } finally {
        await prisma.$disconnect();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await db.stop();
    }
  }, 60_000);
});
