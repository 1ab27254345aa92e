// The worker process's parts: one Worker for the workflow task queue (with the
// journal as local activities) and one per channel, each with its provider's rate limit.
// A process runs all of them or only some (roles, WORKER_ROLES): the workflows in one
// process type, the channels in another, each scaled on its own.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleOption, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ActivityDeps } from '../activities/deps';
import type { BatchChannelActivities, CalendarActivities, ChannelActivities, CustomerActivities, JournalActivities, RecordActivities } from '../activities/types';
import { channelQueuesFor, TaskQueues } from '../contracts/task-queues';
import { dataConverterFromEnv, FAILURE_CONVERTER_PATH } from '../codec/index';
import { WORKER_ROLE_NAMES, type WorkerRole } from '../config/index';
import { createSendRateLimiter } from '../activities/rate-limit';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * Modules evaluated once per V8 context instead of once per workflow run (the reusable
 * context re-runs every other module's top level for each new run and each cache miss):
 * the stateless libraries (zod ~3 ms, luxon ~2 ms of CPU per run) and our own pure modules
 * the workflow imports (~20 ms and ~1 MB of heap per cached workflow before; see
 * docs/benchmarks.md). Sharing is safe because they hold no per-workflow state, only memo
 * caches of pure functions (domain/ is lint-fenced from I/O and clocks). The SDK freezes
 * what they hold at load, so nothing in them may be built lazily on a frozen object
 * (domain/policy-schema.ts). Never list a module that defines a workflow.
 */
const PRELOADED_PROJECT_MODULES = [
  'contracts/failures.ts',
  'contracts/ids.ts',
  'contracts/task-queues.ts',
  'domain/dates.ts',
  'domain/duration.ts',
  'domain/clock.ts',
  'domain/rates.ts',
  'domain/penalties.ts',
  'domain/policy-schema.ts',
  'domain/send-window.ts',
].map((m) => path.join(ROOT, m));
const PRELOADED_MODULES = ['luxon', 'zod', ...PRELOADED_PROJECT_MODULES];

/**
 * The bundle as a file for a long-running worker: `path` (WORKFLOW_BUNDLE_PATH, built by
 * `npm run build:bundle`, e.g. in the image) when given, else built now by a child process
 * so that webpack's memory (~300 MB of RSS) is not kept by the worker.
 */
export async function workflowBundleFile(file?: string): Promise<{ codePath: string }> {
  if (file) {
    if (!existsSync(file)) throw new Error(`WORKFLOW_BUNDLE_PATH=${file}: no such file (build it with \`npm run build:bundle -- ${file}\`)`);
    return { codePath: file };
  }
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'relance-bundle-')), 'workflow-bundle.js');
  const script = path.join(ROOT, 'scripts', 'build-workflow-bundle.ts');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`building the workflow bundle failed (exit ${code})`))));
  });
  return { codePath: out };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per process (bundling takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: quietBundlerLogger,
    preloadModules: PRELOADED_MODULES,
    // Workflow failures carry their message in an (encrypted) payload, as activity failures do.
    failureConverterPath: FAILURE_CONVERTER_PATH,
  });
  return bundle;
}

const quietBundlerLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

export interface RateLimits {
  email: number;
  sms: number;
  letter: number;
  agency: number;
}

export interface DunningWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  /** The activities of the roles run here: journal + calendar for `workflows`, the channel's send for each channel. */
  activities: Partial<ChannelActivities & JournalActivities & CalendarActivities & CustomerActivities & BatchChannelActivities>;
  rates: RateLimits;
  /** Which task queues this process polls (default: all; WORKER_ROLES). */
  roles?: readonly WorkerRole[];
  /** Prefix for every task queue, so parallel tests on one server stay apart. */
  taskQueuePrefix?: string;
  maxCachedWorkflows?: number;
  /** How long in-flight activities may run on after shutdown is requested (ms); SDK default otherwise. */
  shutdownGraceTime?: number;
  /**
   * A prebuilt workflow bundle ({ codePath } of a file written from workflowBundle()); default: bundle
   * in this process. Bundling runs webpack in the worker and leaves its RSS ~400 MB higher (docs/benchmarks.md).
   */
  workflowBundle?: WorkflowBundleOption;
  /** Workflow tasks the workflow worker takes at once (SDK default otherwise); see docs/benchmarks.md (burst). */
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Workflow threads, one V8 context each (SDK default: 1); more use more cores (docs/benchmarks.md, lifecycle). */
  workflowThreads?: number;
  /** Payload codec and failure converter (codec/): default, from this process's PAYLOAD_CODEC_KEYS. */
  dataConverter?: DataConverter;
}


/** The activities each role needs, so a process started with a role but not its activities fails at once. */
const ROLE_ACTIVITIES: Record<WorkerRole, ReadonlyArray<keyof DunningWorkersOptions['activities']>> = {
  workflows: ['journal', 'createPhoneTask', 'publicHolidays', 'rateTables'],
  email: ['sendEmail'],
  sms: ['sendSms'],
  letter: ['sendLetter'],
  agency: ['handoverToAgency'],
};

/**
 * The activities a process with these roles registers. The channel modules (pdfkit, Twilio,
 * nodemailer: ~75 MB) are imported only by a process that sends; a workflows-only process
 * gets activities/local.ts (and dist/ keeps them in separate chunks).
 */
export async function activitiesForRoles(
  roles: readonly WorkerRole[],
  deps: ActivityDeps,
): Promise<RecordActivities & JournalActivities & CalendarActivities & Partial<ChannelActivities>> {
  if (roles.some((r) => r !== 'workflows')) return (await import('../activities/index')).createActivities(deps);
  return (await import('../activities/local')).createLocalActivities(deps);
}

export async function createDunningWorkers(opts: DunningWorkersOptions): Promise<Worker[]> {
  const workflowQueue = `${opts.taskQueuePrefix ?? ''}${TaskQueues.workflow}`;
  const channelQueues = channelQueuesFor(workflowQueue);
  const { activities: a } = opts;
  const roles = new Set(opts.roles ?? WORKER_ROLE_NAMES);
  if (roles.size === 0) throw new Error('createDunningWorkers: no role given');
  const missing = [...roles].flatMap((r) => ROLE_ACTIVITIES[r].filter((name) => typeof a[name] !== 'function').map((name) => `${r}: ${name}`));
  if (missing.length) throw new Error(`createDunningWorkers: missing activities for the roles asked (${missing.join(', ')})`);
  // An explicit `shutdownGraceTime: undefined` would override the SDK's default and make
  // Worker.create throw ("Value is not a string or number"): set it only when given.
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    dataConverter: opts.dataConverter ?? dataConverterFromEnv(),
    ...(opts.shutdownGraceTime !== undefined ? { shutdownGraceTime: opts.shutdownGraceTime } : {}),
  };
  const channel = (queue: string, rate: number, acts: Record<string, (arg: never) => Promise<unknown>>) => {
    // The task-queue limit (server side) caps the total over all worker processes and
    // spreads the load between them, but it is a token bucket and lets bursts above the
    // steady rate through (bench:burst: up to 30 starts in one second at 20/s), as does the
    // worker-side limit. The hard cap is the in-process sliding window: every activity of
    // this channel waits its turn there (at most `rate` in any rolling second in this
    // process; cancelling the activity drops it from the queue). The window is 25 ms wider
    // than a second so that the lag between a grant and the send (measured up to ~1 ms,
    // more on a GC pause) does not put rate + 1 in a second; it costs ~2.5% of throughput.
    // See docs/benchmarks.md.
    const limiter = createSendRateLimiter(rate, { marginMs: 25 });
    const limited = Object.fromEntries(
      Object.entries(acts).map(([name, fn]) => [
        name,
        async (arg: never) => {
          await limiter.acquire(Context.current().cancellationSignal);
          return fn(arg);
        },
      ]),
    );
    return Worker.create({ ...common, taskQueue: queue, activities: limited, maxTaskQueueActivitiesPerSecond: rate, maxActivitiesPerSecond: rate });
  };
  const workers: Array<Promise<Worker>> = [];
  if (roles.has('workflows')) {
    workers.push(
      (async () =>
        Worker.create({
          ...common,
          taskQueue: workflowQueue,
          workflowBundle: opts.workflowBundle ?? (await workflowBundle()),
          activities: {
            journal: a.journal,
            createPhoneTask: a.createPhoneTask,
            publicHolidays: a.publicHolidays,
            rateTables: a.rateTables,
            // The customer's conversation (issue 18); without them a hand-off fails and each invoice sends alone.
            ...(a.queueForCustomer && a.checkBatch ? { queueForCustomer: a.queueForCustomer, checkBatch: a.checkBatch } : {}),
          },
          maxCachedWorkflows: opts.maxCachedWorkflows,
          ...(opts.maxConcurrentWorkflowTaskExecutions !== undefined ? { maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions } : {}),
          ...(opts.workflowThreads !== undefined ? { workflowThreadPoolSize: opts.workflowThreads } : {}),
        }))(),
    );
  }
  // Each channel role polls the task queue of the same name with its provider's rate; its
  // send function is present (checked against ROLE_ACTIVITIES above).
  for (const role of ['email', 'sms', 'letter', 'agency'] as const) {
    if (!roles.has(role)) continue;
    const acts = Object.fromEntries(ROLE_ACTIVITIES[role].map((name) => [name, a[name]])) as Record<string, (arg: never) => Promise<unknown>>;
    // The customer's batch email shares the email provider's rate limit.
    if (role === 'email' && a.sendBatchEmail) acts.sendBatchEmail = a.sendBatchEmail as (arg: never) => Promise<unknown>;
    // And the batch SMS the SMS provider's.
    if (role === 'sms' && a.sendBatchSms) acts.sendBatchSms = a.sendBatchSms as (arg: never) => Promise<unknown>;
    workers.push(channel(channelQueues[role], opts.rates[role], acts));
  }
  return Promise.all(workers);
}

/** Runs all workers until the signal aborts, then drains in-flight activities. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
