// Customer-level holds (issue 18) over HTTP against the real database and a Temporal dev
// server running the invoice workflow with recording channels: a pause of the whole
// customer holds each running invoice (no reminder on demo-seconds) and one issued during
// it; resume releases them all; a dispute of listed or all invoices; a promise to pay with
// an amount spread oldest due first holds the reminders of what it covers until its date;
// bad input refused before anything is sent.
import { describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/ids';
import { statusQuery, type DunningStatus } from '../../contracts/messages';
import { daysFromToday, eventually, invoiceRequest, problemFields, uniqueCustomerId, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

useApiHarness((a) => (h = a));

const customerId = () => uniqueCustomerId('C18H');
const sentTo = (number: string) => h.calls.filter((c) => c.invoiceNumber === number);
const status = (number: string): Promise<DunningStatus> => h.client.workflow.getHandle(workflowIdFor(number)).query(statusQuery);
const terminate = (numbers: string[]) => Promise.all(numbers.map((x) => h.client.workflow.getHandle(workflowIdFor(x)).terminate('test over').catch(() => undefined)));

/** demo-seconds: courtesy 5 s before the due instant, then a reminder every 5 s. */
async function issue(customer: string, o: { dueInMs?: number; dueDate?: string } = {}) {
  const body = invoiceRequest(
    o.dueInMs === undefined ? { dueDate: o.dueDate ?? daysFromToday(30) } : { policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(Date.now() + o.dueInMs).toISOString() },
    { externalId: customer, name: 'Tout Compte SA' },
  );
  const r = await h.request('POST', '/v1/invoices', { body });
  expect(r.status, r.text).toBe(201);
  return body.number;
}
const outcomes = (r: { json: { invoices: Array<{ invoiceNumber: string; outcome: string }> } }) =>
  Object.fromEntries(r.json.invoices.map((i) => [i.invoiceNumber, i.outcome]));

describe('customer-level holds', () => {
  it('a pause holds every running invoice and one issued during it; nothing is sent; resume releases all', async () => {
    const customer = customerId();
    const numbers = [await issue(customer, { dueInMs: 20_000 }), await issue(customer, { dueInMs: 20_000 }), await issue(customer, { dueInMs: 20_000 })];
    const firstDue = Date.now() + 20_000;
    const paused = await h.request('POST', `/v1/customers/${customer}/pause`, { body: { reason: 'rachat en cours' } });
    expect(paused.status, paused.text).toBe(200);
    expect(outcomes(paused)).toEqual(Object.fromEntries(numbers.map((x) => [x, 'applied'])));
    expect(paused.json.hold).toMatchObject({ reason: 'rachat en cours', until: null, by: 'api-tests' });
    for (const x of numbers) expect((await status(x)).holding).toMatchObject({ kind: 'pause', reason: 'rachat en cours' });

    // Issued during the pause: held from its start, with no update sent to it.
    const late = await issue(customer, { dueInMs: 6_000 });
    expect((await eventually(() => status(late), 10_000, 'the new invoice')).holding).toMatchObject({ kind: 'pause', reason: 'rachat en cours' });
    const all = [...numbers, late];

    // Past the courtesy, reminder-1 and reminder-2 instants of all four: nothing went out.
    await new Promise((r) => setTimeout(r, Math.max(0, firstDue + 11_000 - Date.now())));
    expect(all.flatMap(sentTo)).toEqual([]);

    const resumed = await h.request('POST', `/v1/customers/${customer}/resume`, { body: { note: 'rachat conclu' } });
    expect(resumed.status, resumed.text).toBe(200);
    expect(outcomes(resumed)).toEqual(Object.fromEntries(all.map((x) => [x, 'applied'])));
    expect(resumed.json.hold).toBeNull();
    for (const x of all) expect((await status(x)).holding).toBeUndefined();
    await eventually(async () => all.every((x) => sentTo(x).length > 0), 40_000, 'a reminder of each invoice after resume');

    const timeline = (await h.request('GET', `/v1/customers/${customer}/timeline`)).json.entries as Array<{ type: string; invoiceNumber: string | null; detail: Record<string, unknown> }>;
    for (const x of all) expect(timeline.filter((e) => e.invoiceNumber === x).map((e) => e.type)).toEqual(expect.arrayContaining(['paused', 'resumed']));
    const notes = timeline.filter((e) => e.type === 'note' && e.invoiceNumber === null).map((e) => [e.detail.author, e.detail.text]);
    expect(notes).toEqual([
      ['api-tests', 'Customer-level pause (rachat en cours): applied to 3 of 3 open invoice(s)'],
      ['api-tests', 'Customer-level resume (rachat conclu): applied to 4 of 4 open invoice(s)'],
    ]);
    const audit = await h.request('GET', `/v1/audit?targetType=customer&targetId=${customer}`);
    expect(audit.json.items.map((e: { action: string; actor: unknown }) => e.action).sort()).toEqual(['customer.pause', 'customer.resume']);
    await terminate(all);
  }, 150_000);

  it('a customer-level dispute holds the listed invoices, then every open one; an invoice of another customer is refused', async () => {
    const customer = customerId();
    const numbers = [await issue(customer), await issue(customer)];
    const other = await issue(customerId());
    const wrong = await h.request('POST', `/v1/customers/${customer}/disputes`, { body: { reason: 'livraison incomplète', invoiceNumbers: [numbers[0], other] } });
    expect(wrong.status, wrong.text).toBe(422);
    expect(problemFields(wrong)).toEqual(['invoiceNumbers.1']);
    expect((await status(numbers[0])).holding).toBeUndefined();

    const one = await h.request('POST', `/v1/customers/${customer}/disputes`, { body: { reason: 'livraison incomplète', invoiceNumbers: [numbers[1]] } });
    expect(one.status, one.text).toBe(200);
    expect(outcomes(one)).toEqual({ [numbers[1]]: 'applied' });
    expect((await status(numbers[0])).holding).toBeUndefined();
    expect((await status(numbers[1])).holding).toMatchObject({ kind: 'dispute' });

    const every = await h.request('POST', `/v1/customers/${customer}/disputes`, { body: { reason: 'litige global' } });
    expect(every.status, every.text).toBe(200);
    expect(Object.keys(outcomes(every)).sort()).toEqual([...numbers].sort());
    for (const x of numbers) expect((await status(x)).holding).toMatchObject({ kind: 'dispute' });
    await terminate([...numbers, other]);
  }, 90_000);

  it('a promise with an amount covers the oldest due first and holds their reminders until its date', async () => {
    const customer = customerId();
    // Balances 1000.00 each (1200.00 less a 200.00 deposit); due oldest first: a, b, c.
    const a = await issue(customer, { dueInMs: 12_000 });
    const b = await issue(customer, { dueInMs: 13_000 });
    const c = await issue(customer, { dueInMs: 14_000 });
    const promisedDate = new Date(Date.now() + 35_000).toISOString();
    const r = await h.request('POST', `/v1/customers/${customer}/promises`, { body: { promisedDate, amount: '1500.00', note: 'virement annoncé' } });
    expect(r.status, r.text).toBe(200);
    expect(r.json.invoices).toEqual([
      { invoiceNumber: a, outcome: 'applied', amount: '1000.00' },
      { invoiceNumber: b, outcome: 'applied', amount: '500.00' },
      { invoiceNumber: c, outcome: 'not-covered' },
    ]);
    const until = new Date(Date.parse(promisedDate) + 3_000).toISOString();
    expect((await status(a)).holding).toMatchObject({ kind: 'promise', until });
    expect((await status(b)).holding).toMatchObject({ kind: 'promise', until });
    expect((await status(c)).holding).toBeUndefined();

    // The uncovered one goes on (courtesy, reminder-1); the covered ones stay silent until the date.
    await eventually(async () => sentTo(c).some((s) => s.stepId === 'reminder-1'), 40_000, 'reminder-1 of the uncovered invoice');
    expect([...sentTo(a), ...sentTo(b)]).toEqual([]);
    await eventually(async () => sentTo(a).length > 0 && sentTo(b).length > 0, 60_000, 'reminders after the promise');
    for (const x of [a, b]) expect(Math.min(...sentTo(x).map((s) => s.at))).toBeGreaterThanOrEqual(Date.parse(until) - 1_000);
    const audit = await h.request('GET', `/v1/audit?targetType=customer&targetId=${customer}`);
    expect(audit.json.items.map((e: { action: string }) => e.action)).toEqual(['customer.promise']);
    await terminate([a, b, c]);
  }, 150_000);

  it('bad input is a 422 naming the field, refused before anything is sent', async () => {
    const customer = customerId();
    const number = await issue(customer);
    const bad: Array<[string, unknown, string[]]> = [
      ['pause', {}, ['reason']],
      ['pause', { reason: 'x', until: '2020-01-01' }, ['until']],
      ['pause', { reason: 'x', until: 'bientôt' }, ['until']],
      ['disputes', { reason: ' ' }, ['reason']],
      ['disputes', { reason: 'x', invoiceNumbers: ['NOPE'] }, ['invoiceNumbers.0']],
      ['promises', { promisedDate: daysFromToday(10), note: 'x', amount: '-5' }, ['amount']],
      ['promises', { promisedDate: '2020-01-01', note: 'x' }, ['promisedDate']],
      ['promises', { promisedDate: daysFromToday(10) }, ['note']],
    ];
    for (const [path, body, expected] of bad) {
      const r = await h.request('POST', `/v1/customers/${customer}/${path}`, { body });
      expect(r.status, `${path} ${JSON.stringify(body)}: ${r.text}`).toBe(422);
      expect(problemFields(r)).toEqual(expected);
    }
    expect((await status(number)).holding).toBeUndefined();
    expect((await h.prisma.customer.findUnique({ where: { externalId: customer } }))?.holdReason).toBeNull();
    expect((await h.request('GET', `/v1/audit?targetType=customer&targetId=${customer}`)).json.items).toEqual([]);
    expect((await h.request('POST', `/v1/customers/NOBODY-${customer}/pause`, { body: { reason: 'x' } })).status).toBe(404);
    await terminate([number]);
  }, 60_000);
});
