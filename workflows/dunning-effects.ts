// The invoice workflow's effects, holding no business decision (those are in domain/dunning/):
// the activity proxies and their options, fetching holidays the calendar asks for, the journal
// flush, the search attributes and current details, and how a defect ends a run.
import {
  ContinueAsNew,
  isCancellation,
  LocalActivityDoBackoff,
  TemporalFailure,
  WorkflowError,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { CalendarActivities, ChannelActivities, CustomerActivities, JournalActivities } from '../activities/types';
import { PermanentFailureTypes } from '../contracts/failures';
import { journalEventKey } from '../contracts/ids';
import { channelQueuesFor } from '../contracts/task-queues';
import { AmountDueKey, CustomerIdKey, DunningStageKey, InvoiceNumberKey, NextActionAtKey } from '../contracts/search-attributes';
import { minorUnits } from '../domain/money';
import { HolidaysNeeded, nextStepDueIfKnown } from '../domain/dunning/next-action';
import { UPSERT_CHANGED_PATCH } from '../domain/dunning/patches';
import { currentHold, note, nowIso, type Run } from '../domain/dunning/state';

const retry: ActivityOptions['retry'] = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '5m',
  nonRetryableErrorTypes: Object.values(PermanentFailureTypes),
};
const channelOptions = (taskQueue: string): ActivityOptions => ({
  taskQueue,
  startToCloseTimeout: '2m',
  // A send that cannot get through in a day is a problem ops must see, not retry forever.
  scheduleToCloseTimeout: '1d',
  retry,
});
// Signal-with-start of the customer's workflow, on this workflow's own queue. A few attempts
// only: a hand-off that cannot be made is no reason to hold the step, it is sent alone.
export const customerActs = proxyActivities<CustomerActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});
// The journal is short database writes: local activities keep them off the history's critical size.
export const journal = proxyLocalActivities<JournalActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});
// One (country, year) of public holidays per call, recorded in history: the holiday
// library stays out of the workflow bundle (domain/send-window.ts says why).
export const calendar = proxyLocalActivities<CalendarActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** Channel activities run on their own task queues, the ones the contract pairs with the workflow's queue. */
function channelProxies() {
  const q = channelQueuesFor(workflowInfo().taskQueue);
  return {
    email: proxyActivities<Pick<ChannelActivities, 'sendEmail'>>(channelOptions(q.email)),
    sms: proxyActivities<Pick<ChannelActivities, 'sendSms'>>(channelOptions(q.sms)),
    letter: proxyActivities<Pick<ChannelActivities, 'sendLetter'>>(channelOptions(q.letter)),
    agency: proxyActivities<Pick<ChannelActivities, 'handoverToAgency'>>({ ...channelOptions(q.agency), startToCloseTimeout: '10m' }),
  };
}

/** A run and what its effects need: the channel proxies and the search attributes it last upserted. */
export interface Shell {
  readonly run: Run;
  readonly channels: ReturnType<typeof channelProxies>;
  readonly published: Map<string, string>;
  readonly digits: number;
}
export const shellOf = (run: Run): Shell => ({ run, channels: channelProxies(), published: new Map(), digits: minorUnits(run.invoice.currency) });

/** Runs schedule maths, fetching any year of holidays it turns out to need first. */
export async function withHolidays<T>(run: Run, compute: () => T): Promise<T> {
  // A send window looks at most a year ahead (MAX_DAYS_AHEAD): two or three years at most.
  for (let fetched = 0; ; fetched += 1) {
    try {
      return compute();
    } catch (err) {
      if (!(err instanceof HolidaysNeeded) || fetched >= 5) throw err;
      let dates: string[];
      try {
        dates = await calendar.publicHolidays({ country: err.country, year: err.year });
      } catch (failure) {
        // Only a malformed country gets here (transient failures retry): weekends still
        // apply, and ops see why in the timeline rather than a failed workflow.
        dates = [];
        note(run, 'holidays-unavailable', { country: err.country, year: err.year, message: (failure as Error).message });
      }
      run.state.holidays = { ...run.state.holidays, [`${err.country}:${err.year}`]: dates };
    }
  }
}

/** Callers check `run.pending.length` first: each promise a workflow creates costs a stack capture in the SDK. */
export async function flushJournal({ run }: Shell) {
  const { state, invoice, policy } = run;
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const events = run.pending.splice(0, run.pending.length).map((e) => ({
    workflowId,
    invoiceNumber: invoice.number,
    eventKey: journalEventKey(workflowId, firstExecutionRunId, state.seq++),
    type: e.type,
    at: e.at,
    data: e.data,
  }));
  await journal.journal({
    events,
    state: {
      invoiceNumber: invoice.number,
      policy: { id: policy.id, version: policy.version },
      stage: state.outcome ?? state.stage,
      balanceMinor: state.balanceMinor,
      outcome: state.outcome,
      closedAt: state.outcome ? nowIso(run) : undefined,
    },
  });
}

/** Upserts only the pairs whose value changed since this run last did. */
function upsertChanged(sh: Shell, pairs: SearchAttributeUpdatePair[]) {
  if (!patched(UPSERT_CHANGED_PATCH)) return upsertSearchAttributes(pairs);
  const changed = pairs.filter((p) => sh.published.get(p.key.name) !== JSON.stringify(p.value));
  if (changed.length === 0) return;
  upsertSearchAttributes(changed);
  for (const p of changed) sh.published.set(p.key.name, JSON.stringify(p.value));
}

/** Search attributes and current details; no penalties maths here, it runs every loop. */
export function publish(sh: Shell) {
  const { run, digits } = sh;
  const { state, invoice } = run;
  const hold = state.outcome || state.agency ? undefined : currentHold(run);
  const due = state.outcome || hold || state.agency ? undefined : nextStepDueIfKnown(run);
  const next = due ? { stepId: due.step.id, channels: due.step.channels, at: due.at } : undefined;
  const balance = state.balanceMinor / 10 ** digits;
  upsertChanged(sh, [
    { key: InvoiceNumberKey, value: invoice.number },
    { key: CustomerIdKey, value: invoice.customer.id },
    { key: DunningStageKey, value: state.outcome ? state.outcome : state.stage },
    { key: AmountDueKey, value: balance },
    { key: NextActionAtKey, value: next ? new Date(next.at) : null },
  ]);
  setCurrentDetails(
    [
      `**Stage:** ${state.outcome ?? state.stage}`,
      `**Balance:** ${balance.toFixed(digits)} ${invoice.currency}`,
      next ? `**Next:** ${next.stepId} (${next.channels.join(', ')}) at ${next.at}` : '',
      hold ? `**Holding:** ${hold.kind}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  );
}

/** A bug or impossible input, as opposed to Temporal's own control flow (failures, cancellation, continue-as-new, nondeterminism). */
export function isDefect(err: unknown): err is Error {
  return (
    err instanceof Error &&
    !(err instanceof TemporalFailure) &&
    !(err instanceof ContinueAsNew) &&
    !(err instanceof WorkflowError) &&
    !(err instanceof LocalActivityDoBackoff) &&
    !isCancellation(err)
  );
}

/** Journals a defect: on the run's timeline (stage failed) once it has one, else as the first event of the workflow. */
export async function recordDefect(sh: Shell | undefined, invoiceNumber: string, message: string) {
  if (sh) {
    sh.run.state.stage = 'failed';
    note(sh.run, 'failed', { message });
    upsertSearchAttributes([{ key: DunningStageKey, value: 'failed' }]);
    await flushJournal(sh);
    return;
  }
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const at = new Date(Date.now()).toISOString();
  await journal.journal({
    events: [{ workflowId, invoiceNumber, eventKey: journalEventKey(workflowId, firstExecutionRunId, 0), type: 'failed', at, data: { message } }],
  });
}
