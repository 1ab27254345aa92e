// The worker process's parts: one Worker for the workflow task queue (with the
// journal as local activities) and one per channel, each with its provider's rate limit.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ChannelActivities, JournalActivities } from '../activities/types';
import { TaskQueues } from '../activities/types';

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'index.ts');

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per process (bundling takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
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
  activities: ChannelActivities & JournalActivities;
  rates: RateLimits;
  /** Prefix for every task queue, so parallel tests on one server stay apart. */
  taskQueuePrefix?: string;
  maxCachedWorkflows?: number;
  /** How long in-flight activities may run on after shutdown is requested (ms); SDK default otherwise. */
  shutdownGraceTime?: number;
}

export function queueName(queue: string, prefix = ''): string {
  return `${prefix}${queue}`;
}

export async function createDunningWorkers(opts: DunningWorkersOptions): Promise<Worker[]> {
  const p = opts.taskQueuePrefix ?? '';
  const { activities: a } = opts;
  // An explicit `shutdownGraceTime: undefined` would override the SDK's default and make
  // Worker.create throw ("Value is not a string or number"): set it only when given.
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    ...(opts.shutdownGraceTime !== undefined ? { shutdownGraceTime: opts.shutdownGraceTime } : {}),
  };
  const channel = (queue: string, rate: number, acts: object) =>
    Worker.create({ ...common, taskQueue: queueName(queue, p), activities: acts, maxTaskQueueActivitiesPerSecond: rate });
  return Promise.all([
    Worker.create({
      ...common,
      taskQueue: queueName(TaskQueues.workflow, p),
      workflowBundle: await workflowBundle(),
      activities: { journal: a.journal, createPhoneTask: a.createPhoneTask },
      maxCachedWorkflows: opts.maxCachedWorkflows,
    }),
    channel(TaskQueues.email, opts.rates.email, { sendEmail: a.sendEmail }),
    channel(TaskQueues.sms, opts.rates.sms, { sendSms: a.sendSms }),
    channel(TaskQueues.letter, opts.rates.letter, { sendLetter: a.sendLetter }),
    channel(TaskQueues.agency, opts.rates.agency, { handoverToAgency: a.handoverToAgency }),
  ]);
}

/** Runs all workers until the signal aborts, then drains in-flight activities. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
