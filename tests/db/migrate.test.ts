// tools/db/migrate.ts: idempotence, atomic failure, checksum guard, concurrency.
// Runs against an in-memory PGlite always, and against a throwaway database on
// the real PostgreSQL server when DATABASE_URL is set (CI).
import { readdirSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile, mkdir, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../tools/db/embedded';
import { applyMigrations, checksumOf, DEFAULT_MIGRATIONS_DIR, MigrationError } from '../../tools/db/migrate';
import {
  createThrowawayDatabase,
  REAL_DATABASE_URL,
  resetPublicSchema,
  tableExists,
  withClient,
  type ThrowawayDatabase,
} from './support';

const INIT = '20261123000000_init';
const BROKEN = '20261124000000_broken';
// Every migration the project ships, in the order they apply (names sort by timestamp).
const ALL = readdirSync(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

interface Target {
  name: string;
  skip: boolean;
  start(): Promise<{ url: string; stop(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'embedded PGlite (in memory)',
    skip: false,
    async start() {
      const pg: EmbeddedPostgres = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
      return { url: pg.url, stop: pg.stop };
    },
  },
  {
    name: 'PostgreSQL server (DATABASE_URL, throwaway database)',
    skip: !REAL_DATABASE_URL,
    async start() {
      const db: ThrowawayDatabase = await createThrowawayDatabase(REAL_DATABASE_URL!);
      return { url: db.url, stop: db.drop };
    },
  },
];

async function migrationRows(url: string) {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{
      id: string;
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      applied_steps_count: number;
    }>('SELECT id, migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name');
    return rows;
  });
}

/** A temp migrations dir holding a copy of the real init migration. */
async function tempMigrationsDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'relance-migrations-'));
  await cp(path.join(DEFAULT_MIGRATIONS_DIR, INIT), path.join(dir, INIT), { recursive: true });
  return dir;
}

for (const target of targets) {
  describe.skipIf(target.skip)(`applyMigrations on ${target.name}`, () => {
    let url: string;
    let stop: () => Promise<void>;
    const tempDirs: string[] = [];

    beforeAll(async () => {
      ({ url, stop } = await target.start());
    });
    afterAll(async () => {
      await stop?.();
    });
    beforeEach(async () => {
      await resetPublicSchema(url);
    });
    afterEach(async () => {
      await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    });

    it('applies the migrations once; a second run is a no-op', async () => {
      const first = await applyMigrations({ databaseUrl: url });
      expect(first).toEqual({ applied: ALL, skipped: [] });

      const rows = await migrationRows(url);
      expect(rows.map((r) => r.migration_name)).toEqual(ALL);
      const sql = await readFile(path.join(DEFAULT_MIGRATIONS_DIR, INIT, 'migration.sql'));
      expect(rows[0]).toMatchObject({ migration_name: INIT, checksum: checksumOf(sql), applied_steps_count: 1 });
      expect(rows[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(rows[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(rows[0]!.finished_at).toBeInstanceOf(Date);
      expect(await tableExists(url, 'Invoice')).toBe(true);

      const second = await applyMigrations({ databaseUrl: url });
      expect(second).toEqual({ applied: [], skipped: ALL });
      expect(await migrationRows(url)).toEqual(rows);
    });

    it('a failing migration leaves neither partial DDL nor a record, and names itself in the error', async () => {
      const dir = await tempMigrationsDir();
      tempDirs.push(dir);
      await mkdir(path.join(dir, BROKEN));
      const brokenFile = path.join(dir, BROKEN, 'migration.sql');
      await writeFile(
        brokenFile,
        [
          '-- CreateTable',
          'CREATE TABLE "Partial" ("id" INTEGER NOT NULL);',
          '',
          '-- AlterTable',
          'ALTER TABLE "NoSuchTable" ADD COLUMN "x" INTEGER;',
          '',
        ].join('\n'),
      );

      const error = await applyMigrations({ databaseUrl: url, migrationsDir: dir }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MigrationError);
      expect((error as MigrationError).migration).toBe(BROKEN);
      expect((error as Error).message).toContain(BROKEN);
      expect((error as Error).message).toMatch(/relation "NoSuchTable" does not exist/);

      // The good migration before it stays applied; the broken one left nothing.
      expect((await migrationRows(url)).map((r) => r.migration_name)).toEqual([INIT]);
      expect(await tableExists(url, 'Partial')).toBe(false);
      expect(await tableExists(url, 'Invoice')).toBe(true);

      // Once fixed, it applies (and only it).
      await writeFile(brokenFile, 'CREATE TABLE "Partial" ("id" INTEGER NOT NULL);\n');
      expect(await applyMigrations({ databaseUrl: url, migrationsDir: dir })).toEqual({ applied: [BROKEN], skipped: [INIT] });
      expect(await tableExists(url, 'Partial')).toBe(true);
    });

    it('refuses a migration whose file changed after it was applied', async () => {
      const dir = await tempMigrationsDir();
      tempDirs.push(dir);
      await applyMigrations({ databaseUrl: url, migrationsDir: dir });
      await appendFile(path.join(dir, INIT, 'migration.sql'), '\n-- edited afterwards\n');

      await expect(applyMigrations({ databaseUrl: url, migrationsDir: dir })).rejects.toThrow(
        new RegExp(`migration ${INIT} was modified after it was applied: checksum`),
      );
    });

    it('two migrators started at once apply each migration exactly once', async () => {
      const results = await Promise.all([
        applyMigrations({ databaseUrl: url }),
        applyMigrations({ databaseUrl: url }),
        applyMigrations({ databaseUrl: url }),
      ]);
      // Each migration applied by exactly one of the three, skipped by the two others.
      expect(results.flatMap((r) => r.applied).sort()).toEqual(ALL);
      expect(results.flatMap((r) => r.skipped).sort()).toEqual([...ALL, ...ALL].sort());
      expect(await migrationRows(url)).toHaveLength(ALL.length);
    });

    it('refuses to run over a migration Prisma recorded as failed', async () => {
      await applyMigrations({ databaseUrl: url });
      await withClient(url, (c) =>
        c.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES (gen_random_uuid()::text, repeat('0', 64), '20261125000000_half_done', now())`,
        ),
      );
      await expect(applyMigrations({ databaseUrl: url })).rejects.toThrow(/20261125000000_half_done is recorded as started but not finished/);
    });
  });
}
