// npm run db:check — does the database match prisma/schema.prisma?
// With DATABASE_URL: checks that (already migrated) database.
// Without: migrates a throwaway in-memory PGlite and checks it, i.e. verifies
// that prisma/migrations produce exactly what schema.prisma describes.
// Exit code 1 on drift.
import { diffSchemaAgainstDatabase, formatDifferences } from './db/drift';
import { startEmbeddedPostgres } from './db/embedded';
import { applyMigrations } from './db/migrate';

async function main(): Promise<number> {
  let url = process.env.DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    console.log('[db:check] DATABASE_URL is unset: checking prisma/migrations on a throwaway in-memory database');
    const db = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
    stop = db.stop;
    url = db.url;
    await applyMigrations({ databaseUrl: url });
  }
  try {
    const diffs = await diffSchemaAgainstDatabase({ databaseUrl: url });
    if (diffs.length === 0) {
      console.log('[db:check] the database matches prisma/schema.prisma');
      return 0;
    }
    console.error(`[db:check] ${diffs.length} difference(s) between prisma/schema.prisma and the database:`);
    console.error(formatDifferences(diffs));
    console.error(
      '[db:check] write a migration under prisma/migrations/<timestamp>_<name>/migration.sql for these' +
        (process.env.DATABASE_URL ? ' (or, if this database is simply behind, run npm run db:migrate).' : '.'),
    );
    return 1;
  } finally {
    await stop?.();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[db:check] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
