// The state of one invoice's dunning, carried whole across continue-as-new, and the run it
// lives in: the invoice, the pinned policy, workflow time and the patches the history knows.
// Nothing here reads a clock or does I/O: the workflow passes `now` and `has(patchId)`, tests
// pass fixed ones (tests/unit/dunning).
import type { BatchReport } from '../../contracts/consolidation';
import type {
  AgencyOutcome,
  CancelInvoice,
  DunningStatus,
  InstalmentPlan,
  InvoiceDunningInput,
  Outcome,
  PaymentReceived,
  PendingApproval,
  ResolveAmbiguousSend,
  TimelineEntry,
} from '../../contracts/messages';
import { localDate } from '../dates';
import { addIsoDuration } from '../duration';
import { computePenalties } from '../penalties';
import type { RateTables } from '../rates';
import { anchorInstant } from '../send-window';
import type { DunningPolicy, InvoiceSnapshot, PenaltyResult } from '../types';
import * as inbound from './inbound-holds';
import { GRACE_PATCH } from './patches';

export type HoldKind = NonNullable<DunningStatus['holding']>['kind'];

/** Version of the carried shape; upgradeState() brings an older run's state to it. */
export const STATE_VERSION = 2;
/** Timeline entries carried (the first, 'issued', always stays). */
export const TIMELINE_KEEP = 300;
/** Payments carried in full; older ones are folded into `earlierPayments` (issue 12: payments grew without bound). */
export const PAYMENTS_KEEP = 100;
/** Ids of folded payments kept for dedup and the activities' settled check. */
export const PAYMENT_IDS_KEEP = 1_000;

/** A service notice waiting to go out; plan-confirmed carries the plan it confirms (NOTICE_PLAN_PATCH). */
export interface Notice {
  templateId: string;
  stepId: string;
  plan?: { instalments: Array<{ dueDate: string; amountMinor: number }> };
}

/** Payments older than the carried tail: totals by local date (what penalties and statements read) and their ids. */
export interface EarlierPayments {
  count: number;
  amountMinor: number;
  byDate: Array<{ date: string; amountMinor: number }>;
  ids: string[];
}

/** Everything the workflow knows; carried whole across continue-as-new. */
export interface DunningState extends inbound.InboundState {
  /** Absent in states carried by runs before issue 12 (version 1). */
  version?: number;
  balanceMinor: number;
  creditNotesMinor: number;
  /** The latest payments (at most PAYMENTS_KEEP); see earlierPayments. */
  payments: PaymentReceived[];
  earlierPayments?: EarlierPayments;
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

export interface JournalNote {
  type: string;
  at: string;
  data: Record<string, unknown>;
}

/** What the run is given from outside: workflow time, the history's patches, a logger. */
export interface World {
  now(): number;
  has(patchId: string): boolean;
  warn(message: string, data: Record<string, unknown>): void;
}

/** One run of one invoice: its state plus what every transition reads. */
export interface Run extends World {
  readonly input: InvoiceDunningInput;
  readonly invoice: InvoiceSnapshot;
  readonly tz: string;
  /** The invoice's anchor (due instant); parsing it on every wake-up showed in profiles. */
  readonly anchorMs: number;
  /** Pinned at start; replaced only by an explicit migratePolicy update from ops. */
  policy: DunningPolicy;
  readonly state: DunningState;
  /** Timeline entries the journal has not been told yet. */
  readonly pending: JournalNote[];
  /** Set by every note: a wait ends and the loop decides again. */
  changed: boolean;
  /** Step instants by policy, anchor and step (asked on every wake-up and status query). */
  readonly instants: Map<string, string>;
  readonly holidaySets: Map<string, ReadonlySet<string>>;
}

export function initialState(input: InvoiceDunningInput): DunningState {
  const { invoice } = input;
  return {
    version: STATE_VERSION,
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

/** A state carried by an older run, in today's shape (version 1 had every payment in full). */
export function upgradeState(carried: unknown, tz = 'UTC'): DunningState {
  const state = carried as DunningState;
  if ((state.version ?? 1) < 2) foldPayments(state, tz);
  state.version = STATE_VERSION;
  return state;
}

export function createRun(input: InvoiceDunningInput, world: World): Run {
  const { invoice } = input;
  const anchorMs = Date.parse(anchorInstant(invoice));
  const state = input.carried ? upgradeState(input.carried, invoice.customer.timeZone) : initialState(input);
  if (!input.carried && input.customerTerms && world.has(GRACE_PATCH)) {
    // Issued with the customer's current terms: stated in the 'issued' entry, not as a change.
    state.graceDays = input.customerTerms.graceDays || undefined;
    state.approvalBeforeFormalSteps = input.customerTerms.approvalBeforeFormalSteps || undefined;
  }
  return {
    now: world.now,
    has: world.has,
    warn: world.warn,
    input,
    invoice,
    tz: invoice.customer.timeZone,
    anchorMs,
    policy: input.policy,
    state,
    pending: [],
    changed: false,
    instants: new Map(),
    holidaySets: new Map(),
  };
}

export const nowIso = (run: Run) => new Date(run.now()).toISOString();

/** A timeline entry, also queued for the journal; it wakes the loop. */
export function note(run: Run, type: string, detail: Record<string, unknown> = {}) {
  const { timeline } = run.state;
  const entry = { at: nowIso(run), type, detail };
  timeline.push(entry);
  if (timeline.length > TIMELINE_KEEP) timeline.splice(1, timeline.length - TIMELINE_KEEP);
  run.pending.push({ type, at: entry.at, data: detail });
  run.changed = true;
}

// ---- payments: a bounded tail plus what older ones still count for ----

/** Moves payments beyond PAYMENTS_KEEP into the totals by local date in `tz` (the customer's zone; UTC only when a caller has none). */
export function foldPayments(state: DunningState, tz = 'UTC') {
  while (state.payments.length > PAYMENTS_KEEP) {
    const p = state.payments.shift() as PaymentReceived;
    const e = (state.earlierPayments ??= { count: 0, amountMinor: 0, byDate: [], ids: [] });
    const date = localDate(p.receivedAt, tz);
    e.count += 1;
    e.amountMinor += p.amountMinor;
    const last = e.byDate[e.byDate.length - 1];
    if (last?.date === date) last.amountMinor += p.amountMinor;
    else e.byDate.push({ date, amountMinor: p.amountMinor });
    e.ids = [...e.ids, p.paymentId].slice(-PAYMENT_IDS_KEEP);
  }
}

export const paymentCount = (state: DunningState) => state.payments.length + (state.earlierPayments?.count ?? 0);
export const knowsPayment = (state: DunningState, paymentId: string) =>
  state.payments.some((x) => x.paymentId === paymentId) || !!state.earlierPayments?.ids.includes(paymentId);
export const knownPaymentIds = (state: DunningState) => [...(state.earlierPayments?.ids ?? []), ...state.payments.map((p) => p.paymentId)];
/** Payments by local date, oldest first: statements and penalties. */
export const paymentLines = (state: DunningState, tz: string) => [
  ...(state.earlierPayments?.byDate.map((d) => ({ ...d })) ?? []),
  ...state.payments.map((p) => ({ date: localDate(p.receivedAt, tz), amountMinor: p.amountMinor })),
];

// ---- what holds the calendar ----

export function currentHold(run: Run): { kind: HoldKind; until?: string; reason?: string } | undefined {
  const { state, policy, tz } = run;
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

/** Why a held invoice drops out of its customer's batch, in the words of the timeline. */
export function holdReason(kind: string | undefined): string | undefined {
  const words: Record<string, string> = { dispute: 'disputed', pause: 'paused', plan: 'under an instalment plan', promise: 'promise to pay' };
  return kind === undefined ? undefined : (words[kind] ?? `held (${kind})`);
}

/** No send once the balance is settled or the invoice cancelled. */
export const settled = (state: DunningState) => state.balanceMinor <= 0 || !!state.cancelled;

/** The holidays of this year and later ("CC:YYYY" keys): a past year is never looked at again. */
export function holidaysAhead(holidays: Record<string, string[]> | undefined, year: number): Record<string, string[]> | undefined {
  if (!holidays) return undefined;
  return Object.fromEntries(Object.entries(holidays).filter(([key]) => Number(key.slice(-4)) >= year));
}

/** The calendar's anchor today: the due instant, pushed back by holds and the customer's grace period. */
export function anchorNow(run: Run): string {
  const shifted = new Date(run.anchorMs + run.state.shiftMs).toISOString();
  // Calendar days in the customer's zone: a grace period keeps the local hour across DST.
  return run.state.graceDays ? addIsoDuration(shifted, `P${run.state.graceDays}D`, run.tz) : shifted;
}

export function penaltiesNow(run: Run): PenaltyResult | undefined {
  const { policy, state, invoice, tz } = run;
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
      asOf: localDate(run.now(), tz),
      principalMinor: invoice.amountMinor - invoice.depositMinor - state.creditNotesMinor,
      payments: paymentLines(state, tz),
    });
  } catch (err) {
    // A rate table that does not cover the date must not stop reminders; ops see it in the log.
    run.warn('penalties not computable', { error: (err as Error).message });
    return undefined;
  }
}
