// No Docker engine runs here, so the deployment files are checked as data: docker-compose.yml
// (services, pinned images, ports, env against the config schema, depends_on with health
// conditions, healthchecks, volumes, files it mounts), the Dockerfile (stages, pinned base,
// non-root, healthcheck, RUN steps = the npm scripts install/CI run, runtime imports only
// production dependencies) and the entrypoint.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_WORKFLOW_CACHE_SIZE, ENV_VARIABLES, loadConfig, WORKER_ROLE_NAMES } from '../../config/index';
import { DIST_ENTRIES } from '../../scripts/build-dist';
import { workerHeapMb } from '../../worker/heap';
import { PROJECT_ROOT } from '../../tools/temporal-bin';

const read = (p: string) => readFileSync(path.join(PROJECT_ROOT, p), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies: Record<string, string> };

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  env_file?: Array<{ path: string; required: boolean }>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  stop_grace_period?: string;
  user?: string;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const services = compose.services;
const relanceServices = Object.entries(services).filter(([, s]) => s.build);

/** `${VAR:-default}` → default (what compose does with VAR unset); `${VAR}` stays an error. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+):-([^}]*)\}/g, (_m, _v, d: string) => d);
}

/** Seconds of a compose duration such as 45s or 1m30s. */
function seconds(d: string | undefined): number {
  if (!d) return 10;
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+)(h|m|s)/g)) total += Number(n) * (unit === 'h' ? 3600 : unit === 'm' ? 60 : 1);
  return total;
}

describe('docker-compose.yml', () => {
  test('the full topology is there', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['mailpit', 'postgresql', 'relance-api', 'relance-channel-worker', 'relance-setup', 'relance-worker', 'sms-fake', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui'].sort(),
    );
    expect(services.temporal.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-schema'].image).toMatch(/^temporalio\/admin-tools:/);
    expect(services['temporal-ui'].image).toMatch(/^temporalio\/ui:/);
    expect(services.mailpit.image).toMatch(/^axllent\/mailpit:/);
    expect(services.postgresql.image).toMatch(/^postgres:16\./);
  });

  test('every pulled image is pinned to an exact version; Relance services build from the Dockerfile', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        expect(s.build, name).toEqual({ context: '.', dockerfile: 'Dockerfile' });
        continue;
      }
      expect(s.image, name).toBeDefined();
      expect(s.image, name).not.toMatch(/:latest$|\$\{/);
      expect(s.image, name).toMatch(/:v?\d+\.\d+(\.\d+)?$/);
    }
    // Temporal's server and admin tools from the same release.
    expect(services.temporal.image!.split(':')[1]).toBe(services['temporal-schema'].image!.split(':')[1]);
    expect(services['temporal-namespace'].image).toBe(services['temporal-schema'].image);
  });

  test('ports: API, Temporal frontend, Temporal UI, mail inbox, worker metrics', () => {
    expect(services['relance-api'].ports).toContain('3000:3000');
    expect(services.temporal.ports).toContain('7233:7233');
    expect(services['temporal-ui'].ports).toContain('8080:8080');
    expect(services.mailpit.ports).toContain('8025:8025');
    expect(services['relance-worker'].ports).toContain('9465:9465');
    expect(services['relance-channel-worker'].ports).toContain('9466:9466');
  });

  test('every variable set for a Relance service is one config/index.ts validates, and the set loads', () => {
    for (const [name, s] of relanceServices) {
      const env = s.environment ?? {};
      const unknown = Object.keys(env).filter((k) => !ENV_VARIABLES.includes(k));
      expect(unknown, `${name} sets variables config/index.ts does not read`).toEqual([]);
      const resolved = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v))]));
      expect(() => loadConfig(resolved), name).not.toThrow();
    }
    // And the image's own ENV lines.
    const dockerEnv = [...read('Dockerfile').matchAll(/^ENV ((?:.+\\\n)*.+)$/gm)].flatMap((m) =>
      m[1].replace(/\\\n/g, ' ').trim().split(/\s+/).map((kv) => kv.split('=')[0]),
    );
    // Besides ours: glibc's malloc arenas (fewer arenas, less RSS for a threaded worker; docs/benchmarks.md).
    const runtimeTuning = ['MALLOC_ARENA_MAX'];
    expect(dockerEnv.filter((k) => !k.startsWith('npm_config_') && !runtimeTuning.includes(k) && !ENV_VARIABLES.includes(k))).toEqual([]);
  });

  test('Relance services point at services of the topology', () => {
    const hosts = new Set(Object.keys(services));
    for (const name of ['relance-setup', 'relance-api', 'relance-worker', 'relance-channel-worker']) {
      const env = services[name].environment!;
      const config = loadConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v))])));
      expect(hosts.has(new URL(config.DATABASE_URL!).hostname), name).toBe(true);
      expect(hosts.has(config.TEMPORAL_ADDRESS!.split(':')[0]), name).toBe(true);
      expect(config.HOST, name).toBe('0.0.0.0');
    }
    const worker = services['relance-worker'].environment!;
    const channels = services['relance-channel-worker'].environment!;
    expect(channels.SMTP_HOST).toBe('mailpit');
    expect(hosts.has(new URL(channels.TWILIO_API_BASE).hostname)).toBe(true);
    // The two worker services split the task queues between them: together, every role once.
    const roles = [worker, channels].flatMap((e) => loadConfig({ WORKER_ROLES: e.WORKER_ROLES }).WORKER_ROLES);
    expect(loadConfig({ WORKER_ROLES: worker.WORKER_ROLES }).WORKER_ROLES).toEqual(['workflows']);
    expect([...roles].sort()).toEqual([...WORKER_ROLE_NAMES].sort());
    // The healthchecks probe the ports the processes listen on.
    expect(services['relance-worker'].healthcheck!.test).toEqual(['CMD', 'node', 'deploy/healthcheck.mjs', 'worker']);
    expect(services['relance-channel-worker'].healthcheck!.test).toEqual(['CMD', 'node', 'deploy/healthcheck.mjs', 'worker']);
    expect(worker.WORKER_METRICS_PORT).toBe('9465');
    expect(channels.WORKER_METRICS_PORT).toBe('9466');
    expect(services['relance-api'].healthcheck!.test).toEqual(['CMD', 'node', 'deploy/healthcheck.mjs', 'api']);
    expect(services['relance-api'].environment!.API_PORT).toBe('3000');
  });

  test('depends_on always carries a condition, and service_healthy targets have a healthcheck', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} → ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_completed_successfully'], `${name} → ${dep}`).toContain(condition);
        if (condition === 'service_healthy') expect(services[dep].healthcheck?.test, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    // The start order of the header comment.
    expect(services['temporal-schema'].depends_on).toEqual({ postgresql: { condition: 'service_healthy' } });
    expect(services.temporal.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    expect(services['temporal-namespace'].depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
    expect(services['relance-setup'].depends_on!['temporal-namespace']).toEqual({ condition: 'service_completed_successfully' });
    for (const name of ['relance-api', 'relance-worker', 'relance-channel-worker']) {
      expect(services[name].depends_on!['relance-setup'], name).toEqual({ condition: 'service_completed_successfully' });
    }
    for (const name of ['postgresql', 'temporal', 'mailpit', 'sms-fake', 'relance-api', 'relance-worker', 'relance-channel-worker']) {
      expect(services[name].healthcheck?.test, name).toBeDefined();
    }
  });

  test('the search attributes are registered at start: relance-setup runs migrations then setup:search-attributes', () => {
    expect(services['relance-setup'].command).toEqual(['setup']);
    const entry = read('deploy/entrypoint.sh');
    const setup = entry.slice(entry.indexOf('setup)'), entry.indexOf(';;', entry.indexOf('setup)')));
    expect(setup).toContain('npm run --silent db:migrate');
    expect(setup).toContain('npm run --silent setup:search-attributes');
  });

  test('graceful stop: compose waits longer than the processes drain', () => {
    for (const name of ['relance-worker', 'relance-channel-worker']) {
      const worker = services[name];
      expect(seconds(worker.stop_grace_period) * 1000, name).toBeGreaterThan(Number(worker.environment!.WORKER_SHUTDOWN_GRACE_MS));
    }
    const api = services['relance-api'];
    expect(seconds(api.stop_grace_period) * 1000).toBeGreaterThan(Number(api.environment!.API_SHUTDOWN_TIMEOUT_MS));
  });

  test('volumes: named ones are declared, bind mounts exist in the repository', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    const used = new Set<string>();
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const [source] = v.split(':');
        if (source.startsWith('.') || source.startsWith('/')) {
          expect(existsSync(path.join(PROJECT_ROOT, source)), `${name}: ${source}`).toBe(true);
        } else {
          expect(declared.has(source), `${name}: volume ${source} is not declared`).toBe(true);
          used.add(source);
        }
      }
    }
    expect([...declared].sort()).toEqual([...used].sort());
    expect(services.postgresql.volumes).toContain('pgdata:/var/lib/postgresql/data');
    expect(services['relance-worker'].volumes).toContain('relance-data:/data');
    expect(services['relance-channel-worker'].volumes).toContain('relance-data:/data'); // letters and dossiers outbox
  });
});

// ---------------------------------------------------------------------------------------

const dockerfile = read('Dockerfile');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.filter((l) => /^FROM /i.test(l));
const finalStage = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1]));

describe('Dockerfile', () => {
  test('multi-stage, on a pinned Node image matching engines.node', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(base).toMatch(/^node:20\.\d+\.\d+-slim$/);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node; // >=20.19
    const [major, minor] = base!.slice(5).split('.').map(Number);
    const [wantMajor, wantMinor] = engines.replace('>=', '').split('.').map(Number);
    expect(major === wantMajor && minor >= wantMinor).toBe(true);
  });

  test('RUN steps are the npm scripts that scripts/install.sh and CI run', () => {
    const runs = instructions.filter((l) => l.startsWith('RUN ')).map((l) => l.slice(4));
    const npmRuns = runs.flatMap((r) => [...r.matchAll(/npm run (?:--silent )?([\w:-]+)/g)].map((m) => m[1]));
    // build:bundle is the image's own step (workers load the bundle instead of running webpack);
    // CI runs the same script through tests/workflow/bundle.test.ts (workflowBundleFile).
    // build:dist likewise (the compiled API and worker); CI runs it through tests/ops/dist-processes.test.ts.
    expect(npmRuns).toEqual(['db:generate', 'typecheck', 'build:bundle', 'build:dist']);
    for (const s of npmRuns) expect(pkg.scripts[s], s).toBeDefined();
    // The dependency install is install.sh's own command, word for word.
    const install = read('scripts/install.sh');
    const installCommand = /^\s*(npm (?:ci|install)\b.*)$/m.exec(install)?.[1].trim();
    expect(installCommand).toBeDefined();
    expect(runs).toContain(installCommand);
    expect(install).toContain('db:generate');
    // CI's `npm test` type-checks with the same command as the typecheck script.
    expect(read('scripts/test.sh')).toContain(`npx ${pkg.scripts.typecheck}`);
  });

  test('the runtime stage runs as node, with a healthcheck, through the entrypoint', () => {
    expect(finalStage.some((l) => l === 'USER node')).toBe(true);
    expect(finalStage.find((l) => l.startsWith('HEALTHCHECK'))).toContain('deploy/healthcheck.mjs');
    expect(finalStage.find((l) => l.startsWith('ENTRYPOINT'))).toBe('ENTRYPOINT ["sh", "/app/deploy/entrypoint.sh"]');
    expect(existsSync(path.join(PROJECT_ROOT, 'deploy/healthcheck.mjs'))).toBe(true);
  });

  test('what the runtime stage copies exists and is not excluded by .dockerignore', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const copied = finalStage
      .filter((l) => l.startsWith('COPY --from=build'))
      .flatMap((l) => l.split(/\s+/).slice(2, -1))
      .map((p) => p.replace(/^\/app\//, ''));
    expect(copied.length).toBeGreaterThan(5);
    for (const p of copied) {
      if (p === 'node_modules') continue; // installed by the build stage
      if (p === '.build') {
        // Written by the build stage (npm run build:bundle), so ignored in the context like node_modules.
        expect(read('Dockerfile')).toContain('npm run build:bundle -- /app/.build/workflow-bundle.js');
        continue;
      }
      if (p === 'dist') {
        expect(read('Dockerfile')).toContain('RUN npm run build:dist');
        continue;
      }
      expect(existsSync(path.join(PROJECT_ROOT, p)), p).toBe(true);
      expect(ignored.includes(p), `${p} is in .dockerignore`).toBe(false);
    }
    for (const p of ['node_modules', '.git', '.tools', '.data']) expect(ignored).toContain(p);
  });

  test('code copied into the runtime imports production dependencies only (dev ones are pruned)', () => {
    const runtimeDirs = ['activities', 'api', 'config', 'contracts', 'deploy', 'domain', 'observability', 'prisma', 'worker', 'workflows', 'scripts', 'tools'];
    // Files that never run in the image (the build stage's compiler, the embedded launcher and its binary locator, Prisma's CLI config).
    const notInImage = new Set(['scripts/build-dist.ts', 'tools/dev.ts', 'tools/temporal-bin.ts', 'scripts/test-summary.mjs', 'tools/db-start.ts', 'tools/db/drift.ts']);
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(path.join(PROJECT_ROOT, dir))) {
        const rel = path.join(dir, entry);
        if (rel === 'prisma/generated' || rel === 'prisma/migrations') continue;
        if (statSync(path.join(PROJECT_ROOT, rel)).isDirectory()) walk(rel);
        else if (/\.(ts|mjs)$/.test(entry) && !notInImage.has(rel)) {
          const src = read(rel);
          for (const m of src.matchAll(/(?:^|\n)\s*import\s+(?!type\b)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)) {
            const spec = m[1] ?? m[2];
            if (spec.startsWith('.') || builtins.has(spec)) continue;
            const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
            if (!pkg.dependencies[name]) offenders.push(`${rel}: ${name}`);
          }
        }
      }
    };
    for (const d of runtimeDirs) walk(d);
    expect(offenders).toEqual([]);
    expect(pkg.dependencies.tsx, 'the image runs its setup commands through tsx').toBeDefined();
  });

  test('entrypoint: every npm script and file it runs exists', () => {
    const entry = read('deploy/entrypoint.sh');
    expect(entry.startsWith('#!/bin/sh')).toBe(true);
    for (const [, script] of entry.matchAll(/npm run (?:--silent )?([\w:-]+)/g)) expect(pkg.scripts[script], script).toBeDefined();
    // api and worker are exec'd (the process, not a shell, gets the container's SIGTERM), compiled
    // by build:dist from the sources of DIST_ENTRIES.
    expect(entry).toMatch(/exec node dist\/api\.mjs$/m);
    expect(DIST_ENTRIES).toEqual({ api: 'api/server.ts', worker: 'worker/main.ts' });
    expect(entry).toMatch(/exec node --max-semi-space-size=\d+ --max-old-space-size="\$heap_mb" dist\/worker\.mjs$/m);
    for (const src of Object.values(DIST_ENTRIES)) expect(existsSync(path.join(PROJECT_ROOT, src)), src).toBe(true);
    const sms = services['sms-fake'].command!;
    expect(existsSync(path.join(PROJECT_ROOT, sms[sms.length - 1]))).toBe(true);
  });
});

describe('worker heap cap', () => {
  // The entrypoint's shell arithmetic, run by sh, against worker/heap.ts (which the benchmark uses).
  const line = /^\s*(heap_mb=.*)$/m.exec(read('deploy/entrypoint.sh'))?.[1];
  const shell = (env: Record<string, string>) =>
    execFileSync('sh', ['-c', `${line}; echo "$heap_mb"`], { env: { PATH: process.env.PATH ?? '', ...env } }).toString().trim();

  test.each([[{}, DEFAULT_WORKFLOW_CACHE_SIZE], [{ WORKFLOW_CACHE_SIZE: '1000' }, 1000], [{ WORKFLOW_CACHE_SIZE: '100' }, 100], [{ WORKFLOW_CACHE_SIZE: '0' }, 0]])('%o: the entrypoint computes workerHeapMb', (env, cache) => {
    expect(line).toBeDefined();
    expect(Number(shell(env))).toBe(workerHeapMb(cache));
  });

  test('WORKER_HEAP_MB overrides it, and config validates it', () => {
    expect(shell({ WORKER_HEAP_MB: '300', WORKFLOW_CACHE_SIZE: '100' })).toBe('300');
    expect(loadConfig({ WORKER_HEAP_MB: '300' }).WORKER_HEAP_MB).toBe(300);
    expect(loadConfig({ WORKER_HEAP_MB: '' }).WORKER_HEAP_MB).toBeUndefined();
    expect(() => loadConfig({ WORKER_HEAP_MB: '32' })).toThrow(/WORKER_HEAP_MB/);
  });
});
