// Activity doubles and fixtures for workflow tests: the doubles record what the
// workflow asked for and when (server time, which time skipping moves), nothing more.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { DateTime } from 'luxon';
import { afterAll, beforeAll } from 'vitest';
import { createCalendarActivities } from '../../activities/calendar';
import { dunningInputFor } from '../../domain/schedule';
import type * as activities from '../../activities/types';
import type { BatchChannelActivities, CustomerActivities, DunningActivities, SendInput, SendResult } from '../../activities/types';
import type { PermanentFailureType } from '../../contracts/failures';
import { channelQueuesFor } from '../../contracts/task-queues';
import type { DunningPolicy, InvoiceSnapshot } from '../../domain/types';
import { dataConverterFromEnv } from '../../codec/index';
import { workflowBundle } from '../../worker/create-worker';
import { invoiceDunning } from '../../workflows/invoice-dunning';
import type { InvoiceDunningInput } from '../../contracts/messages';
import { workflowIdFor } from '../../contracts/ids';
import { FR_B2B_DEFAULT } from '../../domain/policy';
import { createTimeSkippingEnv } from '../helpers/temporal';

export interface SentRecord {
  stepId: string;
  channel: string;
  templateId: string;
  /** Server time the activity was scheduled (ISO). */
  at: string;
  balanceMinor: number;
  idempotencyKey: string;
  penaltiesMinor?: number;
}

export interface Doubles {
  sent: SentRecord[];
  journal: Array<{ type: string; at: string }>;
  phoneTasks: string[];
  activities: Partial<DunningActivities>;
}

/** A channel double that fails for good, like a provider refusing an address. */
export type FailingChannels = Partial<Record<'email' | 'sms' | 'letter', PermanentFailureType>>;

export function makeDoubles(failing: FailingChannels = {}): Doubles {
  const sent: SentRecord[] = [];
  const journal: Doubles['journal'] = [];
  const phoneTasks: string[] = [];
  const send =
    (channel: 'email' | 'sms' | 'letter') =>
    async (input: SendInput): Promise<SendResult> => {
      const failure = failing[channel];
      if (failure) throw ApplicationFailure.create({ type: failure, message: `${channel} refused`, nonRetryable: true });
      sent.push({
        stepId: input.stepId,
        channel,
        templateId: input.templateId,
        at: new Date(Context.current().info.scheduledTimestampMs).toISOString(),
        balanceMinor: input.balanceMinor,
        idempotencyKey: input.idempotencyKey,
        penaltiesMinor: input.penalties?.totalMinor,
      });
      return { status: 'SENT', provider: 'double', providerId: `${channel}-${sent.length}` };
    };
  const acts: Partial<typeof activities extends never ? never : DunningActivities> = {
    sendEmail: send('email'),
    sendSms: send('sms'),
    sendLetter: send('letter'),
    async handoverToAgency(input) {
      sent.push({
        stepId: 'agency-handover',
        channel: 'agency',
        templateId: 'dossier',
        at: new Date(Context.current().info.scheduledTimestampMs).toISOString(),
        balanceMinor: input.balanceMinor,
        idempotencyKey: input.idempotencyKey,
        penaltiesMinor: input.penalties.totalMinor,
      });
      return { status: 'SENT', dossierRef: 'outbox/dossier' };
    },
    async journal(input) {
      for (const e of input.events) journal.push({ type: e.type, at: e.at });
    },
    async createPhoneTask(input) {
      phoneTasks.push(input.stepId);
      return { taskId: `task-${phoneTasks.length}` };
    },
    // The real one: pure, and what the send-window tests are about.
    ...createCalendarActivities(),
  };
  return { sent, journal, phoneTasks, activities: acts };
}

let counter = 0;
export function uniqueQueue(name: string): string {
  counter += 1;
  // The contract pairs channel queues with this one (`<prefix>dunning-email`: channelQueuesFor).
  return `${name}-${counter}-${Date.now().toString(36)}-dunning`;
}

/** One worker polling the workflow queue and every channel queue of a prefix. */
export async function startTestWorker(
  env: TestWorkflowEnvironment,
  taskQueue: string,
  acts: Partial<DunningActivities & CustomerActivities & BatchChannelActivities>,
  workflowWorker: Pick<WorkerOptions, 'workflowThreadPoolSize' | 'maxCachedWorkflows' | 'maxConcurrentWorkflowTaskExecutions'> = {},
) {
  const bundle = await workflowBundle();
  const dataConverter = dataConverterFromEnv();
  const workers = await Promise.all([
    Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      dataConverter,
      activities: {
        journal: acts.journal,
        createPhoneTask: acts.createPhoneTask,
        publicHolidays: acts.publicHolidays,
        rateTables: acts.rateTables,
        ...(acts.queueForCustomer && acts.checkBatch ? { queueForCustomer: acts.queueForCustomer, checkBatch: acts.checkBatch } : {}),
      },
      ...workflowWorker,
    }),
    ...Object.values(channelQueuesFor(taskQueue)).map((q) => Worker.create({ connection: env.nativeConnection, taskQueue: q, activities: acts, dataConverter })),
  ]);
  const running = workers.map((w) => w.run());
  return {
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
    },
  };
}

export function invoiceFixture(overrides: Partial<InvoiceSnapshot> & { dueDate: string }): InvoiceSnapshot {
  return {
    number: `T-${Math.random().toString(36).slice(2, 8)}`,
    currency: 'EUR',
    amountMinor: 120_000,
    depositMinor: 20_000,
    issueDate: DateTime.fromISO(overrides.dueDate).minus({ days: 30 }).toISODate() as string,
    paymentLink: 'https://pay.example.test/inv',
    customer: {
      id: 'cust-42',
      name: 'Boulangerie Martin SARL',
      kind: 'B2B',
      email: 'compta@martin.example',
      phone: '+33612345678',
      address: { lines: ['3 place du Marché'], postalCode: '69002', city: 'Lyon', country: 'FR' },
      country: 'FR',
      language: 'fr',
      timeZone: 'Europe/Paris',
    },
    ...overrides,
  };
}

/** The workflow input as the API builds it, holidays of the calendar's years included (pass `holidays: {}` to make the workflow fetch them). */
export function dunningInput(invoice: InvoiceSnapshot, policy: DunningPolicy, extra: Partial<InvoiceDunningInput> = {}): InvoiceDunningInput {
  return dunningInputFor(invoice, policy, extra);
}

/** Paris wall clock of an instant, e.g. "2026-12-28 Mon 09:00". */
export function parisClock(iso: string): string {
  return DateTime.fromISO(iso, { zone: 'Europe/Paris' }).toFormat('yyyy-LL-dd ccc HH:mm');
}

/** Days from now (server time) to a local date in Paris, as YYYY-MM-DD. */
export function parisDatePlus(nowMs: number, days: number): string {
  return DateTime.fromMillis(nowMs, { zone: 'Europe/Paris' }).plus({ days }).toISODate() as string;
}

/**
 * The test file's Temporal environment (time skipping unless `create` says otherwise),
 * built before its tests along with the workflow bundle, so that the first test's timeout
 * does not pay for either, and torn down after them. `set` hands it to the file.
 */
export function useTestEnv(set: (env: TestWorkflowEnvironment) => void, create: () => Promise<TestWorkflowEnvironment> = createTimeSkippingEnv): void {
  let env: TestWorkflowEnvironment | undefined;
  beforeAll(async () => {
    env = await create();
    set(env);
    await workflowBundle();
  }, 180_000);
  afterAll(async () => {
    await env?.teardown();
  });
}

export interface StartedInvoice {
  handle: WorkflowHandleWithFirstExecutionRunId<typeof invoiceDunning>;
  invoice: InvoiceSnapshot;
  doubles: Doubles;
  worker: { stop(): Promise<void> };
  /** Server time when it started (ms). */
  startedAt: number;
}

/**
 * One invoice's workflow with its own worker on a fresh queue: the fixture invoice due
 * `dueInDays` (default 10) Paris days after the server's now, the doubles given (or fresh
 * ones), and the input `input` builds (default: the FR B2B policy).
 */
export async function startInvoice(
  env: TestWorkflowEnvironment,
  opts: {
    queue: string;
    dueInDays?: number;
    invoice?: Partial<InvoiceSnapshot>;
    doubles?: Doubles;
    input?: (invoice: InvoiceSnapshot) => InvoiceDunningInput;
  },
): Promise<StartedInvoice> {
  const startedAt = await env.currentTimeMs();
  const invoice = invoiceFixture({ dueDate: parisDatePlus(startedAt, opts.dueInDays ?? 10), ...opts.invoice });
  const doubles = opts.doubles ?? makeDoubles();
  const taskQueue = uniqueQueue(opts.queue);
  const worker = await startTestWorker(env, taskQueue, doubles.activities);
  const handle = await env.client.workflow.start(invoiceDunning, {
    taskQueue,
    workflowId: workflowIdFor(invoice.number),
    args: [(opts.input ?? ((i) => dunningInput(i, FR_B2B_DEFAULT)))(invoice)],
  });
  return { handle, invoice, doubles, worker, startedAt };
}

/**
 * A workflow left running by a failed test would schedule activities on queues nobody
 * polls any more, and outstanding activities stop the server from skipping time.
 */
export async function cleanup(handle: { terminate(reason?: string): Promise<unknown> }, worker: { stop(): Promise<void> }): Promise<void> {
  await handle.terminate('test over').catch(() => undefined);
  await worker.stop();
}

export { invoiceDunning };
