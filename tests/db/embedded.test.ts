// tools/db/embedded.ts: data persists in its directory across stop/start, and a
// taken port is reported plainly.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../tools/db/embedded';
import { withClient } from './support';

describe('embedded PostgreSQL (PGlite over a socket)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('keeps data in its directory across stop and start', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'relance-pglite-'));
    dirs.push(dataDir);

    const first = await startEmbeddedPostgres({ dataDir, port: 0 });
    expect(first.url).toMatch(/^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
    await withClient(first.url, async (c) => {
      await c.query('CREATE TABLE kept (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), label text NOT NULL)');
      await c.query(`INSERT INTO kept (label) VALUES ('survives a restart')`);
    });
    await first.stop();
    await first.stop(); // idempotent

    const second = await startEmbeddedPostgres({ dataDir, port: 0 });
    try {
      const rows = await withClient(second.url, async (c) => (await c.query<{ id: string; label: string }>('SELECT id, label FROM kept')).rows);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.label).toBe('survives a restart');
      expect(rows[0]!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/); // gen_random_uuid() works in PGlite
    } finally {
      await second.stop();
    }
  });

  it('says which port is taken and how to choose another', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await expect(startEmbeddedPostgres({ dataDir: 'memory', port })).rejects.toThrow(`port ${port} is taken (set DB_PORT`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('serves several client connections at once (maxConnections > 1)', async () => {
    const db = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => withClient(db.url, async (c) => (await c.query<{ n: number }>('SELECT $1::int AS n', [i])).rows[0]!.n)),
      );
      expect(results).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await db.stop();
    }
  });
});
