// Reports over HTTP: aging, DSO and the tracking-sheet CSV, read back and checked. No
// worker runs here, so the Invoice rows keep exactly what the API wrote (plus what the
// test writes in place of the workflow's journal and channel activities).
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { utcDate } from '../../domain/dates';
import { customerToday, isOverdue } from '../../domain/overdue';
import { daysFromToday, invoiceRequest, useApiHarness, type ApiHarness } from './harness';

let h: ApiHarness;
const issued: Record<string, { number: string; amount: string; deposit: string }> = {};

async function issue(key: string, overrides: Record<string, unknown>, customer: Record<string, unknown> = {}) {
  const body = invoiceRequest(overrides, customer);
  const r = await h.request('POST', '/v1/invoices', { body });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  issued[key] = { number: body.number, amount: body.amount as string, deposit: body.deposit as string };
}

useApiHarness((a) => (h = a), { workers: false, config: { API_TEMPORAL_TIMEOUT_MS: '500' } });
beforeAll(async () => {
  const due = (days: number) => ({ issueDate: daysFromToday(days - 30), dueDate: daysFromToday(days) });
  await issue('notDue', { ...due(5), amount: '100.00', deposit: '0' }, { externalId: 'R-A', name: 'Alpha' });
  await issue('d10', { ...due(-10), amount: '200.00', deposit: '50.00' }, { externalId: 'R-B', name: 'Bêta; "quotes"' });
  await issue('d45', { ...due(-45), amount: '300.00', deposit: '0' }, { externalId: 'R-C', name: 'Gamma' });
  await issue('d75', { ...due(-75), amount: '400.00', deposit: '0' }, { externalId: 'R-C', name: 'Gamma' });
  await issue('d120', { ...due(-120), amount: '500.00', deposit: '0' }, { externalId: 'R-D', name: 'Delta' });
  await issue('usd', { ...due(-20), amount: '70.00', deposit: '0', currency: 'USD' }, { externalId: 'R-E', name: 'Echo' });
}, 120_000);

describe('GET /v1/reports/aging', () => {
  it('buckets open balances by days past due, per currency', async () => {
    const r = await h.request('GET', '/v1/reports/aging');
    expect(r.status).toBe(200);
    expect(r.json.currencies).toEqual([
      { currency: 'EUR', invoices: 5, notDue: 10000, days1to30: 15000, days31to60: 30000, days61to90: 40000, over90: 50000, total: 145000 },
      { currency: 'USD', invoices: 1, notDue: 0, days1to30: 7000, days31to60: 0, days61to90: 0, over90: 0, total: 7000 },
    ]);
    const earlier = await h.request('GET', `/v1/reports/aging?asOf=${daysFromToday(-100)}`);
    // 100 days ago d75 was not due yet and d120 was 20 days late; the others were not issued.
    expect(earlier.json.currencies).toEqual([
      { currency: 'EUR', invoices: 2, notDue: 40000, days1to30: 50000, days31to60: 0, days61to90: 0, over90: 0, total: 90000 },
    ]);
    expect((await h.request('GET', '/v1/reports/aging?asOf=2026-02-30')).status).toBe(422);
  });
});

describe('GET /v1/reports/dso', () => {
  it('divides the receivables at the end by the sales of the period', async () => {
    const from = daysFromToday(-60);
    const to = daysFromToday(0);
    const r = await h.request('GET', `/v1/reports/dso?from=${from}&to=${to}`);
    expect(r.status).toBe(200);
    const eur = r.json.currencies.find((c: { currency: string }) => c.currency === 'EUR');
    // Issued in the period: notDue (−25), d10 (−40); d45 was issued at −75, out of the period.
    expect(eur.creditSalesMinor).toBe(30000);
    expect(eur.receivablesMinor).toBe(145000);
    expect(r.json.days).toBe(61);
    expect(eur.dso).toBeCloseTo((145000 / 30000) * 61, 1);
    expect((await h.request('GET', `/v1/reports/dso?from=${to}&to=${from}`)).status).toBe(422);
    expect((await h.request('GET', '/v1/reports/dso')).json.errors.map((e: { field: string }) => e.field).sort()).toEqual(['query.from', 'query.to']);
  });
});

describe('GET /v1/reports/tracking-sheet.csv', () => {
  it('exports one row per invoice, UTF-8 with BOM, that parses back', async () => {
    // What the channel activities and the journal would have written for d45.
    const inv = await h.prisma.invoice.findUniqueOrThrow({ where: { number: issued.d45.number } });
    const sent = (stepId: string, channel: string, day: number, status: 'SENT' | 'FAILED_PERMANENT' = 'SENT') =>
      h.prisma.communication.create({
        data: {
          idempotencyKey: `${inv.workflowId}/${stepId}/${channel}`,
          invoiceId: inv.id,
          invoiceNumber: inv.number,
          workflowId: inv.workflowId,
          stepId,
          channel,
          status,
          sentAt: new Date(`${daysFromToday(day)}T10:00:00Z`),
        },
      });
    await sent('reminder-1', 'email', -38);
    await sent('reminder-2', 'email', -30);
    await sent('reminder-2', 'sms', -30);
    await sent('formal-notice', 'letter', -15, 'FAILED_PERMANENT');
    await sent('receipt', 'email', -1);
    const pay = await h.request('POST', `/v1/invoices/${inv.number}/payments`, { body: { amount: '100.00', reference: 'CHQ-7', receivedAt: `${daysFromToday(-5)}T12:00:00Z` } });
    expect(pay.status).toBe(201);
    await h.prisma.invoice.update({ where: { id: inv.id }, data: { balanceMinor: 20000n } });

    const r = await h.request('GET', '/v1/reports/tracking-sheet.csv');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(r.headers.get('content-disposition')).toMatch(/attachment; filename="tracking-sheet-/);
    expect(r.text.charCodeAt(0)).toBe(0xfeff);
    const rows: string[][] = parse(r.text, { bom: true });
    expect(rows[0]).toEqual(['Client', 'Invoice number', 'Invoice date', 'Due date', 'Amount', 'Deposit', 'Surcharge', 'Reminders', 'Reminder dates', 'Payment state', 'Currency', 'Notes and calls']);
    expect(rows).toHaveLength(7);
    // Chronological by invoice date.
    const dates = rows.slice(1).map((row) => row[2]);
    expect(dates).toEqual([...dates].sort());
    const byNumber = new Map(rows.slice(1).map((row) => [row[1], row]));

    const d45 = byNumber.get(issued.d45.number)!;
    expect(d45.slice(0, 6)).toEqual(['Gamma', issued.d45.number, daysFromToday(-75), daysFromToday(-45), '300.00', '0.00']);
    expect(Number(d45[6])).toBeGreaterThan(40); // interest + the €40 indemnity
    expect(d45[7]).toBe('2');
    expect(d45[8]).toBe(`${daysFromToday(-38)} ${daysFromToday(-30)}`);
    expect(d45[9]).toBe('partially paid');
    expect(d45[10]).toBe('EUR');

    const d10 = byNumber.get(issued.d10.number)!;
    expect(d10[0]).toBe('Bêta; "quotes"');
    expect(d10.slice(4, 6)).toEqual(['200.00', '50.00']);
    expect(d10[7]).toBe('0');
    expect(d10[9]).toBe('overdue');
    const notDue = byNumber.get(issued.notDue.number)!;
    expect(notDue[6]).toBe('0.00');
    expect(notDue[9]).toBe('not due');

    const fr = await h.request('GET', '/v1/reports/tracking-sheet.csv?locale=fr');
    const frRows: string[][] = parse(fr.text, { bom: true, delimiter: ';' });
    expect(frRows[0][1]).toBe('N° de facture');
    const frD45 = frRows.find((row) => row[1] === issued.d45.number)!;
    expect(frD45[4]).toBe('300,00');
    expect(frD45[9]).toBe('partiellement payée');
  });
});

describe("overdue in the customer's time zone (domain/overdue.ts), the list filter and the reports alike", () => {
  // Pacific/Kiritimati (UTC+14) is on the day after UTC from 10:00 UTC, Pacific/Pago_Pago
  // (UTC−11) on the day before until 11:00 UTC: at any instant one of them differs from UTC,
  // so a UTC "today" (the old list filter and reports) lists some of these wrongly.
  const zones = { 'R-KIR': 'Pacific/Kiritimati', 'R-PPG': 'Pacific/Pago_Pago' } as const;
  const mine: Array<{ number: string; customer: keyof typeof zones; dueDate: string }> = [];

  beforeAll(async () => {
    for (const customer of Object.keys(zones) as Array<keyof typeof zones>) {
      for (let d = -2; d <= 2; d += 1) {
        const body = invoiceRequest(
          { issueDate: daysFromToday(-30), dueDate: daysFromToday(d), amount: '100.00', deposit: '0', currency: 'GBP' },
          { externalId: customer, name: customer, timeZone: zones[customer] },
        );
        const r = await h.request('POST', '/v1/invoices', { body });
        expect(r.status, JSON.stringify(r.json)).toBe(201);
        mine.push({ number: body.number, customer, dueDate: body.dueDate });
      }
    }
  }, 60_000);

  const overdueNow = (nowMs: number) =>
    mine
      .filter((i) => isOverdue({ dueDate: i.dueDate, closed: false, balanceMinor: 1 }, customerToday(nowMs, zones[i.customer])))
      .map((i) => i.number)
      .sort();

  /** `read` at an instant where the expected set is the same before and after it (a midnight may pass in between). */
  async function stable<T>(read: () => Promise<T>): Promise<{ got: T; expected: string[]; nowMs: number }> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const before = Date.now();
      const got = await read();
      const expected = overdueNow(before);
      if (JSON.stringify(expected) === JSON.stringify(overdueNow(Date.now()))) return { got, expected, nowMs: before };
    }
    throw new Error('a local midnight passed during each of three reads');
  }

  it('GET /v1/invoices?overdue= lists what the workflow counts as overdue, not what UTC says', async () => {
    const { got, expected, nowMs } = await stable(async () => {
      const out: string[] = [];
      const rest: string[] = [];
      for (const customer of Object.keys(zones)) {
        out.push(...(await h.request('GET', `/v1/invoices?customer=${customer}&overdue=true`)).json.items.map((i: { number: string }) => i.number));
        rest.push(...(await h.request('GET', `/v1/invoices?customer=${customer}&overdue=false`)).json.items.map((i: { number: string }) => i.number));
      }
      return { overdue: out.sort(), rest: rest.sort() };
    });
    expect(got.overdue).toEqual(expected);
    expect(got.rest).toEqual(mine.map((i) => i.number).filter((n) => !expected.includes(n)).sort());
    // The test tells the rules apart: due before the UTC date would be another list.
    const utcToday = utcDate(nowMs);
    expect(mine.filter((i) => i.dueDate < utcToday).map((i) => i.number).sort()).not.toEqual(expected);
  });

  it("aging and the tracking sheet count days past due from each customer's today", async () => {
    const { got, expected } = await stable(async () => (await h.request('GET', '/v1/reports/aging')).json);
    expect(got.asOf).toBeNull();
    expect(got.currencies.find((c: { currency: string }) => c.currency === 'GBP')).toEqual({
      currency: 'GBP',
      invoices: 10,
      notDue: (10 - expected.length) * 10000,
      days1to30: expected.length * 10000,
      days31to60: 0,
      days61to90: 0,
      over90: 0,
      total: 100000,
    });
    // A reminder sent at noon UTC is the next day in Kiritimati; one at 05:00 UTC the day before in Pago Pago.
    const sentAt = { 'R-KIR': '2026-11-20T12:00:00Z', 'R-PPG': '2026-11-20T05:00:00Z' } as const;
    const reminded = (Object.keys(zones) as Array<keyof typeof zones>).map((customer) => mine.find((i) => i.customer === customer)!);
    for (const i of reminded) {
      const inv = await h.prisma.invoice.findUniqueOrThrow({ where: { number: i.number } });
      await h.prisma.communication.create({
        data: { idempotencyKey: `${inv.workflowId}/reminder-1/email`, invoiceId: inv.id, invoiceNumber: inv.number, workflowId: inv.workflowId, stepId: 'reminder-1', channel: 'email', status: 'SENT', sentAt: new Date(sentAt[i.customer]) },
      });
    }
    const sheet = await stable(async () => parse((await h.request('GET', '/v1/reports/tracking-sheet.csv')).text, { bom: true }) as string[][]);
    const gbp = sheet.got.filter((row) => row[10] === 'GBP');
    const states = Object.fromEntries(gbp.map((row) => [row[1], row[9]]));
    expect(states).toEqual(Object.fromEntries(mine.map((i) => [i.number, sheet.expected.includes(i.number) ? 'overdue' : 'not due'])));
    const reminderDates = Object.fromEntries(gbp.filter((row) => row[7] !== '0').map((row) => [row[1], row[8]]));
    expect(reminderDates).toEqual({ [reminded[0].number]: '2026-11-21', [reminded[1].number]: '2026-11-19' });
  });
});
