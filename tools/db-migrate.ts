// npm run db:migrate — applies prisma/migrations to DATABASE_URL.
// Without DATABASE_URL: starts the embedded PGlite (data in DB_DATA_DIR or
// .data/pglite, port DB_PORT or 54329), migrates it, and stops it.
import { applyMigrations } from './db/migrate';
import { DEFAULT_EMBEDDED_DATA_DIR, DEFAULT_EMBEDDED_PORT, startEmbeddedPostgres } from './db/embedded';

async function main(): Promise<void> {
  const log = (m: string) => console.log(`[db:migrate] ${m}`);
  let url = process.env.DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    const dataDir = process.env.DB_DATA_DIR ?? DEFAULT_EMBEDDED_DATA_DIR;
    const port = process.env.DB_PORT ? Number(process.env.DB_PORT) : DEFAULT_EMBEDDED_PORT;
    log(`DATABASE_URL is unset: using the embedded database in ${dataDir}`);
    const pg = await startEmbeddedPostgres({ dataDir, port });
    url = pg.url;
    stop = pg.stop;
  }
  try {
    const { applied, skipped } = await applyMigrations({ databaseUrl: url, log });
    log(`done: ${applied.length} applied, ${skipped.length} already applied`);
  } finally {
    await stop?.();
  }
}

main().catch((err: unknown) => {
  console.error(`[db:migrate] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
