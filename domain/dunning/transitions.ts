// The transitions of an invoice's dunning: one function per message the workflow takes
// (payment, plan, promise, dispute, pause/resume, cancel, agency outcome, policy migration,
// approval, customer terms, batch reports...) and per thing that happens to it (a hold
// expires, a step starts or is done, the calendar runs out). Each changes the run's state and
// notes what happened on its timeline; validators refuse a wrong update before anything is
// recorded (Refusal, which the workflow turns into its ValidationError). No clock, no I/O.
import type { BatchReport } from '../../contracts/consolidation';
import {
  APPROVAL_ACTIONS,
  type AgencyOutcome,
  type ApproveStep,
  type CancelInvoice,
  type CustomerTerms,
  type FormalNoticePosted,
  type InstalmentPlan,
  type Outcome,
  type PaymentReceived,
  type PendingApproval,
  type ProposeInstalmentPlan,
  type ResolveAmbiguousSend,
} from '../../contracts/messages';
import { resolveDeadline } from '../clock';
import { localDate } from '../dates';
import type { BatchAnswer, BatchChannel } from '../consolidation';
import { daysLate } from '../overdue';
import { addIsoDuration, durationToMillis } from '../duration';
import { calendarDateOf, checkNoticePosted, checkPayment, checkResolveAmbiguous, type FieldProblem } from '../message-validation';
import { parsePolicy, policyAudienceMismatch } from '../policy-schema';
import type { Channel, DunningPolicy, PolicyStep } from '../types';
import * as inbound from './inbound-holds';
import { firstOpenStep, stepAt, type Expiry } from './next-action';
import { APPROVAL_PATCH, CUSTOMER_HOLD_PATCH, INBOUND_PATCH, NO_LATE_COURTESY_PATCH, NOTICE_DATE_PATCH, NOTICE_KEYS_PATCH, NOTICE_PLAN_PATCH, SIGNAL_VALIDATION_PATCH } from './patches';
import {
  currentHold,
  anchorNow,
  foldPayments,
  holdReason,
  knowsPayment,
  knownPaymentIds,
  note,
  nowIso,
  penaltiesNow,
  type HoldKind,
  type Notice,
  type Run,
} from './state';

/** Letters that are a formal notice: the first one sent dates it. */
export const NOTICE_TEMPLATES: ReadonlySet<string> = new Set(['formal-notice', 'final-notice']);
/** The journal event of a dated notice (api/reports.ts reads it for consumers' interest). */
export const NOTICE_DATED = 'formal-notice-dated';
/** How long a step waits for approval when neither the policy nor the customer says. */
const APPROVAL_WITHIN_DEFAULT = 'P3D';
/** How long a held ambiguous send waits for a collector before the policy's default applies. */
const AMBIGUOUS_HOLD_MAX = 'P3D';
/** A step whose sends take longer than this moves the rest of the calendar with it. */
const LATE_STEP_TOLERANCE_MS = 2_000;

/** An update refused before anything is recorded, naming the field. */
export class Refusal extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
function refuse(reason: string, field: string): never {
  throw new Refusal(field, reason);
}

export function assertOpen(run: Run) {
  const { state } = run;
  if (state.outcome) refuse(`the invoice is closed (${state.outcome})`, 'invoice');
  if (state.agency) refuse('the invoice is with the collection agency', 'invoice');
  if (state.cancelled) refuse('the invoice is cancelled', 'invoice');
}

/** Update validator from a message check: the check's problem, or a closed invoice. */
export function validatorOf<A>(run: Run, check: (a: A) => FieldProblem | undefined) {
  return (a: A) => {
    if (run.state.outcome) refuse(`the invoice is closed (${run.state.outcome})`, 'invoice');
    const problem = check(a);
    if (problem) refuse(problem.message, problem.field);
  };
}

/** A signal that records a wrong input as refused instead of applying it. */
export function checkedSignal<A>(run: Run, name: string, check: (a: A) => FieldProblem | undefined, apply: (run: Run, a: A) => void) {
  return (a: A) => {
    const problem = run.has(SIGNAL_VALIDATION_PATCH) ? check(a) : undefined;
    if (problem) note(run, 'signal-refused', { signal: name, field: problem.field, reason: problem.message });
    else apply(run, a);
  };
}

// ---- start ----

/** The invoice is issued: the first timeline entry, and the customer's pause if it was issued during one. */
export function issued(run: Run) {
  const { state, policy, input } = run;
  const terms = {
    ...(state.graceDays ? { graceDays: state.graceDays } : {}),
    ...(state.approvalBeforeFormalSteps ? { approvalBeforeFormalSteps: true } : {}),
  };
  note(run, 'issued', { policy: `${policy.id}@${policy.version}`, balanceMinor: state.balanceMinor, ...terms });
  // Issued while the customer is paused as a whole: held from the first moment, so no step can
  // fire before a pause update would arrive.
  if (input.customerHold && run.has(CUSTOMER_HOLD_PATCH)) pause(run, input.customerHold);
}

/** Steps already past when the workflow first starts (late import): all but the latest are skipped. May throw HolidaysNeeded, before any change. */
export function catchUpOnStart(run: Run) {
  const now = run.now();
  const past = run.policy.steps.filter((s) => Date.parse(stepAt(run, s)) < now);
  for (const s of past.slice(0, -1)) {
    run.state.completedSteps.push(s.id);
    note(run, 'step-skipped', { stepId: s.id, reason: 'already past when the invoice was issued' });
  }
}

// ---- payments ----

export function paymentSignal(run: Run, p: PaymentReceived) {
  if (run.state.outcome || knowsPayment(run.state, p.paymentId)) return;
  if (p.currency !== run.invoice.currency || !Number.isInteger(p.amountMinor) || p.amountMinor <= 0) {
    note(run, 'payment-rejected', { paymentId: p.paymentId, reason: 'currency or amount invalid' });
    return;
  }
  applyPayment(run, p);
}
export function recordPayment(run: Run, p: PaymentReceived) {
  if (!knowsPayment(run.state, p.paymentId)) applyPayment(run, p);
  return { balanceMinor: run.state.balanceMinor };
}
export const validatePayment = (run: Run) => validatorOf(run, (p: unknown) => checkPayment(p, run.invoice.currency));

function applyPayment(run: Run, p: PaymentReceived) {
  const { state } = run;
  state.payments.push(p);
  foldPayments(state, run.tz);
  state.balanceMinor -= p.amountMinor;
  if (state.plan) applyToPlan(state.plan, p.amountMinor);
  note(run, 'payment-received', { paymentId: p.paymentId, amountMinor: p.amountMinor, source: p.source, balanceMinor: state.balanceMinor });
  // Only runs that took a pendingPayment signal (patched there) hold any.
  if (state.pendingPayments?.length) applyInbound(run, inbound.paymentArrived(state, p.paymentId));
}

/** A payment pays the plan's instalments oldest first. */
export function applyToPlan(plan: InstalmentPlan, amountMinor: number) {
  let rest = amountMinor;
  for (const i of plan.instalments) {
    if (rest <= 0) break;
    const take = Math.min(i.amountMinor - i.paidMinor, rest);
    i.paidMinor += take;
    rest -= take;
  }
}

// ---- what comes back from the debtor (inbound-holds.ts) ----

/** Runs before INBOUND_PATCH ignore replies, reads, payments in flight and delivery reports. */
export function inboundSignal<A>(apply: (run: Run, a: A) => inbound.Effects) {
  return (run: Run, a: A) => {
    if (run.state.outcome || !run.has(INBOUND_PATCH)) return;
    applyInbound(run, apply(run, a));
  };
}
export const replyReceived = inboundSignal((run, r: Parameters<typeof inbound.replyReceived>[2]) => inbound.replyReceived(run.state, run.policy, r, nowIso(run), run.tz));
export const replyRead = inboundSignal((run, r: { inboundId: string }) => inbound.replyRead(run.state, r.inboundId));
export const pendingPayment = inboundSignal((run, p: Parameters<typeof inbound.pendingPayment>[2]) => {
  const expiresAt = p.expiresAt ? resolveDeadline(p.expiresAt, run.tz) : undefined;
  return inbound.pendingPayment(run.state, run.policy, { ...p, expiresAt }, nowIso(run), run.tz);
});
export const deliveryFailed = inboundSignal((run, d: Parameters<typeof inbound.deliveryFailed>[1]) => inbound.deliveryFailed(run.state, d));

function applyInbound(run: Run, effects: inbound.Effects) {
  for (const n of effects.notes) note(run, n.type, n.detail);
  if (effects.holdEndedSince && !currentHold(run)) holdEnded(run);
}

// ---- plan and promise ----

/** The journal sequence the next timeline entry will get: unique per notice, unlike state.seq between flushes. */
function noticeSeq(run: Run): number {
  return run.has(NOTICE_KEYS_PATCH) ? run.state.seq + run.pending.length : run.state.seq;
}

export function proposePlan(run: Run, proposal: ProposeInstalmentPlan): InstalmentPlan {
  const { state, tz } = run;
  const plan: InstalmentPlan = {
    agreedAt: nowIso(run),
    note: proposal.note,
    instalments: proposal.instalments.map((i) => ({ ...i, dueAt: resolveDeadline(i.due, tz) as string, paidMinor: 0 })),
  };
  state.plan = plan;
  state.promise = undefined;
  const notice: Notice = { templateId: 'plan-confirmed', stepId: `plan-confirmed-${noticeSeq(run)}` };
  if (run.has(NOTICE_PLAN_PATCH)) {
    notice.plan = { instalments: plan.instalments.map((i) => ({ dueDate: localDate(Date.parse(i.dueAt), tz), amountMinor: i.amountMinor })) };
  }
  state.notices.push(notice);
  note(run, 'plan-agreed', { instalments: plan.instalments.map((i) => ({ dueAt: i.dueAt, amountMinor: i.amountMinor })) });
  return plan;
}

/** Validator of proposeInstalmentPlan: rejects before anything is written to history. */
export function validatePlan(run: Run, proposal: ProposeInstalmentPlan): void {
  assertOpen(run);
  const { policy, tz, state } = run;
  const now = run.now();
  const list = proposal?.instalments;
  if (!Array.isArray(list) || list.length === 0) refuse('at least one instalment is required', 'instalments');
  if (list.length > policy.maxInstalments) refuse(`at most ${policy.maxInstalments} instalments`, 'instalments');
  let previous = now;
  let sum = 0;
  list.forEach((i, n) => {
    if (!Number.isInteger(i?.amountMinor) || i.amountMinor <= 0) refuse('must be a positive integer (minor units)', `instalments[${n}].amountMinor`);
    const at = typeof i.due === 'string' ? resolveDeadline(i.due, tz) : undefined;
    if (!at) refuse('must be YYYY-MM-DD or an ISO instant with offset', `instalments[${n}].due`);
    const t = Date.parse(at);
    if (t <= now) refuse('must be in the future', `instalments[${n}].due`);
    if (t <= previous && n > 0) refuse('dates must be strictly ascending', `instalments[${n}].due`);
    previous = t;
    sum += i.amountMinor;
  });
  if (sum !== state.balanceMinor) refuse(`instalments sum to ${sum} but the balance is ${state.balanceMinor}`, 'instalments');
}

export function promiseToPay(run: Run, promise: { date: string; note?: string }) {
  const date = resolveDeadline(promise.date, run.tz) as string;
  const until = new Date(Date.parse(date) + durationToMillis(run.policy.promiseGrace)).toISOString();
  run.state.promise = { date, until };
  note(run, 'promise-to-pay', { date, until, note: promise.note });
  return { until };
}
export function validatePromise(run: Run, promise: { date: string }) {
  assertOpen(run);
  if (run.state.plan) refuse('an instalment plan is active: change the plan instead', 'date');
  const date = typeof promise?.date === 'string' ? resolveDeadline(promise.date, run.tz) : undefined;
  if (!date) refuse('date must be YYYY-MM-DD or an ISO instant with offset', 'date');
  if (Date.parse(date) <= run.now()) refuse('date must be in the future', 'date');
}

// ---- ops actions: the same transition behind a signal and an update ----

export function openDispute(run: Run, { reason }: { reason: string }) {
  const { state } = run;
  if (state.outcome || state.dispute) return;
  state.dispute = { reason: String(reason ?? ''), since: nowIso(run) };
  note(run, 'dispute-opened', { reason });
}
export function resolveDispute(run: Run, r: { outcome: string; creditNoteMinor?: number; note?: string }) {
  const { state } = run;
  if (!state.dispute || state.outcome) return;
  state.dispute = undefined;
  if (r.outcome === 'credit-note' && r.creditNoteMinor && r.creditNoteMinor > 0) {
    const credit = Math.min(r.creditNoteMinor, Math.max(state.balanceMinor, 0));
    state.creditNotesMinor += credit;
    state.balanceMinor -= credit;
  }
  holdEnded(run);
  note(run, 'dispute-resolved', { outcome: r.outcome, creditNoteMinor: r.creditNoteMinor, note: r.note, balanceMinor: state.balanceMinor });
}
export function pause(run: Run, p: { reason: string; until?: string }) {
  const { state } = run;
  if (state.outcome) return;
  const until = p.until ? resolveDeadline(p.until, run.tz) : undefined;
  state.pause = { reason: String(p.reason ?? ''), until, since: state.pause?.since ?? nowIso(run) };
  note(run, 'paused', { reason: p.reason, until });
}
export function resume(run: Run, r?: { note?: string }) {
  const { state } = run;
  if (!state.pause || state.outcome) return;
  state.pause = undefined;
  holdEnded(run);
  note(run, 'resumed', { note: r?.note });
}
export function cancel(run: Run, c: CancelInvoice) {
  const { state } = run;
  if (state.outcome || state.cancelled) return;
  state.cancelled = c;
  note(run, 'cancelled', { reason: c.reason, note: c.note });
}

export function resolveAmbiguous(run: Run, r: ResolveAmbiguousSend) {
  run.state.ambiguous![`${r.stepId}/${r.channel}`]!.resolution = r;
  note(run, 'ambiguous-resolved', { stepId: r.stepId, channel: r.channel, action: r.action, by: r.actor, note: r.note });
  return { stepId: r.stepId, action: r.action };
}
export function validateResolveAmbiguous(run: Run, r: ResolveAmbiguousSend) {
  const problem = checkResolveAmbiguous(r);
  if (problem) refuse(problem.message, problem.field);
  const held = run.state.ambiguous?.[`${r.stepId}/${r.channel}`];
  if (!held || held.resolution) refuse(`no send of ${r.stepId} by ${r.channel} is waiting for a resolution`, 'stepId');
  if (held.communicationId !== r.communicationId) refuse(`the held send is communication ${held.communicationId}`, 'communicationId');
}

// ---- the formal notice's date ----

export function noticePostedSignal(run: Run, p: FormalNoticePosted) {
  if (run.state.outcome || run.state.formalNoticeDate) return;
  const date = typeof p?.postedOn === 'string' ? calendarDateOf(p.postedOn) : undefined;
  if (!date || date > localDate(run.now(), run.tz)) {
    note(run, 'notice-posting-rejected', { postedOn: p?.postedOn, reason: 'postedOn must be a past or present YYYY-MM-DD' });
    return;
  }
  noticePosted(run, p, date);
}
export function noticePosted(run: Run, p: FormalNoticePosted, date = p.postedOn) {
  run.state.formalNoticeDate = date;
  note(run, NOTICE_DATED, { date, source: 'posted-by-hand', note: p.note });
  return { date };
}
/** The API's form: a wrong date, or a notice already dated, is refused before anything is recorded. */
export function validateNoticePosted(run: Run, p: FormalNoticePosted) {
  validatorOf(run, (x: FormalNoticePosted) => checkNoticePosted(x, run.tz, run.now()))(p);
  if (run.state.formalNoticeDate) refuse(`the formal notice is dated already (${run.state.formalNoticeDate})`, 'postedOn');
}

/**
 * A registered letter is dated by the provider's dispatch; an outbox letter is a draft the
 * timeline asks ops to post, dated when a collector records the posting (formalNoticePosted).
 */
export function letterSent(run: Run, step: PolicyStep, result: { status: string; documentRef?: string; letter?: { registered: boolean; dispatchedAt?: string } }) {
  if (!NOTICE_TEMPLATES.has(step.templateId) || !run.has(NOTICE_DATE_PATCH)) return;
  if (result.status === 'SKIPPED_SETTLED' || !result.letter) return;
  if (!result.letter.registered) {
    note(run, 'letter-draft-to-post', { stepId: step.id, documentRef: result.documentRef });
    return;
  }
  if (run.state.formalNoticeDate || !result.letter.dispatchedAt) return;
  run.state.formalNoticeDate = localDate(Date.parse(result.letter.dispatchedAt), run.tz);
  note(run, NOTICE_DATED, { date: run.state.formalNoticeDate, source: 'registered-mail', stepId: step.id });
}

// ---- agency and policy ----

export function agencyOutcome(run: Run, o: AgencyOutcome) {
  const { state } = run;
  if (!state.agency || state.outcome) return;
  state.agency.outcome = o;
  if (o.amountRecoveredMinor && o.amountRecoveredMinor > 0) {
    state.balanceMinor -= Math.min(o.amountRecoveredMinor, state.balanceMinor);
  }
  note(run, 'agency-outcome', { status: o.status, amountRecoveredMinor: o.amountRecoveredMinor, note: o.note });
}

export function migratePolicy(run: Run, { policy: next, reason }: { policy: unknown; reason?: string }) {
  const from = `${run.policy.id}@${run.policy.version}`;
  run.policy = parsePolicy(next);
  const to = `${run.policy.id}@${run.policy.version}`;
  note(run, 'policy-migrated', { from, to, reason });
  return { from, to, nextStep: firstOpenStep(run.policy, run.state.completedSteps)?.id };
}
export function validateMigratePolicy(run: Run, { policy: next }: { policy: DunningPolicy }) {
  assertOpen(run);
  try {
    parsePolicy(next);
  } catch (err) {
    const issue = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues?.[0];
    refuse(issue ? issue.message : (err as Error).message, issue ? `policy.${issue.path.join('.')}` : 'policy');
  }
  if (next.id === run.policy.id && next.version === run.policy.version) refuse(`the invoice already runs ${run.policy.id}@${run.policy.version}`, 'policy.version');
  const mismatch = policyAudienceMismatch(next, run.invoice.customer.kind);
  if (mismatch) refuse(mismatch, 'policy.audience');
}

// ---- approvals and the customer's terms (issue 17) ----

export function approveStep(run: Run, a: ApproveStep) {
  const { state, tz } = run;
  const pending = state.approval as PendingApproval;
  const step = run.policy.steps.find((s) => s.id === a.stepId) as PolicyStep;
  if (a.action === 'postpone') {
    const until = resolveDeadline(a.until as string, tz) as string;
    state.approval = { ...pending, until, postponed: true, escalated: false };
    note(run, 'approval-decided', { stepId: a.stepId, action: a.action, until, by: a.actor, note: a.note });
    return { stepId: a.stepId, action: a.action, until };
  }
  state.approval = undefined;
  // The step (skipped or approved) takes its place in the calendar now: the next ones keep their spacing from it.
  shiftCalendarTo(run, step, run.now());
  if (a.action === 'approve') state.approvedSteps = [...(state.approvedSteps ?? []), a.stepId];
  else state.completedSteps.push(a.stepId);
  note(run, 'approval-decided', { stepId: a.stepId, action: a.action, by: a.actor, note: a.note });
  if (a.action === 'skip') note(run, 'step-skipped', { stepId: a.stepId, reason: 'skipped at approval' });
  return { stepId: a.stepId, action: a.action };
}
export function validateApproveStep(run: Run, a: ApproveStep) {
  assertOpen(run);
  if (typeof a?.stepId !== 'string' || !a.stepId) refuse('is required', 'stepId');
  if (!APPROVAL_ACTIONS.includes(a.action)) refuse(`must be one of ${APPROVAL_ACTIONS.join(', ')}`, 'action');
  const pending = run.state.approval;
  if (!pending) refuse('no step of this invoice is waiting for approval', 'stepId');
  if (pending.stepId !== a.stepId) refuse(`the step waiting for approval is ${pending.stepId}`, 'stepId');
  if (a.action === 'postpone') {
    const until = typeof a.until === 'string' ? resolveDeadline(a.until, run.tz) : undefined;
    if (!until) refuse('must be YYYY-MM-DD or an ISO instant with offset (required with postpone)', 'until');
    if (Date.parse(until) <= run.now()) refuse('must be in the future', 'until');
  } else if (a.until !== undefined) refuse('only with action postpone', 'until');
  if (a.note !== undefined && (typeof a.note !== 'string' || a.note.length > 2000)) refuse('must be a string of at most 2000 characters', 'note');
}

/** The customer's record changed: grace period and approvals. */
export function customerTerms(run: Run, t: CustomerTerms) {
  const { state } = run;
  const grace = t.graceDays ?? 0;
  if (t.graceDays !== undefined && grace !== (state.graceDays ?? 0)) {
    note(run, 'grace-period-changed', { from: state.graceDays ?? 0, to: grace, by: t.actor });
    state.graceDays = grace || undefined;
  }
  if (t.approvalBeforeFormalSteps !== undefined && t.approvalBeforeFormalSteps !== !!state.approvalBeforeFormalSteps) {
    state.approvalBeforeFormalSteps = t.approvalBeforeFormalSteps || undefined;
    note(run, 'approval-setting-changed', { approvalBeforeFormalSteps: t.approvalBeforeFormalSteps, by: t.actor });
  }
  return { graceDays: state.graceDays ?? 0, approvalBeforeFormalSteps: !!state.approvalBeforeFormalSteps };
}
export function validateCustomerTerms(run: Run, t: CustomerTerms) {
  if (run.state.outcome) refuse(`the invoice is closed (${run.state.outcome})`, 'invoice');
  const g = t?.graceDays;
  if (g !== undefined && g !== null && (!Number.isInteger(g) || g < 0 || g > 366)) refuse('must be an integer from 0 to 366', 'graceDays');
  const a = t?.approvalBeforeFormalSteps;
  if (a !== undefined && typeof a !== 'boolean') refuse('must be a boolean', 'approvalBeforeFormalSteps');
}

/** Steps that are formal for a customer whose record asks approval before them. */
const isFormalStep = (step: PolicyStep) => NOTICE_TEMPLATES.has(step.templateId) || step.channels.includes('agency');

/** The approval a step needs: the policy's, else the customer's for a formal step. */
function approvalRule(run: Run, step: PolicyStep): { within: string; onTimeout: 'send' | 'escalate' } | undefined {
  // `required: false` is new with the API's default (no run before it carries it): no patch needed.
  if (step.approval && step.approval.required !== false) {
    return { within: step.approval.within ?? APPROVAL_WITHIN_DEFAULT, onTimeout: step.approval.onTimeout ?? 'escalate' };
  }
  if (run.state.approvalBeforeFormalSteps && isFormalStep(step)) return { within: APPROVAL_WITHIN_DEFAULT, onTimeout: 'escalate' };
  return undefined;
}

/**
 * True when the due step must not run yet: it needs an approval nobody has given, which is
 * asked now (a hold the loop waits on). Runs recorded before APPROVAL_PATCH never ask.
 */
export function approvalNeeded(run: Run, step: PolicyStep): boolean {
  if (run.state.approvedSteps?.includes(step.id)) return false;
  const rule = approvalRule(run, step);
  if (!rule || !run.has(APPROVAL_PATCH)) return false;
  askApproval(run, step.id, rule);
  return true;
}

function askApproval(run: Run, stepId: string, rule: { within: string; onTimeout: 'send' | 'escalate' }) {
  const since = nowIso(run);
  const until = addIsoDuration(since, rule.within, run.tz);
  run.state.approval = { stepId, since, until, onTimeout: rule.onTimeout };
  note(run, 'approval-requested', { stepId, until, onTimeout: rule.onTimeout });
}

/** The bound passed without an answer: what the policy says (send, or hold escalated), or ask again after a postponement. */
function approvalExpired(run: Run) {
  const { state } = run;
  const pending = state.approval;
  if (!pending) return;
  const step = run.policy.steps.find((s) => s.id === pending.stepId);
  const rule = step && approvalRule(run, step);
  if (!step || !rule) {
    // The policy (migrated) or the customer's setting no longer asks it.
    state.approval = undefined;
    note(run, 'approval-withdrawn', { stepId: pending.stepId });
  } else if (pending.postponed) {
    askApproval(run, step.id, rule);
  } else if (pending.onTimeout === 'send') {
    state.approval = undefined;
    state.approvedSteps = [...(state.approvedSteps ?? []), step.id];
    shiftCalendarTo(run, step, run.now());
    note(run, 'approval-timed-out', { stepId: step.id, action: 'send' });
  } else {
    state.approval = { ...pending, until: undefined, escalated: true };
    note(run, 'approval-escalated', { stepId: step.id, since: pending.since });
  }
}

// ---- holds and the calendar ----

/** Moves the calendar so that `step` falls at `at` (never earlier): the later steps keep their spacing from it. */
function shiftCalendarTo(run: Run, step: PolicyStep, at: number) {
  const nominal = Date.parse(addIsoDuration(anchorNow(run), step.offset, run.tz));
  if (nominal < at) run.state.shiftMs += at - nominal;
}

/** A heads-up before the due date makes no sense once the invoice is overdue (e.g. after a hold). */
function skipMootSteps(run: Run) {
  if (run.now() < run.anchorMs) return;
  for (const s of run.policy.steps) {
    if (run.state.completedSteps.includes(s.id)) continue;
    if (!s.offset.startsWith('-')) break;
    run.state.completedSteps.push(s.id);
    note(run, 'step-skipped', { stepId: s.id, reason: 'the due date has passed' });
  }
}

/** A pre-due step due once the due date has come is skipped rather than sent (runs before NO_LATE_COURTESY_PATCH sent it). */
export function skippedAsMoot(run: Run, step: PolicyStep): boolean {
  if (!step.offset.startsWith('-') || run.now() < run.anchorMs || !run.has(NO_LATE_COURTESY_PATCH)) return false;
  run.state.completedSteps.push(step.id);
  note(run, 'step-skipped', { stepId: step.id, reason: 'the due date has passed' });
  return true;
}

/** After a hold, escalation resumes at the next step, keeping the calendar's spacing from there on. */
export function holdEnded(run: Run) {
  skipMootSteps(run);
  const next = firstOpenStep(run.policy, run.state.completedSteps);
  if (next) shiftCalendarTo(run, next, run.now());
}

export function holdExpired(run: Run, kind: HoldKind) {
  const { state } = run;
  if (kind === 'approval') {
    approvalExpired(run);
  } else if (kind === 'reply' || kind === 'pending-payment') {
    applyInbound(run, inbound.inboundHoldExpired(state, kind, nowIso(run)));
  } else if (kind === 'pause' && state.pause) {
    state.pause = undefined;
    holdEnded(run);
    note(run, 'pause-expired');
  } else if (kind === 'promise' && state.promise) {
    note(run, 'promise-broken', { date: state.promise.date });
    state.promise = undefined;
    holdEnded(run);
  } else if (kind === 'plan' && state.plan) {
    // Keyed by the plan-breached entry's own sequence (taken before the note adds it).
    const stepId = `plan-breached-${noticeSeq(run)}`;
    note(run, 'plan-breached', { missed: state.plan.instalments.find((i) => i.paidMinor < i.amountMinor) });
    state.plan = undefined;
    state.notices.push({ templateId: 'plan-breached', stepId });
    holdEnded(run);
  }
}

/** A wait ran its course: the hold expires, or the agency period closes unless a message came meanwhile. */
export function waitExpired(run: Run, expiry: Expiry, changedMeanwhile: boolean) {
  if ('hold' in expiry) holdExpired(run, expiry.hold);
  else if (!changedMeanwhile) close(run, expiry.close);
}

// ---- steps ----

export function stepStarted(run: Run, step: PolicyStep) {
  run.state.stage = step.stage ?? step.id;
  note(run, 'step-started', { stepId: step.id, channels: step.channels });
}

/**
 * The step is done. Sends that took long (retries, a held ambiguous send) move the calendar:
 * the next steps keep their spacing from the actual send instead of bunching. A step with the
 * agency hands the invoice over, unless it was settled meanwhile.
 */
export function stepDone(run: Run, step: PolicyStep, lateMs: number) {
  const { state } = run;
  if (lateMs > LATE_STEP_TOLERANCE_MS) {
    state.shiftMs += lateMs;
    note(run, 'calendar-shifted', { stepId: step.id, lateMs });
  }
  state.completedSteps.push(step.id);
  if (step.channels.includes('agency') && state.balanceMinor > 0 && !state.cancelled) {
    const handedOverAt = nowIso(run);
    state.agency = { handedOverAt, until: addIsoDuration(handedOverAt, run.policy.agencyListenFor, run.tz) };
    note(run, 'agency-handover', { until: state.agency.until });
  }
}

/** Calendar exhausted without an agency step: keep listening for a payment for the policy's listen period. */
export function calendarExhausted(run: Run) {
  const handedOverAt = nowIso(run);
  run.state.agency = { handedOverAt, until: addIsoDuration(handedOverAt, run.policy.agencyListenFor, run.tz) };
  note(run, 'calendar-exhausted', { until: run.state.agency.until });
}

export function close(run: Run, outcome: Outcome) {
  run.state.outcome = outcome;
  run.state.stage = outcome;
  note(run, 'closed', { outcome, balanceMinor: run.state.balanceMinor });
}

/** The channel to try when `channel` failed for good: the step's fallback, never one the step already uses or tried. */
export function fallbackAfter(step: PolicyStep, channel: Channel, tried: Channel[]): Channel | undefined {
  const fallback = step.fallback?.[channel];
  return fallback && !tried.includes(fallback) && !step.channels.includes(fallback) ? fallback : undefined;
}

/** An undeliverable send's resend: the step and its fallback channel, or undefined (noted) when it has none. */
export function resendTarget(run: Run, r: inbound.FallbackResend): { step: PolicyStep; to: Channel } | undefined {
  const step = run.policy.steps.find((s) => s.id === r.stepId);
  const to = inbound.fallbackChannel(run.policy, r.stepId, r.channel);
  if (!step || !to) {
    note(run, 'no-fallback', { stepId: r.stepId, channel: r.channel });
    return undefined;
  }
  note(run, 'fallback', { stepId: r.stepId, from: r.channel, to, reason: r.reason });
  return { step, to };
}

// ---- an ambiguous send (a provider that may have it) ----

export function ambiguousHeld(run: Run, step: PolicyStep, channel: Channel, communicationId: string | undefined) {
  const key = `${step.id}/${channel}`;
  const since = nowIso(run);
  const until = addIsoDuration(since, AMBIGUOUS_HOLD_MAX, run.tz);
  run.state.ambiguous = { ...run.state.ambiguous, [key]: { communicationId: communicationId ?? '', since, until } };
  note(run, 'send-ambiguous', { stepId: step.id, channel, communicationId, until });
  return { key, untilMs: Date.parse(until) };
}
/** The hold is over: the collector's resolution, or undefined (noted) when none came. */
export function ambiguousEnded(run: Run, key: string, step: PolicyStep, channel: Channel, settledMeanwhile: boolean) {
  const resolution = run.state.ambiguous?.[key]?.resolution;
  delete run.state.ambiguous?.[key];
  if (!resolution) note(run, 'ambiguous-unresolved', { stepId: step.id, channel, reason: settledMeanwhile ? 'settled or cancelled meanwhile' : 'no resolution within the bound' });
  return resolution;
}

// ---- the customer's batch (issue 18) ----

export function batchQueued(run: Run, q: { stepId: string; batchAt: string }) {
  const b = run.state.batch;
  if (b?.stepId !== q?.stepId || b.ackedAt) return;
  b.ackedAt = nowIso(run);
  b.batchAt = q.batchAt;
  run.changed = true;
}
export function batchReport(run: Run, r: BatchReport) {
  const b = run.state.batch;
  if (b?.stepId !== r?.stepId || b.report) {
    note(run, 'batch-report-ignored', { stepId: r?.stepId, status: r?.status, batchKey: r?.batchKey, reason: 'the step no longer waits for a batch' });
    return;
  }
  b.report = r;
  run.changed = true;
}
/**
 * What the batch reported, as the step's result: done, or the channels to send alone and why.
 * Each channel's message answers for itself; a report without channels stands for all.
 */
export function batchEnded(
  run: Run,
  step: PolicyStep,
  report: BatchReport | undefined,
  channels: readonly BatchChannel[] = ['email'],
): { alone?: string; resend?: BatchChannel[] } {
  run.state.batch = undefined;
  if (!report) return {}; // settled or cancelled meanwhile: nothing to send, the loop closes the invoice
  const resend: BatchChannel[] = [];
  let alone: string | undefined;
  for (const channel of channels) {
    const r = report.channels?.[channel] ?? report;
    if (r.status === 'sent') {
      note(run, 'sent', { stepId: step.id, channel, status: 'SENT', batchKey: r.batchKey, communicationId: r.communicationId, invoices: r.invoices });
    } else if (r.status === 'dropped') {
      note(run, 'batch-dropped', { stepId: step.id, channel, batchKey: r.batchKey, reason: r.reason });
    } else {
      // failed: the batch message failed for good; missed: queued after its batch went.
      resend.push(channel);
      alone = `the batch ${r.batchKey} ${r.status === 'failed' ? 'failed' : 'had gone'}: ${r.reason}`;
    }
  }
  return alone === undefined ? {} : { alone, resend };
}

/**
 * Answered from the current state, just before the batch goes: an invoice paid, disputed,
 * paused or under a plan or promise since it was queued drops out.
 */
export function batchCheck(run: Run, { stepId, batchKey }: { stepId: string; batchKey: string }): BatchAnswer {
  const { state, policy, invoice } = run;
  const b = state.batch;
  if (!b || b.stepId !== stepId || b.report) return { due: false, reason: 'the step no longer waits for a batch (sent alone or reported)' };
  const reason = state.outcome
    ? `closed (${state.outcome})`
    : state.cancelled
      ? 'cancelled'
      : state.balanceMinor <= 0
        ? 'paid'
        : holdReason(currentHold(run)?.kind);
  if (reason) return { due: false, reason };
  b.claimedBy = batchKey;
  const step = policy.steps.find((s) => s.id === stepId);
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
      daysLate: daysLate(invoice.dueDate, localDate(run.now(), run.tz)),
      penaltiesMinor: penaltiesNow(run)?.totalMinor ?? 0,
      paymentLink: invoice.paymentLink,
      knownPaymentIds: knownPaymentIds(state),
    },
  };
}
