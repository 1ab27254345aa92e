// The embedded start (`npm start` = tools/dev.ts) as a newcomer runs it, in a child process
// with its own ports and data directory:
//  - SMTP_RELAY_HOST/SMTP_RELAY_PORT: everything stays embedded, but the worker's mail goes
//    to one's own SMTP server (here a second mail sink); the demo invoice's reminders arrive
//    there and none in the embedded inbox.
//  - docs/operations.md: the `temporal workflow describe … -o json | jq …` block, taken from
//    the markdown as written (only the address and the workflow id are replaced), runs
//    against the demo invoice and prints its status, stage and amount due.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateTemporalBinary } from '../../tools/temporal-bin';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { collectLines, freePort } from '../helpers/processes';

const run = promisify(execFile);
const STARTUP_MS = 90_000;
let relay: MailSink;
let child: ChildProcess;
let dataDir: string;
const lines: string[] = [];
const ports: Record<string, number> = {};
let demoNumber = '';

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last output:\n${lines.slice(-30).join('\n')}`);
    if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}) while waiting for ${what}:\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

beforeAll(async () => {
  relay = await startMailSink({ smtpPort: 0, webPort: 0 });
  dataDir = mkdtempSync(path.join(tmpdir(), 'relance-embedded-'));
  for (const name of ['API_PORT', 'TEMPORAL_PORT', 'TEMPORAL_UI_PORT', 'SMTP_PORT', 'INBOX_PORT', 'SMS_FAKE_PORT', 'DB_PORT', 'INBOUND_SMTP_PORT', 'WORKER_METRICS_PORT']) {
    ports[name] = await freePort();
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'NODE_ENV', 'VITEST', 'SMTP_HOST']) delete env[k];
  Object.assign(env, {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    WORKER_METRICS_ADDRESS: 'off',
    SMTP_RELAY_HOST: '127.0.0.1',
    SMTP_RELAY_PORT: String(relay.smtpPort),
  });
  child = spawn(process.execPath, ['--import', 'tsx', 'tools/dev.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  collectLines(child, lines);
  const demo = await until('the demo invoice', () => lines.map((l) => /Demo invoice\s+(DEMO-\d+)/.exec(l)?.[1]).find(Boolean), STARTUP_MS);
  demoNumber = demo;
}, STARTUP_MS + 10_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    process.kill(-child.pid!, 'SIGINT');
    await new Promise((r) => {
      const t = setTimeout(() => {
        if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
        r(undefined);
      }, 20_000);
      child.once('exit', () => {
        clearTimeout(t);
        r(undefined);
      });
    });
  }
  await relay?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 30_000);

describe('npm start with SMTP_RELAY_HOST', () => {
  it("sends the demo invoice's reminders to one's own SMTP server, none to the embedded inbox", async () => {
    expect(lines.join('\n')).toContain(`the worker sends to 127.0.0.1:${relay.smtpPort}`);
    // demo-seconds: courtesy 5 s before due, reminder-1 and -2 at +5 s and +10 s (due 8 s after issue).
    const received = await until(
      'three demo reminders at the relay',
      () => {
        const mine = relay.messages().filter((m) => m.to.join(',').includes('compta@boulangerie-demo.example'));
        return mine.length >= 3 ? mine : undefined;
      },
      60_000,
    );
    expect(received.map((m) => m.text ?? '').join('\n')).toContain(demoNumber);
    const inbox = (await (await fetch(`http://127.0.0.1:${ports.INBOX_PORT}/api/messages`)).json()) as { messages: unknown[] };
    expect(inbox.messages).toEqual([]);
  }, 70_000);
});

describe('docs/operations.md examples against the embedded start', () => {
  it('temporal workflow describe -o json | jq, as written, prints the status, stage and amount due', async () => {
    const doc = readFileSync('docs/operations.md', 'utf8');
    const blocks = [...doc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
    const block = blocks.find((b) => b.includes('temporal workflow describe') && b.includes('| jq'));
    expect(block, 'docs/operations.md has a bash block with `temporal workflow describe … | jq`').toBeDefined();
    // The command lines only (not the sample output), pointed at this start and its demo invoice.
    const command = block!
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n')
      .replace('127.0.0.1:7233', `127.0.0.1:${ports.TEMPORAL_PORT}`)
      .replace('invoice-F-2026-0042', `invoice-${demoNumber}`);
    expect(command).toContain(`invoice-${demoNumber}`);
    const temporalDir = path.dirname(locateTemporalBinary('cli'));
    const { stdout } = await run('bash', ['-o', 'pipefail', '-c', command], { env: { ...process.env, PATH: `${temporalDir}:${process.env.PATH}` }, timeout: 30_000 });
    const out = JSON.parse(stdout) as { status: string; stage: unknown; amountDue: unknown };
    expect(out.status).toMatch(/^WORKFLOW_EXECUTION_STATUS_(RUNNING|COMPLETED)$/);
    expect(typeof out.stage).toBe('string');
    expect(out.amountDue).toBe(1000); // 1250.00 - 250.00 deposit, in euros as the search attribute holds it
  }, 40_000);
});
