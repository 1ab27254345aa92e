// The pure transitions of what comes back from the debtor (domain/dunning/inbound-holds.ts):
// which hold a reply or a payment in flight causes, until when, and what ends it.
import { describe, expect, it } from 'vitest';
import * as inbound from '../../../domain/dunning/inbound-holds';
import { FR_B2B_DEFAULT } from '../../../domain/policy';
import type { DunningPolicy } from '../../../domain/types';
import { policyErrors } from '../../../policies/store';

const T0 = '2026-03-02T08:00:00.000Z';
const TZ = 'Europe/Paris';
const policy = (extra: Partial<DunningPolicy> = {}): DunningPolicy => ({ ...FR_B2B_DEFAULT, ...extra });
const at = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const DAY = 86_400_000;

describe('a human reply', () => {
  it('holds for replyHoldMax (default 5 days); a repeated signal for the same reply changes nothing', () => {
    const s: inbound.InboundState = {};
    const fx = inbound.replyReceived(s, policy(), { inboundId: 'in-1', from: 'a@b.example', excerpt: 'Déjà payé' }, T0, TZ);
    expect(fx.notes).toEqual([{ type: 'reply-hold', detail: { inboundId: 'in-1', from: 'a@b.example', subject: undefined, excerpt: 'Déjà payé', until: at(T0, 5 * DAY) } }]);
    expect(inbound.inboundHold(s)).toEqual({ kind: 'reply', until: at(T0, 5 * DAY), reason: 'unread reply' });
    expect(inbound.replyReceived(s, policy(), { inboundId: 'in-1' }, at(T0, DAY), TZ).notes).toEqual([]);
    expect(s.replyHolds).toHaveLength(1);
  });

  it('the policy sets its length; with onReply: note it is only recorded', () => {
    const held: inbound.InboundState = {};
    inbound.replyReceived(held, policy({ replyHoldMax: 'P2D' }), { inboundId: 'in-1' }, T0, TZ);
    expect(inbound.inboundHold(held)?.until).toBe(at(T0, 2 * DAY));

    const noted: inbound.InboundState = {};
    const fx = inbound.replyReceived(noted, policy({ onReply: 'note' }), { inboundId: 'in-1' }, T0, TZ);
    expect(fx.notes.map((n) => n.type)).toEqual(['reply-noted']);
    expect(inbound.inboundHold(noted)).toBeUndefined();
  });

  it('reading one of two replies keeps the hold; reading the last ends it, since the earliest', () => {
    const s: inbound.InboundState = {};
    inbound.replyReceived(s, policy(), { inboundId: 'in-1' }, T0, TZ);
    inbound.replyReceived(s, policy(), { inboundId: 'in-2' }, at(T0, DAY), TZ);
    expect(inbound.inboundHold(s)?.until).toBe(at(T0, 6 * DAY));
    const first = inbound.replyRead(s, 'in-1');
    expect(first).toEqual({ notes: [{ type: 'reply-read', detail: { inboundId: 'in-1' } }], holdEndedSince: undefined });
    expect(inbound.inboundHold(s)?.kind).toBe('reply');
    expect(inbound.replyRead(s, 'in-2').holdEndedSince).toBe(at(T0, DAY));
    expect(inbound.inboundHold(s)).toBeUndefined();
    expect(inbound.replyRead(s, 'in-2')).toEqual({ notes: [] });
  });

  it('expiry drops only the replies whose time ran out', () => {
    const s: inbound.InboundState = {};
    inbound.replyReceived(s, policy(), { inboundId: 'in-1' }, T0, TZ);
    inbound.replyReceived(s, policy(), { inboundId: 'in-2' }, at(T0, 2 * DAY), TZ);
    const fx = inbound.inboundHoldExpired(s, 'reply', at(T0, 5 * DAY));
    expect(fx).toEqual({ notes: [{ type: 'reply-hold-expired', detail: { inboundId: 'in-1' } }], holdEndedSince: undefined });
    expect(inbound.inboundHoldExpired(s, 'reply', at(T0, 7 * DAY)).holdEndedSince).toBe(at(T0, 2 * DAY));
    expect(inbound.inboundHold(s)).toBeUndefined();
  });
});

describe('a payment in flight', () => {
  it('holds until pendingPaymentMax (default 10 days), or an earlier expiry it states, never a later one', () => {
    const s: inbound.InboundState = {};
    inbound.pendingPayment(s, policy(), { reference: 'pi_1', status: 'pending', source: 'stripe' }, T0, TZ);
    inbound.pendingPayment(s, policy(), { reference: 'VIR-1', status: 'pending', source: 'manual', expiresAt: at(T0, 3 * DAY) }, T0, TZ);
    inbound.pendingPayment(s, policy({ pendingPaymentMax: 'P4D' }), { reference: 'VIR-2', status: 'pending', source: 'manual', expiresAt: at(T0, 30 * DAY) }, T0, TZ);
    expect(s.pendingPayments?.map((p) => [p.reference, p.until])).toEqual([
      ['pi_1', at(T0, 10 * DAY)],
      ['VIR-1', at(T0, 3 * DAY)],
      ['VIR-2', at(T0, 4 * DAY)],
    ]);
    // The one that ends last is waited for; it outranks a reply hold.
    inbound.replyReceived(s, policy(), { inboundId: 'in-1' }, T0, TZ);
    expect(inbound.inboundHold(s)).toEqual({ kind: 'pending-payment', until: at(T0, 10 * DAY), reason: 'pi_1, VIR-1, VIR-2' });
  });

  it('an expiry already past is ignored (the policy cap applies); a repeat announcement does not extend it', () => {
    const s: inbound.InboundState = {};
    inbound.pendingPayment(s, policy(), { reference: 'pi_1', status: 'pending', source: 'stripe', expiresAt: at(T0, -DAY) }, T0, TZ);
    expect(inbound.pendingPayment(s, policy(), { reference: 'pi_1', status: 'pending', source: 'stripe' }, at(T0, 5 * DAY), TZ)).toEqual({ notes: [] });
    expect(s.pendingPayments?.map((p) => p.until)).toEqual([at(T0, 10 * DAY)]);
  });

  it('a failure ends it and says why; a failure for an unknown reference is only noted', () => {
    const s: inbound.InboundState = {};
    inbound.pendingPayment(s, policy(), { reference: 'pi_1', status: 'pending', source: 'stripe' }, T0, TZ);
    const fx = inbound.pendingPayment(s, policy(), { reference: 'pi_1', status: 'failed', source: 'stripe', reason: 'insufficient funds' }, at(T0, DAY), TZ);
    expect(fx).toEqual({
      notes: [{ type: 'pending-payment-failed', detail: { reference: 'pi_1', source: 'stripe', reason: 'insufficient funds' } }],
      holdEndedSince: T0,
    });
    expect(inbound.inboundHold(s)).toBeUndefined();
    const other = inbound.pendingPayment(s, policy(), { reference: 'pi_9', status: 'failed', source: 'stripe' }, at(T0, DAY), TZ);
    expect(other.holdEndedSince).toBeUndefined();
    expect(other.notes.map((n) => n.type)).toEqual(['pending-payment-failed']);
  });

  it('the payment with its reference ends it (<source>:<reference> ids); another payment does not', () => {
    const s: inbound.InboundState = {};
    inbound.pendingPayment(s, policy(), { reference: 'pi_1', status: 'pending', source: 'stripe' }, T0, TZ);
    inbound.pendingPayment(s, policy(), { reference: 'VIR-1', status: 'pending', source: 'manual' }, T0, TZ);
    expect(inbound.paymentArrived(s, 'stripe:pi_other')).toEqual({ notes: [] });
    expect(inbound.paymentArrived(s, 'stripe:pi_1').holdEndedSince).toBeUndefined();
    const fx = inbound.paymentArrived(s, 'manual:VIR-1');
    expect(fx).toEqual({ notes: [{ type: 'pending-payment-arrived', detail: { reference: 'VIR-1', paymentId: 'manual:VIR-1' } }], holdEndedSince: T0 });
    expect(inbound.inboundHold(s)).toBeUndefined();
  });

  it('expires at its until', () => {
    const s: inbound.InboundState = {};
    inbound.pendingPayment(s, policy(), { reference: 'pi_1', status: 'pending', source: 'stripe' }, T0, TZ);
    expect(inbound.inboundHoldExpired(s, 'pending-payment', at(T0, 10 * DAY - 1)).notes).toEqual([]);
    const fx = inbound.inboundHoldExpired(s, 'pending-payment', at(T0, 10 * DAY));
    expect(fx).toEqual({ notes: [{ type: 'pending-payment-expired', detail: { reference: 'pi_1', source: 'stripe' } }], holdEndedSince: T0 });
  });
});

describe('an undeliverable send', () => {
  it('a permanent failure queues a resend on the fallback once; a transient one is only noted', () => {
    const s: inbound.InboundState = {};
    const d = { reference: 'comm-1', stepId: 'reminder-1', channel: 'email' as const, permanent: true, reason: '5.1.1' };
    expect(inbound.deliveryFailed(s, d).notes.map((n) => n.type)).toEqual(['delivery-failed']);
    expect(inbound.deliveryFailed(s, d)).toEqual({ notes: [] });
    expect(s.resends).toEqual([{ reference: 'comm-1', stepId: 'reminder-1', channel: 'email', reason: '5.1.1' }]);
    const t = inbound.deliveryFailed(s, { ...d, reference: 'comm-2', permanent: false, reason: '4.2.2' });
    expect(t.notes.map((n) => n.type)).toEqual(['delivery-delayed']);
    expect(s.resends).toHaveLength(1);
  });

  it('the fallback channel is the step\'s, none when the policy has none or points to the same channel', () => {
    expect(inbound.fallbackChannel(FR_B2B_DEFAULT, 'reminder-1', 'email')).toBe('letter');
    expect(inbound.fallbackChannel(FR_B2B_DEFAULT, 'reminder-2', 'sms')).toBeUndefined();
    expect(inbound.fallbackChannel(FR_B2B_DEFAULT, 'courtesy', 'email')).toBeUndefined();
    expect(inbound.fallbackChannel(FR_B2B_DEFAULT, 'no-such-step', 'email')).toBeUndefined();
  });
});

describe('the policy fields', () => {
  it('a stored policy may set onReply, replyHoldMax and pendingPaymentMax; a wrong value is refused naming the field', () => {
    const ok = policyErrors({ ...FR_B2B_DEFAULT, onReply: 'note', replyHoldMax: 'P2D', pendingPaymentMax: 'P14D' });
    expect(ok.errors).toEqual([]);
    expect(ok.policy).toMatchObject({ onReply: 'note', replyHoldMax: 'P2D', pendingPaymentMax: 'P14D' });
    // Absent: the defaults apply where they are used (hold, P5D, P10D), the stored document stays as written.
    expect(policyErrors(FR_B2B_DEFAULT).policy).not.toHaveProperty('onReply');

    const bad = policyErrors({ ...FR_B2B_DEFAULT, onReply: 'ignore', replyHoldMax: '-P1D', pendingPaymentMax: 'ten days' });
    expect(bad.errors.map((e) => e.field).sort()).toEqual(['onReply', 'pendingPaymentMax', 'replyHoldMax']);
    expect(bad.errors.find((e) => e.field === 'replyHoldMax')?.message).toMatch(/must not be negative/);
    expect(bad.errors.find((e) => e.field === 'pendingPaymentMax')?.message).toMatch(/ISO-8601 duration/);
  });
});
