// `npm run relance -- …`: API keys (hashed at rest), unmatched payments, timelines.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createApiKey, hashApiKey, requireApiKey, revokeApiKey } from '../../api/auth';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { main } from '../../scripts/relance-cli';
import { startTestDatabase, type TestDatabase } from './harness';

let db: TestDatabase;
let prisma: PrismaClient;
const savedUrl = process.env.DATABASE_URL;

beforeAll(async () => {
  db = await startTestDatabase();
  prisma = createPrisma(db.url);
  process.env.DATABASE_URL = db.url;
});
afterAll(async () => {
  if (savedUrl === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = savedUrl;
  await prisma?.$disconnect();
  await db?.stop();
});

async function run(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  try {
    return { code: await main(argv), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

describe('relance CLI', () => {
  it('creates API keys stored only as their sha256, lists and revokes them', async () => {
    const created = await run('api-key', 'create', 'billing-system', '--role', 'collector');
    expect(created.code).toBe(0);
    const key = created.out.split('\n').pop()!;
    expect(key).toMatch(/^rlk_[A-Za-z0-9_-]{32}$/);
    const row = await prisma.apiKey.findFirstOrThrow({ where: { name: 'billing-system' } });
    expect(row.keyHash).toBe(hashApiKey(key));
    expect(JSON.stringify(row)).not.toContain(key);

    const list = await run('api-key', 'list');
    expect(list.out).toContain('billing-system');
    expect(list.out).not.toContain(key);
    expect((await run('api-key', 'revoke', row.prefix)).code).toBe(0);
    expect((await prisma.apiKey.findUniqueOrThrow({ where: { id: row.id } })).revokedAt).not.toBeNull();
    expect((await run('api-key')).code).toBe(2);
  });

  it('lists unmatched payments and shows a timeline', async () => {
    await prisma.unmatchedPayment.create({
      data: { source: 'bank', externalId: 'tx-9', invoiceNumber: 'F-404', amountMinor: 12345n, currency: 'EUR', receivedAt: new Date('2026-11-20T10:00:00Z'), reason: 'unknown-invoice' },
    });
    const unmatched = await run('unmatched');
    expect(unmatched.code).toBe(0);
    expect(unmatched.out).toMatch(/tx-9\s+F-404\s+123\.45 EUR\s+unknown-invoice/);

    const customer = await prisma.customer.create({ data: { externalId: 'C-CLI', name: 'Cli', kind: 'B2B', country: 'FR' } });
    const inv = await prisma.invoice.create({
      data: {
        number: 'F-CLI-1', customerId: customer.id, issueDate: new Date('2026-10-01'), dueDate: new Date('2026-10-31'),
        amountMinor: 1000n, currency: 'EUR', policyId: 'fr-b2b-default', policyVersion: 1, workflowId: 'invoice-F-CLI-1',
        requestHash: 'x', balanceMinor: 1000n,
      },
    });
    await prisma.dunningEvent.create({ data: { invoiceId: inv.id, invoiceNumber: inv.number, workflowId: inv.workflowId, eventKey: 'k1', type: 'issued', at: new Date('2026-10-01T08:00:00Z') } });
    await prisma.communication.create({
      data: { idempotencyKey: 'invoice-F-CLI-1/reminder-1/email', invoiceId: inv.id, invoiceNumber: inv.number, workflowId: inv.workflowId, stepId: 'reminder-1', channel: 'email', status: 'SENT', sentAt: new Date('2026-11-07T09:00:00Z') },
    });
    const timeline = await run('timeline', 'F-CLI-1');
    expect(timeline.code).toBe(0);
    const rows = timeline.out.split('\n').slice(2);
    expect(rows[0]).toMatch(/^2026-10-01T08:00:00.000Z\s+event\s+issued/);
    expect(rows[1]).toMatch(/^2026-11-07T09:00:00.000Z\s+communication\s+email\.sent/);
    const missing = await run('timeline', 'F-NONE');
    expect(missing.code).toBe(1);
    expect(missing.out).toContain('does not exist');
  });
});

describe('API key look-up cache (API_KEY_CACHE_SECONDS)', () => {
  async function serve(cacheSeconds: number) {
    const express = (await import('express')).default;
    const app = express();
    app.use(requireApiKey(prisma, { cacheSeconds }));
    app.get('/x', (_req, res) => void res.json({ key: res.locals.apiKey.prefix }));
    app.use((err: { status?: number }, _req: unknown, res: { status(n: number): { end(): void } }, _next: unknown) => res.status(err.status ?? 500).end());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    return { get: (key: string) => fetch(url, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status), close: () => server.close() };
  }

  it('a revoked key keeps working for at most the cache time, then gets 401; with 0 at once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const cached = await serve(5);
    const uncached = await serve(0);
    try {
      const a = await createApiKey(prisma, 'cache-a');
      const b = await createApiKey(prisma, 'cache-b');
      expect(await cached.get(a.key)).toBe(200);
      expect(await uncached.get(b.key)).toBe(200);
      await revokeApiKey(prisma, a.prefix);
      await revokeApiKey(prisma, b.prefix);
      expect(await uncached.get(b.key)).toBe(401);
      expect(await cached.get(a.key)).toBe(200); // remembered
      vi.setSystemTime(Date.now() + 5_001);
      expect(await cached.get(a.key)).toBe(401);
      expect(await cached.get('rlk_unknown')).toBe(401);
    } finally {
      vi.useRealTimers();
      cached.close();
      uncached.close();
    }
  });
});
