// The worker as its own process (`npm run worker`, the relance-worker container): its HTTP
// server answers /healthz for the container healthcheck and /metrics with the dunning metrics
// plus the Temporal SDK's own (temporal_*, from the Runtime's Prometheus exporter); its logs
// are JSON lines, an activity's carrying workflowId and invoiceNumber, without the SDK's INFO
// chatter; SIGTERM lets an in-flight send finish (the SMTP session is held open by a slow
// relay when the signal arrives), then the process exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TaskQueues } from '../../contracts/task-queues';
import { normaliseIssueRequest, startInvoiceWorkflow } from '../../api/invoice-service';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { PROJECT_ROOT } from '../../tools/temporal-bin';
import { eventually, invoiceRequest, startTestDatabase, testConfig, type TestDatabase } from '../api/harness';
import { collectLines, freePort } from '../helpers/processes';
import { createDevServerEnv } from '../helpers/temporal';

let db: TestDatabase;
let env: TestWorkflowEnvironment;
let sink: MailSink;
let dataDir: string;
let child: ChildProcess | undefined;
let exited: Promise<number | null>;
const lines: string[] = [];
let httpPort = 0;
let sdkPort = 0;
/** SMTP relay in front of the sink; while `slowMs` > 0 it holds each new session that long. */
let relay: net.Server;
let slowMs = 0;
let relayed = 0;

beforeAll(async () => {
  [db, env, sink, dataDir, httpPort, sdkPort] = await Promise.all([
    startTestDatabase(),
    createDevServerEnv(),
    startMailSink({ smtpPort: 0, webPort: 0 }),
    mkdtemp(path.join(tmpdir(), 'relance-ops-worker-')),
    freePort(),
    freePort(),
  ]);
  relay = net.createServer((client) => {
    relayed += 1;
    setTimeout(() => {
      const upstream = net.connect(sink.smtpPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      const close = () => (client.destroy(), upstream.destroy());
      client.on('error', close);
      upstream.on('error', close);
    }, slowMs);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', () => resolve()));
  child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      TEMPORAL_ADDRESS: env.address,
      SMTP_PORT: String((relay.address() as AddressInfo).port),
      DATA_DIR: dataDir,
      WORKER_METRICS_PORT: String(httpPort),
      WORKER_METRICS_ADDRESS: `127.0.0.1:${sdkPort}`,
      WORKER_SHUTDOWN_GRACE_MS: '5000',
    },
  });
  exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
  collectLines(child, lines);
  await eventually(async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.ok, 45_000, `worker /healthz (output: ${lines.slice(-5).join(' | ')})`);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  relay?.close();
  await Promise.all([env?.teardown(), sink?.stop(), db?.stop()]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const workerMetrics = async () => (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();

describe('the worker process', () => {
  test('/healthz lists running workers; /metrics has SDK and dunning metrics; a send is counted and logged as JSON', async () => {
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { workers: string[] }).workers).toEqual(Array(5).fill('RUNNING'));

    const first = await workerMetrics();
    expect(first).toMatch(/^# TYPE temporal_\w+ /m); // the SDK runtime's own metrics
    expect(first).toContain('# TYPE relance_reminders_sent_total counter');
    expect(first).toContain('# TYPE relance_worker_process_cpu_seconds_total counter');

    const config = testConfig({ LOG_LEVEL: 'info' });
    const req = invoiceRequest(
      { policyId: 'demo-seconds', dueAt: new Date(Date.now() + 6_000).toISOString(), dueDate: new Date().toISOString().slice(0, 10) },
      { email: 'compta@worker-process.example' },
    );
    const memo = normaliseIssueRequest(req as never, config);
    await startInvoiceWorkflow({ temporal: { client: env.client, taskQueue: TaskQueues.workflow, timeoutMs: 5_000 }, config }, memo);

    await eventually(async () => {
      const t = await workerMetrics();
      return /^relance_reminders_sent_total\{channel="email",step="courtesy"\} 1$/m.test(t) && /^temporal_activity_execution_latency_count\{.*activity_type="sendEmail"/m.test(t);
    }, 20_000, 'the courtesy send in the worker metrics (app and SDK)');

    const parsed = () =>
      lines.map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return undefined;
        }
      });
    // The activity's log line, once stdout has caught up.
    const sent = await eventually(async () => parsed().find((j) => j?.msg === 'sent'), 5_000, 'the "sent" log line');
    const json = parsed();
    expect(json.filter((j) => j === undefined), `non-JSON output: ${lines.filter((_, i) => !json[i]).join('\n')}`).toEqual([]);
    expect(sent).toMatchObject({
      service: 'relance-worker',
      workflowId: `invoice-${req.number}`,
      invoiceNumber: req.number,
      stepId: 'courtesy',
      channel: 'email',
      activityType: 'sendEmail',
    });
    expect(sent).not.toHaveProperty('taskToken');
    expect(json.some((j) => typeof j?.msg === 'string' && j.msg.includes('Worker state changed'))).toBe(false);
  }, 50_000);

  test('SIGTERM during a send: the send completes, then the process exits 0', async () => {
    slowMs = 3_000;
    const before = relayed;
    const config = testConfig({ LOG_LEVEL: 'info' });
    const req = invoiceRequest(
      { policyId: 'demo-seconds', dueAt: new Date(Date.now() + 5_000).toISOString(), dueDate: new Date().toISOString().slice(0, 10) },
      { email: 'compta@drain.example' },
    );
    await startInvoiceWorkflow({ temporal: { client: env.client, taskQueue: TaskQueues.workflow, timeoutMs: 5_000 }, config }, normaliseIssueRequest(req as never, config));
    // The activity has opened its SMTP session, which the relay holds: the send is in flight.
    await eventually(async () => relayed > before, 15_000, 'the SMTP session of the courtesy send');
    child!.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code).toBe(0);
    expect(sink.messages().some((m) => m.to.includes('compta@drain.example'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"sent"') && l.includes(req.number))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"Relance worker stopped"'))).toBe(true);
  }, 40_000);
});
