// prisma/client.ts: the generated client over @prisma/adapter-pg works against
// the embedded PGlite (create, find, interactive transaction, rollback).
// Needs `npm run db:generate` first (prisma/generated is git-ignored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommunicationStatus, createPrisma, CustomerKind, Prisma, type PrismaClient } from '../../prisma/client';
import { startEmbeddedPostgres } from '../../tools/db/embedded';
import { applyMigrations } from '../../tools/db/migrate';

describe('createPrisma on the embedded database', () => {
  let stop: () => Promise<void>;
  let prisma: PrismaClient;

  beforeAll(async () => {
    const db = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
    stop = db.stop;
    await applyMigrations({ databaseUrl: db.url });
    prisma = createPrisma(db.url);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await stop?.();
  });

  it('creates and finds records, with defaults filled in', async () => {
    const customer = await prisma.customer.create({
      data: { externalId: 'C-1', name: 'ACME SARL', kind: CustomerKind.B2B, country: 'FR', addressLines: ['1 rue de la Paix'] },
    });
    expect(customer.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(customer).toMatchObject({ language: 'fr', timeZone: 'Europe/Paris', addressLines: ['1 rue de la Paix'] });

    const invoice = await prisma.invoice.create({
      data: {
        number: 'F-2026-001',
        customer: { connect: { id: customer.id } },
        issueDate: new Date('2026-11-01'),
        dueDate: new Date('2026-12-01'),
        amountMinor: 1_234_567n,
        currency: 'EUR',
        policyId: 'default',
        policyVersion: 1,
        workflowId: 'invoice-F-2026-001',
        requestHash: 'h',
        balanceMinor: 1_234_567n,
      },
    });
    expect(invoice).toMatchObject({ stage: 'issued', depositMinor: 0n });

    const found = await prisma.invoice.findUniqueOrThrow({ where: { number: 'F-2026-001' }, include: { customer: true } });
    expect(found.customer.externalId).toBe('C-1');
    expect(found.dueDate.toISOString()).toBe('2026-12-01T00:00:00.000Z');

    const comm = await prisma.communication.create({
      data: { idempotencyKey: 'invoice-F-2026-001/s1/email', invoiceNumber: 'F-2026-001', workflowId: 'w', stepId: 's1', channel: 'email' },
    });
    expect(comm.status).toBe(CommunicationStatus.PENDING);
  });

  it('runs interactive transactions: commit, and rollback on error', async () => {
    const invoice = await prisma.invoice.findUniqueOrThrow({ where: { number: 'F-2026-001' } });

    await prisma.$transaction(async (tx) => {
      await tx.payment.create({
        data: { invoiceId: invoice.id, source: 'stripe', externalId: 'pi_1', amountMinor: 100n, currency: 'EUR', receivedAt: new Date() },
      });
      await tx.invoice.update({ where: { id: invoice.id }, data: { balanceMinor: { decrement: 100n } } });
    });

    await expect(
      prisma.$transaction(async (tx) => {
        await tx.invoice.update({ where: { id: invoice.id }, data: { balanceMinor: { decrement: 999n } } });
        // duplicate (source, externalId) → unique violation → the whole transaction rolls back
        await tx.payment.create({
          data: { invoiceId: invoice.id, source: 'stripe', externalId: 'pi_1', amountMinor: 999n, currency: 'EUR', receivedAt: new Date() },
        });
      }),
    ).rejects.toSatisfy((e: unknown) => e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002');

    const after = await prisma.invoice.findUniqueOrThrow({ where: { id: invoice.id } });
    expect(after.balanceMinor).toBe(1_234_467n);
    expect(await prisma.payment.count()).toBe(1);
  });
});
