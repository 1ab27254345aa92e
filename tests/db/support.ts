// Helpers for tests/db: throwaway databases on the real server CI provides
// (DATABASE_URL), and resetting a database between tests.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const REAL_DATABASE_URL = process.env.DATABASE_URL;

export interface ThrowawayDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** CREATE DATABASE relance_test_<random> on the server of `adminUrl`; drop() removes it (WITH FORCE). */
export async function createThrowawayDatabase(adminUrl: string): Promise<ThrowawayDatabase> {
  const name = `relance_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Empties the public schema (tables, enums, _prisma_migrations). */
export async function resetPublicSchema(url: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
  });
}

export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Does table `name` exist in public? */
export async function tableExists(url: string, name: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [`public."${name}"`]);
    return rows[0]?.t != null;
  });
}
