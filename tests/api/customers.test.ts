// Customer records over HTTP against the real database and a real Temporal dev server:
// the record and its validation, agreed terms and their effects on issuing, notes and call
// outcomes in the timelines and the tracking sheet, a phone task closed by its call, and a
// "promised" call holding the reminders until its date.
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/ids';
import { statusQuery } from '../../contracts/messages';
import { daysFromToday, eventually, invoiceRequest, problemFields, uniqueCustomerId, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

useApiHarness((a) => (h = a));

const customerId = () => uniqueCustomerId('C17');

describe('/v1/customers', () => {
  it('creates, reads, updates and searches a record; every agreed term says who agreed and when', async () => {
    const id = customerId();
    const created = await h.request('POST', '/v1/customers', {
      body: {
        externalId: id,
        name: 'Lumière SA',
        kind: 'B2B',
        country: 'FR',
        contacts: [
          { role: 'billing', name: 'Anne', email: 'Anne@Lumiere.example' },
          { role: 'cc', email: 'dg@lumiere.example' },
        ],
        tags: ['key-account', 'public sector'],
        agreedTerms: { paymentTerm: { days: 45 } },
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/customers/${id}`);
    expect(created.json.contacts.map((c: { role: string; email: string }) => `${c.role}:${c.email}`)).toEqual([
      'billing:anne@lumiere.example',
      'cc:dg@lumiere.example',
    ]);
    expect(created.json.agreedTerms.paymentTerm).toMatchObject({ days: 45, agreedBy: 'api-tests' });
    expect(Date.now() - Date.parse(created.json.agreedTerms.paymentTerm.agreedAt)).toBeLessThan(60_000);
    expect((await h.request('POST', '/v1/customers', { body: { externalId: id, name: 'x', kind: 'B2B', country: 'FR' } })).status).toBe(409);

    const bad = await h.request('PATCH', `/v1/customers/${id}`, {
      body: {
        contacts: [{ role: 'billing', phone: '12345' }, { role: 'boss', email: 'a@b.example' }],
        agreedTerms: { policy: { policyId: 'no-such-policy' }, earlyPaymentDiscount: { percent: '2.555', withinDays: 10 } },
      },
    });
    expect(bad.status).toBe(422);
    // The schema's refusals first (the percentage's pattern is in the OpenAPI document too).
    expect(problemFields(bad)).toEqual(['agreedTerms.earlyPaymentDiscount.percent', 'contacts.1.role']);
    const bad2 = await h.request('PATCH', `/v1/customers/${id}`, {
      body: {
        contacts: [{ role: 'billing', phone: '12345' }],
        agreedTerms: { policy: { policyId: 'no-such-policy' }, earlyPaymentDiscount: { percent: '2.5', withinDays: 10 } },
      },
    });
    expect(bad2.status).toBe(422);
    expect(problemFields(bad2)).toEqual(['agreedTerms.policy.policyId', 'contacts.0.phone']);
    // Nothing of a refused update was written.
    expect((await h.request('GET', `/v1/customers/${id}`)).json.contacts).toHaveLength(2);

    const agreedAt = '2026-11-20T09:30:00Z';
    const updated = await h.request('PATCH', `/v1/customers/${id}`, {
      body: {
        doNotSms: true,
        language: 'en',
        agreedTerms: {
          policy: { policyId: 'ten-twenty', agreedBy: 'Paul (sales)', agreedAt },
          earlyPaymentDiscount: { percent: '2', withinDays: 10 },
          paymentTerm: null,
        },
      },
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({
      doNotSms: true,
      language: 'en',
      agreedTerms: {
        policy: { policyId: 'ten-twenty', agreedBy: 'Paul (sales)', agreedAt: '2026-11-20T09:30:00.000Z' },
        earlyPaymentDiscount: { percent: '2.00', withinDays: 10, agreedBy: 'api-tests' },
        paymentTerm: null,
      },
    });
    expect(updated.json.contacts).toHaveLength(2);
    // Every change recorded: who (the API key's name), when, what.
    const audit = await h.request('GET', `/v1/audit?targetType=customer&targetId=${id}`);
    expect(audit.json.items.map((e: { action: string; actor: string }) => `${e.action}:${e.actor}`)).toEqual([
      'customer.update:api-tests',
      'customer.create:api-tests',
    ]);
    expect(audit.json.items[0].detail.change).toMatchObject({ doNotSms: true, language: 'en' });

    const byTag = await h.request('GET', `/v1/customers?tag=public%20sector&q=${id}`);
    expect(byTag.json.items.map((c: { externalId: string }) => c.externalId)).toEqual([id]);
    const byEmail = await h.request('GET', '/v1/customers?q=anne@lumiere');
    expect(byEmail.json.items.map((c: { externalId: string }) => c.externalId)).toContain(id);
    expect((await h.request('GET', '/v1/customers/nobody-here')).status).toBe(404);
  });

  it('an agreed payment term sets the due date of an invoice issued without one; the agreed policy is used', async () => {
    const id = customerId();
    await h.request('POST', '/v1/customers', {
      body: { externalId: id, name: 'Terme SARL', kind: 'B2B', country: 'FR', agreedTerms: { paymentTerm: { days: 45 }, policy: { policyId: 'ten-twenty' } } },
    });
    const { dueDate: _omit, ...withoutDue } = invoiceRequest({}, { externalId: id, name: 'Terme SARL' });
    const r = await h.request('POST', '/v1/invoices', { body: withoutDue });
    expect(r.status).toBe(201);
    expect(r.json.dueDate).toBe(daysFromToday(45));
    expect(r.json.policy.id).toBe('ten-twenty');
    // A policy named on the invoice still wins.
    const named = await h.request('POST', '/v1/invoices', { body: invoiceRequest({ policyId: 'fr-b2b-default' }, { externalId: id, name: 'Terme SARL' }) });
    expect(named.json.policy.id).toBe('fr-b2b-default');

    const { dueDate: _o2, ...noTerm } = invoiceRequest({}, { externalId: customerId() });
    const refused = await h.request('POST', '/v1/invoices', { body: noTerm });
    expect(refused.status).toBe(422);
    expect(problemFields(refused)).toEqual(['dueDate']);
  });

  it('a note and a call outcome show in the invoice timeline, the customer timeline and the tracking sheet', async () => {
    const id = customerId();
    const body = invoiceRequest({}, { externalId: id, name: 'Notes & Co' });
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const note = await h.request('POST', `/v1/invoices/${body.number}/notes`, { body: { text: 'Client asked for a copy of the PO' } });
    expect(note.status).toBe(201);
    expect(note.json).toMatchObject({ customerId: id, invoiceNumber: body.number, author: 'api-tests' });
    const call = await h.request('POST', `/v1/customers/${id}/calls`, { body: { outcome: 'no-answer', text: 'voicemail', invoiceNumber: body.number } });
    expect(call.status).toBe(201);
    const onCustomer = await h.request('POST', `/v1/customers/${id}/notes`, { body: { text: 'New CFO from January' } });
    expect(onCustomer.json.invoiceNumber).toBeNull();

    const bad = await h.request('POST', `/v1/invoices/${body.number}/calls`, { body: { outcome: 'reached', promisedDate: daysFromToday(3) } });
    expect(bad.status).toBe(422);
    expect(problemFields(bad)).toEqual(['promisedDate']);
    const other = await h.request('POST', `/v1/customers/CUST-1/notes`, { body: { text: 'x', invoiceNumber: body.number } });
    expect(other.status).toBe(422);
    expect(problemFields(other)).toEqual(['invoiceNumber']);

    const timeline = await h.request('GET', `/v1/invoices/${body.number}/timeline`);
    const staff = timeline.json.entries.filter((e: { kind: string }) => e.kind === 'note' || e.kind === 'call');
    expect(staff.map((e: { type: string; detail: { text: string } }) => `${e.type}:${e.detail.text}`)).toEqual([
      'note:Client asked for a copy of the PO',
      'call.no-answer:voicemail',
    ]);
    // The workflow's own entries arrive by its journal flush, after the API answered the issue.
    await eventually(
      async () => (await h.request('GET', `/v1/invoices/${body.number}/timeline`)).json.entries.some((e: { type: string }) => e.type === 'issued'),
      15_000,
      'the issued entry in the timeline',
    );

    const merged = await h.request('GET', `/v1/customers/${id}/timeline`);
    const kinds = merged.json.entries.map((e: { kind: string; type: string; invoiceNumber: string | null }) => `${e.kind}/${e.type}/${e.invoiceNumber}`);
    expect(kinds).toEqual(expect.arrayContaining([`event/issued/${body.number}`, `note/note/${body.number}`, 'note/note/null']));

    const page = await h.request('GET', `/v1/customers/${id}`);
    expect(page.json.invoices.map((i: { number: string }) => i.number)).toEqual([body.number]);
    expect(page.json.balances).toEqual([{ currency: 'EUR', openInvoices: 1, balance: '1000.00', balanceMinor: 100000 }]);

    const csv = await h.request('GET', '/v1/reports/tracking-sheet.csv');
    const rows: string[][] = parse(csv.text, { bom: true });
    expect(rows[0][11]).toBe('Notes and calls');
    const row = rows.find((r) => r[1] === body.number)!;
    expect(row[11]).toBe(`${daysFromToday(0)} note: Client asked for a copy of the PO | ${daysFromToday(0)} call no-answer: voicemail`);
  });

  it('a phone task is closed with its call outcome, once', async () => {
    const body = invoiceRequest(
      { policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(Date.now() + 1_000).toISOString() },
      { externalId: customerId() },
    );
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    // reminder-1 of the demo calendar (email + phone) comes 5 s after the due instant.
    const task = await eventually(async () => {
      const t = await h.request('GET', `/v1/invoices/${body.number}/timeline`);
      return t.json.entries.find((e: { type: string }) => e.type === 'phone-task');
    }, 30_000, 'the phone task');
    expect(task.detail.closed).toBeNull();
    const call = await h.request('POST', `/v1/invoices/${body.number}/calls`, { body: { outcome: 'reached', text: 'will pay friday', phoneTaskId: task.detail.taskId } });
    expect(call.status).toBe(201);
    const again = await h.request('POST', `/v1/invoices/${body.number}/calls`, { body: { outcome: 'reached', phoneTaskId: task.detail.taskId } });
    expect(again.status).toBe(409);
    const after = await h.request('GET', `/v1/invoices/${body.number}/timeline`);
    const closed = after.json.entries.find((e: { type: string }) => e.type === 'phone-task');
    expect(closed.detail.closed).toMatchObject({ callId: call.json.id, outcome: 'reached', by: 'api-tests' });
    await h.client.workflow.getHandle(workflowIdFor(body.number)).terminate('test over');
  }, 60_000);

  it('a "promised" call outcome records the promise to pay: reminders wait until its date', async () => {
    const dueAt = Date.now() + 2_000;
    const body = invoiceRequest({ policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(dueAt).toISOString() }, { externalId: customerId() });
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const handle = h.client.workflow.getHandle(workflowIdFor(body.number));
    await eventually(async () => (await handle.query(statusQuery)).completedSteps.includes('courtesy'), 20_000, 'the courtesy email');

    const past = await h.request('POST', `/v1/invoices/${body.number}/calls`, { body: { outcome: 'promised', promisedDate: new Date(Date.now() - 60_000).toISOString() } });
    expect(past.status).toBe(422);
    expect(problemFields(past)).toEqual(['promisedDate']);
    expect(await h.prisma.callOutcome.count({ where: { invoice: { number: body.number } } })).toBe(0);

    // reminder-1 is due 5 s after the due instant; the promise is for 12 s from now (+3 s grace).
    const promisedAt = Date.now() + 12_000;
    const promised = await h.request('POST', `/v1/invoices/${body.number}/calls`, {
      body: { outcome: 'promised', promisedDate: new Date(promisedAt).toISOString(), text: 'transfer next week' },
    });
    expect(promised.status).toBe(201);
    expect(Date.parse(promised.json.promise.until)).toBe(promisedAt + 3_000);
    const status = await handle.query(statusQuery);
    expect(status.promise?.date).toBe(new Date(promisedAt).toISOString());

    const reminder1 = () => h.calls.find((c) => c.invoiceNumber === body.number && c.stepId === 'reminder-1');
    await new Promise((r) => setTimeout(r, Math.max(0, dueAt + 7_000 - Date.now())));
    expect(reminder1()).toBeUndefined(); // its calendar instant has passed: the promise holds it
    const sent = await eventually(async () => reminder1(), 30_000, 'reminder-1 after the broken promise');
    expect(sent.at).toBeGreaterThanOrEqual(promisedAt + 3_000);
    await handle.terminate('test over');
  }, 60_000);
});
