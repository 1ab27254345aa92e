// invoiceDunning: one durable workflow per issued invoice. It sleeps until the next
// step of its pinned policy, recomputes from the current state on every message, and
// never starts a reminder once the balance is settled.
import {
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  LocalActivityDoBackoff,
  TemporalFailure,
  WorkflowError,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { CalendarActivities, ChannelActivities, CustomerActivities, JournalActivities, SendInput, SendResult } from '../activities/types';
import { batchCheckUpdate, batchQueuedSignal, batchReportSignal, type BatchReport } from '../contracts/consolidation';
import { consolidates, consolidationOf, daysLate, nextBatchAt, waitBoundMs, type BatchAnswer } from '../domain/consolidation';
import { DunningDefectType, PermanentFailureTypes, ValidationFailureType } from '../contracts/failures';
import { customerWorkflowIdFor, journalEventKey, sendIdempotencyKey } from '../contracts/ids';
import { channelQueuesFor } from '../contracts/task-queues';
import { addLocalDays, localDate, resolveDeadline } from '../domain/clock';
import { addIsoDuration, durationToMillis } from '../domain/duration';
import {
  calendarDateOf,
  checkCancel,
  checkNoticePosted,
  checkOpenDispute,
  checkPause,
  checkPayment,
  checkResolveAmbiguous,
  checkResolveDispute,
  checkResume,
  type FieldProblem,
} from '../domain/message-validation';
import { minorUnits } from '../domain/money';
import { computePenalties } from '../domain/penalties';
import type { RateTables } from '../domain/rates';
import { noticeDeadlineDays, parsePolicy, policyAudienceMismatch } from '../domain/policy-schema';
import { anchorInstant, stepInstant, type HolidayLookup } from '../domain/send-window';
import type { Channel, DunningPolicy, PenaltyResult, PolicyStep } from '../domain/types';
import * as inbound from '../domain/dunning/inbound-holds';
import {
  agencyOutcomeSignal,
  cancelInvoiceSignal,
  cancelInvoiceUpdate,
  deliveryFailedSignal,
  openDisputeUpdate,
  pauseUpdate,
  recordPaymentUpdate,
  resolveAmbiguousSendUpdate,
  resolveDisputeUpdate,
  approveStepUpdate,
  customerTermsUpdate,
  APPROVAL_ACTIONS,
  type ApproveStep,
  type CustomerTerms,
  type PendingApproval,
  resumeUpdate,
  type ResolveAmbiguousSend,
  type FormalNoticePosted,
  formalNoticePostedSignal,
  formalNoticePostedUpdate,
  migratePolicyUpdate,
  openDisputeSignal,
  paymentReceivedSignal,
  pauseSignal,
  pendingPaymentSignal,
  policyQuery,
  proposeInstalmentPlanUpdate,
  recordPromiseToPayUpdate,
  replyReadSignal,
  replyReceivedSignal,
  resolveDisputeSignal,
  resumeSignal,
  statusQuery,
  type AgencyOutcome,
  type CancelInvoice,
  type DunningStatus,
  type InstalmentPlan,
  type InvoiceDunningInput,
  type Outcome,
  type PaymentReceived,
  type ProposeInstalmentPlan,
  type TimelineEntry,
} from '../contracts/messages';
import { AmountDueKey, CustomerIdKey, DunningStageKey, InvoiceNumberKey, NextActionAtKey } from '../contracts/search-attributes';

export * from '../contracts/messages';

type HoldKind = NonNullable<DunningStatus['holding']>['kind'];

/**
 * Issue 19's signals (replies, delivery reports, payments in flight) change what a running
 * workflow does: a history that received one before this code must replay as ignoring it.
 */
const INBOUND_PATCH = 'issue-19-inbound-holds';

/** Everything the workflow knows; carried whole across continue-as-new. */
export interface DunningState extends inbound.InboundState {
  balanceMinor: number;
  creditNotesMinor: number;
  payments: PaymentReceived[];
  completedSteps: string[];
  stage: string;
  /** Milliseconds the calendar was pushed back by holds (plan, promise, pause, dispute). */
  shiftMs: number;
  plan?: InstalmentPlan;
  promise?: { date: string; until: string };
  pause?: { reason: string; until?: string; since: string };
  dispute?: { reason: string; since: string };
  cancelled?: CancelInvoice;
  agency?: { handedOverAt: string; until: string; outcome?: AgencyOutcome };
  outcome?: Outcome;
  timeline: TimelineEntry[];
  /** Sequence for deterministic journal event keys. */
  seq: number;
  /** Service notices still to send (plan confirmed, plan breached...). */
  notices: Notice[];
  /** Public holidays fetched so far, by "CC:YYYY" (the send window skips them). */
  holidays?: Record<string, string[]>;
  /** The late-payment rate tables last received from the rateTables activity (recorded in history). */
  rates?: RateTables;
  /** Sends held after an ambiguous attempt, by "<stepId>/<channel>", until a collector resolves them. */
  ambiguous?: Record<string, { communicationId: string; since: string; until: string; resolution?: ResolveAmbiguousSend }>;
  /**
   * YYYY-MM-DD: the date of the formal notice, from the registered-mail provider's dispatch or
   * the posting date a collector records for an outbox draft. A consumer's interest runs from it.
   */
  formalNoticeDate?: string;
  /** Days the customer's agreed grace period pushes the whole calendar back (issue 17). */
  graceDays?: number;
  /** The customer's record asks a collector's approval before the formal steps. */
  approvalBeforeFormalSteps?: boolean;
  /** The step waiting for approval, if one is. */
  approval?: PendingApproval;
  /** Steps a collector approved (or the bound let through): the gate lets them run. */
  approvedSteps?: string[];
  /** The step whose email waits in the customer's batch (issue 18), until the batch reports. */
  batch?: { stepId: string; batchAt: string; since: string; ackedAt?: string; claimedBy?: string; report?: BatchReport };
}

/** Runs after this patch hand the email of a friendly step to the customer's daily batch when the policy says so. */
export const CONSOLIDATION_PATCH = 'issue-18-consolidation';
/** A service notice waiting to go out; plan-confirmed carries the plan it confirms (NOTICE_PLAN_PATCH). */
interface Notice {
  templateId: string;
  stepId: string;
  plan?: NonNullable<SendInput['plan']>;
}

/** Runs after this patch list the instalments in the plan-confirmed email (issue 12: the email never did). */
const NOTICE_PLAN_PATCH = 'issue-12-notice-plan';
/**
 * Runs after this patch key each notice by the journal sequence of its timeline entry; before,
 * by state.seq alone, which only moves at a flush: two plans agreed in one activation shared a
 * key and the second confirmation was dropped as already sent.
 */
const NOTICE_KEYS_PATCH = 'issue-12-notice-keys';

/** Runs after this patch date the formal notice (provider dispatch or collector's posting) and note outbox drafts. */
export const NOTICE_DATE_PATCH = 'issue-15-notice-date';
/** Letters that are a formal notice: the first one sent dates it. */
const NOTICE_TEMPLATES: ReadonlySet<string> = new Set(['formal-notice', 'final-notice']);
/** The journal event of a dated notice (api/reports.ts reads it for consumers' interest). */
const NOTICE_DATED = 'formal-notice-dated';

/**
 * Runs recorded before this patch computed penalties from tables compiled into the bundle;
 * runs after it ask the rateTables local activity at start and before each step.
 */
export const RATE_TABLES_PATCH = 'issue-15-rate-tables';

/** Runs after this patch honour the customer's grace period and step approvals (issue 17). */
export const APPROVAL_PATCH = 'issue-17-approval';
export const GRACE_PATCH = 'issue-17-grace';
export const CUSTOMER_HOLD_PATCH = 'issue-18-customer-hold';
/** How long a step waits for approval when neither the policy nor the customer says. */
const APPROVAL_WITHIN_DEFAULT = 'P3D';
/** Steps that are formal for a customer whose record asks approval before them. */
const isFormalStep = (step: PolicyStep) => NOTICE_TEMPLATES.has(step.templateId) || step.channels.includes('agency');

/** How long a held ambiguous send waits for a collector before the policy's default applies. */
const AMBIGUOUS_HOLD_MAX = 'P3D';
/** A step whose sends take longer than this moves the rest of the calendar with it. */
const LATE_STEP_TOLERANCE_MS = 2_000;

const TIMELINE_KEEP = 300;
/** History length at which we continue-as-new even if the server has not suggested it. */
const HISTORY_LIMIT = 2_000;

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
const customerActs = proxyActivities<CustomerActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});
// The journal is short database writes: local activities keep them off the history's critical size.
const journal = proxyLocalActivities<JournalActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

// One (country, year) of public holidays per call, recorded in history: the holiday
// library stays out of the workflow bundle (domain/send-window.ts says why).
const calendar = proxyLocalActivities<CalendarActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '1m' },
});

/** Thrown by the holiday lookup when a year has not been fetched yet; see withHolidays(). */
class HolidaysNeeded extends Error {
  constructor(
    readonly country: string,
    readonly year: number,
  ) {
    super(`public holidays of ${country} ${year} not fetched yet`);
  }
}

export function initialState(input: InvoiceDunningInput): DunningState {
  const { invoice } = input;
  return {
    balanceMinor: invoice.amountMinor - invoice.depositMinor,
    creditNotesMinor: 0,
    payments: [],
    completedSteps: [],
    stage: 'issued',
    shiftMs: 0,
    timeline: [],
    seq: 0,
    notices: [],
    holidays: input.holidays ? { ...input.holidays } : undefined,
  };
}

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

/**
 * Runs after this patch end in a failed run of type DunningDefect, journalled, when domain code
 * throws a plain Error (a send window that never opens, an impossible due date): before, the
 * workflow task failed and was retried forever, and nobody was told.
 */
const DEFECT_PATCH = 'issue-12-defect-fails-run';
/**
 * Runs after this patch wake every policy.holdRecheck during a hold without an end (dispute,
 * pause without until), so the state is re-evaluated and a long run can continue as new; and
 * carry only the holidays of the years still ahead across continue-as-new.
 */
const HOLD_RECHECK_PATCH = 'issue-12-hold-recheck';
const HOLD_RECHECK_DEFAULT = 'P30D';
/** Runs after this patch upsert a search attribute only when its value changed (one history event per change). */
const UPSERT_CHANGED_PATCH = 'issue-12-upsert-changed';

/** A bug or impossible input, as opposed to Temporal's own control flow (failures, cancellation, continue-as-new, nondeterminism). */
function isDefect(err: unknown): err is Error {
  return (
    err instanceof Error &&
    !(err instanceof TemporalFailure) &&
    !(err instanceof ContinueAsNew) &&
    !(err instanceof WorkflowError) &&
    !(err instanceof LocalActivityDoBackoff) &&
    !isCancellation(err)
  );
}

interface DefectRecorder {
  /** Set once the run can journal: notes 'failed', marks the stage failed and flushes. */
  record?: (message: string) => Promise<void>;
}

export async function invoiceDunning(input: InvoiceDunningInput): Promise<{ outcome: Outcome; balanceMinor: number }> {
  const defect: DefectRecorder = {};
  try {
    return await runInvoiceDunning(input, defect);
  } catch (err) {
    if (!isDefect(err) || !patched(DEFECT_PATCH)) throw err;
    log.error('invoice workflow stopped on a defect', { error: err.message });
    if (defect.record) {
      await defect.record(err.message);
    } else {
      const { workflowId, firstExecutionRunId } = workflowInfo();
      const at = new Date(Date.now()).toISOString();
      await journal.journal({
        events: [{ workflowId, invoiceNumber: input.invoice.number, eventKey: journalEventKey(workflowId, firstExecutionRunId, 0), type: 'failed', at, data: { message: err.message } }],
      });
    }
    throw ApplicationFailure.create({ type: DunningDefectType, message: err.message, nonRetryable: true, cause: err });
  }
}

async function runInvoiceDunning(input: InvoiceDunningInput, defect: DefectRecorder): Promise<{ outcome: Outcome; balanceMinor: number }> {
  const { invoice } = input;
  // Pinned at start; replaced only by an explicit migratePolicy update from ops.
  let policy = input.policy;
  const { email, sms, letter, agency } = channelProxies();
  const tz = invoice.customer.timeZone;
  // The invoice's anchor never changes; parsing it on every wake-up showed in profiles.
  const anchorMs = Date.parse(anchorInstant(invoice));
  const state: DunningState = (input.carried as DunningState | undefined) ?? initialState(input);
  if (!input.carried && input.customerTerms && patched(GRACE_PATCH)) {
    // Issued with the customer's current terms: stated in the 'issued' entry, not as a change.
    state.graceDays = input.customerTerms.graceDays || undefined;
    state.approvalBeforeFormalSteps = input.customerTerms.approvalBeforeFormalSteps || undefined;
  }
  const nowIso = () => new Date(Date.now()).toISOString();
  let changed = false;
  const pendingEvents: Array<{ type: string; at: string; data: Record<string, unknown> }> = [];

  const note = (type: string, detail: Record<string, unknown> = {}) => {
    const entry = { at: nowIso(), type, detail };
    state.timeline.push(entry);
    if (state.timeline.length > TIMELINE_KEEP) state.timeline.splice(1, state.timeline.length - TIMELINE_KEEP);
    pendingEvents.push({ type, at: entry.at, data: detail });
    changed = true;
  };
  defect.record = async (message) => {
    state.stage = 'failed';
    note('failed', { message });
    upsertSearchAttributes([{ key: DunningStageKey, value: 'failed' }]);
    await flushJournal();
  };

  // ---- message handlers: set before the first await ----
  setHandler(paymentReceivedSignal, (p) => {
    if (state.outcome || state.payments.some((x) => x.paymentId === p.paymentId)) return;
    if (p.currency !== invoice.currency || !Number.isInteger(p.amountMinor) || p.amountMinor <= 0) {
      note('payment-rejected', { paymentId: p.paymentId, reason: 'currency or amount invalid' });
      return;
    }
    applyPayment(p);
  });
  function applyPayment(p: PaymentReceived) {
    state.payments.push(p);
    state.balanceMinor -= p.amountMinor;
    if (state.plan) applyToPlan(state.plan, p.amountMinor);
    note('payment-received', { paymentId: p.paymentId, amountMinor: p.amountMinor, source: p.source, balanceMinor: state.balanceMinor });
    // Only runs that took a pendingPayment signal (patched there) hold any.
    if (state.pendingPayments?.length) applyInbound(inbound.paymentArrived(state, p.paymentId));
  }

  // ---- what comes back from the debtor (domain/dunning/inbound-holds.ts) ----
  setHandler(replyReceivedSignal, (r) => {
    if (state.outcome || !patched(INBOUND_PATCH)) return;
    applyInbound(inbound.replyReceived(state, policy, r, nowIso(), tz));
  });
  setHandler(replyReadSignal, (r) => {
    if (state.outcome || !patched(INBOUND_PATCH)) return;
    applyInbound(inbound.replyRead(state, r.inboundId));
  });
  setHandler(pendingPaymentSignal, (p) => {
    if (state.outcome || !patched(INBOUND_PATCH)) return;
    const expiresAt = p.expiresAt ? resolveDeadline(p.expiresAt, tz) : undefined;
    applyInbound(inbound.pendingPayment(state, policy, { ...p, expiresAt }, nowIso(), tz));
  });
  setHandler(deliveryFailedSignal, (d) => {
    if (state.outcome || !patched(INBOUND_PATCH)) return;
    applyInbound(inbound.deliveryFailed(state, d));
  });

  setHandler(
    proposeInstalmentPlanUpdate,
    (proposal) => {
      const plan: InstalmentPlan = {
        agreedAt: nowIso(),
        note: proposal.note,
        instalments: proposal.instalments.map((i) => ({ ...i, dueAt: resolveDeadline(i.due, tz) as string, paidMinor: 0 })),
      };
      state.plan = plan;
      state.promise = undefined;
      const notice: Notice = { templateId: 'plan-confirmed', stepId: `plan-confirmed-${noticeSeq()}` };
      if (patched(NOTICE_PLAN_PATCH)) {
        notice.plan = { instalments: plan.instalments.map((i) => ({ dueDate: localDate(Date.parse(i.dueAt), tz), amountMinor: i.amountMinor })) };
      }
      state.notices.push(notice);
      note('plan-agreed', { instalments: plan.instalments.map((i) => ({ dueAt: i.dueAt, amountMinor: i.amountMinor })) });
      return plan;
    },
    { validator: (proposal) => validatePlan(proposal, state, policy, tz, Date.now()) },
  );

  setHandler(
    recordPromiseToPayUpdate,
    (promise) => {
      const date = resolveDeadline(promise.date, tz) as string;
      const until = new Date(Date.parse(date) + durationToMillis(policy.promiseGrace)).toISOString();
      state.promise = { date, until };
      note('promise-to-pay', { date, until, note: promise.note });
      return { until };
    },
    {
      validator: (promise) => {
        assertOpen(state);
        if (state.plan) fail('an instalment plan is active: change the plan instead', 'date');
        const date = typeof promise?.date === 'string' ? resolveDeadline(promise.date, tz) : undefined;
        if (!date) fail('date must be YYYY-MM-DD or an ISO instant with offset', 'date');
        if (Date.parse(date as string) <= Date.now()) fail('date must be in the future', 'date');
      },
    },
  );

  // Ops actions: one apply function each, behind a signal (webhooks, running senders) and
  // an update whose validator refuses a wrong input before anything is recorded.
  function applyOpenDispute({ reason }: { reason: string }) {
    if (state.outcome || state.dispute) return;
    state.dispute = { reason: String(reason ?? ''), since: nowIso() };
    note('dispute-opened', { reason });
  }
  function applyResolveDispute(r: { outcome: string; creditNoteMinor?: number; note?: string }) {
    if (!state.dispute || state.outcome) return;
    state.dispute = undefined;
    if (r.outcome === 'credit-note' && r.creditNoteMinor && r.creditNoteMinor > 0) {
      const credit = Math.min(r.creditNoteMinor, Math.max(state.balanceMinor, 0));
      state.creditNotesMinor += credit;
      state.balanceMinor -= credit;
    }
    holdEnded();
    note('dispute-resolved', { outcome: r.outcome, creditNoteMinor: r.creditNoteMinor, note: r.note, balanceMinor: state.balanceMinor });
  }
  function applyPause(p: { reason: string; until?: string }) {
    if (state.outcome) return;
    const until = p.until ? resolveDeadline(p.until, tz) : undefined;
    state.pause = { reason: String(p.reason ?? ''), until, since: state.pause?.since ?? nowIso() };
    note('paused', { reason: p.reason, until });
  }
  function applyResume(r?: { note?: string }) {
    if (!state.pause || state.outcome) return;
    state.pause = undefined;
    holdEnded();
    note('resumed', { note: r?.note });
  }
  function applyCancel(c: CancelInvoice) {
    if (state.outcome || state.cancelled) return;
    state.cancelled = c;
    note('cancelled', { reason: c.reason, note: c.note });
  }
  /** A signal handler that records a wrong input as refused instead of applying it. */
  function checked<A>(name: string, check: (a: A) => FieldProblem | undefined, apply: (a: A) => void) {
    return (a: A) => {
      const problem = patched('ops-signal-validation') ? check(a) : undefined;
      if (problem) note('signal-refused', { signal: name, field: problem.field, reason: problem.message });
      else apply(a);
    };
  }
  /** Update validator: the check's problem, or a closed invoice, as a ValidationError naming the field. */
  function validatorOf<A>(check: (a: A) => FieldProblem | undefined) {
    return (a: A) => {
      if (state.outcome) fail(`the invoice is closed (${state.outcome})`, 'invoice');
      const problem = check(a);
      if (problem) fail(problem.message, problem.field);
    };
  }
  const pauseCheck = (p: unknown) => checkPause(p, tz, Date.now());
  setHandler(openDisputeSignal, checked('openDispute', checkOpenDispute, applyOpenDispute));
  setHandler(resolveDisputeSignal, checked('resolveDispute', checkResolveDispute, applyResolveDispute));
  setHandler(pauseSignal, checked('pause', pauseCheck, applyPause));
  setHandler(resumeSignal, checked('resume', checkResume, applyResume));
  setHandler(cancelInvoiceSignal, checked('cancelInvoice', checkCancel, applyCancel));
  setHandler(openDisputeUpdate, (d) => (applyOpenDispute(d), { disputed: !!state.dispute }), { validator: validatorOf(checkOpenDispute) });
  setHandler(resolveDisputeUpdate, (r) => (applyResolveDispute(r), { balanceMinor: state.balanceMinor }), {
    validator: validatorOf(checkResolveDispute),
  });
  setHandler(pauseUpdate, (p) => (applyPause(p), { until: state.pause?.until }), { validator: validatorOf(pauseCheck) });
  setHandler(resumeUpdate, (r) => (applyResume(r), { resumed: !state.pause }), { validator: validatorOf(checkResume) });
  setHandler(cancelInvoiceUpdate, (c) => (applyCancel(c), { cancelled: true }), { validator: validatorOf(checkCancel) });
  setHandler(
    recordPaymentUpdate,
    (p) => {
      if (!state.payments.some((x) => x.paymentId === p.paymentId)) applyPayment(p);
      return { balanceMinor: state.balanceMinor };
    },
    { validator: validatorOf((p: unknown) => checkPayment(p, invoice.currency)) },
  );
  setHandler(
    resolveAmbiguousSendUpdate,
    (r) => {
      state.ambiguous![`${r.stepId}/${r.channel}`]!.resolution = r;
      note('ambiguous-resolved', { stepId: r.stepId, channel: r.channel, action: r.action, by: r.actor, note: r.note });
      return { stepId: r.stepId, action: r.action };
    },
    {
      validator: (r) => {
        const problem = checkResolveAmbiguous(r);
        if (problem) fail(problem.message, problem.field);
        const held = state.ambiguous?.[`${r.stepId}/${r.channel}`];
        if (!held || held.resolution) fail(`no send of ${r.stepId} by ${r.channel} is waiting for a resolution`, 'stepId');
        if (held!.communicationId !== r.communicationId) fail(`the held send is communication ${held!.communicationId}`, 'communicationId');
      },
    },
  );
  setHandler(formalNoticePostedSignal, (p) => {
    if (state.outcome || state.formalNoticeDate) return;
    const date = typeof p?.postedOn === 'string' ? calendarDateOf(p.postedOn) : undefined;
    if (!date || date > localDate(Date.now(), tz)) {
      note('notice-posting-rejected', { postedOn: p?.postedOn, reason: 'postedOn must be a past or present YYYY-MM-DD' });
      return;
    }
    applyNoticePosted(p, date);
  });
  // The API's form: a wrong date, or a notice already dated, is refused before anything is recorded.
  setHandler(
    formalNoticePostedUpdate,
    (p) => (applyNoticePosted(p, p.postedOn), { date: p.postedOn }),
    {
      validator: (p) => {
        validatorOf((x: FormalNoticePosted) => checkNoticePosted(x, tz, Date.now()))(p);
        if (state.formalNoticeDate) fail(`the formal notice is dated already (${state.formalNoticeDate})`, 'postedOn');
      },
    },
  );
  function applyNoticePosted(p: FormalNoticePosted, date: string) {
    state.formalNoticeDate = date;
    note(NOTICE_DATED, { date, source: 'posted-by-hand', note: p.note });
  }
  setHandler(agencyOutcomeSignal, (o) => {
    if (!state.agency || state.outcome) return;
    state.agency.outcome = o;
    if (o.amountRecoveredMinor && o.amountRecoveredMinor > 0) {
      state.balanceMinor -= Math.min(o.amountRecoveredMinor, state.balanceMinor);
    }
    note('agency-outcome', { status: o.status, amountRecoveredMinor: o.amountRecoveredMinor, note: o.note });
  });
  setHandler(
    migratePolicyUpdate,
    ({ policy: next, reason }) => {
      const from = `${policy.id}@${policy.version}`;
      policy = parsePolicy(next);
      note('policy-migrated', { from, to: `${policy.id}@${policy.version}`, reason });
      return { from, to: `${policy.id}@${policy.version}`, nextStep: policy.steps.find((s) => !state.completedSteps.includes(s.id))?.id };
    },
    {
      validator: ({ policy: next }) => {
        assertOpen(state);
        try {
          parsePolicy(next);
        } catch (err) {
          const issue = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues?.[0];
          fail(issue ? issue.message : (err as Error).message, issue ? `policy.${issue.path.join('.')}` : 'policy');
        }
        if (next.id === policy.id && next.version === policy.version) fail(`the invoice already runs ${policy.id}@${policy.version}`, 'policy.version');
        const mismatch = policyAudienceMismatch(next, invoice.customer.kind);
        if (mismatch) fail(mismatch, 'policy.audience');
      },
    },
  );
  setHandler(
    approveStepUpdate,
    (a) => {
      const pending = state.approval as PendingApproval;
      const step = policy.steps.find((s) => s.id === a.stepId) as PolicyStep;
      if (a.action === 'postpone') {
        const until = resolveDeadline(a.until as string, tz) as string;
        state.approval = { ...pending, until, postponed: true, escalated: false };
        note('approval-decided', { stepId: a.stepId, action: a.action, until, by: a.actor, note: a.note });
        return { stepId: a.stepId, action: a.action, until };
      }
      state.approval = undefined;
      // The step (skipped or approved) takes its place in the calendar now: the next ones keep their spacing from it.
      shiftCalendarTo(step, Date.now());
      if (a.action === 'approve') state.approvedSteps = [...(state.approvedSteps ?? []), a.stepId];
      else state.completedSteps.push(a.stepId);
      note('approval-decided', { stepId: a.stepId, action: a.action, by: a.actor, note: a.note });
      if (a.action === 'skip') note('step-skipped', { stepId: a.stepId, reason: 'skipped at approval' });
      return { stepId: a.stepId, action: a.action };
    },
    {
      validator: (a: ApproveStep) => {
        assertOpen(state);
        if (typeof a?.stepId !== 'string' || !a.stepId) fail('is required', 'stepId');
        if (!APPROVAL_ACTIONS.includes(a.action)) fail(`must be one of ${APPROVAL_ACTIONS.join(', ')}`, 'action');
        const pending = state.approval;
        if (!pending) fail('no step of this invoice is waiting for approval', 'stepId');
        if (pending!.stepId !== a.stepId) fail(`the step waiting for approval is ${pending!.stepId}`, 'stepId');
        if (a.action === 'postpone') {
          const until = typeof a.until === 'string' ? resolveDeadline(a.until, tz) : undefined;
          if (!until) fail('must be YYYY-MM-DD or an ISO instant with offset (required with postpone)', 'until');
          if (Date.parse(until as string) <= Date.now()) fail('must be in the future', 'until');
        } else if (a.until !== undefined) fail('only with action postpone', 'until');
        if (a.note !== undefined && (typeof a.note !== 'string' || a.note.length > 2000)) fail('must be a string of at most 2000 characters', 'note');
      },
    },
  );
  setHandler(
    customerTermsUpdate,
    (t) => {
      applyTerms(t);
      return { graceDays: state.graceDays ?? 0, approvalBeforeFormalSteps: !!state.approvalBeforeFormalSteps };
    },
    {
      validator: (t: CustomerTerms) => {
        if (state.outcome) fail(`the invoice is closed (${state.outcome})`, 'invoice');
        const g = t?.graceDays;
        if (g !== undefined && g !== null && (!Number.isInteger(g) || g < 0 || g > 366)) fail('must be an integer from 0 to 366', 'graceDays');
        const a = t?.approvalBeforeFormalSteps;
        if (a !== undefined && typeof a !== 'boolean') fail('must be a boolean', 'approvalBeforeFormalSteps');
      },
    },
  );
  // ---- the customer's batch (issue 18) ----
  setHandler(batchQueuedSignal, (q) => {
    if (state.batch?.stepId !== q?.stepId || state.batch.ackedAt) return;
    state.batch.ackedAt = nowIso();
    state.batch.batchAt = q.batchAt;
    changed = true;
  });
  setHandler(batchReportSignal, (r) => {
    if (state.batch?.stepId !== r?.stepId || state.batch.report) {
      note('batch-report-ignored', { stepId: r?.stepId, status: r?.status, batchKey: r?.batchKey, reason: 'the step no longer waits for a batch' });
      return;
    }
    state.batch.report = r;
    changed = true;
  });
  // Answered from the current state, just before the batch goes: an invoice paid, disputed,
  // paused or under a plan or promise since it was queued drops out.
  setHandler(batchCheckUpdate, ({ stepId, batchKey }): BatchAnswer => {
    const b = state.batch;
    if (!b || b.stepId !== stepId || b.report) return { due: false, reason: 'the step no longer waits for a batch (sent alone or reported)' };
    const reason = state.outcome
      ? `closed (${state.outcome})`
      : state.cancelled
        ? 'cancelled'
        : state.balanceMinor <= 0
          ? 'paid'
          : holdReason(currentHold()?.kind);
    if (reason) return { due: false, reason };
    b.claimedBy = batchKey;
    const step = policy.steps.find((s) => s.id === stepId);
    const asOf = localDate(Date.now(), tz);
    return {
      due: true,
      line: {
        invoiceNumber: invoice.number,
        stepId,
        templateId: step?.templateId ?? stepId,
        stepIndex: step ? policy.steps.indexOf(step) : 0,
        currency: invoice.currency,
        issueDate: invoice.issueDate,
        dueDate: invoice.dueDate,
        amountMinor: invoice.amountMinor,
        balanceMinor: state.balanceMinor,
        daysLate: daysLate(invoice.dueDate, asOf),
        penaltiesMinor: penaltiesNow()?.totalMinor ?? 0,
        paymentLink: invoice.paymentLink,
        knownPaymentIds: state.payments.map((p) => p.paymentId),
      },
    };
  });
  setHandler(statusQuery, (): DunningStatus => status());
  setHandler(policyQuery, (): DunningPolicy => policy);

  // ---- helpers (closures over state) ----
  function penaltiesNow(): PenaltyResult | undefined {
    if (policy.penalties.mode === 'none') return undefined;
    try {
      // Before the first rateTables answer (a run older than RATE_TABLES_PATCH) no figure is shown.
      if (!state.rates) return undefined;
      return computePenalties({
        terms: policy.penalties,
        // The customer's kind decides the law; the policy's audience only chose the policy.
        audience: invoice.customer.kind,
        rates: state.rates,
        formalNoticeDate: state.formalNoticeDate,
        currency: invoice.currency,
        dueDate: invoice.dueDate,
        asOf: localDate(Date.now(), tz),
        principalMinor: invoice.amountMinor - invoice.depositMinor - state.creditNotesMinor,
        payments: state.payments.map((p) => ({ date: localDate(p.receivedAt, tz), amountMinor: p.amountMinor })),
      });
    } catch (err) {
      // A rate table that does not cover the date must not stop reminders; ops see it in the log.
      log.warn('penalties not computable', { error: (err as Error).message });
      return undefined;
    }
  }

  function anchorNow(): string {
    const shifted = new Date(anchorMs + state.shiftMs).toISOString();
    // Calendar days in the customer's zone: a grace period keeps the local hour across DST.
    return state.graceDays ? addIsoDuration(shifted, `P${state.graceDays}D`, tz) : shifted;
  }

  /** The customer's record changed (or the invoice starts): grace period and approvals. */
  function applyTerms(t: CustomerTerms) {
    const grace = t.graceDays ?? 0;
    if (t.graceDays !== undefined && grace !== (state.graceDays ?? 0)) {
      note('grace-period-changed', { from: state.graceDays ?? 0, to: grace, by: t.actor });
      state.graceDays = grace || undefined;
    }
    if (t.approvalBeforeFormalSteps !== undefined && t.approvalBeforeFormalSteps !== !!state.approvalBeforeFormalSteps) {
      state.approvalBeforeFormalSteps = t.approvalBeforeFormalSteps || undefined;
      note('approval-setting-changed', { approvalBeforeFormalSteps: t.approvalBeforeFormalSteps, by: t.actor });
    }
  }

  /** The approval a step needs: the policy's, else the customer's for a formal step. */
  function approvalRule(step: PolicyStep): { within: string; onTimeout: 'send' | 'escalate' } | undefined {
    // `required: false` is new with the API's default (no run before it carries it): no patch needed.
    if (step.approval && step.approval.required !== false) {
      return { within: step.approval.within ?? APPROVAL_WITHIN_DEFAULT, onTimeout: step.approval.onTimeout ?? 'escalate' };
    }
    if (state.approvalBeforeFormalSteps && isFormalStep(step)) return { within: APPROVAL_WITHIN_DEFAULT, onTimeout: 'escalate' };
    return undefined;
  }

  /**
   * True when the due step must not run yet: it needs an approval nobody has given, which is
   * asked now (a hold the loop waits on). Runs recorded before APPROVAL_PATCH never ask.
   */
  function approvalNeeded(step: PolicyStep): boolean {
    if (state.approvedSteps?.includes(step.id)) return false;
    const rule = approvalRule(step);
    if (!rule || !patched(APPROVAL_PATCH)) return false;
    askApproval(step.id, rule);
    return true;
  }

  function askApproval(stepId: string, rule: { within: string; onTimeout: 'send' | 'escalate' }) {
    const since = nowIso();
    const until = addIsoDuration(since, rule.within, tz);
    state.approval = { stepId, since, until, onTimeout: rule.onTimeout };
    note('approval-requested', { stepId, until, onTimeout: rule.onTimeout });
  }

  /** The bound passed without an answer: what the policy says (send, or hold escalated), or ask again after a postponement. */
  function approvalExpired() {
    const pending = state.approval;
    if (!pending) return;
    const step = policy.steps.find((s) => s.id === pending.stepId);
    const rule = step && approvalRule(step);
    if (!step || !rule) {
      // The policy (migrated) or the customer's setting no longer asks it.
      state.approval = undefined;
      note('approval-withdrawn', { stepId: pending.stepId });
    } else if (pending.postponed) {
      askApproval(step.id, rule);
    } else if (pending.onTimeout === 'send') {
      state.approval = undefined;
      state.approvedSteps = [...(state.approvedSteps ?? []), step.id];
      shiftCalendarTo(step, Date.now());
      note('approval-timed-out', { stepId: step.id, action: 'send' });
    } else {
      state.approval = { ...pending, until: undefined, escalated: true };
      note('approval-escalated', { stepId: step.id, since: pending.since });
    }
  }

  /** Moves the calendar so that `step` falls at `at` (never earlier): the later steps keep their spacing from it. */
  function shiftCalendarTo(step: PolicyStep, at: number) {
    const nominal = Date.parse(addIsoDuration(anchorNow(), step.offset, tz));
    if (nominal < at) state.shiftMs += at - nominal;
  }

  const holidaySets = new Map<string, ReadonlySet<string>>();
  const holidays: HolidayLookup = (country, year) => {
    const key = `${country}:${year}`;
    let set = holidaySets.get(key);
    if (!set) {
      const dates = state.holidays?.[key];
      if (!dates) throw new HolidaysNeeded(country, year);
      set = new Set(dates);
      holidaySets.set(key, set);
    }
    return set;
  };

  /** Runs schedule maths, fetching any year of holidays it turns out to need first. */
  async function withHolidays<T>(compute: () => T): Promise<T> {
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
          note('holidays-unavailable', { country: err.country, year: err.year, message: (failure as Error).message });
        }
        state.holidays = { ...state.holidays, [`${err.country}:${err.year}`]: dates };
      }
    }
  }

  // Step instants are asked for on every wake-up and every status query.
  const instants = new Map<string, string>();
  function stepAt(step: PolicyStep): string {
    const anchor = anchorNow();
    const key = `${policy.id}@${policy.version}|${anchor}|${step.id}`;
    let at = instants.get(key);
    if (at === undefined) {
      at = stepInstant({ anchor, offset: step.offset, timeZone: tz, country: invoice.customer.country.toUpperCase(), window: policy.sendWindow, holidays });
      instants.set(key, at);
    }
    return at;
  }

  /** The next step and its instant; throws HolidaysNeeded when a year is missing (see withHolidays). */
  function nextStepDue(): { step: PolicyStep; at: string } | undefined {
    const step = policy.steps.find((s) => !state.completedSteps.includes(s.id));
    if (!step) return undefined;
    return { step, at: stepAt(step) };
  }

  /** For publishing and queries, which cannot wait for holidays: the loop fetches them before it sleeps. */
  function nextStepDueIfKnown(): { step: PolicyStep; at: string } | undefined {
    try {
      return nextStepDue();
    } catch (err) {
      if (err instanceof HolidaysNeeded) return undefined;
      throw err;
    }
  }

  /** A heads-up before the due date makes no sense once the invoice is overdue (e.g. after a hold). */
  function skipMootSteps() {
    if (Date.now() < anchorMs) return;
    for (const s of policy.steps) {
      if (state.completedSteps.includes(s.id)) continue;
      if (!s.offset.startsWith('-')) break;
      state.completedSteps.push(s.id);
      note('step-skipped', { stepId: s.id, reason: 'the due date has passed' });
    }
  }

  /** After a hold, escalation resumes at the next step, keeping the calendar's spacing from there on. */
  function holdEnded() {
    skipMootSteps();
    const next = policy.steps.find((s) => !state.completedSteps.includes(s.id));
    if (!next) return;
    const nominal = Date.parse(addIsoDuration(anchorNow(), next.offset, tz));
    const now = Date.now();
    if (nominal < now) state.shiftMs += now - nominal;
  }

  function applyInbound(effects: inbound.Effects) {
    for (const n of effects.notes) note(n.type, n.detail);
    if (effects.holdEndedSince && !currentHold()) holdEnded();
  }

  /** A step's send that came back undeliverable goes again on the step's fallback channel, even though the step is done. */
  async function resendOnFallback(r: inbound.FallbackResend) {
    const step = policy.steps.find((s) => s.id === r.stepId);
    const to = inbound.fallbackChannel(policy, r.stepId, r.channel);
    if (!step || !to) {
      note('no-fallback', { stepId: r.stepId, channel: r.channel });
      return;
    }
    note('fallback', { stepId: r.stepId, from: r.channel, to, reason: r.reason });
    await runChannel(step, to, [r.channel]);
  }

  function currentHold(): { kind: HoldKind; until?: string; reason?: string } | undefined {
    if (state.dispute) return { kind: 'dispute', reason: state.dispute.reason };
    if (state.pause) return { kind: 'pause', until: state.pause.until, reason: state.pause.reason };
    if (state.plan) {
      const open = state.plan.instalments.find((i) => i.paidMinor < i.amountMinor);
      if (open) return { kind: 'plan', until: addIsoDuration(open.dueAt, policy.instalmentGrace, tz) };
    }
    if (state.promise) return { kind: 'promise', until: state.promise.until };
    const inboundHold = inbound.inboundHold(state);
    if (inboundHold) return inboundHold;
    if (state.approval) {
      const a = state.approval;
      return { kind: 'approval', until: a.until, reason: `${a.stepId}: ${a.postponed ? 'postponed' : a.escalated ? 'escalated, waiting for approval' : 'waiting for approval'}` };
    }
    return undefined;
  }

  function status(): DunningStatus {
    const held = Object.entries(state.ambiguous ?? {})[0];
    const hold = state.outcome || state.agency
      ? undefined
      : held
        ? { kind: 'ambiguous-send' as const, until: held[1].until, reason: `${held[0]}: communication ${held[1].communicationId}` }
        : currentHold();
    const next = state.outcome || hold || state.agency ? undefined : nextStepDueIfKnown();
    return {
      invoiceNumber: invoice.number,
      workflowId: workflowInfo().workflowId,
      stage: state.stage,
      balanceMinor: state.balanceMinor,
      currency: invoice.currency,
      penalties: penaltiesNow(),
      nextAction: next ? { stepId: next.step.id, channels: next.step.channels, at: next.at } : undefined,
      holding: hold,
      plan: state.plan,
      promise: state.promise,
      approval: state.approval,
      completedSteps: [...state.completedSteps],
      payments: [...state.payments],
      outcome: state.outcome,
      policy: { id: policy.id, version: policy.version },
      timeline: [...state.timeline],
    };
  }

  const digits = minorUnits(invoice.currency);
  /** Search-attribute values (as JSON) this run last upserted. */
  const published = new Map<string, string>();
  /** Upserts only the pairs whose value changed since this run last did. */
  function upsertChanged(pairs: SearchAttributeUpdatePair[]) {
    if (!patched(UPSERT_CHANGED_PATCH)) return upsertSearchAttributes(pairs);
    const changed = pairs.filter((p) => published.get(p.key.name) !== JSON.stringify(p.value));
    if (changed.length === 0) return;
    upsertSearchAttributes(changed);
    for (const p of changed) published.set(p.key.name, JSON.stringify(p.value));
  }

  /** Search attributes and current details; no penalties maths here, it runs every loop. */
  function publish() {
    const hold = state.outcome || state.agency ? undefined : currentHold();
    const due = state.outcome || hold || state.agency ? undefined : nextStepDueIfKnown();
    const next = due ? { stepId: due.step.id, channels: due.step.channels, at: due.at } : undefined;
    const balance = state.balanceMinor / 10 ** digits;
    upsertChanged([
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

  /** Callers check `pendingEvents.length` first: each promise a workflow creates costs a stack capture in the SDK. */
  async function flushJournal() {
    const events = pendingEvents.splice(0, pendingEvents.length).map((e) => ({
      workflowId: workflowInfo().workflowId,
      invoiceNumber: invoice.number,
      eventKey: journalEventKey(workflowInfo().workflowId, workflowInfo().firstExecutionRunId, state.seq++),
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
        closedAt: state.outcome ? nowIso() : undefined,
      },
    });
  }

  function sendInput(stepId: string, templateId: string, channel: Channel, extra: Partial<SendInput> = {}): SendInput {
    const asOf = localDate(Date.now(), tz);
    return {
      ...extra,
      idempotencyKey: sendIdempotencyKey(workflowInfo().workflowId, stepId, channel),
      workflowId: workflowInfo().workflowId,
      stepId,
      templateId,
      channel,
      invoice,
      balanceMinor: state.balanceMinor,
      penalties: penaltiesNow(),
      asOf,
      deadline: addLocalDays(asOf, noticeDeadlineDays(policy)),
      payments: state.payments.map((p) => ({ date: localDate(p.receivedAt, tz), amountMinor: p.amountMinor })),
      knownPaymentIds: state.payments.map((p) => p.paymentId),
    };
  }

  async function sendOn(channel: Channel, stepId: string, templateId: string, extra: Partial<SendInput> = {}): Promise<SendResult | { status: 'TASK' }> {
    switch (channel) {
      case 'email':
        return email.sendEmail(sendInput(stepId, templateId, channel, extra));
      case 'sms':
        return sms.sendSms(sendInput(stepId, templateId, channel, extra));
      case 'letter':
        return letter.sendLetter(sendInput(stepId, templateId, channel, extra));
      case 'phone': {
        const task = await journal.createPhoneTask({
          idempotencyKey: sendIdempotencyKey(workflowInfo().workflowId, stepId, 'phone'),
          workflowId: workflowInfo().workflowId,
          stepId,
          invoice,
          balanceMinor: state.balanceMinor,
          knownPaymentIds: state.payments.map((p) => p.paymentId),
        });
        return { status: task?.skipped ? 'SKIPPED_SETTLED' : 'TASK' };
      }
      case 'agency': {
        const input = sendInput(stepId, templateId, channel);
        const penalties = input.penalties ?? emptyPenalties(invoice.currency);
        return agency.handoverToAgency({
          idempotencyKey: input.idempotencyKey,
          workflowId: input.workflowId,
          invoice,
          balanceMinor: state.balanceMinor,
          penalties,
          asOf: input.asOf,
          payments: state.payments.map((p) => ({ paymentId: p.paymentId, amountMinor: p.amountMinor, receivedAt: p.receivedAt, source: p.source })),
          knownPaymentIds: input.knownPaymentIds,
        });
      }
    }
  }

  /** One channel of a step, with the step's fallback when the channel fails for good. */
  async function runChannel(step: PolicyStep, channel: Channel, tried: Channel[] = []): Promise<void> {
    // The settle check sits right before each start: a payment that arrived while an
    // earlier channel was sending stops the rest.
    if (state.balanceMinor <= 0 || state.cancelled) return;
    try {
      const result = await sendOn(channel, step.id, step.templateId);
      note('sent', { stepId: step.id, channel, status: result.status });
      if (channel === 'letter' && NOTICE_TEMPLATES.has(step.templateId) && patched(NOTICE_DATE_PATCH)) noticeSent(step, result as SendResult);
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      const type = cause instanceof ApplicationFailure ? cause.type : undefined;
      if (type === PermanentFailureTypes.AmbiguousDelivery && patched('ambiguous-send-hold')) {
        await holdAmbiguousSend(step, channel, (cause as ApplicationFailure).details?.[0] as { communicationId?: string } | undefined);
        return;
      }
      const fallback = step.fallback?.[channel];
      note('send-failed', { stepId: step.id, channel, type, message: (cause as Error)?.message });
      // A fallback onto a channel the step already uses would only repeat that send.
      if (fallback && !tried.includes(fallback) && !step.channels.includes(fallback)) {
        note('fallback', { stepId: step.id, from: channel, to: fallback });
        await runChannel(step, fallback, [...tried, channel]);
      }
    }
  }

  /**
   * A registered letter is dated by the provider's dispatch; an outbox letter is a draft the
   * timeline asks ops to post, dated when a collector records the posting (formalNoticePosted).
   */
  function noticeSent(step: PolicyStep, result: SendResult) {
    if (result.status === 'SKIPPED_SETTLED' || !result.letter) return;
    if (!result.letter.registered) {
      note('letter-draft-to-post', { stepId: step.id, documentRef: result.documentRef });
      return;
    }
    if (state.formalNoticeDate || !result.letter.dispatchedAt) return;
    state.formalNoticeDate = localDate(Date.parse(result.letter.dispatchedAt), tz);
    note(NOTICE_DATED, { date: state.formalNoticeDate, source: 'registered-mail', stepId: step.id });
  }

  /** A newly confirmed table reaches this invoice at its next step (or continue-as-new). */
  async function refreshRates() {
    if (!patched(RATE_TABLES_PATCH)) return;
    const previous = state.rates?.version;
    state.rates = await calendar.rateTables();
    if (previous !== undefined && previous !== state.rates.version) note('rates-updated', { from: previous, to: state.rates.version });
  }

  /**
   * A send that may have reached a provider that cannot drop repeats, for a step never
   * resent blindly: wait for a collector (resolveAmbiguousSend), a settling payment or a
   * cancellation, at most the policy's bound; then do what was decided (by default, after
   * the bound, go on without resending: the communication stays listed as ambiguous).
   */
  async function holdAmbiguousSend(step: PolicyStep, channel: Channel, detail: { communicationId?: string } | undefined) {
    const key = `${step.id}/${channel}`;
    const since = nowIso();
    const until = addIsoDuration(since, AMBIGUOUS_HOLD_MAX, tz);
    state.ambiguous = { ...state.ambiguous, [key]: { communicationId: detail?.communicationId ?? '', since, until } };
    note('send-ambiguous', { stepId: step.id, channel, communicationId: detail?.communicationId, until });
    publish();
    if (pendingEvents.length > 0) await flushJournal();
    const settled = () => state.balanceMinor <= 0 || !!state.cancelled;
    await condition(() => !!state.ambiguous?.[key]?.resolution || settled(), Date.parse(until) - Date.now());
    const resolution = state.ambiguous?.[key]?.resolution;
    delete state.ambiguous?.[key];
    if (!resolution) {
      note('ambiguous-unresolved', { stepId: step.id, channel, reason: settled() ? 'settled or cancelled meanwhile' : 'no resolution within the bound' });
      return;
    }
    if (resolution.action === 'resend') {
      const result = await sendOn(channel, step.id, step.templateId, { resendAmbiguous: true });
      note('sent', { stepId: step.id, channel, status: result.status, resent: true });
    }
  }

  async function runStep(step: PolicyStep) {
    await refreshRates();
    state.stage = step.stage ?? step.id;
    note('step-started', { stepId: step.id, channels: step.channels });
    const began = patched('calendar-from-actual-send') ? Date.now() : undefined;
    let batchWaitMs = 0;
    await Promise.all(
      step.channels.map(async (c) => {
        // Only a policy that consolidates asks the patch: other runs' histories stay as they were.
        if (!consolidates(policy, step, c) || !patched(CONSOLIDATION_PATCH)) return runChannel(step, c);
        const t0 = Date.now();
        await runConsolidated(step);
        batchWaitMs = Date.now() - t0;
      }),
    );
    // A step whose sends took long (retries, a held ambiguous send) moves the calendar
    // with it: the next steps keep their spacing from the actual send instead of bunching.
    // The wait for the customer's batch is planned, not late: it moves nothing.
    const late = began === undefined ? 0 : Date.now() - began - batchWaitMs;
    if (late > LATE_STEP_TOLERANCE_MS) {
      state.shiftMs += late;
      note('calendar-shifted', { stepId: step.id, lateMs: late });
    }
    state.completedSteps.push(step.id);
    if (step.channels.includes('agency') && state.balanceMinor > 0 && !state.cancelled) {
      const handedOverAt = nowIso();
      state.agency = { handedOverAt, until: addIsoDuration(handedOverAt, policy.agencyListenFor, tz) };
      note('agency-handover', { until: state.agency.until });
    }
  }

  /**
   * The step's email goes in the customer's daily batch: hand it to `customer-<id>` (started if
   * need be), wait for its acknowledgement and then its report, each within the policy's bound.
   * Whatever does not come in time, the invoice sends its own step and the timeline says why.
   */
  async function runConsolidated(step: PolicyStep) {
    if (state.balanceMinor <= 0 || state.cancelled) return;
    const settings = consolidationOf(policy);
    const bound = waitBoundMs(settings);
    const customerWorkflowId = customerWorkflowIdFor(invoice.customer.id);
    const country = invoice.customer.country.toUpperCase();
    const batchAt = await withHolidays(() => nextBatchAt({ fromMs: Date.now(), timeZone: tz, country, at: settings.at, window: policy.sendWindow, holidays }));
    state.batch = { stepId: step.id, batchAt, since: nowIso() };
    const alone = async (reason: string) => {
      note('batch-bypassed', { stepId: step.id, channel: 'email', customerWorkflowId, reason });
      state.batch = undefined;
      await runChannel(step, 'email');
    };
    try {
      await customerActs.queueForCustomer({
        customer: invoice.customer,
        taskQueue: workflowInfo().taskQueue,
        item: {
          invoiceNumber: invoice.number,
          workflowId: workflowInfo().workflowId,
          stepId: step.id,
          templateId: step.templateId,
          stepIndex: policy.steps.indexOf(step),
          channel: 'email',
          queuedAt: state.batch.since,
          batchAt,
        },
      });
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : err;
      return alone(`the hand-off failed: ${(cause as Error)?.message}`);
    }
    note('batch-queued', { stepId: step.id, channel: 'email', customerWorkflowId, batchAt });
    publish();
    if (pendingEvents.length > 0) await flushJournal();
    const settled = () => state.balanceMinor <= 0 || !!state.cancelled;
    const b = () => state.batch;
    if (!(await condition(() => !!b()?.ackedAt || !!b()?.report || settled(), bound))) {
      return alone(`the customer's workflow did not acknowledge within ${settings.waitFor}`);
    }
    if (!b()?.report && !settled()) {
      const remaining = Date.parse(b()!.batchAt) + bound - Date.now();
      if (remaining <= 0 || !(await condition(() => !!b()?.report || settled(), remaining))) {
        return alone(`no report from the customer's batch of ${b()!.batchAt} within ${settings.waitFor} after it`);
      }
    }
    const report = b()?.report;
    state.batch = undefined;
    if (!report) return; // settled or cancelled meanwhile: nothing to send, the loop closes the invoice
    if (report.status === 'sent') {
      note('sent', { stepId: step.id, channel: 'email', status: 'SENT', batchKey: report.batchKey, communicationId: report.communicationId, invoices: report.invoices });
    } else if (report.status === 'dropped') {
      note('batch-dropped', { stepId: step.id, channel: 'email', batchKey: report.batchKey, reason: report.reason });
    } else {
      // failed: the batch message failed for good; missed: queued after its batch went.
      return alone(`the batch ${report.batchKey} ${report.status === 'failed' ? 'failed' : 'had gone'}: ${report.reason}`);
    }
  }

  /** The journal sequence the next timeline entry will get: unique per notice, unlike state.seq between flushes. */
  function noticeSeq(): number {
    return patched(NOTICE_KEYS_PATCH) ? state.seq + pendingEvents.length : state.seq;
  }

  async function sendNotice(n: Notice) {
    if (!invoice.customer.email) return;
    try {
      await email.sendEmail(sendInput(n.stepId, n.templateId, 'email', n.plan ? { plan: n.plan } : {}));
      note('notice-sent', { templateId: n.templateId });
    } catch (err) {
      note('notice-failed', { templateId: n.templateId, message: (err as Error).message });
    }
  }

  /** Steps already past when the workflow first starts (late import): skip all but the latest. */
  async function catchUpOnStart() {
    if (input.carried) return;
    const now = Date.now();
    const past = await withHolidays(() => policy.steps.filter((s) => Date.parse(stepAt(s)) < now));
    for (const s of past.slice(0, -1)) {
      state.completedSteps.push(s.id);
      note('step-skipped', { stepId: s.id, reason: 'already past when the invoice was issued' });
    }
  }

  function finish(outcome: Outcome) {
    state.outcome = outcome;
    state.stage = outcome;
    note('closed', { outcome, balanceMinor: state.balanceMinor });
  }

  // ---- the loop ----
  if (!input.carried) {
    const terms = {
      ...(state.graceDays ? { graceDays: state.graceDays } : {}),
      ...(state.approvalBeforeFormalSteps ? { approvalBeforeFormalSteps: true } : {}),
    };
    note('issued', { policy: `${policy.id}@${policy.version}`, balanceMinor: state.balanceMinor, ...terms });
    // Issued while the customer is paused as a whole: held from the first moment, so no step can
    // fire before a pause update would arrive.
    if (input.customerHold && patched(CUSTOMER_HOLD_PATCH)) applyPause(input.customerHold);
  }
  await catchUpOnStart();
  await refreshRates();

  while (!state.outcome) {
    changed = false;
    if (!state.agency && !currentHold()) await withHolidays(nextStepDue);
    publish();
    if (pendingEvents.length > 0) await flushJournal();

    if (state.cancelled) {
      finish(state.cancelled.reason === 'write-off' ? 'written-off' : 'cancelled');
      break;
    }
    if (state.balanceMinor <= 0) {
      const settledByCredit = state.payments.length === 0 && state.creditNotesMinor > 0;
      if (!settledByCredit) await sendNotice({ templateId: 'receipt', stepId: 'receipt' });
      finish(settledByCredit ? 'cancelled' : 'paid');
      break;
    }
    const notice = state.notices.shift();
    if (notice) {
      await sendNotice(notice);
      continue;
    }
    // An undeliverable send goes out again on its fallback (also after the last step), not during a pause or dispute.
    const resend = state.resends?.length && !currentHold() ? state.resends.shift() : undefined;
    if (resend) {
      await resendOnFallback(resend);
      continue;
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.continueAsNewAfterEvents ?? HISTORY_LIMIT)) {
      if (pendingEvents.length > 0) await flushJournal();
      await condition(allHandlersFinished);
      if (patched(HOLD_RECHECK_PATCH)) state.holidays = holidaysAhead(state.holidays, Number(localDate(Date.now(), tz).slice(0, 4)));
      await continueAsNew<typeof invoiceDunning>({ ...input, policy, carried: state });
    }

    if (state.agency) {
      const o = state.agency.outcome?.status;
      if (o === 'recovered') {
        finish('agency-recovered');
        break;
      }
      if (o === 'unrecoverable') {
        finish('agency-unrecoverable');
        break;
      }
      const waitMs = Date.parse(state.agency.until) - Date.now();
      if (waitMs <= 0 || !(await condition(() => changed, waitMs))) {
        if (waitMs <= 0 || !changed) finish('agency-closed');
      }
      continue;
    }

    const hold = currentHold();
    if (hold) {
      const waitMs = hold.until ? Date.parse(hold.until) - Date.now() : undefined;
      const woke =
        waitMs === undefined
          ? patched(HOLD_RECHECK_PATCH)
            ? (await condition(() => changed, durationToMillis(policy.holdRecheck ?? HOLD_RECHECK_DEFAULT)), true)
            : (await condition(() => changed), true)
          : waitMs > 0
            ? await condition(() => changed, waitMs)
            : false;
      if (!woke) holdExpired(hold.kind);
      continue;
    }

    const next = await withHolidays(nextStepDue);
    if (!next) {
      // Calendar exhausted without an agency step: keep listening for a payment for the policy's listen period.
      const handedOverAt = nowIso();
      state.agency = { handedOverAt, until: addIsoDuration(handedOverAt, policy.agencyListenFor, tz) };
      note('calendar-exhausted', { until: state.agency.until });
      continue;
    }
    const waitMs = Date.parse(next.at) - Date.now();
    if (waitMs > 0 && (await condition(() => changed, waitMs))) continue;
    if (changed) continue;
    if (approvalNeeded(next.step)) continue;
    await runStep(next.step);
  }

  publish();
  if (pendingEvents.length > 0) await flushJournal();
  await condition(allHandlersFinished);
  return { outcome: state.outcome as Outcome, balanceMinor: state.balanceMinor };

  function holdExpired(kind: HoldKind) {
    if (kind === 'approval') {
      approvalExpired();
    } else if (kind === 'reply' || kind === 'pending-payment') {
      applyInbound(inbound.inboundHoldExpired(state, kind, nowIso()));
    } else if (kind === 'pause' && state.pause) {
      state.pause = undefined;
      holdEnded();
      note('pause-expired');
    } else if (kind === 'promise' && state.promise) {
      note('promise-broken', { date: state.promise.date });
      state.promise = undefined;
      holdEnded();
    } else if (kind === 'plan' && state.plan) {
      // Keyed by the plan-breached entry's own sequence (taken before the note adds it).
      const stepId = `plan-breached-${noticeSeq()}`;
      note('plan-breached', { missed: state.plan.instalments.find((i) => i.paidMinor < i.amountMinor) });
      state.plan = undefined;
      state.notices.push({ templateId: 'plan-breached', stepId });
      holdEnded();
    }
  }
}

/** Why a held invoice drops out of its customer's batch, in the words of the timeline. */
function holdReason(kind: string | undefined): string | undefined {
  const words: Record<string, string> = { dispute: 'disputed', pause: 'paused', plan: 'under an instalment plan', promise: 'promise to pay' };
  return kind === undefined ? undefined : (words[kind] ?? `held (${kind})`);
}

function applyToPlan(plan: InstalmentPlan, amountMinor: number) {
  let rest = amountMinor;
  for (const i of plan.instalments) {
    if (rest <= 0) break;
    const take = Math.min(i.amountMinor - i.paidMinor, rest);
    i.paidMinor += take;
    rest -= take;
  }
}

function fail(message: string, field: string): never {
  throw ApplicationFailure.create({ type: ValidationFailureType, message: `${field}: ${message}`, details: [{ field, message }], nonRetryable: true });
}

function assertOpen(state: DunningState) {
  if (state.outcome) fail(`the invoice is closed (${state.outcome})`, 'invoice');
  if (state.agency) fail('the invoice is with the collection agency', 'invoice');
  if (state.cancelled) fail('the invoice is cancelled', 'invoice');
}

/** Validator of proposeInstalmentPlan: rejects before anything is written to history. */
export function validatePlan(proposal: ProposeInstalmentPlan, state: DunningState, policy: DunningPolicy, tz: string, now: number): void {
  assertOpen(state);
  const list = proposal?.instalments;
  if (!Array.isArray(list) || list.length === 0) fail('at least one instalment is required', 'instalments');
  if (list.length > policy.maxInstalments) fail(`at most ${policy.maxInstalments} instalments`, 'instalments');
  let previous = now;
  let sum = 0;
  list.forEach((i, n) => {
    if (!Number.isInteger(i?.amountMinor) || i.amountMinor <= 0) fail('must be a positive integer (minor units)', `instalments[${n}].amountMinor`);
    const at = typeof i.due === 'string' ? resolveDeadline(i.due, tz) : undefined;
    if (!at) fail('must be YYYY-MM-DD or an ISO instant with offset', `instalments[${n}].due`);
    const t = Date.parse(at as string);
    if (t <= now) fail('must be in the future', `instalments[${n}].due`);
    if (t <= previous && n > 0) fail('dates must be strictly ascending', `instalments[${n}].due`);
    previous = t;
    sum += i.amountMinor;
  });
  if (sum !== state.balanceMinor) fail(`instalments sum to ${sum} but the balance is ${state.balanceMinor}`, 'instalments');
}

/** The holidays of this year and later ("CC:YYYY" keys): a past year is never looked at again. */
function holidaysAhead(holidays: Record<string, string[]> | undefined, year: number): Record<string, string[]> | undefined {
  if (!holidays) return undefined;
  return Object.fromEntries(Object.entries(holidays).filter(([key]) => Number(key.slice(-4)) >= year));
}

function emptyPenalties(currency: string): PenaltyResult {
  return { interestMinor: 0, indemnityMinor: 0, totalMinor: 0, currency, lines: [] };
}

