// npm run db:start — runs the embedded PostgreSQL (PGlite) in the foreground,
// migrated, until Ctrl-C. Data in DB_DATA_DIR (default .data/pglite; "memory"
// for a throwaway one), port DB_PORT (default 54329).
import { DEFAULT_EMBEDDED_DATA_DIR, DEFAULT_EMBEDDED_PORT, startEmbeddedPostgres } from './db/embedded';
import { applyMigrations } from './db/migrate';

async function main(): Promise<void> {
  const dataDir = process.env.DB_DATA_DIR ?? DEFAULT_EMBEDDED_DATA_DIR;
  const port = process.env.DB_PORT ? Number(process.env.DB_PORT) : DEFAULT_EMBEDDED_PORT;
  const db = await startEmbeddedPostgres({ dataDir, port });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('[db:start] stopping...');
    await db.stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  try {
    await applyMigrations({ databaseUrl: db.url, log: (m) => console.log(`[db:start] ${m}`) });
  } catch (err) {
    await db.stop();
    throw err;
  }
  console.log(`[db:start] embedded PostgreSQL (data: ${dataDir}) ready. Ctrl-C to stop.`);
  console.log(`DATABASE_URL=${db.url}`);
}

main().catch((err: unknown) => {
  console.error(`[db:start] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
