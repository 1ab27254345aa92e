// Webhook abuse through the real app: replays (concurrent and sequential, same event id,
// new event id for the same payment, same event id with another body), forged and
// tampered signatures, stale and future timestamps, oversize bodies, unknown invoices,
// signed nonsense. Each is answered as designed (200 / 401 / 413 / 422, never 5xx), and
// the database shows nothing lost and nothing counted twice: one WebhookDelivery per
// (source, eventId), one Payment per (source, paymentId), the workflow's payments once.
import Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, invoiceRequest, STRIPE_SECRET, useApiHarness, WEBHOOK_SECRET, type ApiHarness, type TestResponse } from '../api/harness';
import { signGeneric } from '../../api/webhooks';
import { statusQuery } from '../../contracts/messages';
import { figure, scaled, signedDelivery, type GenericPayment } from './support';

const REPLAYS = scaled('FAULT_REPLAYS', 20, 200);
let h: ApiHarness;
const answers: number[] = [];

useApiHarness((a) => (h = a));
afterAll(async () => {
  figure('webhook-abuse', { requests: answers.length, byStatus: countBy(answers), replaysPerDelivery: REPLAYS });
});

function countBy(xs: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

async function post(d: { raw: string | Buffer; headers: Record<string, string> }, path = '/v1/webhooks/payments'): Promise<TestResponse> {
  const r = await h.request('POST', path, { raw: d.raw, headers: d.headers, auth: false });
  answers.push(r.status);
  expect(r.status, r.text).toBeLessThan(500);
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/); // no stack trace, no file path
  return r;
}

async function issue(): Promise<string> {
  const body = invoiceRequest(); // balance 1000.00 EUR, day-scale policy: no reminder interferes
  expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
  return body.number;
}

const payment = (number: string, tag: string, amountMinor: number, extra: Partial<GenericPayment> = {}): GenericPayment => ({
  eventId: `evt-${tag}-${number}`,
  invoiceNumber: number,
  paymentId: `pay-${tag}-${number}`,
  amountMinor,
  currency: 'EUR',
  receivedAt: new Date().toISOString(),
  ...extra,
});

const live = async (number: string) => h.client.workflow.getHandle(`invoice-${number}`).query(statusQuery);
const counts = async () => ({
  deliveries: await h.prisma.webhookDelivery.count(),
  payments: await h.prisma.payment.count(),
  unmatched: await h.prisma.unmatchedPayment.count(),
});

describe('replays', () => {
  it(`the same delivery ×${REPLAYS} at once, then again one by one: one delivery, one payment, counted once`, async () => {
    const number = await issue();
    const d = signedDelivery(payment(number, 'a', 40_000));
    const burst = await Promise.all(Array.from({ length: REPLAYS }, () => post(d)));
    expect(burst.map((r) => r.status)).toEqual(burst.map(() => 200));
    expect(burst.filter((r) => r.json.duplicate === false)).toHaveLength(1);
    for (let i = 0; i < 5; i++) expect((await post(d)).json).toMatchObject({ duplicate: true, status: 'processed' });

    expect(await h.prisma.webhookDelivery.count({ where: { eventId: `evt-a-${number}` } })).toBe(1);
    expect(await h.prisma.payment.count({ where: { invoice: { number } } })).toBe(1);
    const st = await eventually(async () => {
      const s = await live(number);
      return s.payments.length === 1 ? s : undefined;
    }, 10_000, 'payment counted');
    expect(st.balanceMinor).toBe(60_000);
    // Replays keep re-signalling (harmless, heals a lost signal): still counted once.
    await new Promise((r) => setTimeout(r, 500));
    expect((await live(number)).payments).toHaveLength(1);
    expect((await live(number)).balanceMinor).toBe(60_000);
  });

  it('the same payment under a new event id, and the same event id with another body: no double count', async () => {
    const number = await issue();
    const original = payment(number, 'b', 30_000);
    expect((await post(signedDelivery(original))).json).toMatchObject({ duplicate: false, status: 'processed', payment: { status: 'matched' } });
    // The provider re-sends the payment as a new event.
    const reissued = await post(signedDelivery({ ...original, eventId: `evt-b2-${number}` }));
    expect(reissued.json).toMatchObject({ duplicate: false, payment: { status: 'duplicate', amountMinor: 30_000 } });
    // Someone replays the event id with a larger amount (validly signed, e.g. a provider bug).
    const altered = await post(signedDelivery({ ...original, amountMinor: 99_999 }));
    expect(altered.json).toMatchObject({ duplicate: true, status: 'processed' });

    const rows = await h.prisma.payment.findMany({ where: { invoice: { number } } });
    expect(rows.map((p) => Number(p.amountMinor))).toEqual([30_000]);
    expect(await h.prisma.webhookDelivery.count({ where: { eventId: { in: [`evt-b-${number}`, `evt-b2-${number}`] } } })).toBe(2);
    await eventually(async () => (await live(number)).balanceMinor === 70_000, 10_000, 'balance 700.00');
    expect((await live(number)).payments).toHaveLength(1);
  });

  it('two partial payments replayed interleaved settle the invoice exactly; a third after paid is kept, not lost', async () => {
    const number = await issue();
    const p1 = signedDelivery(payment(number, 'p1', 25_000));
    const p2 = signedDelivery(payment(number, 'p2', 75_000));
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => post(i % 2 ? p1 : p2)));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(await h.prisma.payment.count({ where: { invoice: { number } } })).toBe(2);
    await eventually(async () => (await h.client.workflow.getHandle(`invoice-${number}`).describe()).status.name === 'COMPLETED', 15_000, 'paid');
    const result = await h.client.workflow.getHandle(`invoice-${number}`).result();
    expect(result).toEqual({ outcome: 'paid', balanceMinor: 0 });
    // An overpayment after the workflow closed: journaled (not lost), not signalled.
    const late = await post(signedDelivery(payment(number, 'p3', 5_000)));
    expect(late.json).toMatchObject({ status: 'processed', payment: { status: 'matched', signalled: false } });
    expect(await h.prisma.payment.count({ where: { invoice: { number } } })).toBe(3);
  });
});

describe('rejected: 401, nothing stored', () => {
  it('forged, tampered, stale, future, unknown source, malformed signatures', async () => {
    const number = await issue();
    const before = await counts();
    const now = Math.floor(Date.now() / 1000);
    const p = payment(number, 'x', 100_000);
    const tampered = signedDelivery(p);
    tampered.raw = tampered.raw.replace('"amountMinor":100000', '"amountMinor":1');
    const cases: Array<[string, { raw: string; headers: Record<string, string> }]> = [
      ['forged (wrong secret)', signedDelivery(p, { secret: 'an-attacker-guess-000' })],
      ['tampered body', tampered],
      ['stale (301 s old)', signedDelivery(p, { timestamp: now - 301 })],
      // Well past the 300 s tolerance: a future offset shrinks while the earlier cases run
      // (301 s passed at 300.x s under CI load).
      ['future (330 s ahead)', signedDelivery(p, { timestamp: now + 330 })],
      ['unknown source', signedDelivery(p, { source: 'evil-bank' })],
      ['signature of another timestamp', { ...signedDelivery(p), headers: { ...signedDelivery(p).headers, 'x-relance-timestamp': String(now - 5) } }],
      ['not hex', { ...signedDelivery(p), headers: { ...signedDelivery(p).headers, 'x-relance-signature': 'v1=zz' + 'a'.repeat(62) } }],
      ['v0 scheme', { ...signedDelivery(p), headers: { ...signedDelivery(p).headers, 'x-relance-signature': `v0=${signGeneric(WEBHOOK_SECRET, now, JSON.stringify(p))}` } }],
      ['no signature', { raw: JSON.stringify(p), headers: { 'content-type': 'application/json', 'x-relance-source': 'bank', 'x-relance-timestamp': String(now) } }],
      ['timestamp not a number', { ...signedDelivery(p), headers: { ...signedDelivery(p).headers, 'x-relance-timestamp': '1e9' } }],
    ];
    for (const [what, d] of cases) {
      const r = await post(d);
      expect(r.status, what).toBe(401);
      expect(r.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
    }
    expect(await counts()).toEqual(before);
    expect((await live(number)).payments).toEqual([]);

    // Secret rotation: the old and the new signature side by side are accepted once.
    const good = signedDelivery(p);
    const rotated = { ...good, headers: { ...good.headers, 'x-relance-signature': `v1=${'0'.repeat(64)}, ${good.headers['x-relance-signature']}` } };
    expect((await post(rotated)).status).toBe(200);
    expect(await h.prisma.payment.count({ where: { invoice: { number } } })).toBe(1);
  });
});

describe('oversize and nonsense', () => {
  it('a body over API_BODY_LIMIT is 413 (signed or not) and stores nothing', async () => {
    const number = await issue();
    const before = await counts();
    const big = { ...payment(number, 'big', 100_000), padding: 'x'.repeat(70 * 1024) };
    for (const d of [signedDelivery(big), { raw: JSON.stringify(big), headers: { 'content-type': 'application/json' } }]) {
      const r = await post(d);
      expect(r.status).toBe(413);
      expect(r.json).toMatchObject({ status: 413 });
    }
    // Not JSON by content-type: the raw parser still caps it.
    const r = await post({ raw: Buffer.alloc(200 * 1024, 0x41), headers: { 'content-type': 'application/octet-stream' } });
    expect(r.status).toBe(413);
    expect(await counts()).toEqual(before);
  });

  it('signed but not a payment notification: 422 naming the field, nothing stored', async () => {
    const number = await issue();
    const before = await counts();
    const bad: Array<[string, string]> = [
      ['not JSON', '{"eventId": '],
      ['negative amount', JSON.stringify(payment(number, 'n', -5))],
      ['fractional amount', JSON.stringify(payment(number, 'f', 10.5))],
      ['bad currency', JSON.stringify(payment(number, 'c', 100, { currency: 'EURO' }))],
      ['bad instant', JSON.stringify(payment(number, 'i', 100, { receivedAt: 'yesterday' }))],
      ['array', '[]'],
      ['empty', ''],
    ];
    for (const [what, raw] of bad) {
      const r = await post(signedDelivery({}, { raw }));
      expect(r.status, what).toBe(422);
      expect(r.json?.errors?.length, what).toBeGreaterThan(0);
    }
    expect(await counts()).toEqual(before);
  });

  it('unknown invoice and currency mismatch: stored as unmatched (200), replays do not add rows', async () => {
    const number = await issue();
    const unknown = signedDelivery(payment('NO-SUCH-INVOICE', 'u', 12_300, { eventId: `evt-u-${number}`, paymentId: `pay-u-${number}` }));
    const mismatch = signedDelivery(payment(number, 'm', 100, { currency: 'USD' }));
    for (let i = 0; i < 3; i++) {
      expect((await post(unknown)).json).toMatchObject({ status: 'unmatched' });
      expect((await post(mismatch)).json).toMatchObject({ status: 'unmatched' });
    }
    const rows = await h.prisma.unmatchedPayment.findMany({ where: { externalId: { in: [`pay-u-${number}`, `pay-m-${number}`] } } });
    expect(rows.map((u) => u.reason).sort()).toEqual(['currency-mismatch', 'unknown-invoice']);
    expect(await h.prisma.payment.count({ where: { invoice: { number } } })).toBe(0);
    expect((await live(number)).payments).toEqual([]);
  });
});

describe('Stripe', () => {
  it(`payment_intent.succeeded ×${REPLAYS} and its charge.succeeded at once: one payment; forged ones 401`, async () => {
    const number = await issue();
    const stripe = new Stripe('sk_test_unused');
    const pi = `pi_${number.replace(/[^A-Za-z0-9]/g, '')}`;
    const ev = (id: string, type: string, object: Record<string, unknown>) =>
      JSON.stringify({ id, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object }, api_version: '2025-01-01', livemode: false });
    const piEvent = ev(`evt_pi_${pi}`, 'payment_intent.succeeded', { id: pi, object: 'payment_intent', amount: 100_000, amount_received: 100_000, currency: 'eur', metadata: { invoice_number: number } });
    const chEvent = ev(`evt_ch_${pi}`, 'charge.succeeded', { id: `ch_${pi}`, object: 'charge', amount: 100_000, amount_captured: 100_000, currency: 'eur', payment_intent: pi, metadata: { invoice_number: number } });
    const signed = (payload: string, secret = STRIPE_SECRET) => ({
      raw: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret }) },
    });
    const rs = await Promise.all([...Array.from({ length: REPLAYS }, () => post(signed(piEvent), '/v1/webhooks/stripe')), post(signed(chEvent), '/v1/webhooks/stripe')]);
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect(await h.prisma.payment.count({ where: { source: 'stripe', externalId: pi } })).toBe(1);
    expect(await h.prisma.webhookDelivery.count({ where: { source: 'stripe', eventId: { in: [`evt_pi_${pi}`, `evt_ch_${pi}`] } } })).toBe(2);
    const result = await h.client.workflow.getHandle(`invoice-${number}`).result();
    expect(result.outcome).toBe('paid');
    expect((await post(signed(piEvent, 'whsec_wrong'), '/v1/webhooks/stripe')).status).toBe(401);
  });
});
