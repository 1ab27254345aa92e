// The real Temporal server (not the dev server) and its SQL schema tool, built from the Go
// module proxy into .tools/temporal-server/<version>/ once, then reused:
//   bin/temporal-server      go.temporal.io/server/cmd/server
//   bin/temporal-sql-tool    go.temporal.io/server/cmd/tools/sql
//   schema/postgresql/v12/   the versioned schemas of the persistence and visibility databases
//   config/config_template.yaml  the server's own env-driven config template (the one its
//                                binary embeds), passed with --config-file so it is on disk
// All three come from the module's source in the Go module cache, at the same version.
//   npm run temporal:server      builds if missing, prints the paths
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath, PROJECT_ROOT } from '../tools/temporal-bin';

/** docker-compose.yml runs the images of this version: the cluster here runs the same server. */
export const TEMPORAL_SERVER_VERSION = 'v1.30.1';
const MODULE = 'go.temporal.io/server';

export interface TemporalServerTools {
  version: string;
  dir: string;
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12: `temporal/versioned` and `visibility/versioned` below it. */
  schemaDir: string;
  configTemplate: string;
}

export function toolsDir(version = TEMPORAL_SERVER_VERSION): string {
  return path.join(PROJECT_ROOT, '.tools', 'temporal-server', version);
}

function layout(dir: string, version: string): TemporalServerTools {
  return {
    version,
    dir,
    server: path.join(dir, 'bin', 'temporal-server'),
    sqlTool: path.join(dir, 'bin', 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
    configTemplate: path.join(dir, 'config', 'config_template.yaml'),
  };
}

const complete = (t: TemporalServerTools) => [t.server, t.sqlTool, t.configTemplate, path.join(t.schemaDir, 'temporal', 'versioned')].every((p) => existsSync(p));

export class TemporalServerUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemporalServerUnavailable';
  }
}

/** The cached build, or undefined (never builds: tests use this to decide whether to skip). */
export function findTemporalServer(version = TEMPORAL_SERVER_VERSION): TemporalServerTools | undefined {
  const t = layout(toolsDir(version), version);
  return complete(t) ? t : undefined;
}

function goOrExplain(env: NodeJS.ProcessEnv): string {
  const go = findOnPath('go', env.PATH) ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (go) return go;
  throw new TemporalServerUnavailable(
    [
      `Go is not installed: the Temporal server ${TEMPORAL_SERVER_VERSION} is built from the Go module proxy (${MODULE}).`,
      'Do one of:',
      '  - install Go ≥ 1.24 (https://go.dev/dl/, or your distribution’s golang package) and run `npm run temporal:server` again;',
      `  - or build it elsewhere: GOBIN=$PWD/${path.relative(PROJECT_ROOT, toolsDir())}/bin go install ${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION} ${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
      '    (then rename server → temporal-server and sql → temporal-sql-tool, and copy schema/postgresql/v12 and common/config/config_template_embedded.yaml from the module);',
      '  - or skip the cluster: `npm start` runs the single-process dev server, and TEMPORAL_ADDRESS points Relance at any cluster you run.',
    ].join('\n'),
  );
}

function run(cmd: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): string {
  const r = spawnSync(cmd, args, { env: opts.env, cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new TemporalServerUnavailable(`${path.basename(cmd)} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new TemporalServerUnavailable(`${path.basename(cmd)} ${args.join(' ')} exited with ${r.status}:\n${(r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n')}`);
  }
  return r.stdout;
}

/**
 * The cached build, or builds it (about 2–3 minutes of two cores, once). Builds into a
 * staging directory renamed into place at the end, so an interrupted or concurrent build
 * never leaves a half-filled cache behind.
 */
export function ensureTemporalServer(opts: { version?: string; log?: (m: string) => void; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): TemporalServerTools {
  const version = opts.version ?? TEMPORAL_SERVER_VERSION;
  const cached = findTemporalServer(version);
  if (cached) return cached;
  const log = opts.log ?? ((m: string) => console.error(m));
  const env = { ...(opts.env ?? process.env) };
  const go = goOrExplain(env);
  const timeoutMs = opts.timeoutMs ?? 20 * 60_000;
  const final = toolsDir(version);
  const staging = `${final}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(path.join(staging, 'bin'), { recursive: true });
  const t0 = Date.now();
  try {
    log(`[temporal-server] building ${MODULE} ${version} and its SQL tool with ${go} (once; about 2–3 minutes)`);
    run(go, ['install', `${MODULE}/cmd/server@${version}`, `${MODULE}/cmd/tools/sql@${version}`], {
      env: { ...env, GOBIN: path.join(staging, 'bin'), GOFLAGS: `${env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
      cwd: staging,
      timeoutMs,
    });
    renameSync(path.join(staging, 'bin', 'server'), path.join(staging, 'bin', 'temporal-server'));
    renameSync(path.join(staging, 'bin', 'sql'), path.join(staging, 'bin', 'temporal-sql-tool'));
    // The module's source (already downloaded by the install): where the schemas and the template are.
    const { Dir: moduleDir } = JSON.parse(run(go, ['mod', 'download', '-json', `${MODULE}@${version}`], { env, cwd: staging, timeoutMs: 5 * 60_000 })) as { Dir: string };
    cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), path.join(staging, 'schema', 'postgresql', 'v12'), { recursive: true });
    mkdirSync(path.join(staging, 'config'));
    cpSync(path.join(moduleDir, 'common', 'config', 'config_template_embedded.yaml'), path.join(staging, 'config', 'config_template.yaml'));
    if (!complete(layout(staging, version))) throw new TemporalServerUnavailable(`the build of ${version} is incomplete in ${staging}`);
    try {
      renameSync(staging, final);
    } catch (err) {
      // Another process finished the same build first: keep its copy.
      if (!findTemporalServer(version)) throw err;
    }
    log(`[temporal-server] built in ${Math.round((Date.now() - t0) / 1000)} s into ${path.relative(PROJECT_ROOT, final)}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return layout(final, version);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const t = ensureTemporalServer();
    console.log(`temporal-server: ${t.server}\ntemporal-sql-tool: ${t.sqlTool}\nschemas: ${t.schemaDir}\nconfig template: ${t.configTemplate}`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
