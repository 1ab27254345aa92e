// Applies prisma/migrations/<name>/migration.sql without Prisma's schema engine
// (which cannot be downloaded offline), recording each one in Prisma's own
// `_prisma_migrations` table so that `prisma migrate deploy/status` on a
// connected machine agrees with what was applied here.
//
// - Migrations run in name order; each runs in ONE transaction together with its
//   `_prisma_migrations` row: a failing migration leaves neither partial DDL nor a
//   record (unlike Prisma, which records the failure and blocks until resolved).
// - A Postgres advisory lock (Prisma's own key) serialises concurrent migrators,
//   including `prisma migrate deploy`. Inside each transaction the row is checked
//   again, which also covers PGlite, where all connections share one session and
//   session-level advisory locks therefore do not exclude each other.
// - The checksum is Prisma's: sha256 (hex) of the migration.sql bytes. A file
//   edited after it was applied is an error, never silently re-applied.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The key `prisma migrate` uses for pg_advisory_lock. */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

export const DEFAULT_MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma', 'migrations');

export interface ApplyMigrationsOptions {
  databaseUrl: string;
  /** Directory of <name>/migration.sql folders. Default: prisma/migrations next to this file. */
  migrationsDir?: string;
  /** Progress messages (one line each). Default: silent. */
  log?: (message: string) => void;
  /** How long to wait for another migrator's lock before giving up. Default 60 s. */
  lockTimeoutMs?: number;
}

export interface ApplyMigrationsResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations found already applied (checksum verified). */
  skipped: string[];
}

export interface LocalMigration {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

export function checksumOf(sql: string | Buffer): string {
  return createHash('sha256').update(sql).digest('hex');
}

/** Lists <dir>/<name>/migration.sql in name order (Prisma's timestamp prefixes make that chronological). */
export async function readMigrations(migrationsDir: string = DEFAULT_MIGRATIONS_DIR): Promise<LocalMigration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrations: LocalMigration[] = [];
  for (const name of names) {
    const file = path.join(migrationsDir, name, 'migration.sql');
    const exists = await stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) continue; // Prisma ignores folders without a migration.sql as well
    const bytes = await readFile(file);
    migrations.push({ name, sql: bytes.toString('utf8'), checksum: checksumOf(bytes) });
  }
  return migrations;
}

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Turns a Postgres error into "<message> (line N: <sql line>)" when it carries a position. */
function describePgError(err: unknown, sql: string): string {
  const e = err as { message?: string; position?: string; code?: string; detail?: string };
  let text = e.message ?? String(err);
  if (e.code) text += ` [SQLSTATE ${e.code}]`;
  if (e.detail) text += ` ${e.detail}`;
  const pos = e.position ? Number(e.position) : NaN;
  if (Number.isFinite(pos) && pos > 0) {
    const before = sql.slice(0, pos - 1);
    const line = before.split('\n').length;
    const lineText = sql.split('\n')[line - 1]?.trim() ?? '';
    text += ` (line ${line}: ${lineText})`;
  }
  return text;
}

async function acquireLock(client: pg.Client, timeoutMs: number, log: (m: string) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      PRISMA_ADVISORY_LOCK_KEY,
    ]);
    if (rows[0]?.locked) return;
    if (Date.now() > deadline) {
      throw new MigrationError(
        `could not acquire the migration lock (pg_advisory_lock ${PRISMA_ADVISORY_LOCK_KEY}) within ${timeoutMs} ms: another migrator is running`,
      );
    }
    if (!told) {
      log('waiting for another migrator to finish...');
      told = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function applyMigrations(options: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = options.log ?? (() => {});
  const migrationsDir = options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR;
  const local = await readMigrations(migrationsDir);

  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  // An error event on an idle client would otherwise crash the process.
  client.on('error', () => {});
  const applied: string[] = [];
  const skipped: string[] = [];
  let locked = false;
  try {
    await acquireLock(client, options.lockTimeoutMs ?? 60_000, log);
    locked = true;
    await client.query(CREATE_MIGRATIONS_TABLE);

    const { rows } = await client.query<MigrationRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
    );
    const live = rows.filter((r) => r.rolled_back_at === null);

    const failed = live.find((r) => r.finished_at === null);
    if (failed) {
      throw new MigrationError(
        `migration ${failed.migration_name} is recorded as started but not finished in _prisma_migrations ` +
          `(a failed \`prisma migrate deploy\`?). Fix the database, then mark it with ` +
          `\`prisma migrate resolve --rolled-back ${failed.migration_name}\` or delete its row.`,
        failed.migration_name,
      );
    }

    const localNames = new Set(local.map((m) => m.name));
    for (const row of live) {
      if (!localNames.has(row.migration_name)) {
        log(`warning: ${row.migration_name} is applied in the database but missing from ${migrationsDir}`);
      }
    }

    const done = new Map(live.map((r) => [r.migration_name, r]));
    for (const m of local) {
      const row = done.get(m.name);
      if (row) {
        assertChecksum(m, row.checksum);
        skipped.push(m.name);
        continue;
      }
      const wasApplied = await applyOne(client, m, log);
      if (wasApplied) applied.push(m.name);
      else skipped.push(m.name);
    }
    log(applied.length ? `applied ${applied.length} migration(s)` : 'database is up to date');
    return { applied, skipped };
  } finally {
    if (locked) {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => {});
    }
    await client.end().catch(() => {});
  }
}

function assertChecksum(m: LocalMigration, recorded: string): void {
  if (recorded !== m.checksum) {
    throw new MigrationError(
      `migration ${m.name} was modified after it was applied: checksum of migration.sql is ${m.checksum}, ` +
        `_prisma_migrations recorded ${recorded}. Restore the original file and put the change in a new migration.`,
      m.name,
    );
  }
}

/** Applies one migration with its record in a single transaction. Returns false if someone else applied it meanwhile. */
async function applyOne(client: pg.Client, m: LocalMigration, log: (msg: string) => void): Promise<boolean> {
  log(`applying ${m.name}`);
  await client.query('BEGIN');
  try {
    // Serialises against other migrators for the length of this transaction
    // (and against `prisma migrate deploy`, which uses the same key).
    await client.query('SELECT pg_advisory_xact_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    const again = await client.query<MigrationRow>(
      `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"
        WHERE migration_name = $1 AND rolled_back_at IS NULL`,
      [m.name],
    );
    if (again.rows.length > 0) {
      await client.query('ROLLBACK');
      assertChecksum(m, again.rows[0]!.checksum);
      log(`${m.name} was applied by another process meanwhile`);
      return false;
    }
    const id = randomUUID();
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ($1, $2, $3, clock_timestamp(), 0)`,
      [id, m.checksum, m.name],
    );
    try {
      await client.query(m.sql);
    } catch (err) {
      throw new MigrationError(`migration ${m.name} failed: ${describePgError(err, m.sql)}`, m.name, { cause: err });
    }
    await client.query(
      `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
      [id],
    );
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    if (err instanceof MigrationError) throw err;
    throw new MigrationError(`migration ${m.name} failed: ${describePgError(err, m.sql)}`, m.name, { cause: err });
  }
}
