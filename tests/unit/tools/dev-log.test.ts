// npm start's console (tools/dev-log.ts): JSON lines when the output is not a terminal,
// short pretty lines when it is; and request lines of the real app (api/app.ts) without the
// response headers, either way.
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../api/app';
import { loadConfig } from '../../../config/index';
import { createPrisma } from '../../../prisma/client';
import { devLogger, wantsPrettyLogs } from '../../../tools/dev-log';

/** The app's request lines for two requests (the document: 200; an unknown path: 404), as written to `out`. */
async function requestLines(out: PassThrough & { isTTY?: boolean }): Promise<string[]> {
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const config = loadConfig({});
  // Neither route touches the database or Temporal: nothing is connected.
  const prisma = createPrisma('postgresql://nobody@127.0.0.1:1/none');
  const app = createApp({ prisma, temporal: new Client(), config, log: devLogger(config, out) });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await (await fetch(`${base}/openapi.json`)).text();
  await (await fetch(`${base}/no-such-page`)).text();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await prisma.$disconnect();
  await new Promise((r) => setTimeout(r, 50));
  return text.split('\n').filter(Boolean);
}

describe('npm start console', () => {
  it('decides: pretty on a terminal, JSON otherwise; LOG_FORMAT overrides', () => {
    expect(wantsPrettyLogs({ isTTY: true })).toBe(true);
    expect(wantsPrettyLogs({ isTTY: false })).toBe(false);
    expect(wantsPrettyLogs({})).toBe(false); // a pipe or a file
    expect(wantsPrettyLogs({ isTTY: true }, 'json')).toBe(false);
    expect(wantsPrettyLogs({}, 'pretty')).toBe(true);
    expect(wantsPrettyLogs({ isTTY: process.stdout.isTTY }, 'auto')).toBe(process.stdout.isTTY === true);
  });

  it('not a terminal: one JSON object per line, the request with its status and no response headers', async () => {
    const lines = await requestLines(new PassThrough());
    const parsed = lines.map((l) => JSON.parse(l) as { req?: { method: string; url: string }; res?: Record<string, unknown> });
    const requests = parsed.filter((p) => p.req && p.res);
    expect(requests.map((p) => [p.req!.method, p.req!.url, p.res!.statusCode])).toEqual([
      ['GET', '/openapi.json', 200],
      ['GET', '/no-such-page', 404],
    ]);
    for (const p of requests) expect(Object.keys(p.res!)).toEqual(['statusCode']);
  });

  it('a terminal: short lines, "GET /openapi.json → 200 … ms", no JSON, no headers', async () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    const lines = (await requestLines(tty)).map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
    const requests = lines.filter((l) => l.includes(' → '));
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: GET \/openapi\.json → 200 \d+ ms$/);
    expect(requests[1]).toMatch(/WARN: GET \/no-such-page → 404 \d+ ms$/);
    for (const l of lines) {
      expect(l.startsWith('{')).toBe(false);
      expect(l).not.toMatch(/content-security-policy|x-request-id|etag/i);
      expect(l.length).toBeLessThan(160);
    }
  });
});
