// Payment webhooks over HTTP: signatures, replays, Stripe, unmatched payments; the
// reminders stop once the payment is in.
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { getBuiltinPolicy } from '../../domain/policy';
import { eventually, invoiceRequest, signedDelivery, STRIPE_SECRET, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

useApiHarness((a) => (h = a));


const postGeneric = (d: ReturnType<typeof signedDelivery>) =>
  h.request('POST', '/v1/webhooks/payments', { raw: d.raw, headers: d.headers, auth: false });

const stored = async () => ({
  deliveries: await h.prisma.webhookDelivery.count(),
  payments: await h.prisma.payment.count(),
  unmatched: await h.prisma.unmatchedPayment.count(),
});

describe('generic payment webhook', () => {
  it('replayed ×5 → one payment, the workflow is paid and no reminder follows', async () => {
    const policy = getBuiltinPolicy('demo-seconds');
    const stepIds = new Set(policy.steps.map((s) => s.id));
    // Courtesy (due − 5 s) is already past: it runs at once; reminder-1 would follow 5 s after the due instant.
    const dueAt = new Date(Date.now() + 3_000).toISOString();
    const body = invoiceRequest({ policyId: 'demo-seconds', dueAt });
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    await eventually(async () => h.calls.some((c) => c.invoiceNumber === body.number && c.stepId === 'courtesy'), 15_000, 'courtesy reminder');

    const delivery = signedDelivery({
      eventId: `evt-${body.number}`,
      invoiceNumber: body.number,
      paymentId: `pay-${body.number}`,
      amountMinor: 100000,
      currency: 'EUR',
      receivedAt: new Date().toISOString(),
    });
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => postGeneric(delivery)));
    for (const a of answers) expect(a.status, JSON.stringify(a.json)).toBe(200);
    expect(answers.filter((a) => a.json.duplicate === false)).toHaveLength(1);

    const payments = await h.prisma.payment.findMany({ where: { invoice: { number: body.number } } });
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ source: 'bank', externalId: `pay-${body.number}`, currency: 'EUR' });
    expect(await h.prisma.webhookDelivery.count({ where: { source: 'bank', eventId: `evt-${body.number}` } })).toBe(1);

    const paid = await eventually(async () => {
      const r = await h.request('GET', `/v1/invoices/${body.number}`);
      return r.json.outcome === 'paid' ? r : undefined;
    }, 15_000, 'paid');
    expect(paid.json.balanceMinor).toBe(0);
    const live = paid.json.live;
    expect(live?.payments?.map((p: { paymentId: string }) => p.paymentId) ?? ['bank:pay-' + body.number]).toEqual([`bank:pay-${body.number}`]);

    // Past the instant reminder-1 was due: nothing more for a policy step.
    const paidAt = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(dueAt) + 7_000 - Date.now())));
    const after = h.calls.filter((c) => c.invoiceNumber === body.number && c.at >= paidAt && stepIds.has(c.stepId));
    expect(after).toEqual([]);
    const sentSteps = h.calls.filter((c) => c.invoiceNumber === body.number && stepIds.has(c.stepId)).map((c) => c.stepId);
    expect(sentSteps).toEqual(['courtesy']);

    const again = await postGeneric(delivery);
    expect(again.json).toMatchObject({ duplicate: true, status: 'processed' });
  }, 45_000);

  it('rejects forged, stale and unknown-source deliveries with 401 and stores nothing', async () => {
    const before = await stored();
    const payload = {
      eventId: 'evt-forged',
      invoiceNumber: 'X-1',
      paymentId: 'p-forged',
      amountMinor: 100,
      currency: 'EUR',
      receivedAt: new Date().toISOString(),
    };
    const forged = signedDelivery(payload, { secret: 'not-the-secret-at-all' });
    const stale = signedDelivery(payload, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    const unknown = signedDelivery(payload, { source: 'evil-bank' });
    const tampered = signedDelivery(payload);
    tampered.raw = tampered.raw.replace('"amountMinor":100', '"amountMinor":100000');
    const missing = { raw: JSON.stringify(payload), headers: { 'content-type': 'application/json', 'x-relance-source': 'bank' } };
    for (const d of [forged, stale, unknown, tampered, missing]) {
      const r = await h.request('POST', '/v1/webhooks/payments', { raw: d.raw, headers: d.headers, auth: false });
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect(await stored()).toEqual(before);

    const metrics = await h.request('GET', '/metrics', { auth: false });
    expect(metrics.text).toMatch(/relance_webhooks_rejected_total\{source="bank",reason="bad-signature"\} 2/);
    expect(metrics.text).toMatch(/relance_webhooks_rejected_total\{source="bank",reason="stale"\} 1/);
    expect(metrics.text).toMatch(/relance_webhooks_rejected_total\{source="unknown",reason="unknown-source"\} 1/);
  });

  it('stores unknown invoices and currency mismatches as unmatched payments that ops assign', async () => {
    const body = invoiceRequest();
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const unknown = await postGeneric(
      signedDelivery({
        eventId: `evt-u-${body.number}`,
        invoiceNumber: 'NO-SUCH-INVOICE',
        paymentId: `pu-${body.number}`,
        amountMinor: 25000,
        currency: 'EUR',
        receivedAt: new Date().toISOString(),
      }),
    );
    expect(unknown.status).toBe(200);
    expect(unknown.json).toMatchObject({ status: 'unmatched', payment: { status: 'unmatched', reason: 'unknown-invoice' } });
    const mismatch = await postGeneric(
      signedDelivery({
        eventId: `evt-m-${body.number}`,
        invoiceNumber: body.number,
        paymentId: `pm-${body.number}`,
        amountMinor: 100,
        currency: 'USD',
        receivedAt: new Date().toISOString(),
      }),
    );
    expect(mismatch.json.payment.reason).toBe('currency-mismatch');

    const list = await h.request('GET', '/v1/unmatched-payments');
    expect(list.status).toBe(200);
    const item = list.json.items.find((u: { externalId: string }) => u.externalId === `pu-${body.number}`);
    expect(item).toMatchObject({ source: 'bank', amountMinor: 25000, currency: 'EUR', assignedTo: null });

    const wrongCurrency = list.json.items.find((u: { externalId: string }) => u.externalId === `pm-${body.number}`);
    const refused = await h.request('POST', `/v1/unmatched-payments/${wrongCurrency.id}/assign`, { body: { invoiceNumber: body.number } });
    expect(refused.status).toBe(422);
    expect(refused.json.errors[0].field).toBe('invoiceNumber');

    const assigned = await h.request('POST', `/v1/unmatched-payments/${item.id}/assign`, { body: { invoiceNumber: body.number } });
    expect(assigned.status).toBe(200);
    expect(assigned.json).toMatchObject({ status: 'matched', paymentId: `bank:pu-${body.number}`, signalled: true });
    expect((await h.request('POST', `/v1/unmatched-payments/${item.id}/assign`, { body: { invoiceNumber: body.number } })).status).toBe(200);
    expect(await h.prisma.payment.count({ where: { externalId: `pu-${body.number}` } })).toBe(1);
    await eventually(async () => {
      const r = await h.request('GET', `/v1/invoices/${body.number}`);
      return r.json.live?.balanceMinor === 75000;
    }, 10_000, 'balance lowered');
    const open = await h.request('GET', '/v1/unmatched-payments?status=open');
    expect(open.json.items.some((u: { id: string }) => u.id === item.id)).toBe(false);
  });
});

describe('Stripe webhook', () => {
  const stripe = new Stripe('sk_test_unused');
  const event = (type: string, object: Record<string, unknown>, id = `evt_${Math.random().toString(36).slice(2)}`) =>
    JSON.stringify({ id, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object }, api_version: '2025-01-01', livemode: false });

  it('verifies the signature with the SDK and journals payment_intent.succeeded once with its charge', async () => {
    const body = invoiceRequest();
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const pi = `pi_${body.number.replace(/[^A-Za-z0-9]/g, '')}`;
    const payloads = [
      event('payment_intent.succeeded', { id: pi, object: 'payment_intent', amount: 40000, amount_received: 40000, currency: 'eur', metadata: { invoice_number: body.number } }),
      event('charge.succeeded', { id: `ch_${pi}`, object: 'charge', amount: 40000, amount_captured: 40000, currency: 'eur', payment_intent: pi, metadata: { invoice_number: body.number } }),
      event('customer.created', { id: 'cus_1', object: 'customer' }),
    ];
    const results = [];
    for (const payload of payloads) {
      const header = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
      results.push(await h.request('POST', '/v1/webhooks/stripe', { raw: payload, headers: { 'content-type': 'application/json', 'stripe-signature': header }, auth: false }));
    }
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results[0].json).toMatchObject({ status: 'processed', payment: { status: 'matched', paymentId: `stripe:${pi}` } });
    expect(results[1].json.payment.status).toBe('duplicate');
    expect(results[2].json.status).toBe('ignored');
    expect(await h.prisma.payment.count({ where: { source: 'stripe', externalId: pi } })).toBe(1);
    expect(await h.prisma.webhookDelivery.count({ where: { source: 'stripe' } })).toBe(3);
    await eventually(async () => (await h.request('GET', `/v1/invoices/${body.number}`)).json.live?.balanceMinor === 60000, 10_000, 'stripe payment counted');

    const before = await stored();
    const forgedPayload = event('payment_intent.succeeded', { id: 'pi_forged', object: 'payment_intent', amount: 1, currency: 'eur', metadata: { invoice_number: body.number } });
    const forged = stripe.webhooks.generateTestHeaderString({ payload: forgedPayload, secret: 'whsec_wrong' });
    const staleHeader = stripe.webhooks.generateTestHeaderString({ payload: forgedPayload, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - 600 });
    for (const header of [forged, staleHeader, '']) {
      const r = await h.request('POST', '/v1/webhooks/stripe', { raw: forgedPayload, headers: { 'content-type': 'application/json', 'stripe-signature': header }, auth: false });
      expect(r.status).toBe(401);
    }
    expect(await stored()).toEqual(before);
  });
});
