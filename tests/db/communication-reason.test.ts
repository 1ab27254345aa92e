// Communication.reason (issue 12): the state once kept in the error text ("retrying: ...",
// "skipped: settled meanwhile") has a column; the migration fills it for rows already written.
import { readdirSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../tools/db/embedded';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR } from '../../tools/db/migrate';
import { withClient } from './support';

const REASON_MIGRATION = '20261203093000_communication_reason';
let pg: EmbeddedPostgres;
let before: string;

beforeAll(async () => {
  pg = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
  // The database as it was before the column: every shipped migration older than it.
  before = await mkdtemp(path.join(tmpdir(), 'relance-reason-'));
  const older = readdirSync(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name < REASON_MIGRATION);
  for (const d of older) await cp(path.join(DEFAULT_MIGRATIONS_DIR, d.name), path.join(before, d.name), { recursive: true });
  await applyMigrations({ databaseUrl: pg.url, migrationsDir: before });
}, 120_000);

afterAll(async () => {
  await pg?.stop();
  if (before) await rm(before, { recursive: true, force: true });
});

it('backfills the reason of rows written before the column from their error text', async () => {
  const rows: Array<[string, string, string | null]> = [
    ['k/retrying', 'PENDING', 'retrying: ProviderUnavailable [451]: try later'],
    ['k/skipped', 'FAILED_PERMANENT', 'skipped: settled meanwhile'],
    ['k/skipped-resumed', 'AMBIGUOUS', 'skipped: settled meanwhile; an earlier attempt was interrupted and may have reached smtp'],
    ['k/interrupted', 'PENDING', null],
    ['k/refused', 'FAILED_PERMANENT', 'InvalidRecipient [550]: no such user'],
    ['k/sent', 'SENT', null],
  ];
  await withClient(pg.url, async (c) => {
    for (const [key, status, error] of rows) {
      await c.query(
        `INSERT INTO "Communication" (id, "idempotencyKey", "invoiceNumber", "workflowId", "stepId", channel, status, error, "updatedAt")
         VALUES (gen_random_uuid(), $1, 'INV-1', 'invoice-INV-1', 'reminder-1', 'email', $2, $3, now())`,
        [key, status, error],
      );
    }
  });

  await applyMigrations({ databaseUrl: pg.url });

  const reasons = await withClient(pg.url, async (c) => {
    const { rows: out } = await c.query<{ idempotencyKey: string; reason: string | null }>('SELECT "idempotencyKey", reason FROM "Communication" ORDER BY "idempotencyKey"');
    return Object.fromEntries(out.map((r) => [r.idempotencyKey, r.reason]));
  });
  expect(reasons).toEqual({
    'k/retrying': 'retrying',
    'k/skipped': 'skipped-settled',
    'k/skipped-resumed': 'skipped-settled',
    'k/interrupted': null,
    'k/refused': null,
    'k/sent': null,
  });
});
