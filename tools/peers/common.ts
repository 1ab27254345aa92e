// Shared by the local peers (mail sink, Twilio fake, postal and agency fakes): HTML pages for humans and a listen helper.
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Response as ExpressResponse } from 'express';

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A whole page: title, a little CSS, and the given body (already escaped). */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #222; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f4f4f4; }
  code, pre { font: 12px/1.4 ui-monospace, monospace; }
  iframe { width: 100%; height: 60vh; border: 1px solid #ddd; }
  .muted { color: #777; }
</style></head>
<body><h1>${escapeHtml(title)}</h1>
${body}
</body></html>`;
}

/** A table from rows of already-escaped cells. */
export function table(headers: string[], rows: string[][], empty = 'Nothing yet.'): string {
  if (rows.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

export interface Listening {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Starts an HTTP server for `handler` on host:port (0 = a free port) and resolves once it listens. */
export function listen(handler: RequestListener, port: number, host = '127.0.0.1'): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      let closed: Promise<void> | undefined;
      resolve({
        server,
        port: address.port,
        close() {
          closed ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closed;
        },
      });
    });
  });
}

export interface ForcedReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What the HTTP provider fakes share: forced failures, an idempotency store, counters. */
export class FakeState<T> {
  readonly items: T[] = [];
  readonly byKey = new Map<string, T>();
  replays = 0;
  requests = 0;
  /** Requests refused for their credentials or signature. */
  rejected = 0;
  private readonly forced: ForcedReply[] = [];

  failNext(status: number, body?: unknown, headers?: Record<string, string>): void {
    this.forced.push({ status, body, headers });
  }

  /** Counts the request and answers it with the next forced failure, if any: true when it did. */
  answerForced(res: ExpressResponse, defaultBody: (status: number) => unknown): boolean {
    this.requests += 1;
    const forced = this.forced.shift();
    if (!forced) return false;
    res.status(forced.status).set(forced.headers ?? {});
    res.json(forced.body ?? defaultBody(forced.status));
    return true;
  }

  clear(): void {
    this.items.length = 0;
    this.byKey.clear();
    this.forced.length = 0;
    this.replays = 0;
    this.requests = 0;
    this.rejected = 0;
  }
}

export interface FakeHandle {
  port: number;
  url: string;
  /** Requests answered from the idempotency store instead of creating something new. */
  readonly replays: number;
  /** Every request to the provider's write endpoint, refused and replayed ones included. */
  readonly requests: number;
  /** The next request gets this status, body (default: the provider's error shape) and headers. */
  failNext(status: number, body?: unknown, headers?: Record<string, string>): void;
  clear(): void;
  stop(): Promise<void>;
}

/** The handle a fake returns: the shared part plus its own fields (getters kept live). */
export function fakeHandle<E extends object>(state: FakeState<unknown>, server: Listening, url: string, extra: E): FakeHandle & E {
  const handle: FakeHandle = {
    port: server.port,
    url,
    get replays() {
      return state.replays;
    },
    get requests() {
      return state.requests;
    },
    failNext: (status, body, headers) => state.failNext(status, body, headers),
    clear: () => state.clear(),
    stop: () => server.close(),
  };
  return Object.defineProperties(handle, Object.getOwnPropertyDescriptors(extra)) as FakeHandle & E;
}
