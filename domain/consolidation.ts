// One conversation per customer (issue 18): which steps a customer's daily batch takes,
// when the batch goes, which invoices it lists, which template it follows. Pure: the
// customer's workflow (workflows/customer-conversation.ts) and the invoice's workflow are
// thin shells around these decisions.
import { DateTime } from 'luxon';
import { durationToMillis } from './duration';
import { isBusinessDay, parseHHmm, type HolidayLookup } from './send-window';
import type { Channel, DunningPolicy, PolicyStep, SendWindow } from './types';

/** `friendly`: the email of a friendly step goes in the customer's daily batch; `off`: sent at step time. */
export const CONSOLIDATE_MODES = ['friendly', 'off'] as const;
export type ConsolidateMode = (typeof CONSOLIDATE_MODES)[number];

export interface ConsolidationSettings {
  mode: ConsolidateMode;
  /** Local "HH:mm" of the customer's daily batch. */
  at: string;
  /**
   * How long the invoice waits for the customer's workflow: for the acknowledgement after the
   * hand-off, and for the batch report after the batch time. Past it, the invoice sends alone.
   */
  waitFor: string;
}

export const DEFAULT_BATCH_TIME = '09:30';
export const DEFAULT_CONSOLIDATION_WAIT = 'PT1H';

/**
 * A policy that does not say does not consolidate: a published policy version is immutable
 * and the invoices pinned to it keep their send times; grouping is opted into by a new
 * version (`consolidate: friendly`), which running invoices take by migration.
 */
export function consolidationOf(policy: Pick<DunningPolicy, 'consolidate' | 'consolidateAt' | 'consolidateWaitFor'>): ConsolidationSettings {
  return {
    mode: policy.consolidate ?? 'off',
    at: policy.consolidateAt ?? DEFAULT_BATCH_TIME,
    waitFor: policy.consolidateWaitFor ?? DEFAULT_CONSOLIDATION_WAIT,
  };
}

/** Templates of formal steps: never hidden in a friendly batch (a formal notice is a letter of its own). */
export const FORMAL_TEMPLATES: ReadonlySet<string> = new Set(['formal-notice', 'final-notice', 'agency-handover']);

/** A step a friendly email may carry: no formal template, no letter, no agency. */
export function isFriendlyStep(step: Pick<PolicyStep, 'templateId' | 'channels'>): boolean {
  return !FORMAL_TEMPLATES.has(step.templateId) && !step.channels.includes('letter') && !step.channels.includes('agency');
}

/** Whether `channel` of `step` goes to the customer's batch instead of being sent at step time. */
export function consolidates(policy: Pick<DunningPolicy, 'consolidate'>, step: Pick<PolicyStep, 'templateId' | 'channels'>, channel: Channel): boolean {
  return (policy.consolidate ?? 'off') === 'friendly' && channel === 'email' && isFriendlyStep(step);
}

/** The channels a customer's batch carries: one message per channel per batch. */
export type BatchChannel = 'email' | 'sms';

/**
 * Whether the SMS of `step` goes to the customer's batch too (one SMS per customer per batch,
 * key `customer-<id>/<batch date>/sms`): the same rule as the email, on the SMS channel.
 */
export function consolidatesSms(policy: Pick<DunningPolicy, 'consolidate'>, step: Pick<PolicyStep, 'templateId' | 'channels'>): boolean {
  return (policy.consolidate ?? 'off') === 'friendly' && step.channels.includes('sms') && isFriendlyStep(step);
}

/** Waiting bound in milliseconds (at least one second: a zero timer would not wait at all). */
export function waitBoundMs(settings: Pick<ConsolidationSettings, 'waitFor'>): number {
  return Math.max(1_000, durationToMillis(settings.waitFor));
}

/**
 * The batch a step falling due at `fromMs` goes in: the first batch time (local "HH:mm" in the
 * customer's zone) at or after it, on a day sends may happen under the policy's window rules
 * (weekends, public holidays). A step due at 09:00 goes in the same day's 09:30 batch; one due at
 * 10:00 in the next business day's.
 */
export function nextBatchAt(args: { fromMs: number; timeZone: string; country: string; at: string; window: SendWindow; holidays: HolidayLookup }): string {
  const minutes = parseHHmm(args.at);
  const from = DateTime.fromMillis(args.fromMs, { zone: args.timeZone });
  let day = from.startOf('day');
  for (let i = 0; i < 370; i += 1, day = day.plus({ days: 1 }).startOf('day')) {
    if (!isBusinessDay(day.toISODate() as string, args.country, args.window, args.holidays)) continue;
    const candidate = day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 });
    if (candidate.toMillis() >= args.fromMs) return candidate.toUTC().toISO() as string;
  }
  throw new Error(`no business day for a batch within a year after ${from.toISO()} (${args.country})`);
}

/** Seconds after the batch time over which the customers' batches are spread (batchSpreadMs). */
export const BATCH_SPREAD_SECONDS = 60;

/**
 * When a customer's batch goes after the batch time: a second of its own within the minute, the
 * same for the customer every day (FNV-1a of its id). The customers of a policy share one batch
 * time; sent on the same second, their batches would ask all their invoices at once (1,000
 * send-time updates in one burst for 100 customers, bench:consolidation), and the last would go
 * out tens of seconds late on a small machine. 0 when `spreadSeconds` is 0.
 */
export function batchSpreadMs(customerId: string, spreadSeconds = BATCH_SPREAD_SECONDS): number {
  if (!(spreadSeconds > 0)) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i += 1) {
    h ^= customerId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % Math.floor(spreadSeconds)) * 1_000;
}

/** A step an invoice handed to its customer's workflow. */
export interface QueuedStep {
  invoiceNumber: string;
  /** The invoice's workflow: asked before sending, told after. */
  workflowId: string;
  stepId: string;
  templateId: string;
  /** Position of the step in its policy: breaks ties between templates of equal rank. */
  stepIndex: number;
  /** The first channel handed over (`email` in the histories from before SMS batching). */
  channel: BatchChannel;
  /** Every channel of the step the batch carries; absent: `[channel]`. */
  channels?: BatchChannel[];
  queuedAt: string;
  /** ISO instant of the batch the invoice expects (nextBatchAt). */
  batchAt: string;
}

/** The channels a queued step goes out on in the batch. */
export function channelsOf(item: Pick<QueuedStep, 'channel' | 'channels'>): BatchChannel[] {
  return item.channels && item.channels.length > 0 ? item.channels : [item.channel];
}

/** One invoice as the batch lists it, answered by the invoice's workflow at send time. */
export interface BatchLine {
  invoiceNumber: string;
  stepId: string;
  templateId: string;
  stepIndex: number;
  currency: string;
  issueDate: string;
  dueDate: string;
  amountMinor: number;
  balanceMinor: number;
  daysLate: number;
  /** Late-payment interest + recovery indemnity claimed today (0 when none). */
  penaltiesMinor: number;
  paymentLink?: string;
  /** The payment ids the invoice has counted (the send's settled-check). */
  knownPaymentIds: string[];
}

/** The invoice's answer to "is this step still due?" (consolidationCheck update). */
export type BatchAnswer = { due: true; line: BatchLine } | { due: false; reason: string };


/** Steps whose batch time has come, and the others (kept for a later batch). */
export function dueForBatch<T extends Pick<QueuedStep, 'batchAt'>>(pending: readonly T[], nowMs: number): { due: T[]; later: T[] } {
  const due: T[] = [];
  const later: T[] = [];
  for (const p of pending) (Date.parse(p.batchAt) <= nowMs ? due : later).push(p);
  return { due, later };
}

/** The earliest batch time among pending steps, or undefined when none is pending. */
export function nextWake(pending: readonly Pick<QueuedStep, 'batchAt'>[]): string | undefined {
  let best: string | undefined;
  for (const p of pending) if (best === undefined || Date.parse(p.batchAt) < Date.parse(best)) best = p.batchAt;
  return best;
}

/**
 * What a batch lists, from the answers collected just before sending: the invoices still due
 * (one line each, by invoice number) and the ones that dropped out, with why.
 */
export function selectBatch(
  items: readonly QueuedStep[],
  answers: readonly BatchAnswer[],
): { lines: BatchLine[]; dropped: Array<{ item: QueuedStep; reason: string }> } {
  const lines: BatchLine[] = [];
  const dropped: Array<{ item: QueuedStep; reason: string }> = [];
  items.forEach((item, i) => {
    const answer = answers[i];
    if (!answer) dropped.push({ item, reason: 'no answer from the invoice' });
    else if (!answer.due) dropped.push({ item, reason: answer.reason });
    else if (lines.some((l) => l.invoiceNumber === answer.line.invoiceNumber)) dropped.push({ item, reason: 'listed once already in this batch' });
    else lines.push(answer.line);
  });
  lines.sort((a, b) => (a.invoiceNumber < b.invoiceNumber ? -1 : a.invoiceNumber > b.invoiceNumber ? 1 : 0));
  return { lines, dropped };
}

/** Friendly templates from the gentlest to the most advanced. */
const FRIENDLY_ORDER = ['courtesy', 'reminder-1', 'reminder-2'];

/** The template of the batch: the most advanced step among its lines. */
export function batchTemplate(lines: readonly Pick<BatchLine, 'templateId' | 'stepIndex'>[]): string {
  if (lines.length === 0) throw new Error('an empty batch has no template');
  const rank = (l: Pick<BatchLine, 'templateId' | 'stepIndex'>) => {
    const known = FRIENDLY_ORDER.indexOf(l.templateId);
    return known >= 0 ? known : FRIENDLY_ORDER.length;
  };
  return [...lines].sort((a, b) => rank(b) - rank(a) || b.stepIndex - a.stepIndex)[0]!.templateId;
}

/** The batch's totals per currency (an account rarely mixes currencies, but one total per currency if it does). */
export function batchTotals(lines: readonly BatchLine[]): Array<{ currency: string; balanceMinor: number; penaltiesMinor: number }> {
  const by = new Map<string, { currency: string; balanceMinor: number; penaltiesMinor: number }>();
  for (const l of lines) {
    const t = by.get(l.currency) ?? { currency: l.currency, balanceMinor: 0, penaltiesMinor: 0 };
    t.balanceMinor += l.balanceMinor;
    t.penaltiesMinor += l.penaltiesMinor;
    by.set(l.currency, t);
  }
  return [...by.values()];
}
