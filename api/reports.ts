// Reports from the Invoice rows (the workflows' journal): aging buckets, DSO, and the
// tracking sheet credit controllers keep in a spreadsheet, as CSV.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { stringify } from 'csv-stringify';
import { Router } from 'express';
import { daysBetween, localDate, utcDate } from '../domain/dates';
import { customerToday, isPastDue } from '../domain/overdue';
import { computePenalties } from '../domain/penalties';
import { getBuiltinPolicy } from '../domain/policy';
import type { RateTables } from '../domain/rates';
import type { DunningPolicy } from '../domain/types';
import { Prisma, type PrismaClient } from '../prisma/client';
import { dayToDate, isoDay, minorToDecimal } from './format';
import { customerTodays, daysLateSql, joinCustomerToday, OPEN_SQL } from './overdue';
import { outcomeOf } from './notes';
import { problems } from './problem';
import { defineRoute, jsonResponse } from './route';
import { AgingQuery, AgingReportSchema, DsoQuery, DsoReportSchema, TrackingSheetQuery } from './schemas';

const num = (v: unknown): number => Number(v ?? 0);

interface AgingRow {
  currency: string;
  invoices: number;
  not_due: bigint | null;
  d1_30: bigint | null;
  d31_60: bigint | null;
  d61_90: bigint | null;
  over90: bigint | null;
  total: bigint | null;
}

/**
 * Open balances by days past due on `asOf`, or, without it, on today in each customer's
 * time zone (domain/overdue.ts: the workflow's and the invoice list's "overdue").
 */
export async function agingReport(prisma: PrismaClient, asOf: string | undefined, nowMs = Date.now()) {
  const todays = asOf === undefined ? await customerTodays(prisma, nowMs) : [];
  if (asOf === undefined && todays.length === 0) return { asOf: null, currencies: [] };
  const on = asOf === undefined ? Prisma.sql`t."today"` : Prisma.sql`${dayToDate(asOf)}::date`;
  const late = daysLateSql(on);
  const rows = await prisma.$queryRaw<AgingRow[]>`
    SELECT i."currency",
      COUNT(*)::int AS "invoices",
      SUM(CASE WHEN ${late} = 0 THEN i."balanceMinor" ELSE 0 END) AS "not_due",
      SUM(CASE WHEN ${late} BETWEEN 1 AND 30 THEN i."balanceMinor" ELSE 0 END) AS "d1_30",
      SUM(CASE WHEN ${late} BETWEEN 31 AND 60 THEN i."balanceMinor" ELSE 0 END) AS "d31_60",
      SUM(CASE WHEN ${late} BETWEEN 61 AND 90 THEN i."balanceMinor" ELSE 0 END) AS "d61_90",
      SUM(CASE WHEN ${late} > 90 THEN i."balanceMinor" ELSE 0 END) AS "over90",
      SUM(i."balanceMinor") AS "total"
    FROM "Invoice" i ${asOf === undefined ? joinCustomerToday(todays) : Prisma.empty}
    WHERE ${OPEN_SQL} AND i."issueDate" <= ${on}
    GROUP BY i."currency" ORDER BY i."currency"`;
  return {
    asOf: asOf ?? null,
    currencies: rows.map((r) => ({
      currency: r.currency.trim(),
      invoices: num(r.invoices),
      notDue: num(r.not_due),
      days1to30: num(r.d1_30),
      days31to60: num(r.d31_60),
      days61to90: num(r.d61_90),
      over90: num(r.over90),
      total: num(r.total),
    })),
  };
}

interface DsoRow {
  currency: string;
  sales: bigint | null;
  receivables: bigint | null;
}

/**
 * DSO = receivables at the end of the period / credit sales of the period × days.
 * Receivables at `to` are rebuilt from the journal: amount − deposit − payments received
 * by the end of `to`, over invoices issued by then and not cancelled or written off by then.
 */
export async function dsoReport(prisma: PrismaClient, from: string, to: string) {
  const days = daysBetween(from, to) + 1;
  const start = dayToDate(from);
  const end = dayToDate(to);
  const rows = await prisma.$queryRaw<DsoRow[]>`
    SELECT i."currency",
      SUM(CASE WHEN i."issueDate" >= ${start}::date THEN i."amountMinor" ELSE 0 END) AS "sales",
      SUM(GREATEST(i."amountMinor" - i."depositMinor" - COALESCE(p."paid", 0), 0)) AS "receivables"
    FROM "Invoice" i
    LEFT JOIN (
      SELECT "invoiceId", SUM("amountMinor") AS "paid" FROM "Payment"
      WHERE "receivedAt" < (${end}::date + 1) GROUP BY "invoiceId"
    ) p ON p."invoiceId" = i."id"
    WHERE i."issueDate" <= ${end}::date
      AND NOT (i."closedAt" IS NOT NULL AND i."closedAt" < (${end}::date + 1)
               AND i."outcome" IN ('cancelled', 'written-off', 'agency-unrecoverable'))
    GROUP BY i."currency" ORDER BY i."currency"`;
  return {
    from,
    to,
    days,
    method: 'receivables at end of period / credit sales of the period × days in the period',
    currencies: rows.map((r) => {
      const sales = num(r.sales);
      const receivables = num(r.receivables);
      return {
        currency: r.currency.trim(),
        creditSalesMinor: sales,
        receivablesMinor: receivables,
        dso: sales > 0 ? Math.round((receivables / sales) * days * 10) / 10 : null,
      };
    }),
  };
}

// ---------------------------------------------------------------- tracking sheet

const HEADERS = {
  en: ['Client', 'Invoice number', 'Invoice date', 'Due date', 'Amount', 'Deposit', 'Surcharge', 'Reminders', 'Reminder dates', 'Payment state', 'Currency', 'Notes and calls'],
  fr: ['Client', 'N° de facture', 'Date de facture', "Date d'échéance", 'Montant', 'Acompte', 'Majoration', 'Nombre de relances', 'Dates des relances', 'État du paiement', 'Devise', 'Notes et appels'],
};
const STATES = {
  en: { paid: 'paid', partial: 'partially paid', overdue: 'overdue', notDue: 'not due' },
  fr: { paid: 'payée', partial: 'partiellement payée', overdue: 'en retard', notDue: 'non échue' },
};
/** Channels that are reminders to the customer (not an agency handover or a phone task). */
const REMINDER_CHANNELS = new Set(['email', 'sms', 'letter']);

type SheetInvoice = Prisma.InvoiceGetPayload<{
  include: {
    customer: { select: { name: true; kind: true; timeZone: true } };
    payments: { select: { amountMinor: true; receivedAt: true } };
    communications: { select: { stepId: true; channel: true; sentAt: true; createdAt: true } };
    events: { select: { data: true } };
    notes: { select: { text: true; createdAt: true } };
    callOutcomes: { select: { outcome: true; text: true; promisedDate: true; createdAt: true } };
  };
}>;

/** The journal event the workflow writes when a formal notice gets its date (posting or dispatch). */
export const NOTICE_DATED_EVENT = 'formal-notice-dated';

/** "2026-12-03 note: …" and "2026-12-04 call promised 2026-12-20: …", oldest first, one cell; dated in the customer's zone. */
function notesCell(inv: Pick<SheetInvoice, 'notes' | 'callOutcomes' | 'customer'>): string {
  const day = (at: Date) => localDate(at, inv.customer.timeZone);
  const lines = [
    ...inv.notes.map((n) => ({ at: n.createdAt, text: `${day(n.createdAt)} note: ${n.text}` })),
    ...inv.callOutcomes.map((c) => ({
      at: c.createdAt,
      text: `${day(c.createdAt)} call ${outcomeOf(c.outcome)}${c.promisedDate ? ` ${isoDay(c.promisedDate)}` : ''}${c.text ? `: ${c.text}` : ''}`,
    })),
  ];
  return lines
    .sort((a, b) => a.at.getTime() - b.at.getTime())
    .map((l) => l.text)
    .join(' | ');
}

function policyFor(cache: Map<string, DunningPolicy | null>, id: string): DunningPolicy | null {
  if (!cache.has(id)) {
    try {
      cache.set(id, getBuiltinPolicy(id));
    } catch {
      cache.set(id, null);
    }
  }
  return cache.get(id) ?? null;
}

/** One row of the sheet; `nowMs` is read as today in the invoice's customer's time zone. */
export function trackingRow(inv: SheetInvoice, policy: DunningPolicy | null, locale: 'en' | 'fr', nowMs: number, rates: RateTables): string[] {
  const today = customerToday(nowMs, inv.customer.timeZone);
  // Instants (sends, payments, closing) are dated in the customer's zone, as the workflow dates them.
  const local = (at: Date) => localDate(at, inv.customer.timeZone);
  const cur = inv.currency;
  const dec = (minor: number | bigint) => {
    const s = minorToDecimal(minor, cur);
    return locale === 'fr' ? s.replace('.', ',') : s;
  };
  const due = isoDay(inv.dueDate);
  const balance = Number(inv.balanceMinor);
  const principal = Number(inv.amountMinor - inv.depositMinor);
  // Reminders: policy steps with at least one SENT communication on a customer channel;
  // one reminder per step (an email and an SMS of one step are one reminder), dated by its first send.
  const stepIds = new Set(policy?.steps.map((s) => s.id) ?? []);
  const firstSend = new Map<string, string>();
  for (const c of inv.communications) {
    if (!stepIds.has(c.stepId) || !REMINDER_CHANNELS.has(c.channel)) continue;
    const day = local(c.sentAt ?? c.createdAt);
    const known = firstSend.get(c.stepId);
    if (!known || day < known) firstSend.set(c.stepId, day);
  }
  const reminderDates = [...firstSend.values()].sort();
  let surcharge = '';
  if (policy && policy.penalties.mode !== 'none') {
    const asOf = inv.closedAt ? local(inv.closedAt) : today;
    try {
      const p = computePenalties({
        terms: policy.penalties,
        audience: inv.customer.kind,
        rates,
        formalNoticeDate: noticeDateOf(inv),
        currency: cur,
        dueDate: due,
        asOf: isPastDue(due, asOf) ? asOf : due,
        principalMinor: principal,
        payments: inv.payments.map((x) => ({ date: local(x.receivedAt), amountMinor: Number(x.amountMinor) })),
      });
      surcharge = dec(p.totalMinor);
    } catch {
      surcharge = '';
    }
  }
  const s = STATES[locale];
  const state = ['paid', 'agency-recovered'].includes(inv.outcome ?? '') || balance <= 0
    ? s.paid
    : inv.outcome
      ? inv.outcome
      : balance < principal
        ? s.partial
        : isPastDue(due, today)
          ? s.overdue
          : s.notDue;
  return [
    inv.customer.name,
    inv.number,
    isoDay(inv.issueDate),
    due,
    dec(inv.amountMinor),
    dec(inv.depositMinor),
    surcharge,
    String(reminderDates.length),
    reminderDates.join(' '),
    state,
    cur,
    notesCell(inv),
  ];
}

/** A consumer's interest runs from the formal notice: its date from the journal, if any. */
function noticeDateOf(inv: SheetInvoice): string | undefined {
  const dates = inv.events
    .map((e) => (e.data as { date?: unknown } | null)?.date)
    .filter((d): d is string => typeof d === 'string')
    .sort();
  return dates[0];
}

export function reportsRouter(deps: { prisma: PrismaClient; config: { rateTables: RateTables } }, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma } = deps;
  const tags = ['reports'];

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/reports/aging',
    operationId: 'agingReport',
    role: 'viewer',
    summary: 'Open balances by days past due (not due, 1–30, 31–60, 61–90, >90), per currency, minor units',
    tags,
    query: AgingQuery,
    responses: { 200: jsonResponse('Aging buckets', AgingReportSchema) },
    handler: async ({ res, query }) => {
      res.json(await agingReport(prisma, query.asOf));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/reports/dso',
    operationId: 'dsoReport',
    role: 'viewer',
    summary: 'Days sales outstanding over a period, per currency',
    tags,
    query: DsoQuery,
    responses: { 200: jsonResponse('DSO', DsoReportSchema) },
    handler: async ({ res, query }) => {
      if (query.to < query.from) throw problems.field('query.to', 'must not be before from');
      res.json(await dsoReport(prisma, query.from, query.to));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/reports/tracking-sheet.csv',
    operationId: 'trackingSheet',
    role: 'viewer',
    summary: 'The tracking sheet: one row per invoice, chronological (CSV, UTF-8 with BOM)',
    description:
      'Columns: client, invoice number, invoice date, due date, amount, deposit, surcharge (penalties and ' +
      'indemnity as of today, or as of closing), number of reminders (policy steps sent by email, SMS or letter; ' +
      'one per step), reminder dates (YYYY-MM-DD, space-separated), payment state, currency, the notes and call ' +
      'outcomes staff recorded on the invoice (dated, oldest first, `|`-separated). Dates are ISO ' +
      '(spreadsheets read them as dates); locale=fr uses `;` and a decimal comma as French Excel expects.',
    tags,
    query: TrackingSheetQuery,
    responses: {
      200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } },
    },
    handler: async ({ res, query }) => {
      const locale = query.locale;
      const now = Date.now();
      const policies = new Map<string, DunningPolicy | null>();
      const csv = stringify({ delimiter: locale === 'fr' ? ';' : ',', record_delimiter: '\r\n' });
      res.status(200);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="tracking-sheet-${utcDate(now)}.csv"`);
      res.write('\uFEFF');
      csv.pipe(res);
      csv.write(HEADERS[locale]);
      let cursor: string | undefined;
      for (;;) {
        const batch: SheetInvoice[] = await prisma.invoice.findMany({
          orderBy: [{ issueDate: 'asc' }, { number: 'asc' }],
          take: 500,
          ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
          include: {
            customer: { select: { name: true, kind: true, timeZone: true } },
            payments: { select: { amountMinor: true, receivedAt: true } },
            events: { where: { type: NOTICE_DATED_EVENT }, select: { data: true } },
            communications: { where: { status: 'SENT' }, select: { stepId: true, channel: true, sentAt: true, createdAt: true } },
            notes: { select: { text: true, createdAt: true } },
            callOutcomes: { select: { outcome: true, text: true, promisedDate: true, createdAt: true } },
          },
        });
        for (const inv of batch) {
          if (!csv.write(trackingRow(inv, policyFor(policies, inv.policyId), locale, now, deps.config.rateTables))) {
            await new Promise((r) => csv.once('drain', r));
          }
        }
        if (batch.length < 500) break;
        cursor = batch[batch.length - 1].id;
      }
      csv.end();
      await new Promise((r) => res.once('finish', r));
    },
  });
  return router;
}
