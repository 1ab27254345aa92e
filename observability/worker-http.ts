// The worker process's own small HTTP server (split topology: `npm run worker`, the
// relance-worker container). The embedded start does not run it: there the API's /metrics
// shows the dunning metrics, and the SDK's exporter listens on WORKER_METRICS_ADDRESS.
//
//   GET /healthz   200 when every Worker is RUNNING, 503 otherwise (container healthcheck)
//   GET /metrics   the dunning metrics (observability/metrics.ts), Node process metrics
//                  (relance_worker_*) and, appended, the SDK's temporal_* metrics read from its
//                  exporter: one scrape target per worker process.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { registerDunningMetrics } from './metrics';

export interface WorkerHttpOptions {
  port: number;
  host: string;
  /** States of the process's Workers ('RUNNING', 'DRAINING', ...). */
  workerStates(): string[];
  /** host:port of the SDK's Prometheus exporter, when it runs. */
  sdkMetricsAddress?: string;
}

export interface WorkerHttp {
  url: string;
  registry: Registry;
  close(): Promise<void>;
}

async function sdkMetrics(address: string | undefined): Promise<string> {
  if (!address) return '';
  const host = address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
  try {
    const res = await fetch(`http://${host}/metrics`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? await res.text() : `# SDK metrics unavailable: HTTP ${res.status}\n`;
  } catch (err) {
    return `# SDK metrics unavailable: ${(err as Error).message}\n`;
  }
}

export async function startWorkerHttp(opts: WorkerHttpOptions): Promise<WorkerHttp> {
  const registry = registerDunningMetrics(new Registry());
  collectDefaultMetrics({ register: registry, prefix: 'relance_worker_' });
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (url === '/healthz') {
      const workers = opts.workerStates();
      const ok = workers.length > 0 && workers.every((s) => s === 'RUNNING');
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', workers }));
      return;
    }
    if (url === '/metrics') {
      void Promise.all([registry.metrics(), sdkMetrics(opts.sdkMetricsAddress)]).then(
        ([own, sdk]) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(own + (own.endsWith('\n') ? '' : '\n') + sdk);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
