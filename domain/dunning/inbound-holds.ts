// What comes back from the debtor and holds the reminders (issue 19), as pure transitions
// on the workflow's state: a human reply (policy onReply: hold, until read or replyHoldMax),
// a payment in flight (until it arrives, fails or pendingPaymentMax passes), and the
// deliveries that turned out undeliverable (the step goes again on its fallback channel).
// Times are ISO instants of workflow time; nothing here reads a clock.
import { addIsoDuration } from '../duration';
import type { Channel, DunningPolicy } from '../types';

export const DEFAULT_REPLY_HOLD_MAX = 'P5D';
export const DEFAULT_PENDING_PAYMENT_MAX = 'P10D';

export interface ReplyHold {
  inboundId: string;
  since: string;
  until: string;
}
export interface PendingPaymentHold {
  reference: string;
  source: string;
  since: string;
  until: string;
  amountMinor?: number;
}
export interface FallbackResend {
  reference: string;
  stepId: string;
  channel: Channel;
  reason: string;
}

/** The part of the workflow state these transitions own (absent in runs started before them). */
export interface InboundState {
  replyHolds?: ReplyHold[];
  pendingPayments?: PendingPaymentHold[];
  /** Replies and delivery reports already applied (by id), so a repeated signal is a no-op. */
  inboundSeen?: string[];
  /** Undeliverable sends waiting for their fallback channel. */
  resends?: FallbackResend[];
}

export type InboundHoldKind = 'reply' | 'pending-payment';
export type Note = { type: string; detail: Record<string, unknown> };
/** What a transition asks of the workflow: timeline notes, and whether a hold just ended (since when). */
export interface Effects {
  notes: Note[];
  holdEndedSince?: string;
}

const SEEN_KEEP = 200;
function seen(state: InboundState, id: string): boolean {
  if (state.inboundSeen?.includes(id)) return true;
  state.inboundSeen = [...(state.inboundSeen ?? []), id].slice(-SEEN_KEEP);
  return false;
}

export function replyReceived(
  state: InboundState,
  policy: DunningPolicy,
  r: { inboundId: string; from?: string; subject?: string; excerpt?: string },
  now: string,
  tz: string,
): Effects {
  if (seen(state, `reply:${r.inboundId}`)) return { notes: [] };
  const detail = { inboundId: r.inboundId, from: r.from, subject: r.subject, excerpt: r.excerpt };
  if ((policy.onReply ?? 'hold') === 'note') return { notes: [{ type: 'reply-noted', detail }] };
  const until = addIsoDuration(now, policy.replyHoldMax ?? DEFAULT_REPLY_HOLD_MAX, tz);
  state.replyHolds = [...(state.replyHolds ?? []), { inboundId: r.inboundId, since: now, until }];
  return { notes: [{ type: 'reply-hold', detail: { ...detail, until } }] };
}

export function replyRead(state: InboundState, inboundId: string): Effects {
  const holds = state.replyHolds ?? [];
  const hold = holds.find((h) => h.inboundId === inboundId);
  if (!hold) return { notes: [] };
  state.replyHolds = holds.filter((h) => h !== hold);
  return {
    notes: [{ type: 'reply-read', detail: { inboundId } }],
    holdEndedSince: state.replyHolds.length === 0 ? earliest(holds.map((h) => h.since)) : undefined,
  };
}

export function pendingPayment(
  state: InboundState,
  policy: DunningPolicy,
  p: { reference: string; status: 'pending' | 'failed'; source: string; amountMinor?: number; expiresAt?: string; reason?: string },
  now: string,
  tz: string,
): Effects {
  const list = state.pendingPayments ?? [];
  const existing = list.find((x) => x.reference === p.reference);
  if (p.status === 'failed') {
    if (!existing) return { notes: [{ type: 'pending-payment-failed', detail: { reference: p.reference, reason: p.reason } }] };
    state.pendingPayments = list.filter((x) => x !== existing);
    return {
      notes: [{ type: 'pending-payment-failed', detail: { reference: p.reference, source: p.source, reason: p.reason } }],
      holdEndedSince: state.pendingPayments.length === 0 ? existing.since : undefined,
    };
  }
  if (existing) return { notes: [] };
  const cap = addIsoDuration(now, policy.pendingPaymentMax ?? DEFAULT_PENDING_PAYMENT_MAX, tz);
  const asked = p.expiresAt && Date.parse(p.expiresAt) > Date.parse(now) ? p.expiresAt : undefined;
  const until = asked && Date.parse(asked) < Date.parse(cap) ? new Date(Date.parse(asked)).toISOString() : cap;
  state.pendingPayments = [...list, { reference: p.reference, source: p.source, since: now, until, amountMinor: p.amountMinor }];
  return { notes: [{ type: 'payment-pending', detail: { reference: p.reference, source: p.source, amountMinor: p.amountMinor, until } }] };
}

/** A payment arrived: the payment in flight it settles (same reference) is over. */
export function paymentArrived(state: InboundState, paymentId: string): Effects {
  const list = state.pendingPayments ?? [];
  const done = list.filter((x) => paymentId === `${x.source}:${x.reference}` || paymentId.endsWith(`:${x.reference}`));
  if (done.length === 0) return { notes: [] };
  state.pendingPayments = list.filter((x) => !done.includes(x));
  return {
    notes: done.map((x) => ({ type: 'pending-payment-arrived', detail: { reference: x.reference, paymentId } })),
    holdEndedSince: state.pendingPayments.length === 0 ? earliest(done.map((x) => x.since)) : undefined,
  };
}

export function deliveryFailed(
  state: InboundState,
  d: { reference: string; stepId: string; channel: Channel; permanent: boolean; reason: string },
): Effects {
  if (seen(state, `delivery:${d.reference}`)) return { notes: [] };
  const detail = { stepId: d.stepId, channel: d.channel, reason: d.reason, reference: d.reference };
  if (!d.permanent) return { notes: [{ type: 'delivery-delayed', detail }] };
  state.resends = [...(state.resends ?? []), { reference: d.reference, stepId: d.stepId, channel: d.channel, reason: d.reason }];
  return { notes: [{ type: 'delivery-failed', detail }] };
}

/** The hold these cause now, if any: the one that ends last is waited for. */
export function inboundHold(state: InboundState): { kind: InboundHoldKind; until: string; reason?: string } | undefined {
  const replies = state.replyHolds ?? [];
  const pending = state.pendingPayments ?? [];
  if (pending.length) return { kind: 'pending-payment', until: latest(pending.map((p) => p.until)), reason: pending.map((p) => p.reference).join(', ') };
  if (replies.length) return { kind: 'reply', until: latest(replies.map((r) => r.until)), reason: 'unread reply' };
  return undefined;
}

/** The hold's time ran out: drops what expired (a reply stays unread and flagged in the replies list). */
export function inboundHoldExpired(state: InboundState, kind: InboundHoldKind, now: string): Effects {
  const t = Date.parse(now);
  if (kind === 'reply') {
    const expired = (state.replyHolds ?? []).filter((h) => Date.parse(h.until) <= t);
    state.replyHolds = (state.replyHolds ?? []).filter((h) => !expired.includes(h));
    return {
      notes: expired.map((h) => ({ type: 'reply-hold-expired', detail: { inboundId: h.inboundId } })),
      holdEndedSince: expired.length && state.replyHolds.length === 0 ? earliest(expired.map((h) => h.since)) : undefined,
    };
  }
  const expired = (state.pendingPayments ?? []).filter((p) => Date.parse(p.until) <= t);
  state.pendingPayments = (state.pendingPayments ?? []).filter((p) => !expired.includes(p));
  return {
    notes: expired.map((p) => ({ type: 'pending-payment-expired', detail: { reference: p.reference, source: p.source } })),
    holdEndedSince: expired.length && state.pendingPayments.length === 0 ? earliest(expired.map((p) => p.since)) : undefined,
  };
}

/** The channel to send an undeliverable step on, per the policy's fallback (undefined: none). */
export function fallbackChannel(policy: DunningPolicy, stepId: string, channel: Channel): Channel | undefined {
  const step = policy.steps.find((s) => s.id === stepId);
  const to = step?.fallback?.[channel];
  return to && to !== channel ? to : undefined;
}

const earliest = (xs: string[]) => xs.reduce((a, b) => (Date.parse(b) < Date.parse(a) ? b : a));
const latest = (xs: string[]) => xs.reduce((a, b) => (Date.parse(b) > Date.parse(a) ? b : a));
