// `npm start`: the whole system on one machine with embedded defaults. A Temporal dev
// server (Web UI, search attributes, SQLite file), an embedded PostgreSQL (PGlite), a
// local SMTP sink with a web inbox, a fake of Twilio's Messages API, the worker and
// the API, plus a demo invoice on a second-scale policy. Data persists under DATA_DIR.
// Ctrl-C stops everything, children included.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { TaskQueues } from '../contracts/task-queues';
import { utcDate } from '../domain/dates';
import { createApiKey, generateApiKey, hashApiKey } from '../api/auth';
import { startInboundSmtp } from '../api/inbound/smtp-receiver';
import { startApi } from '../api/server';
import { ConfigError, loadConfig, type Config } from '../config/index';
import { connectClient, connectionOptions, temporalAddress } from '../config/temporal';
import { createPrisma } from '../prisma/client';
import { startEmbeddedPostgres } from './db/embedded';
import { applyMigrations } from './db/migrate';
import { startMailSink } from './peers/mail-sink';
import { startTwilioFake } from './peers/sms-fake';
import { locateTemporalBinary } from './temporal-bin';
import { SEARCH_ATTRIBUTE_CLI_ARGS } from '../contracts/search-attributes';
import { startWorkers } from '../worker/main';
import { installWorkerRuntime } from '../observability/runtime';
import { devLogger } from './dev-log';

type Stopper = { name: string; stop: () => Promise<unknown> };

async function assertPortFree(port: number, host: string, variable: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${port} is taken on ${host} (needed for ${variable}); stop what uses it or set ${variable}=<another port>`
            : `cannot listen on ${host}:${port} (${variable}): ${err.message}`,
        ),
      ),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

async function waitForTemporal(config: Config, child: ChildProcess | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode}; see ${config.dataDir}/temporal.log`);
    try {
      const c = await Connection.connect({ ...connectionOptions(config), connectTimeout: 1_000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      return;
    } catch (err) {
      lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`Temporal at ${temporalAddress(config)} did not answer within ${timeoutMs / 1000}s: ${lastError}`);
}

function startTemporalDevServer(config: Config, devKey: string): ChildProcess {
  const bin = locateTemporalBinary('cli', { install: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    config.HOST,
    '--port',
    String(config.TEMPORAL_PORT),
    '--ui-port',
    String(config.TEMPORAL_UI_PORT),
    '--db-filename',
    path.join(config.dataDir, 'temporal.sqlite'),
    '--namespace',
    config.TEMPORAL_NAMESPACE,
    '--log-level',
    'error',
    ...SEARCH_ATTRIBUTE_CLI_ARGS.flatMap((sa) => ['--search-attribute', sa]),
    // The UI decrypts payloads through the API's codec endpoint. The dev server's UI has no
    // login to send a Bearer token with, so the dev key rides in the path (codec protocol:
    // only the last segment names the operation).
    '--ui-codec-endpoint',
    `http://${config.HOST}:${config.API_PORT}/codec/key/${devKey}`,
  ];
  const logFile = path.join(config.dataDir, 'temporal.log');
  // Its own process group: a terminal's Ctrl-C reaches only us, and we stop the server
  // last, after the worker has drained (the server dying first would strand the drain).
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const out = (chunk: Buffer) => writeFileSync(logFile, chunk, { flag: 'a' });
  child.stdout?.on('data', out);
  child.stderr?.on('data', out);
  return child;
}

async function stopChild(child: ChildProcess, name: string, timeoutMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    console.error(`${name} did not stop in ${timeoutMs / 1000}s: killing it`);
    child.kill('SIGKILL');
  }, timeoutMs);
  await exited;
  clearTimeout(timer);
}

/**
 * The dev API key (admin), kept in DATA_DIR so the printed key stays valid across runs. Read
 * (or drawn) before anything starts, since the Temporal UI's codec endpoint carries it.
 */
function devApiKeyFile(config: Config): string {
  const file = path.join(config.dataDir, 'dev-api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = generateApiKey();
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return key;
}

/** Registers the dev key in the database if it is not; a revoked one is replaced (and the UI's codec link works from the next start). */
async function devApiKey(config: Config, prisma: ReturnType<typeof createPrisma>, key: string): Promise<string> {
  const row = await prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(key) } });
  if (row && !row.revokedAt) return key;
  const created = await createApiKey(prisma, 'dev (npm start)', 'admin', row ? undefined : key);
  if (row) {
    writeFileSync(path.join(config.dataDir, 'dev-api-key'), created.key + '\n', { mode: 0o600 });
    console.warn('The dev API key was revoked: a new one is printed below; the Temporal UI decodes payloads again after a restart.');
  }
  return created.key;
}

/**
 * Without PAYLOAD_CODEC_KEYS, a random payload key drawn once and kept in DATA_DIR (not the
 * public built-in one): the local Temporal database is encrypted with a key only this machine has.
 */
function devPayloadKeys(dataDir: string): string {
  const file = path.join(dataDir, 'payload-codec-keys');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const keys = `dev-${utcDate(Date.now())}:${randomBytes(32).toString('base64')}`;
  writeFileSync(file, keys + '\n', { mode: 0o600 });
  return keys;
}

/** One demo invoice on the second-scale policy, so the inbox, SMS list and outboxes fill up. */
async function issueDemoInvoice(apiUrl: string, key: string): Promise<string | undefined> {
  const number = `DEMO-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
  const today = utcDate(Date.now());
  const res = await fetch(`${apiUrl}/v1/invoices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      number,
      issueDate: today,
      dueDate: today,
      dueAt: new Date(Date.now() + 8_000).toISOString(),
      amount: '1250.00',
      deposit: '250.00',
      currency: 'EUR',
      paymentLink: 'https://pay.example.test/' + number,
      policyId: 'demo-seconds',
      customer: {
        externalId: 'demo-customer',
        name: 'Boulangerie Démo SARL',
        kind: 'B2B',
        email: 'compta@boulangerie-demo.example',
        phone: '+33612345678',
        address: { lines: ['3 place du Marché'], postalCode: '69002', city: 'Lyon', country: 'FR' },
        country: 'FR',
        language: 'fr',
        timeZone: 'Europe/Paris',
      },
    }),
  });
  if (!res.ok) {
    console.error(`demo invoice not issued: ${res.status} ${await res.text()}`);
    return undefined;
  }
  return number;
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  mkdirSync(config.dataDir, { recursive: true });
  if (!process.env.PAYLOAD_CODEC_KEYS) {
    process.env.PAYLOAD_CODEC_KEYS = devPayloadKeys(config.dataDir);
    config = loadConfig();
  }
  const log = devLogger(config);
  // The worker's and the SDK's logs through the same console (before startWorkers installs its own).
  installWorkerRuntime(config, log);
  const demo = !process.argv.includes('--no-demo') && process.env.RELANCE_DEMO !== 'false';
  const devKey = devApiKeyFile(config);

  // Say which port is taken before starting anything, so nothing is left half-started.
  const ports: Array<[number, string]> = [
    [config.API_PORT, 'API_PORT'],
    [config.SMTP_PORT, 'SMTP_PORT'],
    [config.INBOX_PORT, 'INBOX_PORT'],
    [config.SMS_FAKE_PORT, 'SMS_FAKE_PORT'],
  ];
  if (config.INBOUND_SMTP_PORT) ports.push([config.INBOUND_SMTP_PORT, 'INBOUND_SMTP_PORT']);
  if (!config.DATABASE_URL) ports.push([config.DB_PORT, 'DB_PORT']);
  if (!config.TEMPORAL_ADDRESS) ports.push([config.TEMPORAL_PORT, 'TEMPORAL_PORT'], [config.TEMPORAL_UI_PORT, 'TEMPORAL_UI_PORT']);
  for (const [port, variable] of ports) await assertPortFree(port, config.HOST, variable);

  const stoppers: Stopper[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      console.log('\nStopping Relance…');
      for (const s of stoppers.reverse()) {
        try {
          await s.stop();
        } catch (err) {
          console.error(`stopping ${s.name}: ${(err as Error).message}`);
        }
      }
      console.log('Stopped.');
    })());
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    let temporalChild: ChildProcess | undefined;
    if (!config.TEMPORAL_ADDRESS) {
      temporalChild = startTemporalDevServer(config, devKey);
      const child = temporalChild;
      stoppers.push({ name: 'Temporal dev server', stop: () => stopChild(child, 'Temporal dev server') });
    }

    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const db = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'pglite'), port: config.DB_PORT, host: config.HOST });
      stoppers.push({ name: 'embedded PostgreSQL', stop: () => db.stop() });
      databaseUrl = db.url;
    }
    const migrated = await applyMigrations({ databaseUrl });
    if (migrated.applied.length) log.info({ applied: migrated.applied }, 'database migrated');
    // Replies and bounces of local mail route back to the inbound receiver below.
    const runtimeConfig: Config = { ...config, DATABASE_URL: databaseUrl, INBOUND_DOMAIN: config.INBOUND_DOMAIN ?? 'inbound.relance.localhost' };

    const sink = await startMailSink({ smtpPort: config.SMTP_PORT, webPort: config.INBOX_PORT, host: config.HOST });
    stoppers.push({ name: 'mail sink', stop: () => sink.stop() });
    const sms = await startTwilioFake({ port: config.SMS_FAKE_PORT, host: config.HOST });
    stoppers.push({ name: 'SMS fake', stop: () => sms.stop() });

    await waitForTemporal(config, temporalChild);
    const prisma = createPrisma(databaseUrl);
    stoppers.push({ name: 'database pool', stop: () => prisma.$disconnect() });

    // SMTP_RELAY_HOST: the worker's mail goes to one's own SMTP server; the sink keeps SMTP_PORT.
    const relay = config.SMTP_RELAY_HOST ? { host: config.SMTP_RELAY_HOST, port: config.SMTP_RELAY_PORT ?? 25 } : undefined;
    const workerConfig: Config = relay ? { ...runtimeConfig, SMTP_HOST: relay.host, SMTP_PORT: relay.port } : runtimeConfig;
    const workers = await startWorkers({ config: workerConfig, prisma });
    stoppers.push({ name: 'worker', stop: () => workers.shutdown() });

    const temporal = await connectClient(config);
    stoppers.push({ name: 'Temporal client', stop: () => temporal.connection.close() });
    // The dev key exists before the API answers: whoever sees /healthz up can use it.
    const key = await devApiKey(config, prisma, devKey);
    const api = await startApi({ config: runtimeConfig, prisma, temporal, log });
    stoppers.push({ name: 'API', stop: () => api.close() });
    const inbound = config.INBOUND_SMTP_PORT
      ? await startInboundSmtp(
          { prisma, config: runtimeConfig, log, temporal: { client: temporal, taskQueue: TaskQueues.workflow, timeoutMs: config.API_TEMPORAL_TIMEOUT_MS } },
          { port: config.INBOUND_SMTP_PORT, host: config.HOST },
        )
      : undefined;
    if (inbound) stoppers.push({ name: 'inbound SMTP', stop: () => inbound.stop() });

    const demoNumber = demo ? await issueDemoInvoice(api.url, key) : undefined;
    const ui = config.TEMPORAL_ADDRESS ? '(your Temporal cluster’s UI)' : `http://${config.HOST}:${config.TEMPORAL_UI_PORT}`;
    console.log(
      [
        '',
        'Relance is running.',
        `  API              ${api.url}   (docs: ${api.url}/docs, health: ${api.url}/healthz)`,
        `  API key (dev)    ${key}`,
        `  Temporal UI      ${ui}`,
        `  Temporal         ${temporalAddress(config)} (namespace ${config.TEMPORAL_NAMESPACE})`,
        `  Mail inbox       http://${config.HOST}:${config.INBOX_PORT}   (SMTP ${config.HOST}:${config.SMTP_PORT})`,
        relay ? `  Mail relay       the worker sends to ${relay.host}:${relay.port} (SMTP_RELAY_HOST), not to the inbox` : '',
        inbound ? `  Inbound SMTP     ${config.HOST}:${inbound.port} (replies to reply+…@${runtimeConfig.INBOUND_DOMAIN}; GET ${api.url}/v1/replies)` : '',
        `  SMS sent         http://${config.HOST}:${config.SMS_FAKE_PORT}`,
        `  Letters, dossiers ${path.resolve(config.dataDir, 'outbox')}`,
        `  Database         ${config.DATABASE_URL ? 'DATABASE_URL' : `embedded PGlite at ${databaseUrl} (data in ${path.resolve(config.dataDir, 'pglite')})`}`,
        demoNumber ? `  Demo invoice     ${demoNumber} (policy demo-seconds: watch the inbox, SMS and outbox over the next minute)` : '',
        '',
        'Ctrl-C stops everything.',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    await workers.done;
  } catch (err) {
    console.error(`Relance did not start: ${(err as Error).message}`);
    await stopAll();
    process.exit(1);
  }
}

void main();
