// Issuing and reading invoices and ops actions (the CSV import: csv-import.test.ts), over HTTP against the
// real database and a real Temporal dev server.
import { describe, expect, it } from 'vitest';
import { FR_B2B_DEFAULT } from '../../domain/policy';
import { workflowIdFor } from '../../contracts/ids';
import { migratePolicyUpdate, statusQuery } from '../../contracts/messages';
import { daysFromToday, eventually, invoiceRequest, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

useApiHarness((a) => (h = a));

describe('POST /v1/invoices', () => {
  it('issues an invoice idempotently: same number and key → same result, one workflow, one row', async () => {
    const body = invoiceRequest();
    const first = await h.request('POST', '/v1/invoices', { body, headers: { 'idempotency-key': `k-${body.number}` } });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({
      number: body.number,
      workflowId: `invoice-${body.number}`,
      amount: '1200.00',
      amountMinor: 120000,
      depositMinor: 20000,
      balanceMinor: 100000,
      currency: 'EUR',
      policy: { id: 'fr-b2b-default', version: 2 },
      customer: { externalId: 'CUST-1', timeZone: 'Europe/Paris', phone: '+33612345678' },
    });
    expect(first.headers.get('location')).toBe(`/v1/invoices/${body.number}`);
    expect(first.headers.get('x-request-id')).toBeTruthy();

    const again = await h.request('POST', '/v1/invoices', { body, headers: { 'idempotency-key': `k-${body.number}` } });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.number).toBe(body.number);
    expect(again.json.createdAt).toBe(first.json.createdAt);

    // Without the key: the number alone makes it idempotent.
    const third = await h.request('POST', '/v1/invoices', { body });
    expect(third.status).toBe(200);

    expect(await h.prisma.invoice.count({ where: { number: body.number } })).toBe(1);
    const desc = await h.client.workflow.getHandle(`invoice-${body.number}`).describe();
    expect(desc.status.name).toBe('RUNNING');
    expect(desc.taskQueue).toBe(`${h.taskQueuePrefix}dunning`);

    // A second invoice of the same customer reuses the customer.
    const other = invoiceRequest();
    expect((await h.request('POST', '/v1/invoices', { body: other })).status).toBe(201);
    expect(await h.prisma.customer.count({ where: { externalId: 'CUST-1' } })).toBe(1);
  });

  it('answers 409 to a conflicting repeat (same number, other content) and to a reused Idempotency-Key', async () => {
    const body = invoiceRequest();
    expect((await h.request('POST', '/v1/invoices', { body, headers: { 'idempotency-key': `c-${body.number}` } })).status).toBe(201);

    const conflicting = await h.request('POST', '/v1/invoices', { body: { ...body, amount: '1300.00' } });
    expect(conflicting.status).toBe(409);
    expect(conflicting.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(conflicting.json).toMatchObject({ status: 409, title: 'Conflict', type: expect.stringContaining('invoice-conflict') });

    const keyReused = await h.request('POST', '/v1/invoices', {
      body: invoiceRequest(),
      headers: { 'idempotency-key': `c-${body.number}` },
    });
    expect(keyReused.status).toBe(409);
    expect(keyReused.json.type).toContain('idempotency-key-reused');
    const row = await h.prisma.invoice.findUniqueOrThrow({ where: { number: body.number } });
    expect(Number(row.amountMinor)).toBe(120000);
  });

  it('rejects bad input with 422 problems naming the field', async () => {
    const precision = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ amount: '12.345' }) });
    expect(precision.status).toBe(422);
    expect(precision.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(precision.json.errors).toEqual([{ field: 'amount', message: expect.stringMatching(/at most 2/) }]);

    const yen = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ currency: 'JPY', amount: '1000.5', deposit: '0' }) });
    expect(yen.status).toBe(422);
    expect(yen.json.errors[0].field).toBe('amount');

    const zone = await h.request('POST', '/v1/invoices', { body: invoiceRequest({}, { timeZone: 'Europe/Lyon' }) });
    expect(zone.status).toBe(422);
    expect(zone.json.errors).toEqual([{ field: 'customer.timeZone', message: expect.stringMatching(/IANA/) }]);

    const several = await h.request('POST', '/v1/invoices', {
      body: invoiceRequest({ deposit: '5000.00', dueDate: '2020-01-01', amount: '1.001' }),
    });
    expect(several.status).toBe(422);
    expect(several.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['amount', 'dueDate']);
    const policy = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ policyId: 'nope' }) });
    expect(policy.json.errors).toEqual([{ field: 'policyId', message: expect.any(String) }]);

    // Issue 15, case 5: the customer's kind decides the law; a policy written for the other
    // kind is refused, naming the field that chose it, and no workflow starts.
    const b2cPolicy = invoiceRequest({ policyId: 'fr-b2c-default' });
    const wrongAudience = await h.request('POST', '/v1/invoices', { body: b2cPolicy });
    expect(wrongAudience.status).toBe(422);
    expect(wrongAudience.json.errors).toEqual([{ field: 'policyId', message: 'policy fr-b2c-default is written for B2C customers but the customer is B2B; choose a B2B policy' }]);
    await expect(h.client.workflow.getHandle(workflowIdFor(b2cPolicy.number)).describe()).rejects.toThrow();

    const malformed = await h.request('POST', '/v1/invoices', { raw: '{"number":', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);

    const huge = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ paymentLink: `https://x.test/${'a'.repeat(70_000)}` }) });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    // U+0000 cannot be stored by PostgreSQL: a 422 naming the field, before any workflow starts
    // (the fuzzer found it as a 500 on a payment reference).
    const nul = invoiceRequest({}, { name: 'Dupont\u0000SARL' });
    const nulRes = await h.request('POST', '/v1/invoices', { body: nul });
    expect(nulRes.status).toBe(422);
    expect(nulRes.json.errors).toEqual([{ field: 'customer.name', message: expect.stringMatching(/U\+0000/) }]);
    await expect(h.client.workflow.getHandle(`invoice-${nul.number}`).describe()).rejects.toThrow();
    const nulQuery = await h.request('GET', '/v1/invoices?customer=C%00X');
    expect(nulQuery.status).toBe(422);
    expect(nulQuery.json.errors[0].field).toBe('query.customer');
    const nulPath = await h.request('GET', '/v1/invoices/A%00B');
    expect([404, 422]).toContain(nulPath.status);
    expect(await h.prisma.invoice.count({ where: { number: { startsWith: 'nope' } } })).toBe(0);
  });

  it('requires an API key', async () => {
    const none = await h.request('GET', '/v1/invoices', { auth: false });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await h.request('GET', '/v1/invoices', { auth: false, headers: { authorization: 'Bearer rlk_forged' } });
    expect(wrong.status).toBe(401);
    expect((await h.request('GET', '/healthz', { auth: false })).status).toBe(200);
  });
});

describe('reading invoices', () => {
  it('returns the record with the live status, the timeline, filtered pages and a preview', async () => {
    const body = invoiceRequest({}, { externalId: 'CUST-READ', name: 'Martin & Fils' });
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);

    const got = await eventually(async () => {
      const r = await h.request('GET', `/v1/invoices/${body.number}`);
      return r.json?.live ? r : undefined;
    }, 15_000, 'live status');
    expect(got.json.live).toMatchObject({ invoiceNumber: body.number, balanceMinor: 100000, currency: 'EUR' });
    expect(got.json.live.nextAction.stepId).toBe('courtesy');

    const timeline = await eventually(async () => {
      const r = await h.request('GET', `/v1/invoices/${body.number}/timeline`);
      return r.json.entries.some((e: { type: string }) => e.type === 'issued') ? r : undefined;
    }, 15_000, 'issued event');
    // The timeline opens with the issue: the workflow's "issued" event and the API's audit of
    // the call, stamped by two processes within milliseconds of each other, in either order.
    expect(timeline.json.entries.slice(0, 2).map((e: { kind: string; type: string }) => `${e.kind}:${e.type}`).sort()).toEqual(['action:invoice.issue', 'event:issued']);

    const list = await h.request('GET', '/v1/invoices?customer=CUST-READ&overdue=false&limit=1');
    expect(list.status).toBe(200);
    expect(list.json.items.map((i: { number: string }) => i.number)).toEqual([body.number]);
    expect(list.json.nextCursor).toBeNull();

    const page1 = await h.request('GET', '/v1/invoices?limit=2');
    expect(page1.json.items).toHaveLength(2);
    const page2 = await h.request('GET', `/v1/invoices?limit=2&cursor=${page1.json.nextCursor}`);
    expect(page2.status).toBe(200);
    const overlap = page2.json.items.filter((i: { number: string }) => page1.json.items.some((j: { number: string }) => j.number === i.number));
    expect(overlap).toEqual([]);
    expect((await h.request('GET', '/v1/invoices?limit=1000')).status).toBe(422);
    expect((await h.request('GET', '/v1/invoices?overdue=true&customer=CUST-READ')).json.items).toEqual([]);

    const preview = await h.request('GET', `/v1/invoices/${body.number}/reminders/formal-notice/preview?lang=en&channel=email`);
    expect(preview.status).toBe(200);
    expect(preview.json).toMatchObject({ step: 'formal-notice', channel: 'email', language: 'en', balanceMinor: 100000 });
    expect(preview.json.text).toContain(body.number);
    expect(preview.json.html).toContain('<');
    const sms = await h.request('GET', `/v1/invoices/${body.number}/reminders/reminder-2/preview?channel=sms`);
    expect(sms.json.language).toBe('fr');
    expect((await h.request('GET', `/v1/invoices/${body.number}/reminders/nope/preview`)).status).toBe(404);
    expect((await h.request('GET', '/v1/invoices/UNKNOWN-1')).status).toBe(404);
  });
});

describe('reminder preview', () => {
  it('renders the steps of the policy the invoice runs now, also after a migration to another calendar', async () => {
    const body = invoiceRequest();
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const handle = h.client.workflow.getHandle(workflowIdFor(body.number));
    await eventually(async () => (await handle.query(statusQuery)).stage, 15_000, 'the workflow to answer');
    // The invoice runs the shipped default (version 2): the migration's target is a version 3.
    const v2 = {
      ...FR_B2B_DEFAULT,
      version: 3,
      steps: FR_B2B_DEFAULT.steps.map((st) => (st.id === 'reminder-1' ? { ...st, id: 'first-reminder' } : st)),
    };
    await handle.executeUpdate(migratePolicyUpdate, { args: [{ policy: v2, reason: 'renamed step' }] });
    const renamed = await h.request('GET', `/v1/invoices/${body.number}/reminders/first-reminder/preview?channel=email`);
    expect(renamed.status).toBe(200);
    expect(renamed.json).toMatchObject({ step: 'first-reminder', templateId: 'reminder-1', channel: 'email' });
    expect(renamed.json.text).toContain(body.number);
    // The shipped calendar's step id is no longer one of this invoice's steps.
    expect((await h.request('GET', `/v1/invoices/${body.number}/reminders/reminder-1/preview`)).status).toBe(404);
  });
});

describe('ops actions', () => {
  it('forwards updates and signals; an invalid plan is a 422 with the workflow reason', async () => {
    const body = invoiceRequest();
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const base = `/v1/invoices/${body.number}`;

    const badSum = await h.request('POST', `${base}/instalment-plan`, {
      body: { instalments: [{ due: daysFromToday(40), amount: '300.00' }, { due: daysFromToday(70), amount: '300.00' }] },
    });
    expect(badSum.status).toBe(422);
    expect(badSum.json.detail).toMatch(/sum to 60000 but the balance is 100000/);
    expect(badSum.json.errors[0].field).toBe('instalments');

    const notAscending = await h.request('POST', `${base}/instalment-plan`, {
      body: { instalments: [{ due: daysFromToday(70), amount: '500.00' }, { due: daysFromToday(40), amount: '500.00' }] },
    });
    expect(notAscending.status).toBe(422);
    expect(notAscending.json.errors[0].field).toBe('instalments.1.due');

    const precision = await h.request('POST', `${base}/instalment-plan`, { body: { instalments: [{ due: daysFromToday(40), amount: '1.001' }] } });
    expect(precision.status).toBe(422);
    expect(precision.json.errors[0].field).toBe('instalments.0.amount');

    const plan = await h.request('POST', `${base}/instalment-plan`, {
      body: { instalments: [{ due: daysFromToday(40), amount: '500.00' }, { due: daysFromToday(70), amount: '500.00' }] },
    });
    expect(plan.status).toBe(200);
    expect(plan.json.result.instalments).toHaveLength(2);

    const promise = await h.request('POST', `${base}/promise-to-pay`, { body: { date: daysFromToday(10) } });
    expect(promise.status).toBe(422); // a plan is active
    expect(promise.json.errors[0].field).toBe('date');

    for (const [path, payload] of [
      ['disputes', { reason: 'wrong quantity' }],
      ['disputes/resolve', { outcome: 'credit-note', creditNote: '100.00' }],
      ['pause', { reason: 'customer on holiday', until: daysFromToday(5) }],
      ['resume', {}],
    ] as const) {
      const r = await h.request('POST', `${base}/${path}`, { body: payload });
      expect(r.status, path).toBe(202);
    }
    const status = await eventually(async () => {
      const r = await h.request('GET', base);
      return r.json.live?.timeline.some((e: { type: string }) => e.type === 'resumed') ? r : undefined;
    }, 10_000, 'resumed');
    expect(status.json.live.balanceMinor).toBe(90000);

    const manual = await h.request('POST', `${base}/payments`, { body: { amount: '100.00', reference: 'VIR-1' } });
    expect(manual.status).toBe(201);
    expect(manual.json).toMatchObject({ paymentId: 'manual:VIR-1', status: 'matched', signalled: true });
    expect((await h.request('POST', `${base}/payments`, { body: { amount: '100.00', reference: 'VIR-1' } })).json.status).toBe('duplicate');
    expect(await h.prisma.payment.count({ where: { source: 'manual', externalId: 'VIR-1' } })).toBe(1);
    expect((await h.request('POST', `${base}/payments`, { body: { amount: '1.00', currency: 'USD' } })).status).toBe(422);

    expect((await h.request('POST', `${base}/cancel`, { body: { reason: 'write-off' } })).status).toBe(202);
    await eventually(async () => (await h.prisma.invoice.findUnique({ where: { number: body.number } }))?.outcome === 'written-off', 10_000, 'closed');
    // The row shows the outcome as soon as the workflow journals it, a moment before the
    // workflow completes (a signal in between is still accepted): wait for the close itself.
    await eventually(async () => (await h.client.workflow.getHandle(`invoice-${body.number}`).describe()).status.name !== 'RUNNING', 10_000, 'workflow closed');
    const nulRef = await h.request('POST', `${base}/payments`, { body: { amount: '1.00', reference: 'VIR\u0000-2' } });
    expect(nulRef.status).toBe(422);
    expect(nulRef.json.errors).toEqual([{ field: 'reference', message: expect.stringMatching(/U\+0000/) }]);
    const late = await h.request('POST', `${base}/pause`, { body: { reason: 'too late' } });
    expect(late.status).toBe(409);
    expect((await h.request('POST', `/v1/invoices/NOPE-1/pause`, { body: { reason: 'x' } })).status).toBe(404);
  });
});
