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
import { localDate } from '../domain/clock';
import { batchTemplate, dueForBatch, nextWake, selectBatch, type BatchAnswer, type QueuedStep } from '../domain/consolidation';

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
  const mail = proxyActivities<BatchChannelActivities>({
    taskQueue: channelQueuesFor(workflowInfo().taskQueue).email,
    startToCloseTimeout: '2m',
    // A batch that cannot get through in a few hours is reported failed: each invoice then
    // sends its own step (with its fallback) well before its own bound runs out.
    scheduleToCloseTimeout: '3h',
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: Object.values(PermanentFailureTypes) },
  });

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
    let failure: string | undefined;
    try {
      answers = await acts.checkBatch({ batchKey, items: due });
    } catch (err) {
      // Not knowing is not "no longer due": each invoice is told the batch failed and sends alone.
      failure = `could not ask the invoices: ${((err as { cause?: Error }).cause ?? (err as Error)).message}`;
    }
    const { lines, dropped } = failure === undefined ? selectBatch(due, answers) : { lines: [], dropped: [] };
    let result: BatchEmailResult | undefined;
    if (lines.length > 0) {
      try {
        result = await mail.sendBatchEmail({
          idempotencyKey: batchKey,
          customerWorkflowId: workflowInfo().workflowId,
          customer,
          lines,
          templateId: batchTemplate(lines),
          asOf: batchDate,
        });
      } catch (err) {
        const cause = (err as { cause?: Error }).cause ?? (err as Error);
        failure = cause.message;
      }
    }
    const skipped = new Map((result?.skipped ?? []).map((s) => [s.invoiceNumber, s.reason]));
    const listed = new Set(result?.listed ?? []);
    const reports = due.map((item): BatchReport => {
      const drop = dropped.find((d) => d.item === item);
      const report: BatchReport = drop
        ? { stepId: item.stepId, status: 'dropped', reason: drop.reason, batchKey }
        : failure !== undefined
          ? { stepId: item.stepId, status: 'failed', reason: failure, batchKey }
          : skipped.has(item.invoiceNumber)
            ? { stepId: item.stepId, status: 'dropped', reason: skipped.get(item.invoiceNumber), batchKey, communicationId: result?.communicationId }
            : listed.has(item.invoiceNumber)
              ? { stepId: item.stepId, status: 'sent', batchKey, communicationId: result?.communicationId, invoices: listed.size }
              : { stepId: item.stepId, status: 'dropped', reason: 'not listed by the batch message', batchKey };
      return report;
    });
    await Promise.all(due.map((item, i) => tell(item.workflowId, (h) => h.signal(batchReportSignal, reports[i]!))));
    // Steps queued while the batch ran stay for the next one.
    state.pending = state.pending.filter((p) => !due.includes(p));
    state.lastBatchDate = batchDate;
    state.batches += 1;
    state.recent.push({
      batchKey,
      at: new Date(Date.now()).toISOString(),
      listed: [...listed],
      dropped: [...dropped.map((d) => ({ invoiceNumber: d.item.invoiceNumber, reason: d.reason })), ...[...skipped].map(([invoiceNumber, reason]) => ({ invoiceNumber, reason }))],
      status: failure !== undefined ? `failed: ${failure}` : (result?.status ?? 'nothing to send'),
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
    const waitMs = Date.parse(wake) - Date.now();
    if (waitMs > 0) {
      await condition(() => state.unacked.length > 0, waitMs);
      continue;
    }
    await runBatch(wake);
  }
}
