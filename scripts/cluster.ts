// A real Temporal cluster on this machine, each piece its own process, all on loopback:
//   PostgreSQL (Debian's, a private data directory)  persistence + SQL visibility databases
//   temporal-server --service frontend | history (×2, sharing the shards) | matching | worker
//   Relance: the API, a workflows worker and a channels worker (WORKER_ROLES)
// The server is built once from the Go module proxy (scripts/temporal-server.ts); its schemas
// are applied with its own SQL tool, its config is the module's env-driven template; the
// namespace is registered and the search attributes added with `npm run setup:search-attributes`.
//
//   npm run cluster            starts it all, prints the addresses, Ctrl-C stops everything
// The fault run (tests/faults/cluster-chaos.test.ts, `npm run chaos:cluster`) and the search
// attribute test use startCluster() to kill and restart single processes.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import pg from 'pg';
import { freePort } from '../tests/helpers/processes';
import { ensureTemporalServer, type TemporalServerTools } from './temporal-server';
import { PROJECT_ROOT } from '../tools/temporal-bin';
import { dataConverterFromEnv } from '../codec/index';

export type TemporalService = 'frontend' | 'history-1' | 'history-2' | 'matching' | 'worker';
export type RelanceProcess = 'api' | 'worker-workflows' | 'worker-channels';
export const TEMPORAL_SERVICES: TemporalService[] = ['frontend', 'history-1', 'history-2', 'matching', 'worker'];

/** One child process that can be SIGKILLed and started again with the same command. */
export class ManagedProcess {
  child: ChildProcess | undefined;
  starts = 0;
  private exitedP: Promise<void> = Promise.resolve();
  constructor(
    readonly name: string,
    private readonly cmd: string,
    private readonly args: string[],
    private readonly opts: { env: NodeJS.ProcessEnv; logFile: string; cwd?: string; uid?: number; gid?: number },
  ) {}

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    // Output straight into its log file (appended across restarts): no pipe for us to drain.
    const fd = openSync(this.opts.logFile, 'a');
    try {
      // Its own process group: a terminal's Ctrl-C reaches the launcher only, which stops
      // the pieces in order (Relance first, PostgreSQL last).
      this.child = spawn(this.cmd, this.args, {
        cwd: this.opts.cwd ?? PROJECT_ROOT,
        env: this.opts.env,
        stdio: ['ignore', fd, fd],
        detached: true,
        uid: this.opts.uid,
        gid: this.opts.gid,
      });
    } finally {
      closeSync(fd);
    }
    const child = this.child;
    this.exitedP = new Promise((resolve) => child.once('exit', () => resolve()));
    this.starts++;
  }

  /** Sends the signal and waits for the exit (SIGKILL after graceMs). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exitedP;
    clearTimeout(timer);
  }

  /** Resolves when the process exits (already exited: at once). */
  exited(): Promise<void> {
    return this.exitedP;
  }

  describeExit(): string {
    return this.child ? `exit ${this.child.exitCode ?? this.child.signalCode}` : 'not started';
  }
}

export interface ClusterOptions {
  /** Directory for the databases, configs and logs; default a fresh temp dir, removed by stop(). */
  dir?: string;
  namespace?: string;
  historyShards?: number;
  /** Start Relance's API and two workers too (with this extra environment: SMTP, Twilio...). */
  relance?: { env: Record<string, string>; apiPort?: number } | false;
  /** Frontend gRPC port (default: a free one). */
  frontendPort?: number;
  log?: (message: string) => void;
}

export interface Cluster {
  dir: string;
  tools: TemporalServerTools;
  namespace: string;
  frontendAddress: string;
  /** postgresql:// URL of Relance's own database on the same PostgreSQL. */
  relanceDatabaseUrl: string;
  apiUrl?: string;
  processes: Map<string, ManagedProcess>;
  process(name: TemporalService | RelanceProcess | 'postgresql'): ManagedProcess;
  /** Milliseconds each setup phase took (postgresql, schema, temporal, namespace, relance). */
  timings: Record<string, number>;
  /** Waits until the named process answers again after a (re)start. */
  waitReady(name: TemporalService | RelanceProcess): Promise<number>;
  logTail(name: string, lines?: number): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An error `until` does not retry: a process it waits for has exited. */
class ProcessExited extends Error {}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined | false>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      if (err instanceof ProcessExited) throw err;
      last = (err as Error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not ready after ${timeoutMs / 1000} s${last ? ` (last error: ${last})` : ''}`);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.setTimeout(1_000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * A free loopback port below 32768: Temporal records its membership ports in a smallint
 * column (cluster_membership.rpc_port), so the kernel's ephemeral range does not fit.
 */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port found between 20000 and 32000');
}

// ---- PostgreSQL ----------------------------------------------------------------------

/** Debian's PostgreSQL binaries; installed with apt-get when absent and we are root (as .ci/run does). */
export function postgresBinDir(log: (m: string) => void): string {
  const find = () => {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(a) - Number(b));
    return versions.length ? path.join(root, versions[versions.length - 1]!, 'bin') : undefined;
  };
  const found = find();
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): `sudo apt-get install postgresql`, then run this again');
  }
  log('[cluster] apt-get install postgresql (Debian)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', 'postgresql']]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 10 * 60_000 });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed: ${r.stderr?.trim().split('\n').slice(-3).join(' ')}`);
  }
  const installed = find();
  if (!installed) throw new Error('apt-get installed postgresql but no initdb was found under /usr/lib/postgresql');
  return installed;
}

/** PostgreSQL refuses to run as root: as root, its processes run as the `postgres` user. */
function postgresUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

// ---- the cluster ------------------------------------------------------------------------

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const namespace = opts.namespace ?? 'default';
  const ownDir = !opts.dir;
  const dir = opts.dir ?? mkdtempSync(path.join(tmpdir(), 'relance-cluster-'));
  const logs = path.join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const processes = new Map<string, ManagedProcess>();
  const timings: Record<string, number> = {};
  const killOnExit = () => {
    for (const p of processes.values()) if (p.running) p.child!.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stop = async () => {
    // Relance first (its workers drain against a live cluster), PostgreSQL last.
    const order = ['api', 'worker-workflows', 'worker-channels', 'frontend', 'worker', 'matching', 'history-1', 'history-2', 'postgresql'];
    for (const group of [order.slice(0, 3), order.slice(3, 8), order.slice(8)]) {
      await Promise.all(group.map((n) => processes.get(n)?.stop(n === 'postgresql' ? 'SIGINT' : 'SIGTERM', 15_000)));
    }
    process.removeListener('exit', killOnExit);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    let t0 = Date.now();
    const tools = ensureTemporalServer({ log });
    timings.build = Date.now() - t0;

    // PostgreSQL: a private data directory, loopback only, no fsync (throwaway data).
    t0 = Date.now();
    const pgBin = postgresBinDir(log);
    const pgUser = postgresUser();
    const pgDir = path.join(dir, 'postgresql');
    mkdirSync(pgDir, { recursive: true });
    if (pgUser.uid !== undefined) {
      // mkdtemp makes the directory 0700: the postgres user must be able to reach its own below it.
      chmodSync(dir, 0o711);
      chownSync(pgDir, pgUser.uid, pgUser.gid!);
    }
    const pgPort = await freePort();
    const initdb = spawnSync(path.join(pgBin, 'initdb'), ['-D', path.join(pgDir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync'], {
      ...pgUser,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (initdb.status !== 0) throw new Error(`initdb failed: ${initdb.stderr || initdb.stdout}`);
    const postgres = new ManagedProcess(
      'postgresql',
      path.join(pgBin, 'postgres'),
      ['-D', path.join(pgDir, 'data'), '-p', String(pgPort), '-k', pgDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=300'],
      { env: { ...process.env }, logFile: path.join(logs, 'postgresql.log'), ...pgUser, cwd: pgDir },
    );
    processes.set('postgresql', postgres);
    if (pgUser.uid !== undefined) chownSync(logs, pgUser.uid, pgUser.gid!);
    postgres.start();
    const admin = await until('PostgreSQL', 30_000, async () => {
      if (!postgres.running) throw new ProcessExited(`postgres ${postgres.describeExit()}`);
      const c = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'postgres', database: 'postgres' });
      await c.connect();
      return c;
    });
    try {
      await admin.query(`CREATE ROLE temporal LOGIN CREATEDB PASSWORD 'temporal'`);
      await admin.query(`CREATE ROLE relance LOGIN PASSWORD 'relance'`);
      await admin.query(`CREATE DATABASE relance OWNER relance`);
    } finally {
      await admin.end();
    }
    timings.postgresql = Date.now() - t0;

    // Temporal's two databases, created and migrated by its own tool from the module's schemas.
    t0 = Date.now();
    const sqlTool = (db: string, ...args: string[]) => {
      const r = spawnSync(tools.sqlTool, ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pgPort), '-u', 'temporal', '--pw', 'temporal', '--db', db, ...args], {
        encoding: 'utf8',
        timeout: 120_000,
      });
      if (r.status !== 0) throw new Error(`temporal-sql-tool --db ${db} ${args.join(' ')}: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n')}`);
    };
    for (const [db, schema] of [
      ['temporal', 'temporal'],
      ['temporal_visibility', 'visibility'],
    ] as const) {
      sqlTool(db, 'create');
      sqlTool(db, 'setup-schema', '-v', '0.0');
      sqlTool(db, 'update-schema', '-d', path.join(tools.schemaDir, schema, 'versioned'));
    }
    timings.schema = Date.now() - t0;

    // The Temporal services: one binary, one config template, one process per service.
    t0 = Date.now();
    const taken = new Set<number>();
    const port = async () => freeLowPort(taken);
    const ports = {
      frontend: { grpc: opts.frontendPort ?? (await port()), membership: await port(), http: await port() },
      'history-1': { grpc: await port(), membership: await port() },
      'history-2': { grpc: await port(), membership: await port() },
      matching: { grpc: await port(), membership: await port() },
      worker: { grpc: await port(), membership: await port() },
    };
    const common: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: process.env.CLUSTER_TEMPORAL_LOG_LEVEL ?? 'warn',
      DB: 'postgres12',
      POSTGRES_SEEDS: '127.0.0.1',
      DB_PORT: String(pgPort),
      POSTGRES_USER: 'temporal',
      POSTGRES_PWD: 'temporal',
      NUM_HISTORY_SHARDS: String(opts.historyShards ?? 8),
      BIND_ON_IP: '127.0.0.1',
      TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
      DYNAMIC_CONFIG_FILE_PATH: path.join(PROJECT_ROOT, 'deploy', 'temporal', 'dynamicconfig', 'relance.yaml'),
      FRONTEND_GRPC_PORT: String(ports.frontend.grpc),
      FRONTEND_MEMBERSHIP_PORT: String(ports.frontend.membership),
      FRONTEND_HTTP_PORT: String(ports.frontend.http),
      MATCHING_GRPC_PORT: String(ports.matching.grpc),
      MATCHING_MEMBERSHIP_PORT: String(ports.matching.membership),
      WORKER_GRPC_PORT: String(ports.worker.grpc),
      WORKER_MEMBERSHIP_PORT: String(ports.worker.membership),
    };
    for (const name of TEMPORAL_SERVICES) {
      const service = name.startsWith('history') ? 'history' : name;
      const own = name.startsWith('history')
        ? { HISTORY_GRPC_PORT: String(ports[name].grpc), HISTORY_MEMBERSHIP_PORT: String(ports[name].membership) }
        : {};
      processes.set(
        name,
        new ManagedProcess(name, tools.server, ['--config-file', tools.configTemplate, '--allow-no-auth', 'start', '--service', service], {
          env: { ...common, ...own },
          logFile: path.join(logs, `${name}.log`),
        }),
      );
    }
    const grpcPortOf = (name: TemporalService) => ports[name].grpc;
    const relancePorts: Record<RelanceProcess, number> = { api: 0, 'worker-workflows': 0, 'worker-channels': 0 };
    const frontendAddress = `127.0.0.1:${ports.frontend.grpc}`;

    const checkAlive = (name: string) => {
      const p = processes.get(name)!;
      if (!p.running) throw new ProcessExited(`${name} ${p.describeExit()}:\n${logTail(name, 4)}`);
    };
    const logTail = (name: string, lines = 15) => {
      try {
        const text = execFileSync('tail', ['-n', String(lines), path.join(logs, `${name}.log`)], { encoding: 'utf8' });
        return text.split('\n').map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)).join('\n');
      } catch {
        return '';
      }
    };
    const frontendAnswers = async () => {
      const c = await Connection.connect({ address: frontendAddress, connectTimeout: 1_000 });
      try {
        await c.workflowService.getSystemInfo({});
        return true;
      } finally {
        await c.close();
      }
    };
    const waitReady = async (name: TemporalService | RelanceProcess): Promise<number> => {
      const t = Date.now();
      if ((TEMPORAL_SERVICES as string[]).includes(name)) {
        await until(name, 90_000, async () => {
          checkAlive(name);
          if (name === 'frontend') return frontendAnswers();
          // Temporal's worker service serves no gRPC: it is up once it listens for its ring.
          return tcpOpen(name === 'worker' ? ports.worker.membership : grpcPortOf(name as TemporalService));
        });
      } else {
        await until(name, 120_000, async () => {
          checkAlive(name);
          const p = relancePorts[name as RelanceProcess];
          return (await fetch(`http://127.0.0.1:${p}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok;
        });
      }
      return Date.now() - t;
    };
    // The first process writes the cluster's metadata into the fresh database; several doing
    // it at once fail ("Failed to apply cluster metadata"). So the frontend first, alone.
    processes.get('frontend')!.start();
    await waitReady('frontend');
    for (const name of TEMPORAL_SERVICES.slice(1)) processes.get(name)!.start();
    for (const name of TEMPORAL_SERVICES.slice(1)) await waitReady(name);
    timings.temporal = Date.now() - t0;

    // The namespace, then Relance's search attributes through the project's own command.
    t0 = Date.now();
    const connection = await Connection.connect({ address: frontendAddress });
    const client = new Client({ connection, namespace, dataConverter: dataConverterFromEnv() });
    try {
      await until('namespace registration', 60_000, async () => {
        try {
          await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
        } catch (err) {
          if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
        }
        return true;
      });
      await until('namespace visible to the frontend', 60_000, async () => {
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      });
      const setup = spawnSync('npm', ['run', '--silent', 'setup:search-attributes'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, TEMPORAL_ADDRESS: frontendAddress, TEMPORAL_NAMESPACE: namespace, NODE_ENV: 'production', LOG_LEVEL: 'warn' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      if (setup.status !== 0) throw new Error(`npm run setup:search-attributes failed: ${setup.stderr || setup.stdout}`);
      log(`[cluster] ${setup.stdout.trim()}`);
      // Visibility accepts queries on them (the namespace cache has them): workflows may start.
      await until('search attributes in visibility', 60_000, async () => {
        for await (const wf of client.workflow.list({ query: 'InvoiceNumber = "cluster-probe" AND AmountDue > 0' })) void wf;
        return true;
      });
      // End to end through history and matching: a workflow starts and its task reaches a queue.
      await until('history and matching', 90_000, async () => {
        const handle = await client.workflow.start('cluster-probe', { taskQueue: 'cluster-probe', workflowId: `cluster-probe-${Date.now()}`, workflowRunTimeout: '1 minute' });
        const q = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: 'cluster-probe' }, reportStats: true });
        await handle.terminate('probe');
        return q !== undefined;
      }, 1_000);
    } finally {
      await connection.close();
    }
    timings.namespace = Date.now() - t0;

    // Relance: migrations, then the API and the two workers as their own processes.
    const relanceDatabaseUrl = `postgresql://relance:relance@127.0.0.1:${pgPort}/relance`;
    let apiUrl: string | undefined;
    if (opts.relance) {
      t0 = Date.now();
      const { applyMigrations } = await import('../tools/db/migrate');
      await applyMigrations({ databaseUrl: relanceDatabaseUrl });
      relancePorts.api = opts.relance.apiPort ?? (await port());
      relancePorts['worker-workflows'] = await port();
      relancePorts['worker-channels'] = await port();
      const dataDir = path.join(dir, 'relance-data');
      mkdirSync(dataDir, { recursive: true });
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DATABASE_URL: relanceDatabaseUrl,
        TEMPORAL_ADDRESS: frontendAddress,
        TEMPORAL_NAMESPACE: namespace,
        WORKER_METRICS_ADDRESS: 'off',
        ...opts.relance.env,
      };
      const node = (name: RelanceProcess, script: string, own: Record<string, string>, nodeFlags: string[] = []) =>
        processes.set(
          name,
          new ManagedProcess(name, process.execPath, [...nodeFlags, '--import', 'tsx', path.join(PROJECT_ROOT, script)], {
            env: { ...env, ...own },
            logFile: path.join(logs, `${name}.log`),
          }),
        );
      node('api', 'api/server.ts', { API_PORT: String(relancePorts.api) });
      node('worker-workflows', 'worker/main.ts', { WORKER_ROLES: 'workflows', WORKER_METRICS_PORT: String(relancePorts['worker-workflows']) }, ['--max-semi-space-size=2']);
      node('worker-channels', 'worker/main.ts', { WORKER_ROLES: 'email,sms,letter,agency', WORKER_METRICS_PORT: String(relancePorts['worker-channels']) });
      for (const name of ['api', 'worker-workflows', 'worker-channels'] as const) processes.get(name)!.start();
      for (const name of ['api', 'worker-workflows', 'worker-channels'] as const) await waitReady(name);
      apiUrl = `http://127.0.0.1:${relancePorts.api}`;
      timings.relance = Date.now() - t0;
    }

    return {
      dir,
      tools,
      namespace,
      frontendAddress,
      relanceDatabaseUrl,
      apiUrl,
      processes,
      process(name) {
        const p = processes.get(name);
        if (!p) throw new Error(`no process ${name} in this cluster`);
        return p;
      },
      timings,
      waitReady,
      logTail,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

// ---- npm run cluster ---------------------------------------------------------------------

async function main(): Promise<void> {
  const { startMailSink } = await import('../tools/peers/mail-sink');
  const { startTwilioFake } = await import('../tools/peers/sms-fake');
  const { createApiKey } = await import('../api/auth');
  const { createPrisma } = await import('../prisma/client');
  const num = (v: string | undefined) => (v ? Number(v) : undefined);
  const [sink, twilio] = await Promise.all([
    startMailSink({ smtpPort: num(process.env.SMTP_PORT) ?? 0, webPort: num(process.env.INBOX_PORT) ?? 0 }),
    startTwilioFake({ port: num(process.env.SMS_FAKE_PORT) ?? 0 }),
  ]);
  const running: { cluster?: Cluster } = {};
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      console.log('\nStopping the cluster…');
      await running.cluster?.stop();
      await Promise.all([sink.stop(), twilio.stop()]);
      console.log('Stopped.');
    })());
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));
  const t0 = Date.now();
  const cluster = (running.cluster = await startCluster({
    dir: process.env.CLUSTER_DIR ? path.resolve(process.env.CLUSTER_DIR) : undefined,
    namespace: process.env.TEMPORAL_NAMESPACE,
    frontendPort: num(process.env.CLUSTER_FRONTEND_PORT),
    relance: {
      apiPort: num(process.env.API_PORT),
      env: { SMTP_PORT: String(sink.smtpPort), TWILIO_API_BASE: twilio.url, TWILIO_ACCOUNT_SID: 'AC0123456789abcdef0123456789abcdef' },
    },
    log: (m) => console.log(m),
  }));
  const prisma = createPrisma(cluster.relanceDatabaseUrl, { max: 1 });
  const { key } = await createApiKey(prisma, 'npm run cluster');
  await prisma.$disconnect();
  console.log(
    [
      `Cluster up in ${Math.round((Date.now() - t0) / 1000)} s (${Object.entries(cluster.timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')})`,
      `  Temporal frontend   ${cluster.frontendAddress}  (namespace ${cluster.namespace}; server ${cluster.tools.version})`,
      `  processes           ${[...cluster.processes.values()].map((p) => `${p.name}:${p.child?.pid}`).join(' ')}`,
      `  Relance API         ${cluster.apiUrl}   API key: ${key}`,
      `  mail inbox          http://127.0.0.1:${sink.webPort}   SMS fake ${twilio.url}`,
      `  logs                ${path.join(cluster.dir, 'logs')}`,
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
