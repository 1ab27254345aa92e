// tools/db/embedded.ts under concurrent client connections. PGlite is a single
// Postgres session, so the server must give one connection the backend from
// its first message to an idle ReadyForQuery (and across a whole transaction),
// or extended-protocol messages and transactions of different connections
// interleave ("bind message supplies 4 parameters, but prepared statement ""
// requires 2", reads returning other requests' rows).
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrisma, CustomerKind, type PrismaClient } from '../../prisma/client';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../tools/db/embedded';
import { applyMigrations } from '../../tools/db/migrate';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A frontend message: type byte, int32 length, body. */
function frontendMessage(type: string, ...parts: (string | number[])[]): Buffer {
  const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(`${p}\0`) : Buffer.from(p))));
  const head = Buffer.alloc(5);
  head.write(type, 0);
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

/** Raw connection that has done the startup handshake (so tests can stop mid-protocol, which pg never does). */
async function rawConnection(port: number): Promise<{ socket: net.Socket; received: () => string }> {
  const socket = net.connect(port, '127.0.0.1');
  let seen = Buffer.alloc(0);
  socket.on('data', (d) => (seen = Buffer.concat([seen, d])));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0');
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  socket.write(Buffer.concat([startup, params]));
  // Startup ends with ReadyForQuery: 'Z', length 5, status.
  for (let i = 0; i < 200 && !seen.includes(Buffer.from([0x5a, 0, 0, 0, 5])); i++) await pause(10);
  return { socket, received: () => seen.toString('latin1') };
}

describe('embedded PostgreSQL with many concurrent connections', () => {
  let db: EmbeddedPostgres;
  let pool: pg.Pool;
  let dataDir: string;

  beforeAll(async () => {
    // On disk like the dev launcher: file-system syncs make the server yield to the event loop between messages.
    dataDir = await mkdtemp(path.join(tmpdir(), 'relance-pglite-concurrency-'));
    db = await startEmbeddedPostgres({ dataDir, port: 0, maxConnections: 40 });
    pool = new pg.Pool({ connectionString: db.url, max: 10 });
    await pool.query('CREATE TABLE item (id int PRIMARY KEY, label text NOT NULL)');
    await pool.query(`INSERT INTO item SELECT g, 'item-' || g FROM generate_series(1, 100) g`);
    await pool.query('CREATE TABLE account (id int PRIMARY KEY, balance int NOT NULL)');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 200 concurrent parameterized queries, each with its own parameters and rows', async () => {
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const n = 1 + (i % 5); // 1..5 parameters, so mixed-up Bind/Parse pairs fail loudly
        const values = Array.from({ length: n }, (_, k) => i * 10 + k);
        const placeholders = values.map((_, k) => `$${k + 1}::int`).join(', ');
        const { rows } = await pool.query<{ xs: number[]; label: string }>(
          `SELECT ARRAY[${placeholders}] AS xs, (SELECT label FROM item WHERE id = $1::int % 100 + 1) AS label`,
          values,
        );
        return { i, values, row: rows[0]! };
      }),
    );
    const elapsed = performance.now() - started;
    for (const { i, values, row } of results) {
      expect(row.xs).toEqual(values);
      expect(row.label).toBe(`item-${((i * 10) % 100) + 1}`);
    }
    console.info(`200 concurrent queries over a pool of 10: ${Math.round(elapsed)} ms (${Math.round(200_000 / elapsed)} queries/s)`);
  });

  it("keeps a connection's unnamed statement from Parse to Sync, whatever other connections send meanwhile", async () => {
    // What pg does in one write, spread over round trips so the other connection's messages land in between.
    const a = await rawConnection(db.port);
    const b = await rawConnection(db.port);
    try {
      a.socket.write(frontendMessage('P', '', 'SELECT $1::int + $2::int AS sum', [0, 0]));
      await pause(30);
      b.socket.write(
        Buffer.concat([
          frontendMessage('P', '', 'SELECT $1::text || $2::text || $3::text || $4::text AS s', [0, 0]),
          // Bind: no format codes, 4 parameters of 1 byte each, no result format codes.
          frontendMessage('B', '', '', [0, 0, 0, 4], ...['w', 'x', 'y', 'z'].flatMap((v) => [[0, 0, 0, 1], [v.charCodeAt(0)]]), [0, 0]),
          frontendMessage('E', '', [0, 0, 0, 0]),
          frontendMessage('S'),
        ]),
      );
      await pause(30);
      a.socket.write(
        Buffer.concat([
          frontendMessage('B', '', '', [0, 0, 0, 2], [0, 0, 0, 2], [0x34, 0x30], [0, 0, 0, 1], [0x32], [0, 0]), // '40', '2'
          frontendMessage('E', '', [0, 0, 0, 0]),
          frontendMessage('S'),
        ]),
      );
      for (let i = 0; i < 200 && !(a.received().includes('SELECT 1') && b.received().includes('SELECT 1')); i++) await pause(10);
      expect(a.received()).not.toContain('bind message supplies');
      expect(a.received()).toContain('\0\0\0\x0242'); // DataRow column: length 2, "42"
      expect(b.received()).toContain('wxyz');
    } finally {
      a.socket.destroy();
      b.socket.destroy();
    }
  });

  it('isolates 20 concurrent interactive transactions (read, then write back read + 1)', async () => {
    await pool.query('INSERT INTO account VALUES (1, 0)');
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const { rows } = await client.query<{ balance: number }>('SELECT balance FROM account WHERE id = $1', [1]);
          await pause(2); // other connections get every chance to slip their statements in here
          await client.query('UPDATE account SET balance = $1 WHERE id = $2', [rows[0]!.balance + 1, 1]);
          await client.query('UPDATE account SET balance = balance + 1 WHERE id = 1');
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      }),
    );
    const { rows } = await pool.query<{ balance: number }>('SELECT balance FROM account WHERE id = 1');
    expect(rows[0]!.balance).toBe(40);
  });

  it('keeps named prepared statements of different connections apart', async () => {
    // Same name, different text on each connection: real Postgres keeps them per session.
    const clients = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
    try {
      for (let round = 0; round < 3; round++) {
        const got = await Promise.all(
          clients.map((c, k) => c.query<{ v: string }>({ name: 'probe', text: `SELECT $1::text || '-${k}' AS v`, values: [`r${round}`] })),
        );
        expect(got.map((r) => r.rows[0]!.v)).toEqual(clients.map((_, k) => `r${round}-${k}`));
      }
    } finally {
      clients.forEach((c) => c.release());
    }
  });

  it('rolls back a connection killed inside a transaction, without blocking the others', async () => {
    const victim = new pg.Client({ connectionString: db.url });
    victim.on('error', () => {});
    await victim.connect();
    await victim.query('BEGIN');
    await victim.query(`INSERT INTO item VALUES (1001, 'killed before commit')`);
    // Others queue behind the open transaction; they must proceed once the victim is gone.
    const others = Promise.all(Array.from({ length: 10 }, (_, i) => pool.query<{ n: number }>('SELECT $1::int AS n', [i])));
    await pause(50);
    (victim as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    const answers = await others;
    expect(answers.map((r) => r.rows[0]!.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const { rows } = await pool.query('SELECT 1 FROM item WHERE id = 1001');
    expect(rows).toHaveLength(0);
    const { rows: status } = await pool.query<{ open: boolean }>(`SELECT now() <> statement_timestamp() AS open`);
    expect(status[0]!.open).toBe(false); // the shared session is not left inside the victim's transaction
  });

  it('rolls back a connection killed between Execute and Sync (implicit transaction)', async () => {
    const { socket, received } = await rawConnection(db.port);
    socket.write(
      Buffer.concat([
        frontendMessage('P', '', `INSERT INTO item VALUES (1002, 'never synced')`, [0, 0]),
        frontendMessage('B', '', '', [0, 0, 0, 0, 0, 0]),
        frontendMessage('E', '', [0, 0, 0, 0]),
      ]),
    );
    for (let i = 0; i < 200 && !received().includes('INSERT 0 1'); i++) await pause(10);
    expect(received()).toContain('INSERT 0 1');
    const waiting = pool.query<{ n: number }>('SELECT 7 AS n');
    await pause(50);
    socket.destroy();
    expect((await waiting).rows[0]!.n).toBe(7);
    const { rows } = await pool.query('SELECT 1 FROM item WHERE id = 1002');
    expect(rows).toHaveLength(0);
  });

  describe('through Prisma (createPrisma, pool of 5)', () => {
    let prisma: PrismaClient;
    beforeAll(async () => {
      await applyMigrations({ databaseUrl: db.url });
      prisma = createPrisma(db.url, { max: 5 });
    });
    afterAll(async () => {
      await prisma?.$disconnect();
    });

    it('runs 50 concurrent creates and interactive transactions', async () => {
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          if (i % 2 === 0) {
            const c = await prisma.customer.create({
              data: { externalId: `CC-${i}`, name: `Customer ${i}`, kind: CustomerKind.B2B, country: 'FR', addressLines: [`${i} rue du Test`] },
            });
            expect(c.externalId).toBe(`CC-${i}`);
            expect(c.addressLines).toEqual([`${i} rue du Test`]);
          } else {
            await prisma.$transaction(async (tx) => {
              const c = await tx.customer.create({
                data: { externalId: `CT-${i}`, name: `Tx ${i}`, kind: CustomerKind.B2C, country: 'BE', addressLines: [] },
              });
              await pause(1);
              const seen = await tx.customer.findUniqueOrThrow({ where: { id: c.id } });
              expect(seen.name).toBe(`Tx ${i}`);
              await tx.customer.update({ where: { id: c.id }, data: { city: `City ${i}` } });
            });
          }
        }),
      );
      const all = await prisma.customer.findMany({ where: { externalId: { startsWith: 'C' } }, orderBy: { externalId: 'asc' } });
      expect(all).toHaveLength(50);
      for (const c of all.filter((x) => x.externalId.startsWith('CT-'))) expect(c.city).toBe(`City ${c.externalId.slice(3)}`);
    });

    it('rolls back a Prisma interactive transaction that throws, while others commit', async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          prisma.$transaction(async (tx) => {
            await tx.customer.create({ data: { externalId: `RB-${i}`, name: 'r', kind: CustomerKind.B2B, country: 'FR', addressLines: [] } });
            await pause(1);
            if (i % 2 === 1) throw new Error(`abort ${i}`);
          }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(5);
      const kept = await prisma.customer.findMany({ where: { externalId: { startsWith: 'RB-' } }, orderBy: { externalId: 'asc' } });
      expect(kept.map((c) => c.externalId)).toEqual(['RB-0', 'RB-2', 'RB-4', 'RB-6', 'RB-8']);
    });
  });
});
