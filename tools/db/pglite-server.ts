// Postgres wire-protocol server in front of one PGlite instance, safe for many
// concurrent client connections.
//
// Why not @electric-sql/pglite-socket's PGLiteSocketServer: it queues single
// protocol messages from all connections into the one PGlite backend, and only
// keeps a connection's turn while `isInTransaction()`. The extended query
// protocol (Parse/Bind/Execute/Sync) keeps state in the backend between
// messages (the unnamed statement and portal, an implicit transaction), so
// messages of different connections interleaved ("bind message supplies 4
// parameters, but prepared statement "" requires 2", rows of another request),
// and it has no option to change that.
//
// Here a connection owns the backend from the first message it sends until the
// backend answers ReadyForQuery with status 'I' (idle, outside a transaction
// block). A connection inside a transaction ('T' or 'E') therefore keeps it
// across round trips; other connections wait in FIFO order. Everything that is
// session-wide in real Postgres but per-connection for clients is handled:
// named prepared statements get a per-connection prefix, and a connection that
// goes away while owning the backend has its transaction rolled back.
import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

export interface PGliteServerOptions {
  db: PGlite;
  host: string;
  /** 0 picks a free port. */
  port: number;
  maxConnections: number;
}

type TxStatus = 'I' | 'T' | 'E';

interface Connection {
  readonly id: number;
  readonly socket: net.Socket;
  /** Bytes received but not yet framed into whole messages. */
  inbox: Buffer;
  /** Whole messages waiting for this connection's turn on the backend. */
  pending: Buffer[];
  startupDone: boolean;
  /** Sent Terminate: nothing it sends afterwards counts. */
  terminated: boolean;
  /** Over maxConnections: answered with an error once its startup packet arrives. */
  refused: boolean;
  /** Status of the last ReadyForQuery, or null when the backend is mid-protocol for this connection. */
  status: TxStatus | null;
  /** Named prepared statements created in the backend (prefixed names), dropped when the connection goes. */
  statements: Set<string>;
  closed: boolean;
  closedPromise: Promise<void>;
}

export class PGliteServer {
  private readonly db: PGlite;
  private readonly options: PGliteServerOptions;
  private readonly connections = new Set<Connection>();
  private listener: net.Server | null = null;
  private nextId = 1;

  /** The connection that has the backend, if any. */
  private owner: Connection | null = null;
  /** Connections with messages (or, once closed, clean-up) waiting for the backend, first come first served. */
  private readonly waiting: Connection[] = [];
  private pumping = false;
  private pumpDone: Promise<void> = Promise.resolve();

  constructor(options: PGliteServerOptions) {
    this.db = options.db;
    this.options = options;
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    await this.db.waitReady;
    const listener = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.options.port, this.options.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.listener = listener;
    return (listener.address() as net.AddressInfo).port;
  }

  /** Closes every client connection and the listener, and waits until the backend is no longer in use. Leaves the PGlite instance open. */
  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = null;
    const closing = listener ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve();
    const connections = [...this.connections];
    for (const conn of connections) conn.socket.destroy();
    await Promise.all(connections.map((c) => c.closedPromise));
    await this.pumpDone;
    await closing;
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    let markClosed!: () => void;
    const conn: Connection = {
      id: this.nextId++,
      socket,
      inbox: Buffer.alloc(0),
      pending: [],
      startupDone: false,
      terminated: false,
      refused: this.listener === null || this.connections.size >= this.options.maxConnections,
      status: 'I',
      statements: new Set(),
      closed: false,
      closedPromise: new Promise<void>((resolve) => (markClosed = resolve)),
    };
    this.connections.add(conn);
    socket.on('data', (chunk) => this.receive(conn, chunk));
    socket.on('error', () => {}); // 'close' follows and does the cleaning up
    socket.on('close', () => {
      conn.closed = true;
      conn.pending = [];
      this.connections.delete(conn);
      // Cleanup needs the backend when the connection may have left state in it.
      const needsBackend = this.owner === conn || conn.statements.size > 0;
      const queued = this.waiting.indexOf(conn);
      if (!needsBackend && queued >= 0) this.waiting.splice(queued, 1);
      if (needsBackend && queued < 0 && this.owner !== conn) this.waiting.push(conn);
      this.pump();
      markClosed();
    });
  }

  /** Frames incoming bytes into messages and queues them for the backend. */
  private receive(conn: Connection, chunk: Buffer): void {
    if (conn.closed || conn.terminated) return;
    conn.inbox = conn.inbox.length ? Buffer.concat([conn.inbox, chunk]) : chunk;
    while (!conn.closed) {
      const inbox = conn.inbox;
      if (!conn.startupDone) {
        // Before startup, messages have no type byte: int32 length, int32 code.
        if (inbox.length < 8) break;
        const length = inbox.readInt32BE(0);
        const code = inbox.readInt32BE(4);
        if (length < 8 || length > 10_000) return this.fail(conn, '08P01', 'invalid startup packet length');
        if (inbox.length < length) break;
        const packet = inbox.subarray(0, length);
        conn.inbox = inbox.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          conn.socket.write('N'); // no encryption: the client then sends a plain startup packet
        } else if (code === CANCEL_REQUEST) {
          conn.socket.destroy(); // one backend shared by all: nothing to cancel
        } else if (code !== PROTOCOL_3) {
          return this.fail(conn, '0A000', `unsupported frontend protocol ${code >>> 16}.${code & 0xffff}`);
        } else if (conn.refused) {
          return this.fail(conn, '53300', 'sorry, too many clients already');
        } else {
          conn.startupDone = true;
          this.enqueue(conn, Buffer.from(packet));
        }
        continue;
      }
      if (inbox.length < 5) break;
      const length = 1 + inbox.readInt32BE(1);
      if (length < 5) return this.fail(conn, '08P01', 'invalid message length');
      if (inbox.length < length) break;
      const msg = Buffer.from(inbox.subarray(0, length)); // copy, so a queued message does not pin the whole chunk
      conn.inbox = inbox.subarray(length);
      this.enqueue(conn, this.prefixStatementName(conn, msg));
      if (msg[0] === 0x58 /* X, Terminate */) {
        conn.terminated = true;
        break;
      }
    }
    this.pump();
  }

  private enqueue(conn: Connection, message: Buffer): void {
    conn.pending.push(message);
    if (this.owner !== conn && !this.waiting.includes(conn)) this.waiting.push(conn);
  }

  /**
   * Runs queued work on the backend, one connection at a time. Only one pump
   * loop runs; anything that queues work calls pump() and the running loop
   * picks it up.
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pumpDone = this.pumpLoop();
  }

  private async pumpLoop(): Promise<void> {
    try {
      for (;;) {
        if (!this.owner) {
          const next = this.waiting.shift();
          if (!next) return;
          this.owner = next;
        }
        const conn = this.owner;
        if (conn.closed) {
          await this.cleanUp(conn);
          this.owner = null;
          continue;
        }
        // Mid-transaction and no message yet: keep the backend and wait for the next round trip.
        if (!conn.pending.length) return;

        const batch = conn.pending.splice(0);
        const terminate = batch[batch.length - 1]![0] === 0x58;
        if (terminate) batch.pop();
        if (batch.length) {
          let output: Uint8Array;
          try {
            output = await this.exec(Buffer.concat(batch));
          } catch (err) {
            // PGlite itself failed (e.g. aborted); nothing sensible to answer.
            conn.socket.destroy(err instanceof Error ? err : new Error(String(err)));
            continue;
          }
          conn.status = lastReadyForQuery(output);
          if (!conn.closed) conn.socket.write(Buffer.from(output)); // copy: PGlite may reuse its buffer
        }
        if (terminate) conn.socket.end();
        if (conn.status === 'I' && !conn.closed) {
          // Between idle ReadyForQuery and the next message nothing of this
          // connection lives in the backend, so the turn can pass.
          this.owner = null;
          if (conn.pending.length) this.waiting.push(conn);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async exec(message: Uint8Array): Promise<Uint8Array> {
    return this.db.runExclusive(() => this.db.execProtocolRaw(message));
  }

  /** Undoes what a departed connection left in the shared backend. */
  private async cleanUp(conn: Connection): Promise<void> {
    try {
      if (conn.status !== 'I') {
        // CopyFail ends a COPY FROM STDIN (and is ignored otherwise). A Parse
        // that cannot succeed marks an implicit extended-protocol transaction
        // as failed, so the Sync rolls it back instead of committing a
        // statement the client never synced.
        const status = lastReadyForQuery(
          await this.exec(
            Buffer.concat([
              message('f', cstring('client connection closed')),
              message('P', cstring(''), cstring('-- client connection closed; abort its work\nABORT_CLOSED_CONNECTION'), int16(0)),
              message('S'),
            ]),
          ),
        );
        if (status !== 'I') await this.exec(message('Q', cstring('ROLLBACK')));
      }
      if (conn.statements.size) {
        const closes = [...conn.statements].map((name) => message('C', Buffer.from('S'), cstring(name)));
        await this.exec(Buffer.concat([...closes, message('S')]));
      }
    } catch {
      // PGlite failed or was closed; nothing left to clean.
    }
    conn.statements.clear();
    conn.status = 'I';
  }

  /**
   * Named prepared statements live in the backend session, which all
   * connections share; clients like pg cache "prepared on this connection" per
   * connection, so the same name from two connections would collide. Prefix
   * them with the connection id ("<id>:" cannot collide between ids).
   * Portals are not renamed: named portals end with their transaction, which
   * one connection holds, and SQL cursors are addressed as portals by name.
   */
  private prefixStatementName(conn: Connection, msg: Buffer): Buffer {
    const type = String.fromCharCode(msg[0]!);
    let at: number; // offset of the statement name
    if (type === 'P') at = 5;
    else if (type === 'B') at = msg.indexOf(0, 5) + 1; // after the portal name
    else if ((type === 'D' || type === 'C') && msg[5] === 0x53 /* 'S' */) at = 6;
    else return msg;
    const end = msg.indexOf(0, at);
    if (at <= 0 || end < 0 || end === at) return msg; // malformed (the backend will say so) or unnamed
    const name = `${conn.id}:${msg.toString('utf8', at, end)}`;
    if (type === 'P') conn.statements.add(name);
    if (type === 'C') conn.statements.delete(name);
    const body = Buffer.concat([msg.subarray(5, at), Buffer.from(name), msg.subarray(end)]);
    return message(type, body);
  }

  /** Sends a fatal ErrorResponse (as Postgres does before closing) and closes. */
  private fail(conn: Connection, code: string, text: string): void {
    const fields = Buffer.concat([
      Buffer.from('S'), cstring('FATAL'),
      Buffer.from('V'), cstring('FATAL'),
      Buffer.from('C'), cstring(code),
      Buffer.from('M'), cstring(text),
      Buffer.from([0]),
    ]);
    conn.socket.end(message('E', fields));
  }
}

/** Transaction status of the output's final message if it is ReadyForQuery, else null (the backend is mid-protocol). */
function lastReadyForQuery(output: Uint8Array): TxStatus | null {
  const view = Buffer.from(output.buffer, output.byteOffset, output.byteLength);
  let last = -1;
  for (let at = 0; at + 5 <= view.length; at += 1 + Math.max(4, view.readInt32BE(at + 1))) last = at;
  if (last < 0 || view[last] !== 0x5a /* Z */) return null;
  return String.fromCharCode(view[last + 5]!) as TxStatus;
}

function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

function cstring(s: string): Buffer {
  return Buffer.from(`${s}\0`);
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}
