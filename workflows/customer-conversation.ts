// customerConversation: one workflow per customer (`customer-<id>`, issue 18), started by the
// first invoice that hands it a step (signal-with-start) and living for years. Once per
// business day, at the batch time, it asks each queued invoice whether its step is still
// due, sends one email listing those that are, and tells every invoice what became of its
// step. The decisions are in domain/consolidation.ts; this is the shell around them.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { BatchChannelActivities, BatchEmailResult, CustomerActivities } from '../activities/types';
import { PermanentFailureTypes } from '../contracts/failures';
import { batchIdempotencyKey } from '../contracts/ids';
import { channelQueuesFor } from '../contracts/task-queues';
import {
  batchQueuedSignal,
  batchReportSignal,
  customerStatusQuery,
  stepQueuedSignal,
  type BatchReport,
  type CustomerConversationInput,
  type CustomerConversationStatus,
} from '../contracts/consolidation';
import { localDate } from '../domain/dates';
import { batchSpreadMs, batchTemplate, channelsOf, dueForBatch, nextWake, selectBatch, type BatchAnswer, type BatchChannel, type BatchLine, type QueuedStep } from '../domain/consolidation';

export interface CustomerConversationState {
  pending: QueuedStep[];
  /** Steps received but not acknowledged to their invoice yet. */
  unacked: QueuedStep[];
  lastBatchDate?: string;
  batches: number;
  recent: CustomerConversationStatus['recent'];
}

/** Batches kept in the state (and the status query): the log has them all. */
const RECENT_KEEP = 20;
/** History length at which we continue-as-new even if the server has not suggested it. */
const HISTORY_LIMIT = 2_000;

/** Runs after this patch send the SMS of batched steps as one SMS per customer per batch. */
export const SMS_BATCH_PATCH = 'issue-18-sms-batch';
/** Runs after this patch send their batch at the customer's own second after the batch time. */
export const BATCH_SPREAD_PATCH = 'issue-18-batch-spread';

interface ChannelOutcome {
  key: string;
  result?: BatchEmailResult;
  failure?: string;
}

const causeOf = (err: unknown): Error => (err as { cause?: Error }).cause ?? (err as Error);

const sameStep = (a: QueuedStep) => (b: QueuedStep) => a.workflowId === b.workflowId && a.stepId === b.stepId;

export async function customerConversation(input: CustomerConversationInput): Promise<void> {
  const { customer } = input;
  const tz = customer.timeZone;
  const state: CustomerConversationState = (input.carried as CustomerConversationState | undefined) ?? {
    pending: [],
    unacked: [],
    batches: 0,
    recent: [],
  };
  const acts = proxyActivities<CustomerActivities>({
    startToCloseTimeout: '2m',
    retry: { initialInterval: '2s', maximumInterval: '1m', maximumAttempts: 10 },
  });
  const channelOptions = {
    startToCloseTimeout: '2m',
    // A batch that cannot get through in a few hours is reported failed: each invoice then
    // sends its own step (with its fallback) well before its own bound runs out.
    scheduleToCloseTimeout: '3h',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: Object.values(PermanentFailureTypes) },
  } as const;
  const mail = proxyActivities<BatchChannelActivities>({ taskQueue: channelQueuesFor(workflowInfo().taskQueue).email, ...channelOptions });
  // The batch SMS on the SMS queue, under the SMS provider's rate.
  const text = proxyActivities<BatchChannelActivities>({ taskQueue: channelQueuesFor(workflowInfo().taskQueue).sms, ...channelOptions });

  setHandler(stepQueuedSignal, (item) => {
    const same = sameStep(item);
    // A repeated hand-off (the activity retried) is acknowledged again, queued once.
    if (!state.pending.some(same)) state.pending.push(item);
    if (!state.unacked.some(same)) state.unacked.push(item);
  });
  setHandler(customerStatusQuery, (): CustomerConversationStatus => ({
    customerId: customer.id,
    pending: [...state.pending],
    lastBatchDate: state.lastBatchDate,
    batches: state.batches,
    recent: [...state.recent],
  }));

  /** Tells an invoice; a closed or missing invoice has nothing to hear. */
  async function tell(workflowId: string, fn: (h: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>) {
    try {
      await fn(getExternalWorkflowHandle(workflowId));
    } catch (err) {
      log.info('invoice workflow not reachable', { workflowId, error: (err as Error).message });
    }
  }

  async function acknowledge() {
    // All at once: one workflow task for the lot, not one round trip per invoice.
    const items = state.unacked.splice(0, state.unacked.length);
    await Promise.all(items.map(acknowledgeOne));
  }
  async function acknowledgeOne(item: QueuedStep) {
    // Queued after its batch date went: sending it in a second batch of the same date would
    // reuse the date's key; the invoice sends alone instead.
    const batchDate = localDate(item.batchAt, tz);
    if (state.lastBatchDate !== undefined && batchDate <= state.lastBatchDate && state.pending.some(sameStep(item))) {
      state.pending = state.pending.filter((p) => !sameStep(item)(p));
      const report: BatchReport = {
        stepId: item.stepId,
        status: 'missed',
        reason: `queued after the batch of ${state.lastBatchDate} had gone`,
        batchKey: batchIdempotencyKey(customer.id, batchDate, item.channel),
      };
      await tell(item.workflowId, (h) => h.signal(batchReportSignal, report));
      return;
    }
    await tell(item.workflowId, (h) => h.signal(batchQueuedSignal, { stepId: item.stepId, batchAt: item.batchAt, customerWorkflowId: workflowInfo().workflowId }));
  }

  async function runBatch(batchAt: string) {
    const { due } = dueForBatch(state.pending, Date.now());
    const batchDate = localDate(batchAt, tz);
    const batchKey = batchIdempotencyKey(customer.id, batchDate, 'email');
    // Recomputed at send time: each invoice answers from its current state.
    let answers: BatchAnswer[] = [];
    let checkFailure: string | undefined;
    try {
      answers = await acts.checkBatch({ batchKey, items: due });
    } catch (err) {
      // Not knowing is not "no longer due": each invoice is told the batch failed and sends alone.
      checkFailure = `could not ask the invoices: ${causeOf(err).message}`;
    }
    const { lines, dropped } = checkFailure === undefined ? selectBatch(due, answers) : { lines: [], dropped: [] };
    const droppedItem = (item: QueuedStep) => dropped.find((d) => d.item === item);
    const itemOf = (line: BatchLine) => due.find((i) => i.invoiceNumber === line.invoiceNumber && !droppedItem(i));
    // One message per channel: the invoices whose step handed that channel over.
    const linesOn = (channel: BatchChannel) => lines.filter((l) => channelsOf(itemOf(l)!).includes(channel));

    async function sendOn(channel: BatchChannel, send: BatchChannelActivities['sendBatchEmail'], channelLines: BatchLine[]): Promise<ChannelOutcome> {
      const key = batchIdempotencyKey(customer.id, batchDate, channel);
      if (channelLines.length === 0) return { key };
      try {
        const result = await send({
          idempotencyKey: key,
          customerWorkflowId: workflowInfo().workflowId,
          customer,
          lines: channelLines,
          templateId: batchTemplate(channelLines),
          asOf: batchDate,
        });
        return { key, result };
      } catch (err) {
        return { key, failure: causeOf(err).message };
      }
    }
    const smsLines = linesOn('sms');
    const [email, sms] = await Promise.all([
      sendOn('email', mail.sendBatchEmail, linesOn('email')),
      // Only a batch that carries SMS asks the patch: the histories from before keep theirs.
      smsLines.length === 0 || patched(SMS_BATCH_PATCH)
        ? sendOn('sms', text.sendBatchSms, smsLines)
        : Promise.resolve<ChannelOutcome>({ key: batchIdempotencyKey(customer.id, batchDate, 'sms'), failure: 'this build does not batch SMS' }),
    ]);

    /** What the message of one channel did with one invoice's step. */
    const channelReport = (item: QueuedStep, out: ChannelOutcome): Omit<BatchReport, 'stepId' | 'channels'> => {
      const drop = droppedItem(item);
      const failure = checkFailure ?? out.failure;
      const skipped = out.result?.skipped.find((x) => x.invoiceNumber === item.invoiceNumber);
      return drop
        ? { status: 'dropped', reason: drop.reason, batchKey: out.key }
        : failure !== undefined
          ? { status: 'failed', reason: failure, batchKey: out.key }
          : skipped
            ? { status: 'dropped', reason: skipped.reason, batchKey: out.key, communicationId: out.result?.communicationId }
            : out.result?.listed.includes(item.invoiceNumber)
              ? { status: 'sent', batchKey: out.key, communicationId: out.result.communicationId, invoices: out.result.listed.length }
              : { status: 'dropped', reason: 'not listed by the batch message', batchKey: out.key };
    };
    const reports = due.map((item): BatchReport => {
      const per = channelsOf(item).map((c) => [c, channelReport(item, c === 'sms' ? sms : email)] as const);
      return { stepId: item.stepId, ...per[0]![1], ...(item.channels ? { channels: Object.fromEntries(per) } : {}) };
    });
    await Promise.all(due.map((item, i) => tell(item.workflowId, (h) => h.signal(batchReportSignal, reports[i]!))));
    // Steps queued while the batch ran stay for the next one.
    state.pending = state.pending.filter((p) => !due.includes(p));
    state.lastBatchDate = batchDate;
    state.batches += 1;
    const statusOf = (out: ChannelOutcome) => {
      const failure = checkFailure ?? out.failure;
      return failure !== undefined ? `failed: ${failure}` : (out.result?.status ?? 'nothing to send');
    };
    state.recent.push({
      batchKey,
      at: new Date(Date.now()).toISOString(),
      listed: [...(email.result?.listed ?? [])],
      dropped: [...dropped.map((d) => ({ invoiceNumber: d.item.invoiceNumber, reason: d.reason })), ...(email.result?.skipped ?? [])],
      status: statusOf(email),
      ...(smsLines.length > 0 ? { sms: { batchKey: sms.key, listed: [...(sms.result?.listed ?? [])], status: statusOf(sms) } } : {}),
    });
    if (state.recent.length > RECENT_KEEP) state.recent.splice(0, state.recent.length - RECENT_KEEP);
  }

  for (;;) {
    await acknowledge();
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.continueAsNewAfterEvents ?? HISTORY_LIMIT)) {
      await condition(allHandlersFinished);
      // Signals that came in meanwhile are in `state` (their handlers ran): carried over.
      await continueAsNew<typeof customerConversation>({ ...input, carried: state });
    }
    const wake = nextWake(state.pending);
    if (wake === undefined) {
      await condition(() => state.unacked.length > 0);
      continue;
    }
    // The batch goes at this customer's second of the minute (only runs after the patch: the
    // timers of the histories from before stay as they were).
    const spread = patched(BATCH_SPREAD_PATCH) ? batchSpreadMs(customer.id, input.batchSpreadSeconds) : 0;
    const waitMs = Date.parse(wake) + spread - Date.now();
    if (waitMs > 0) {
      await condition(() => state.unacked.length > 0, waitMs);
      continue;
    }
    await runBatch(wake);
  }
}
