// The invoice row's write (customer upsert + invoice insert as one SQL statement) against
// the real database: what Prisma's own reads return, the unique rules, concurrent writers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../api/infra-errors';
import { normaliseIssueRequest, writeInvoiceRow } from '../../api/invoice-service';
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
