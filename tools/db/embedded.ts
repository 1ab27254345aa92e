// Embedded PostgreSQL for development and tests: PGlite (Postgres compiled to
// WASM) served over the Postgres wire protocol, so `pg`,
// `@prisma/adapter-pg` and psql can connect to it like to a real server.
//
// PGlite is a single Postgres backend: every client connection shares one
// session. The server (./pglite-server) gives one connection at a time the
// backend, from its first message until the backend is idle again outside a
// transaction block, so statements and transactions of concurrent connections
// do not mix. Good for dev and tests, not for production.
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGliteServer } from './pglite-server';

export const DEFAULT_EMBEDDED_PORT = 54329;
export const DEFAULT_EMBEDDED_DATA_DIR = '.data/pglite';

export interface EmbeddedPostgresOptions {
  /** Directory holding the database files (created if missing), or 'memory' for a throwaway in-memory database. Default `.data/pglite`. */
  dataDir?: string;
  /** TCP port to listen on. Default 54329; 0 picks a free port (tests). */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Concurrent client connections accepted. Default 20 (Prisma's pool opens several; 1 would close the extras). */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** Connection URL, e.g. postgresql://postgres:postgres@127.0.0.1:54329/postgres */
  url: string;
  port: number;
  /** Closes client connections, the listener, and shuts PGlite down cleanly (flushing to dataDir). */
  stop(): Promise<void>;
}

function portTakenError(port: number, host: string): Error {
  return new Error(
    `port ${port} is taken (set DB_PORT to another port, or stop whatever listens on ${host}:${port}; ` +
      `another embedded database may already be running)`,
  );
}

/** Resolves when nothing listens on host:port, rejects with the "port N is taken" error otherwise. */
async function assertPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || err.code === 'EACCES') reject(portTakenError(port, host));
      else reject(err);
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_EMBEDDED_PORT;
  const dataDir = options.dataDir ?? DEFAULT_EMBEDDED_DATA_DIR;
  const maxConnections = options.maxConnections ?? 20;

  // Check the port before opening the data directory: if another embedded
  // server holds it, it probably holds the same data directory too, and two
  // PGlite instances on one directory would corrupt it.
  await assertPortFree(port, host);

  let db: PGlite;
  if (dataDir === 'memory' || dataDir === 'memory://') {
    db = await PGlite.create();
  } else {
    const dir = path.resolve(dataDir);
    await mkdir(dir, { recursive: true });
    db = await PGlite.create(dir);
  }

  const server = new PGliteServer({ db, port, host, maxConnections });
  let actualPort: number; // differs from `port` when 0 was asked for
  try {
    actualPort = await server.start();
  } catch (err) {
    await db.close().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw portTakenError(port, host);
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `postgresql://postgres:postgres@${host}:${actualPort}/postgres`,
    port: actualPort,
    stop() {
      stopped ??= (async () => {
        await server.stop();
        await db.close();
      })();
      return stopped;
    },
  };
}
