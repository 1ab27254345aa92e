// The invoice row's write (customer upsert + invoice insert as one SQL statement) and its
// look-up by number or Idempotency-Key (one SQL statement) against the real database: what
// Prisma's own reads return, the unique rules, concurrent writers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../api/infra-errors';
import { findInvoiceRows, normaliseIssueRequest, writeInvoiceRow } from '../../api/invoice-service';
import type { IssueInvoiceRequest } from '../../api/schemas';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { invoiceRequest, startTestDatabase, testConfig, type TestDatabase } from './harness';

let db: TestDatabase;
let prisma: PrismaClient;
beforeAll(async () => {
  db = await startTestDatabase();
  prisma = createPrisma(db.url, { max: process.env.DATABASE_URL ? 8 : 1 });
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.stop();
});

const memoOf = (req: Record<string, unknown>, idempotencyKey?: string) => ({
  ...normaliseIssueRequest(req as unknown as IssueInvoiceRequest, testConfig()),
  idempotencyKey,
});

describe('writeInvoiceRow', () => {
  it('returns exactly what Prisma reads back (types, dates, bigints, the customer)', async () => {
    const req = invoiceRequest({ amount: '1234.56', deposit: '34.56', paymentLink: 'https://pay.test/x' }, { externalId: `C-${Date.now()}` });
    const written = await writeInvoiceRow(prisma, memoOf(req, `idem-${Date.now()}`));
    const read = await prisma.invoice.findUniqueOrThrow({ where: { number: req.number }, include: { customer: true } });
    expect(written).toEqual(read);
    expect(written.amountMinor).toBe(123_456n);
    expect(written.balanceMinor).toBe(120_000n);
    expect(written.issueDate).toBeInstanceOf(Date);
  });

  it('a second row with the same number is a unique violation; nothing else is written', async () => {
    const req = invoiceRequest({}, { externalId: `C2-${Date.now()}` });
    await writeInvoiceRow(prisma, memoOf(req));
    const err = await writeInvoiceRow(prisma, memoOf(req)).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
    expect(await prisma.invoice.count({ where: { number: req.number } })).toBe(1);
  });

  it('first invoices of one new customer at once share one customer row, whose details follow the latest write', async () => {
    const externalId = `C3-${Date.now()}`;
    const reqs = Array.from({ length: 6 }, (_, i) => invoiceRequest({}, { externalId, name: `Name ${i}` }));
    const rows = await Promise.all(reqs.map((r) => writeInvoiceRow(prisma, memoOf(r))));
    expect(new Set(rows.map((r) => r.customerId)).size).toBe(1);
    expect(await prisma.customer.count({ where: { externalId } })).toBe(1);
    await writeInvoiceRow(prisma, memoOf(invoiceRequest({}, { externalId, name: 'Renamed SARL' })));
    expect((await prisma.customer.findUniqueOrThrow({ where: { externalId } })).name).toBe('Renamed SARL');
  });
});

describe('findInvoiceRows', () => {
  const read = (number: string) => prisma.invoice.findUniqueOrThrow({ where: { number }, include: { customer: true } });
  const one = async (number: string, key?: string) => (await findInvoiceRows(prisma, [{ number, key }]))[0];
  const byNumber = (a: { number: string }, b: { number: string }) => (a.number < b.number ? -1 : 1);

  it('finds by number, returning exactly what Prisma reads (also a closed invoice with its nullable fields set)', async () => {
    const req = invoiceRequest({ amount: '99.99', deposit: '0.99' }, { externalId: `F1-${Date.now()}` });
    await writeInvoiceRow(prisma, memoOf(req));
    expect(await one(req.number)).toEqual([await read(req.number)]);
    await prisma.invoice.update({
      where: { number: req.number },
      data: { stage: 'paid', balanceMinor: 0n, closedAt: new Date('2026-01-02T03:04:05.678Z'), outcome: 'paid' },
    });
    const [row] = await one(req.number, `no-such-key-${Date.now()}`);
    expect(row).toEqual(await read(req.number));
    expect(row.closedAt).toEqual(new Date('2026-01-02T03:04:05.678Z'));
  });

  it('finds by Idempotency-Key under another number, and both rows when key and number name two invoices', async () => {
    const key = `idem-f2-${Date.now()}`;
    const a = invoiceRequest({}, { externalId: `F2-${Date.now()}` });
    const b = invoiceRequest({}, { externalId: `F2b-${Date.now()}`, address: undefined, phone: undefined, email: undefined });
    await writeInvoiceRow(prisma, memoOf(a, key));
    await writeInvoiceRow(prisma, memoOf(b));
    expect(await one(`other-${Date.now()}`, key)).toEqual([await read(a.number)]);
    expect((await one(b.number, key)).sort(byNumber)).toEqual([await read(a.number), await read(b.number)].sort(byNumber));
    expect(await one(a.number, key)).toEqual([await read(a.number)]);
  });

  it('finds nothing for an unknown number and key', async () => {
    expect(await one(`none-${Date.now()}`, `none-${Date.now()}`)).toEqual([]);
    expect(await one(`none-${Date.now()}`)).toEqual([]);
  });

  it('answers several look-ups in one query, each with exactly its own rows', async () => {
    const key = `idem-f4-${Date.now()}`;
    const a = invoiceRequest({}, { externalId: `F4a-${Date.now()}` });
    const b = invoiceRequest({}, { externalId: `F4b-${Date.now()}` });
    await writeInvoiceRow(prisma, memoOf(a, key));
    await writeInvoiceRow(prisma, memoOf(b));
    const lookups = [{ number: a.number }, { number: `none-${Date.now()}` }, { number: b.number, key }, { number: `other-${Date.now()}`, key }, { number: b.number }];
    const got = await findInvoiceRows(prisma, lookups);
    const alone = await Promise.all(lookups.map((q) => one(q.number, q.key)));
    expect(got.map((rows) => rows.sort(byNumber))).toEqual(alone.map((rows) => rows.sort(byNumber)));
    expect(got.map((rows) => rows.map((r) => r.number).sort())).toEqual([[a.number], [], [a.number, b.number].sort(), [a.number], [b.number]]);
  });
});
