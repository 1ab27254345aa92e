// The customer's account over HTTP against the real database and a real Temporal dev
// server: the statement of account (PDF text extracted with pdf-parse, CSV parsed), the
// payment behaviour and risk class of a seeded history worked out by hand, and a policy
// rule on the risk class.
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflowIdFor } from '../../contracts/ids';
import { statusQuery } from '../../contracts/messages';
import type { PrismaClient } from '../../prisma/client';
import { pdfToText, renderFirstPagePng } from '../channels/support';
import { eventually, invoiceRequest, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;

useApiHarness((a) => (h = a));

const STAMP = Date.now().toString(36).slice(-6);
const CUSTOMER = `ACME-${STAMP}`;
const AS_OF = '2026-11-30';

/**
 * The history of one B2B customer (Europe/Paris), written as the workflows and webhooks
 * would have left it. Amounts in cents.
 *
 * Paid invoices (behaviour), days late = Paris date of the settling payment − due date:
 *   P1 due 01-31, paid 01-28 10:00Z                          → 0 (early);   last reminder before: courtesy (01-28 08:00Z)
 *   P2 due 03-31, paid 04-10 09:00Z                          → 10;          last: reminder-2, listed in the customer's batch
 *                                                              email of 04-09 (after reminder-1 of 04-07, courtesy of 03-28)
 *   P3 due 05-31, 500 on 06-20, 700 on 07-15 22:30Z = 07-16 00:30 Paris (settles 1200)
 *                                                            → 30 + 16 = 46; last: formal-notice (07-01; the plan-confirmed-5
 *                                                              notice of 07-02 is not a calendar step)
 *   P4 due 08-31, paid 09-01 07:00Z                          → 1;           no reminder: none
 *   P5 due 09-30, paid 10-05 09:00Z                          → 5;           last: courtesy (09-27; reminder-1 of 10-07 came
 *                                                              after the payment, a FAILED reminder-1 of 10-02 never reached them)
 *   average = (0 + 10 + 46 + 1 + 5) / 5 = 62 / 5 = 12.4; p90 nearest rank = sorted [0, 1, 5, 10, 46][⌈0.9 × 5⌉ = 5th] = 46
 *   paid after: courtesy 2/5 = 40 %, formal-notice, none, reminder-2 1/5 = 20 % each
 *   promises: 2 made (P2, A-101), 1 broken; plans: 1 agreed (P3), 0 breached
 *   risk class with the defaults (A: avg ≤ 5, p90 ≤ 15, ≥ 3 paid; C: avg ≥ 30, p90 ≥ 60 or ≥ 2 broken): not C
 *   (12.4 < 30, 46 < 60, 1 < 2), not A (12.4 > 5) → B.
 *
 * Open invoices on 2026-11-30 (statement), days late = 11-30 − due date:
 *   A-101 due 07-31, 1500.00, paid 500.00 (09-10)   → balance 1000.00, 31 + 30 + 31 + 30 = 122 days → > 90
 *   A-105 due 09-15,  450.00                        → balance  450.00, 15 + 31 + 30 = 76 days       → 61–90
 *   A-102 due 10-01,  800.00, deposit 200.00        → balance  600.00, 30 + 30 = 60 days            → 31–60
 *   A-103 due 11-14, 2400.00, paid 400.00 (11-20)   → balance 2000.00, 16 days                      → 1–30
 *   A-104 due 12-20,  300.00                        → balance  300.00, not due
 *   totals: amount 5450.00, paid 1100.00, balance 4350.00 = 300 + 2000 + 600 + 450 + 1000.
 *   Not listed: a cancelled invoice, the paid ones, another customer's invoice.
 */
async function seedHistory(prisma: PrismaClient, externalId: string) {
  const customer = await prisma.customer.create({
    data: {
      externalId,
      name: 'ACME Industrie SAS',
      kind: 'B2B',
      country: 'FR',
      language: 'fr',
      timeZone: 'Europe/Paris',
      addressLines: ['8 avenue des Tilleuls'],
      postalCode: '31000',
      city: 'Toulouse',
    },
  });
  const other = await prisma.customer.create({ data: { externalId: `${externalId}-other`, name: 'Autre SARL', kind: 'B2B', country: 'FR' } });
  let seq = 0;
  const invoice = async (
    number: string,
    o: { issue: string; due: string; amount: number; deposit?: number; balance?: number; outcome?: string; customerId?: string },
  ) =>
    prisma.invoice.create({
      data: {
        number: `${STAMP}-${number}`,
        customerId: o.customerId ?? customer.id,
        issueDate: new Date(`${o.issue}T00:00:00Z`),
        dueDate: new Date(`${o.due}T00:00:00Z`),
        amountMinor: BigInt(o.amount),
        depositMinor: BigInt(o.deposit ?? 0),
        currency: 'EUR',
        policyId: 'fr-b2b-default',
        policyVersion: 1,
        workflowId: `seeded-${externalId}-${number}`,
        requestHash: 'seeded',
        stage: o.outcome ?? 'reminder-1',
        balanceMinor: BigInt(o.balance ?? o.amount - (o.deposit ?? 0)),
        outcome: o.outcome ?? null,
        closedAt: o.outcome ? new Date(`${o.due}T12:00:00Z`) : null,
      },
    });
  const pay = (inv: { id: string }, amount: number, at: string) =>
    prisma.payment.create({ data: { invoiceId: inv.id, source: 'bank', externalId: `pay-${externalId}-${++seq}`, amountMinor: BigInt(amount), currency: 'EUR', receivedAt: new Date(at) } });
  const sent = (inv: { id: string; number: string; workflowId: string }, stepId: string, at: string, status: 'SENT' | 'FAILED_PERMANENT' = 'SENT') =>
    prisma.communication.create({
      data: {
        idempotencyKey: `${inv.workflowId}/${stepId}/email/${++seq}`,
        invoiceId: inv.id,
        invoiceNumber: inv.number,
        workflowId: inv.workflowId,
        stepId,
        channel: 'email',
        status,
        sentAt: status === 'SENT' ? new Date(at) : null,
        createdAt: new Date(at),
      },
    });
  const event = (inv: { id: string; number: string; workflowId: string }, type: string, at: string) =>
    prisma.dunningEvent.create({ data: { invoiceId: inv.id, invoiceNumber: inv.number, workflowId: inv.workflowId, eventKey: `${inv.workflowId}/${++seq}`, type, at: new Date(at) } });

  const p1 = await invoice('P1', { issue: '2026-01-01', due: '2026-01-31', amount: 100000, balance: 0, outcome: 'paid' });
  await sent(p1, 'courtesy', '2026-01-28T08:00:00Z');
  await pay(p1, 100000, '2026-01-28T10:00:00Z');
  const p2 = await invoice('P2', { issue: '2026-03-01', due: '2026-03-31', amount: 50000, balance: 0, outcome: 'paid' });
  await sent(p2, 'courtesy', '2026-03-28T08:00:00Z');
  await sent(p2, 'reminder-1', '2026-04-07T08:00:00Z');
  await event(p2, 'promise-to-pay', '2026-04-08T08:00:00Z');
  // The customer's grouped email (issue 18's batches): one communication listing invoices.
  const batch = await prisma.communication.create({
    data: {
      idempotencyKey: `customer-${externalId}/2026-04-09/email`,
      invoiceNumber: `customer-${externalId}`,
      workflowId: `customer-${externalId}`,
      stepId: 'batch-2026-04-09',
      channel: 'email',
      status: 'SENT',
      sentAt: new Date('2026-04-09T07:30:00Z'),
    },
  });
  await prisma.communicationInvoice.create({ data: { communicationId: batch.id, invoiceNumber: p2.number, invoiceId: p2.id, stepId: 'reminder-2', balanceMinor: 50000n } });
  await pay(p2, 50000, '2026-04-10T09:00:00Z');
  const p3 = await invoice('P3', { issue: '2026-05-01', due: '2026-05-31', amount: 120000, balance: 0, outcome: 'paid' });
  await sent(p3, 'reminder-1', '2026-06-07T08:00:00Z');
  await sent(p3, 'reminder-2', '2026-06-15T08:00:00Z');
  await pay(p3, 50000, '2026-06-20T09:00:00Z');
  await sent(p3, 'formal-notice', '2026-07-01T08:00:00Z');
  await event(p3, 'plan-agreed', '2026-07-01T12:00:00Z');
  await sent(p3, 'plan-confirmed-5', '2026-07-02T08:00:00Z');
  await pay(p3, 70000, '2026-07-15T22:30:00Z');
  const p4 = await invoice('P4', { issue: '2026-08-01', due: '2026-08-31', amount: 30000, balance: 0, outcome: 'paid' });
  await pay(p4, 30000, '2026-09-01T07:00:00Z');
  const p5 = await invoice('P5', { issue: '2026-09-01', due: '2026-09-30', amount: 20000, balance: 0, outcome: 'paid' });
  await sent(p5, 'courtesy', '2026-09-27T08:00:00Z');
  await sent(p5, 'reminder-1', '2026-10-02T08:00:00Z', 'FAILED_PERMANENT');
  await pay(p5, 20000, '2026-10-05T09:00:00Z');
  await sent(p5, 'reminder-1', '2026-10-07T08:00:00Z');

  const a101 = await invoice('A-101', { issue: '2026-07-01', due: '2026-07-31', amount: 150000, balance: 100000 });
  await pay(a101, 50000, '2026-09-10T09:00:00Z');
  await event(a101, 'promise-to-pay', '2026-09-01T08:00:00Z');
  await event(a101, 'promise-broken', '2026-09-05T08:00:00Z');
  await invoice('A-105', { issue: '2026-08-16', due: '2026-09-15', amount: 45000 });
  await invoice('A-102', { issue: '2026-09-01', due: '2026-10-01', amount: 80000, deposit: 20000 });
  const a103 = await invoice('A-103', { issue: '2026-10-15', due: '2026-11-14', amount: 240000, balance: 200000 });
  await pay(a103, 40000, '2026-11-20T10:00:00Z');
  await invoice('A-104', { issue: '2026-11-20', due: '2026-12-20', amount: 30000 });
  await invoice('X-CANCELLED', { issue: '2026-06-01', due: '2026-07-01', amount: 99900, outcome: 'cancelled' });
  await invoice('X-OTHER', { issue: '2026-06-01', due: '2026-07-01', amount: 77700, customerId: other.id });
}

beforeAll(async () => {
  await seedHistory(h.prisma, CUSTOMER);
}, 60_000);

const n = (s: string) => `${STAMP}-${s}`;
/** pdf-parse puts table cells apart with tabs or spaces: compare with single spaces. */
const flat = (s: string) => s.replace(/\s+/g, ' ');

describe('statement of account', () => {
  it('the PDF lists the open invoices, the payments, the balance and its aging (fr by default, en on request)', async () => {
    const r = await fetch(`${h.baseUrl}/v1/customers/${CUSTOMER}/statement.pdf?asOf=${AS_OF}`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pdf');
    const pdf = Buffer.from(await r.arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const text = flat(await pdfToText(pdf));
    // For a human to look at; CI installs poppler-utils, so a missing pdftoppm fails here.
    expect(await renderFirstPagePng(pdf, 'statement-of-account-fr'), 'pdftoppm rendered the first page').toBeDefined();
    expect(text).toContain('Relance Démo SAS'); // the creditor's letterhead
    expect(text).toContain('ACME Industrie SAS 8 avenue des Tilleuls 31000 Toulouse');
    expect(text).toContain('Relevé de compte');
    expect(text).toContain(`Situation au 30/11/2026 – Client : ${CUSTOMER}`);
    // One line per open invoice, oldest due first: number, dates, amount, paid, balance, days late.
    expect(text).toContain(`${n('A-101')} 01/07/2026 31/07/2026 1 500,00 € 500,00 € 1 000,00 € 122`);
    expect(text).toContain(`${n('A-105')} 16/08/2026 15/09/2026 450,00 € 0,00 € 450,00 € 76`);
    expect(text).toContain(`${n('A-102')} 01/09/2026 01/10/2026 800,00 € 200,00 € 600,00 € 60`);
    expect(text).toContain(`${n('A-103')} 15/10/2026 14/11/2026 2 400,00 € 400,00 € 2 000,00 € 16`);
    expect(text).toContain(`${n('A-104')} 20/11/2026 20/12/2026 300,00 € 0,00 € 300,00 € 0`);
    const order = ['A-101', 'A-105', 'A-102', 'A-103', 'A-104'].map((x) => text.indexOf(n(x)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text).not.toContain(n('P1'));
    expect(text).not.toContain('X-CANCELLED');
    expect(text).not.toContain('X-OTHER');
    // The payments on these invoices.
    expect(text).toMatch(new RegExp(`10/09/2026 ${n('A-101')} bank pay-${CUSTOMER}-\\d+ 500,00 €`));
    expect(text).toMatch(new RegExp(`20/11/2026 ${n('A-103')} bank pay-${CUSTOMER}-\\d+ 400,00 €`));
    // Balance and aging: not due 300, 1–30 2000, 31–60 600, 61–90 450, > 90 1000; total 4350.
    expect(text).toContain('Solde dû (EUR) : 4 350,00 €');
    expect(text).toContain('EUR 300,00 € 2 000,00 € 600,00 € 450,00 € 1 000,00 € 4 350,00 €');

    const en = await fetch(`${h.baseUrl}/v1/customers/${CUSTOMER}/statement.pdf?asOf=${AS_OF}&lang=en`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    const enText = flat(await pdfToText(Buffer.from(await en.arrayBuffer())));
    expect(enText).toContain('Statement of account');
    expect(enText).toContain(`As of 30 November 2026 – Customer: ${CUSTOMER}`);
    expect(enText).toContain(`${n('A-101')} 1 July 2026 31 July 2026 €1,500.00 €500.00 €1,000.00 122`);
    expect(enText).toContain('Balance due (EUR): €4,350.00');
    expect(enText).toContain('EUR €300.00 €2,000.00 €600.00 €450.00 €1,000.00 €4,350.00');
  });

  it('the CSV has the same figures, one row per invoice, payment and aging bucket', async () => {
    const r = await h.request('GET', `/v1/customers/${CUSTOMER}/statement.csv?asOf=${AS_OF}&lang=en`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const rows: string[][] = parse(r.text, { bom: true });
    expect(rows[0]).toEqual(['Type', 'Invoice number', 'Issue date', 'Due date', 'Currency', 'Amount', 'Paid', 'Balance', 'Days late', 'Aging', 'Payment date', 'Reference']);
    expect(rows.filter((x) => x[0] === 'invoice').map((x) => [x[1], x[5], x[6], x[7], x[8], x[9]])).toEqual([
      [n('A-101'), '1500.00', '500.00', '1000.00', '122', '>90'],
      [n('A-105'), '450.00', '0.00', '450.00', '76', '61-90'],
      [n('A-102'), '800.00', '200.00', '600.00', '60', '31-60'],
      [n('A-103'), '2400.00', '400.00', '2000.00', '16', '1-30'],
      [n('A-104'), '300.00', '0.00', '300.00', '0', 'not due'],
    ]);
    expect(rows.filter((x) => x[0] === 'payment').map((x) => [x[1], x[5], x[10]])).toEqual([
      [n('A-101'), '500.00', '2026-09-10'],
      [n('A-103'), '400.00', '2026-11-20'],
    ]);
    expect(rows.filter((x) => x[0] === 'total').map((x) => [x[5], x[6], x[7], x[9]])).toEqual([
      ['5450.00', '1100.00', '4350.00', ''],
      ['', '', '300.00', 'not due'],
      ['', '', '2000.00', '1-30'],
      ['', '', '600.00', '31-60'],
      ['', '', '450.00', '61-90'],
      ['', '', '1000.00', '>90'],
    ]);
    // fr: semicolons and decimal commas, French headers (the customer's language by default).
    const fr = await h.request('GET', `/v1/customers/${CUSTOMER}/statement.csv?asOf=${AS_OF}`);
    const frRows: string[][] = parse(fr.text, { bom: true, delimiter: ';' });
    expect(frRows[0][1]).toBe('N° de facture');
    expect(frRows[1].slice(0, 2).concat(frRows[1][7])).toEqual(['facture', n('A-101'), '1000,00']);
  });

  it('refuses a bad language or date naming the field; an unknown customer is 404', async () => {
    const bad = await h.request('GET', `/v1/customers/${CUSTOMER}/statement.pdf?lang=de&asOf=2026-02-30`);
    expect(bad.status).toBe(422);
    expect(bad.json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.asOf', 'query.lang']);
    expect((await h.request('GET', '/v1/customers/nobody/statement.csv')).status).toBe(404);
  });
});

describe('payment behaviour and risk class', () => {
  it('matches the history worked out by hand', async () => {
    const r = await h.request('GET', `/v1/customers/${CUSTOMER}/behaviour`);
    expect(r.status, r.text).toBe(200);
    expect(r.json).toMatchObject({
      customerId: CUSTOMER,
      paidInvoices: 5,
      averageDaysLate: 12.4,
      p90DaysLate: 46,
      paidAfterStep: [
        { step: 'courtesy', invoices: 2, sharePercent: 40 },
        { step: 'formal-notice', invoices: 1, sharePercent: 20 },
        { step: 'none', invoices: 1, sharePercent: 20 },
        { step: 'reminder-2', invoices: 1, sharePercent: 20 },
      ],
      promises: { made: 2, broken: 1 },
      plans: { agreed: 1, breached: 0 },
      riskClass: 'B',
    });
    expect(r.json.reasons).toEqual(['average days late 12.4 > 5', 'p90 days late 46 > 15', '1 broken promise(s) or breached plan(s)']);
    expect((await h.request('GET', `/v1/customers/${CUSTOMER}`)).json.riskClass).toBe('B');
  });

  it('a policy rule on the risk class picks the policy of the customer\'s next invoice', async () => {
    const rules = await h.request('PUT', '/v1/policy-rules', { body: { rules: [{ name: 'Slow payers', policyId: 'ten-twenty', match: { riskClass: 'B' } }] } });
    expect(rules.status, rules.text).toBe(200);
    const bad = await h.request('PUT', '/v1/policy-rules', { body: { rules: [{ name: 'x', policyId: 'ten-twenty', match: { riskClass: 'D' } }] } });
    expect(bad.status).toBe(422);
    expect(bad.json.errors[0].field).toBe('rules.0.match.riskClass');
    try {
      const resolved = await h.request('GET', `/v1/policies/resolve?customerId=${CUSTOMER}&audience=B2B&country=FR&currency=EUR&amount=100.00`);
      expect(resolved.json.policy.id).toBe('ten-twenty');
      expect(resolved.json.rule).toMatchObject({ kind: 'rule', name: 'Slow payers', detail: 'rule 1 "Slow payers": risk class B' });
      const issued = await h.request('POST', '/v1/invoices', { body: invoiceRequest({}, { externalId: CUSTOMER, name: 'ACME Industrie SAS' }) });
      expect(issued.status, issued.text).toBe(201);
      expect(issued.json.policy.id).toBe('ten-twenty');
      // A customer not on record has no history, hence no class: the rule does not match.
      const stranger = await h.request('POST', '/v1/invoices', { body: invoiceRequest({}, { externalId: `${CUSTOMER}-new` }) });
      expect(stranger.json.policy.id).toBe('fr-b2b-default');
      for (const num of [issued.json.number, stranger.json.number]) await h.client.workflow.getHandle(workflowIdFor(num)).terminate('test over');
    } finally {
      await h.request('PUT', '/v1/policy-rules', { body: { rules: [] } });
    }
  }, 60_000);
});

describe('insolvency proceedings', () => {
  const INS = `INS-${STAMP}`;
  const representative = { role: 'mandataire', name: 'Jean Dupuis', address: { lines: ['5 allées Jean Jaurès'], postalCode: '31000', city: 'Toulouse', country: 'FR' } };
  const proceedings = { kind: 'redressement', court: 'Tribunal de commerce de Toulouse', judgmentDate: '2026-11-16', bodaccPublicationDate: '2026-11-25', representative };

  it('refuses bad input naming the fields, and writes nothing', async () => {
    const body = invoiceRequest({ number: `${STAMP}-BAD-1` }, { externalId: `${INS}-bad` });
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const shape = await h.request('POST', `/v1/customers/${INS}-bad/insolvency`, {
      body: { kind: 'faillite', court: '', judgmentDate: '2026-13-01', representative: { ...representative, address: { lines: ['x'], postalCode: '1', country: 'FR' } } },
    });
    expect(shape.status).toBe(422);
    expect(shape.json.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'bodaccPublicationDate',
      'court',
      'judgmentDate',
      'kind',
      'representative.address.city',
    ]);
    const facts = await h.request('POST', `/v1/customers/${INS}-bad/insolvency`, {
      body: { ...proceedings, kind: 'liquidation', judgmentDate: '2026-11-20', bodaccPublicationDate: '2026-11-19' },
    });
    expect(facts.status).toBe(422);
    expect(facts.json.errors).toEqual([
      { field: 'bodaccPublicationDate', message: 'must not be before the judgment date' },
      { field: 'representative.role', message: 'must be liquidateur for a liquidation judiciaire' },
    ]);
    const future = await h.request('POST', `/v1/customers/${INS}-bad/insolvency`, { body: { ...proceedings, judgmentDate: '2099-01-01', bodaccPublicationDate: '2099-01-02' } });
    expect(future.json.errors.map((e: { field: string }) => e.field)).toEqual(['judgmentDate', 'bodaccPublicationDate']);
    expect(await h.prisma.insolvencyProceeding.count({ where: { customer: { externalId: `${INS}-bad` } } })).toBe(0);
    expect(await h.prisma.task.count({ where: { customer: { externalId: `${INS}-bad` } } })).toBe(0);
    expect((await h.client.workflow.getHandle(workflowIdFor(body.number)).query(statusQuery)).holding).toBeUndefined();
    expect((await h.request('POST', '/v1/customers/nobody/insolvency', { body: proceedings })).status).toBe(404);
    await h.client.workflow.getHandle(workflowIdFor(body.number)).terminate('test over');
  }, 60_000);

  it('stops every reminder of the customer at once and produces the claim declaration with its deadline task', async () => {
    // The calendar of the demo policy runs from dueAt (a step every 5 s from dueAt − 5 s);
    // the due dates the law counts from are the dueDate fields.
    const dueAt = new Date(Date.now() + 10_000).toISOString();
    const customer = { externalId: INS, name: 'Garonne Logistique SAS', address: { lines: ['2 quai de la Daurade'], postalCode: '31000', city: 'Toulouse', country: 'FR' } };
    const issue = (suffix: string, o: Record<string, unknown>) => invoiceRequest({ number: `${STAMP}-${suffix}`, policyId: 'demo-seconds', dueAt, ...o }, customer);
    const i1 = issue('I1', { issueDate: '2026-06-01', dueDate: '2026-06-30', amount: '1200.00', deposit: '200.00' });
    const i2 = issue('I2', { issueDate: '2026-09-01', dueDate: '2026-10-15', amount: '600.00', deposit: '0' });
    const i3 = issue('I3', { issueDate: '2026-11-10', dueDate: '2026-12-10', amount: '300.00', deposit: '0' });
    for (const body of [i1, i2, i3]) expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const paid = await h.request('POST', `/v1/invoices/${i2.number}/payments`, { body: { amount: '100.00', receivedAt: '2026-10-31T10:00:00Z', reference: `VIR-${STAMP}` } });
    expect(paid.status, paid.text).toBe(201);
    await eventually(async () => (await h.prisma.invoice.findUnique({ where: { number: i2.number } }))?.balanceMinor === 50000n, 20_000, 'the payment journaled');

    // Reminders are flowing: the courtesy emails went out; reminder-1 is due 10 s after them.
    await eventually(
      async () => {
        const done = await Promise.all([i1, i2, i3].map(async (b) => (await h.client.workflow.getHandle(workflowIdFor(b.number)).query(statusQuery)).completedSteps));
        return done.every((steps) => steps.includes('courtesy'));
      },
      30_000,
      'the courtesy emails',
    );
    const recorded = await h.request('POST', `/v1/customers/${INS}/insolvency`, { body: proceedings });
    const answeredAt = Date.now();
    expect(recorded.status, recorded.text).toBe(201);
    expect(recorded.json.holds).toEqual([i1, i2, i3].map((b) => ({ invoiceNumber: b.number, status: 'held' })));
    // Each workflow reports the hold itself.
    for (const b of [i1, i2, i3]) {
      const status = await h.client.workflow.getHandle(workflowIdFor(b.number)).query(statusQuery);
      expect(status.holding).toMatchObject({ kind: 'pause' });
      expect(status.holding?.reason).toContain('insolvency: redressement judiciaire, judgment of 2026-11-16');
      expect(status.holding?.until).toBeUndefined();
    }

    // Interest at ECB 2.15 % (2026-H2) + 10 points = 12.15 %, up to and including the judgment date 2026-11-16:
    //   I1: principal 1200 − 200 = 1000.00, due 06-30: 07-01..11-16 = 31 + 31 + 30 + 31 + 16 = 139 days;
    //       1000.00 × 12.15 % × 139 / 365 = 46.2699 → 46.27; + €40 → 1086.27
    //   I2: due 10-15, 100.00 paid 10-31 (that day still late on 600.00):
    //       10-16..10-31 16 days × 600.00 → 600 × 0.1215 × 16 / 365 = 3.1956 → 3.20
    //       11-01..11-16 16 days × 500.00 → 500 × 0.1215 × 16 / 365 = 2.6630 → 2.66; interest 5.86; + €40 → 545.86
    //   I3: due 12-10, after the judgment: 300.00 not yet due, no interest, no indemnity
    //   total 1800.00 + 52.13 + 80.00 = 1932.13; deadline = BODACC 2026-11-25 + 2 months = 2027-01-25
    expect(recorded.json.claim).toEqual({
      deadline: '2027-01-25',
      lines: [
        { invoiceNumber: i1.number, dueDate: '2026-06-30', notYetDue: false, currency: 'EUR', principal: '1000.00', interest: '46.27', interestMinor: 4627, indemnity: '40.00', total: '1086.27', totalMinor: 108627 },
        { invoiceNumber: i2.number, dueDate: '2026-10-15', notYetDue: false, currency: 'EUR', principal: '500.00', interest: '5.86', interestMinor: 586, indemnity: '40.00', total: '545.86', totalMinor: 54586 },
        { invoiceNumber: i3.number, dueDate: '2026-12-10', notYetDue: true, currency: 'EUR', principal: '300.00', interest: '0.00', interestMinor: 0, indemnity: '0.00', total: '300.00', totalMinor: 30000 },
      ],
      totals: [{ currency: 'EUR', principal: '1800.00', interest: '52.13', indemnity: '80.00', total: '1932.13', totalMinor: 193213 }],
    });
    expect(recorded.json.task).toMatchObject({ kind: 'claim-declaration', dueDate: '2027-01-25', status: 'open' });
    const tasks = await h.request('GET', '/v1/tasks');
    expect(tasks.json.items.find((t: { id: string }) => t.id === recorded.json.task.id)).toMatchObject({ customerId: INS, dueDate: '2027-01-25', title: expect.stringContaining('Jean Dupuis') });

    const r = await fetch(`${h.baseUrl}/v1/customers/${INS}/insolvency/claim.pdf`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(r.status).toBe(200);
    const pdf = Buffer.from(await r.arrayBuffer());
    expect(await renderFirstPagePng(pdf, 'insolvency-claim'), 'pdftoppm rendered the first page').toBeDefined();
    const text = flat(await pdfToText(pdf));
    expect(text).toContain('Maître Jean Dupuis, mandataire judiciaire 5 allées Jean Jaurès 31000 Toulouse');
    expect(text).toContain('Déclaration de créance');
    expect(text).toContain('redressement judiciaire ouverte par jugement du Tribunal de commerce de Toulouse du 16/11/2026, publié au BODACC le 25/11/2026');
    expect(text).toContain('Date limite de déclaration : 25/01/2027');
    expect(text).toContain(`${i1.number} 1 000,00 € 46,27 € 40,00 € 1 086,27 €`);
    expect(text).toContain('Total déclaré (EUR) 1 800,00 € 52,13 € 80,00 € 1 932,13 €');
    expect(text).toContain('du 01/07/2026 au 16/11/2026 (139 jours) : 1 000,00 € × 12,15 % (taux BCE du 2d semestre 2026 : 2,15 % + 10 points, taux provisoire) × 139/365 = 46,27 €');
    expect(text).toContain('Les taux marqués « taux provisoire »');
    expect(text).toContain('du 16/10/2026 au 31/10/2026 (16 jours) : 600,00 € × 12,15 %');
    expect(text).toContain('Règlement partiel reçu le 31/10/2026 : 100,00 €');
    expect(text).toContain('(créance à échoir)');
    expect(text).toContain(`Copie de la facture n°${i1.number} du 01/06/2026 (1 200,00 €, acompte versé 200,00 €)`);

    // No reminder goes out after: the demo calendar has a step every 5 s from dueAt − 5 s (courtesy, reminder-1, reminder-2...).
    await new Promise((res) => setTimeout(res, Math.max(0, Date.parse(dueAt) + 12_000 - Date.now())));
    const mine = new Set([i1.number, i2.number, i3.number]);
    expect(h.calls.filter((c) => mine.has(c.invoiceNumber) && c.at > answeredAt)).toEqual([]);
    for (const b of [i1, i2, i3]) {
      const status = await h.client.workflow.getHandle(workflowIdFor(b.number)).query(statusQuery);
      expect(status.holding?.kind).toBe('pause');
    }
    const timeline = await h.request('GET', `/v1/invoices/${i1.number}/timeline`);
    expect(timeline.json.entries.some((e: { type: string; detail: { reason?: string } }) => e.type === 'paused' && e.detail.reason?.startsWith('insolvency'))).toBe(true);

    // The same record again: idempotent, still held, the same task.
    const again = await h.request('POST', `/v1/customers/${INS}/insolvency`, { body: proceedings });
    expect(again.status).toBe(200);
    expect(again.json.task.id).toBe(recorded.json.task.id);
    expect((await h.request('GET', `/v1/customers/${INS}/insolvency`)).json.claim.totals[0].total).toBe('1932.13');
    const done = await h.request('POST', `/v1/tasks/${recorded.json.task.id}/done`, { body: { note: 'filed by registered letter' } });
    expect(done.json).toMatchObject({ status: 'done', doneBy: 'api-tests' });
    expect((await h.request('POST', `/v1/tasks/${recorded.json.task.id}/done`, { body: {} })).status).toBe(409);
    expect((await h.request('GET', '/v1/tasks')).json.items.some((t: { id: string }) => t.id === recorded.json.task.id)).toBe(false);
    for (const b of [i1, i2, i3]) await h.client.workflow.getHandle(workflowIdFor(b.number)).terminate('test over');
  }, 120_000);
});
