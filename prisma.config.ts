// Prisma 7 reads the connection URL from here, not from schema.prisma.
// `prisma generate` needs no database, so DATABASE_URL may be unset (offline
// generation: PRISMA_SCHEMA_ENGINE_BINARY=/bin/false, see `npm run db:generate`).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: {
    path: 'prisma/migrations',
  },
  datasource: {
    // Fallback: the embedded database of `npm run db:start` (tools/db/embedded.ts).
    url: process.env.DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:54329/postgres',
  },
});
