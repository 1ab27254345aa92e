// What the invoice does next, from its state, its policy, workflow time and the holidays:
// close with an outcome, send a service notice, resend on a fallback channel, wait (until a
// time, or for a message), or run the next step at its instant. The workflow performs the
// action; every "whether" and "when" is decided here.
import type { DunningStatus, Outcome } from '../../contracts/messages';
import { consolidates, consolidatesSms, type BatchChannel } from '../consolidation';
import { durationToMillis } from '../duration';
import { stepInstant, type HolidayLookup } from '../send-window';
import type { Channel, DunningPolicy, PolicyStep } from '../types';
import type { FallbackResend } from './inbound-holds';
import { CONSOLIDATION_PATCH, HOLD_RECHECK_PATCH, SMS_BATCH_PATCH } from './patches';
import { anchorNow, currentHold, paymentCount, penaltiesNow, type HoldKind, type Notice, type Run } from './state';

export const HOLD_RECHECK_DEFAULT = 'P30D';

/** Thrown by the holiday lookup when a year has not been fetched yet: the workflow fetches it and asks again. */
export class HolidaysNeeded extends Error {
  constructor(
    readonly country: string,
    readonly year: number,
  ) {
    super(`public holidays of ${country} ${year} not fetched yet`);
  }
}

/** The run's holidays (state.holidays), throwing HolidaysNeeded for a year not fetched yet. */
export function holidaysOf(run: Run): HolidayLookup {
  return (country, year) => {
    const key = `${country}:${year}`;
    let set = run.holidaySets.get(key);
    if (!set) {
      const dates = run.state.holidays?.[key];
      if (!dates) throw new HolidaysNeeded(country, year);
      set = new Set(dates);
      run.holidaySets.set(key, set);
    }
    return set;
  };
}

/** The first step (in policy order) not yet completed. */
export function firstOpenStep(policy: Pick<DunningPolicy, 'steps'>, completedStepIds: readonly string[]): PolicyStep | undefined {
  const done = new Set(completedStepIds);
  return policy.steps.find((s) => !done.has(s.id));
}

/**
 * The first step (in policy order) not yet completed, with the instant it fires at: the one
 * home of this rule (the workflow, the API's schedule and the tests all call it).
 */
export function nextStep(args: {
  policy: DunningPolicy;
  anchor: string;
  completedStepIds: string[];
  timeZone: string;
  country: string;
  holidays: HolidayLookup;
  /** Instants already computed, by policy, anchor and step. */
  instants?: Map<string, string>;
}): { step: PolicyStep; at: string } | undefined {
  const step = firstOpenStep(args.policy, args.completedStepIds);
  if (!step) return undefined;
  return { step, at: instantOf(step, args) };
}

function instantOf(step: PolicyStep, args: Parameters<typeof nextStep>[0]): string {
  const key = `${args.policy.id}@${args.policy.version}|${args.anchor}|${step.id}`;
  let at = args.instants?.get(key);
  if (at === undefined) {
    at = stepInstant({ anchor: args.anchor, offset: step.offset, timeZone: args.timeZone, country: args.country, window: args.policy.sendWindow, holidays: args.holidays });
    args.instants?.set(key, at);
  }
  return at;
}

function calendarOf(run: Run) {
  return {
    policy: run.policy,
    anchor: anchorNow(run),
    completedStepIds: run.state.completedSteps,
    timeZone: run.tz,
    country: run.invoice.customer.country.toUpperCase(),
    holidays: holidaysOf(run),
    instants: run.instants,
  };
}

/** When a step fires for this run; throws HolidaysNeeded when a year is missing. */
export const stepAt = (run: Run, step: PolicyStep) => instantOf(step, calendarOf(run));

/** The run's next step and its instant; throws HolidaysNeeded when a year is missing. */
export const nextStepDue = (run: Run) => nextStep(calendarOf(run));

/** For publishing and queries, which cannot wait for holidays: the loop fetches them before it sleeps. */
export function nextStepDueIfKnown(run: Run): { step: PolicyStep; at: string } | undefined {
  try {
    return nextStepDue(run);
  } catch (err) {
    if (err instanceof HolidaysNeeded) return undefined;
    throw err;
  }
}

/** What ends a wait that ran its course: a hold expires, or the agency's listening period closes. */
export type Expiry = { hold: HoldKind } | { close: Outcome };

export type Action =
  | { kind: 'close'; outcome: Outcome; receipt: boolean }
  | { kind: 'notice'; notice: Notice }
  | { kind: 'resend'; resend: FallbackResend }
  /** Wait for a message until `untilMs` (for ever when absent); then `expiry` unless the wait was cut short. */
  | { kind: 'wait'; untilMs?: number; expiry?: Expiry }
  | { kind: 'exhausted' }
  | { kind: 'step'; step: PolicyStep; at: string };

/** What must happen before anything waits: closing, a queued notice, a fallback resend. */
export function immediateAction(run: Run): Extract<Action, { kind: 'close' | 'notice' | 'resend' }> | undefined {
  const { state } = run;
  if (state.cancelled) return { kind: 'close', outcome: state.cancelled.reason === 'write-off' ? 'written-off' : 'cancelled', receipt: false };
  if (state.balanceMinor <= 0) {
    const settledByCredit = paymentCount(state) === 0 && state.creditNotesMinor > 0;
    return { kind: 'close', outcome: settledByCredit ? 'cancelled' : 'paid', receipt: !settledByCredit };
  }
  if (state.notices[0]) return { kind: 'notice', notice: state.notices[0] };
  // An undeliverable send goes out again on its fallback (also after the last step), not during a pause or dispute.
  if (state.resends?.length && !currentHold(run)) return { kind: 'resend', resend: state.resends[0] };
  return undefined;
}

/** What the calendar says once nothing is immediate: the agency period, a hold, or the next step (may throw HolidaysNeeded). */
export function calendarAction(run: Run): Exclude<Action, { kind: 'notice' | 'resend' }> {
  const { state } = run;
  if (state.agency) {
    const o = state.agency.outcome?.status;
    if (o === 'recovered') return { kind: 'close', outcome: 'agency-recovered', receipt: false };
    if (o === 'unrecoverable') return { kind: 'close', outcome: 'agency-unrecoverable', receipt: false };
    return { kind: 'wait', untilMs: Date.parse(state.agency.until), expiry: { close: 'agency-closed' } };
  }
  const hold = currentHold(run);
  if (hold) {
    if (hold.until) return { kind: 'wait', untilMs: Date.parse(hold.until), expiry: { hold: hold.kind } };
    // A hold without an end is looked at again every holdRecheck (runs before the patch waited unbounded).
    if (!run.has(HOLD_RECHECK_PATCH)) return { kind: 'wait' };
    return { kind: 'wait', untilMs: run.now() + durationToMillis(run.policy.holdRecheck ?? HOLD_RECHECK_DEFAULT) };
  }
  const next = nextStepDue(run);
  return next ? { kind: 'step', ...next } : { kind: 'exhausted' };
}

/** The whole decision (tests and properties; the workflow asks in two halves around continue-as-new). */
export const nextAction = (run: Run): Action => immediateAction(run) ?? calendarAction(run);

/** The status a query answers; `workflowId` comes from the workflow. */
export function statusOf(run: Run, workflowId: string): DunningStatus {
  const { state, policy, invoice } = run;
  const held = Object.entries(state.ambiguous ?? {})[0];
  const hold =
    state.outcome || state.agency
      ? undefined
      : held
        ? { kind: 'ambiguous-send' as const, until: held[1].until, reason: `${held[0]}: communication ${held[1].communicationId}` }
        : currentHold(run);
  const next = state.outcome || hold || state.agency ? undefined : nextStepDueIfKnown(run);
  return {
    invoiceNumber: invoice.number,
    workflowId,
    stage: state.stage,
    balanceMinor: state.balanceMinor,
    currency: invoice.currency,
    penalties: penaltiesNow(run),
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

/**
 * How a step's channel goes out: alone at step time; in the customer's daily batch (with the
 * channels that hand-off carries); or carried by the email's hand-off (the step's SMS).
 */
export type ChannelRoute = { via: 'alone' } | { via: 'batch'; channels: BatchChannel[] } | { via: 'carried' };

/**
 * The route of each of a step's channels, asked channel by channel in the step's order. The
 * patches are asked at the points the workflow asked them: the SMS batch once, here, and only
 * for a step that would batch an SMS; the consolidation for each channel a policy consolidates,
 * when that channel is routed (other runs' histories stay as they were).
 */
export function channelRouter(run: Run, step: PolicyStep): (channel: Channel) => ChannelRoute {
  const smsInBatch = consolidatesSms(run.policy, step) && run.has(SMS_BATCH_PATCH);
  const batched: BatchChannel[] = smsInBatch ? (step.channels.includes('email') ? ['email', 'sms'] : ['sms']) : ['email'];
  return (channel) => {
    if (smsInBatch && channel === 'sms' && batched[0] === 'email') return { via: 'carried' };
    const batches = consolidates(run.policy, step, channel) || (smsInBatch && channel === 'sms');
    return batches && run.has(CONSOLIDATION_PATCH) ? { via: 'batch', channels: batched } : { via: 'alone' };
  };
}
