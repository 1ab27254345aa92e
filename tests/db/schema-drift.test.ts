// The migrated database matches prisma/schema.prisma (no drift), checked by
// introspection (tools/db/drift.ts) since Prisma's schema engine is unavailable
// offline. The second half proves the comparator notices schema changes that
// have no migration.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../tools/db/embedded';
import {
  compareShapes,
  DEFAULT_SCHEMA_PATH,
  diffSchemaAgainstDatabase,
  expectedShapeFromSchema,
  formatDifferences,
  introspectDatabase,
  type DatabaseShape,
} from '../../tools/db/drift';
import { applyMigrations } from '../../tools/db/migrate';
import { createThrowawayDatabase, REAL_DATABASE_URL, withClient } from './support';

describe('schema.prisma vs migrations, on embedded PGlite', () => {
  let url: string;
  let stop: () => Promise<void>;
  let schemaText: string;
  let actual: DatabaseShape;

  beforeAll(async () => {
    const pg = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
    ({ url, stop } = pg);
    await applyMigrations({ databaseUrl: url });
    schemaText = await readFile(DEFAULT_SCHEMA_PATH, 'utf8');
    actual = await withClient(url, (c) => introspectDatabase(c));
  });
  afterAll(async () => {
    await stop?.();
  });

  it('the migrated database matches schema.prisma', async () => {
    const diffs = await diffSchemaAgainstDatabase({ databaseUrl: url });
    expect(formatDifferences(diffs)).toBe('');
  });

  it('introspection sees what the migration created (sanity check of the comparator itself)', () => {
    // A superset: each issue adds its own tables without editing this list.
    expect(Object.keys(actual.tables)).toEqual(expect.arrayContaining(
      ['ApiKey', 'Communication', 'Customer', 'DunningEvent', 'Invoice', 'Payment', 'UnmatchedPayment', 'WebhookDelivery'],
    ));
    expect(actual.enums).toMatchObject({
      CustomerKind: ['B2B', 'B2C'],
      CommunicationStatus: ['PENDING', 'SENT', 'FAILED_PERMANENT', 'AMBIGUOUS'],
    });
    const invoice = actual.tables.Invoice!;
    expect(invoice.columns.closedAt).toEqual({ type: 'timestamp(3) with time zone', nullable: true, default: null });
    expect(invoice.columns.depositMinor).toEqual({ type: 'bigint', nullable: false, default: '0' });
    expect(invoice.columns.currency!.type).toBe('character(3)');
    expect(invoice.indexes.Invoice_customerId_idx).toEqual({ unique: false, columns: ['customerId'], method: 'btree' });
    expect(invoice.foreignKeys.Invoice_customerId_fkey).toEqual({
      columns: ['customerId'],
      referencedTable: 'Customer',
      referencedColumns: ['id'],
      onDelete: 'RESTRICT',
      onUpdate: 'CASCADE',
    });
    expect(actual.tables.Payment!.indexes.Payment_source_externalId_key).toMatchObject({ unique: true, columns: ['source', 'externalId'] });
    expect(actual.tables.DunningEvent!.foreignKeys.DunningEvent_invoiceId_fkey!.onDelete).toBe('SET NULL');
    expect(actual.tables.Customer!.columns.addressLines).toEqual({ type: 'text[]', nullable: true, default: null });
    expect(actual.tables.Communication!.columns.status).toEqual({ type: 'CommunicationStatus', nullable: false, default: 'PENDING' });
    expect(actual.tables.DunningEvent!.columns.data).toEqual({ type: 'jsonb', nullable: false, default: '{}' });
  });

  /** Applies `edit` to schema.prisma (asserting it changed something) and returns the reported differences. */
  function driftAfter(edit: (schema: string) => string): string {
    const edited = edit(schemaText);
    expect(edited).not.toBe(schemaText);
    return formatDifferences(compareShapes(expectedShapeFromSchema(edited), actual));
  }
  const inModel = (model: string, line: string) => (s: string) => s.replace(`model ${model} {\n`, `model ${model} {\n  ${line}\n`);

  it.each([
    ['a new field without a migration', inModel('Invoice', 'note String?'), /column Invoice\.note: missing in the database/],
    ['a new model', (s: string) => `${s}\nmodel Tag {\n  id String @id @db.Uuid\n}\n`, /table Tag: missing in the database/],
    ['a removed field', (s: string) => s.replace(/\n\s*paymentLink\s+String\?/, ''), /column Invoice\.paymentLink: exists in the database but not in schema\.prisma/],
    ['a field made optional', (s: string) => s.replace(/(requestHash\s+)String\b/, '$1String?'), /column Invoice\.requestHash: should be nullable/],
    ['a native type change', (s: string) => s.replace(/(country\s+String\s+)@db\.Char\(2\)/, '$1@db.Char(3)'), /column Customer\.country: type character\(3\) expected, database has character\(2\)/],
    ['a Prisma type change', (s: string) => s.replace(/(policyVersion\s+)Int\b/, '$1BigInt'), /column Invoice\.policyVersion: type bigint expected, database has integer/],
    ['a changed default', (s: string) => s.replace('@default("fr")', '@default("en")'), /column Customer\.language: default en expected, database has fr/],
    ['a removed default', (s: string) => s.replace(/(attempts\s+Int\s+)@default\(1\)/, '$1'), /column Communication\.attempts: default \(none\) expected, database has 1/],
    ['a new index', inModel('Payment', '@@index([receivedAt])'), /index Payment_receivedAt_idx: missing in the database/],
    ['a new unique constraint', (s: string) => s.replace(/(prefix\s+String)/, '$1 @unique'), /unique index ApiKey_prefix_key: missing in the database/],
    ['an index becoming unique', (s: string) => s.replace('@@index([invoiceNumber])', '@@unique([invoiceNumber])'), /unique index Communication_invoiceNumber_key: missing/],
    ['a new enum value', (s: string) => s.replace('  B2C\n', '  B2C\n  PUBLIC_SECTOR\n'), /enum CustomerKind: values \(B2B, B2C, PUBLIC_SECTOR\) expected, database has \(B2B, B2C\)/],
    ['a new enum', (s: string) => `${s}\nenum Channel {\n  EMAIL\n}\n`, /enum Channel: missing in the database/],
    ['a changed referential action', (s: string) => s.replace(/(@relation\(fields: \[invoiceId\], references: \[id\])\)(\s+\/\/\/ Where)/, '$1, onDelete: Cascade)$2'), /foreign key Payment_invoiceId_fkey: ON DELETE CASCADE expected, database has ON DELETE RESTRICT/],
    ['a renamed table (@@map)', inModel('ApiKey', '@@map("api_keys")'), /table api_keys: missing in the database[\s\S]*table ApiKey: exists in the database/],
    ['a renamed column (@map)', (s: string) => s.replace(/(rawBody\s+String)/, '$1 @map("raw_body")'), /column WebhookDelivery\.raw_body: missing in the database/],
  ])('reports %s', (_label, edit, expected) => {
    expect(driftAfter(edit)).toMatch(expected);
  });

  it('reports database-side changes made outside migrations', async () => {
    await withClient(url, (c) => c.query('CREATE INDEX "sneaky_idx" ON "Invoice"("outcome"); ALTER TABLE "Payment" ALTER COLUMN "currency" DROP NOT NULL;'));
    try {
      const report = formatDifferences(await diffSchemaAgainstDatabase({ databaseUrl: url }));
      expect(report).toMatch(/index sneaky_idx: exists in the database \(on Invoice\(outcome\)\) but not in schema\.prisma/);
      expect(report).toMatch(/column Payment\.currency: should be NOT NULL, database allows NULL/);
    } finally {
      await withClient(url, (c) => c.query('DROP INDEX "sneaky_idx"; ALTER TABLE "Payment" ALTER COLUMN "currency" SET NOT NULL;'));
    }
  });

  it('rejects an invalid schema with Prisma’s own validation message', () => {
    expect(() => expectedShapeFromSchema(`${schemaText}\nmodel Broken {\n  id Strin @id\n}\n`)).toThrow(/schema\.prisma is invalid:[\s\S]*Strin/);
  });
});

describe.skipIf(!REAL_DATABASE_URL)('schema.prisma vs migrations, on the PostgreSQL server (DATABASE_URL)', () => {
  it('the migrated throwaway database matches schema.prisma', async () => {
    const db = await createThrowawayDatabase(REAL_DATABASE_URL!);
    try {
      await applyMigrations({ databaseUrl: db.url });
      const diffs = await diffSchemaAgainstDatabase({ databaseUrl: db.url });
      expect(formatDifferences(diffs)).toBe('');
    } finally {
      await db.drop();
    }
  });
});
