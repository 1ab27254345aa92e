// The statement of account of a customer on demand, as a PDF (documents/statement-pdf.ts)
// or CSV: every open invoice with what was paid and what is left, the payments received on
// them, the balance per currency and its aging as of a date (default: today in the
// customer's time zone). Language: ?lang=fr|en, default the customer's.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { stringify } from 'csv-stringify/sync';
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../config/index';
import { localDate } from '../domain/dates';
import { customerToday, daysLate } from '../domain/overdue';
import type { Language } from '../domain/types';
import { creditorOf } from '../documents/pdf';
import { AGING_BUCKETS, agingBucket, renderStatementPdf, type AgingBucket, type StatementData } from '../documents/statement-pdf';
import type { Customer, PrismaClient } from '../prisma/client';
import { CustomerParams } from './customer-schemas';
import { isoDay, minorToDecimal } from './format';
import { problems } from './problem';
import { defineRoute, problemResponse } from './route';
import { IsoDate } from './schemas';

export const StatementQuery = z.object({
  lang: z.enum(['fr', 'en']).optional().openapi({ description: "Language of the statement; default the customer's (en unless fr)" }),
  asOf: IsoDate.optional().openapi({ description: "Date of the statement (days late and aging); default today in the customer's time zone" }),
});

export const languageOf = (customer: Pick<Customer, 'language'>, lang?: Language): Language => lang ?? (customer.language === 'fr' ? 'fr' : 'en');

export async function loadStatementCustomer(prisma: PrismaClient, externalId: string): Promise<Customer> {
  const c = await prisma.customer.findUnique({ where: { externalId } });
  if (!c) throw problems.notFound(`Customer ${externalId}`);
  return c;
}

export function postalAddressOf(c: Customer) {
  return c.addressLines.length && c.postalCode && c.city ? { lines: c.addressLines, postalCode: c.postalCode, city: c.city, country: c.country } : undefined;
}

export async function statementOf(prisma: PrismaClient, c: Customer, asOf: string): Promise<StatementData> {
  const open = await prisma.invoice.findMany({
    where: { customerId: c.id, closedAt: null, balanceMinor: { gt: 0 }, issueDate: { lte: new Date(`${asOf}T00:00:00Z`) } },
    include: { payments: { orderBy: { receivedAt: 'asc' } } },
    orderBy: [{ dueDate: 'asc' }, { number: 'asc' }],
  });
  const totals = new Map<string, StatementData['totals'][number]>();
  const invoices = open.map((inv) => {
    const late = daysLate(isoDay(inv.dueDate), asOf);
    const line = {
      number: inv.number,
      issueDate: isoDay(inv.issueDate),
      dueDate: isoDay(inv.dueDate),
      currency: inv.currency,
      amountMinor: Number(inv.amountMinor),
      // Deposit, payments and credit notes: what the balance no longer owes.
      paidMinor: Number(inv.amountMinor - inv.balanceMinor),
      balanceMinor: Number(inv.balanceMinor),
      daysLate: late,
    };
    const t = totals.get(inv.currency) ?? {
      currency: inv.currency,
      amountMinor: 0,
      paidMinor: 0,
      balanceMinor: 0,
      aging: Object.fromEntries(AGING_BUCKETS.map((b) => [b, 0])) as Record<AgingBucket, number>,
    };
    t.amountMinor += line.amountMinor;
    t.paidMinor += line.paidMinor;
    t.balanceMinor += line.balanceMinor;
    t.aging[agingBucket(late)] += line.balanceMinor;
    totals.set(inv.currency, t);
    return line;
  });
  const payments = open
    .flatMap((inv) =>
      inv.payments.map((p) => ({
        date: localDate(p.receivedAt.getTime(), c.timeZone),
        invoiceNumber: inv.number,
        currency: p.currency,
        amountMinor: Number(p.amountMinor),
        reference: p.source === 'manual' ? p.externalId : `${p.source} ${p.externalId}`,
      })),
    )
    .sort((a, b) => a.date.localeCompare(b.date) || a.invoiceNumber.localeCompare(b.invoiceNumber));
  return {
    asOf,
    customer: { externalId: c.externalId, name: c.name, address: postalAddressOf(c) },
    invoices,
    payments,
    totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
  };
}

const CSV_LABELS = {
  en: {
    header: ['Type', 'Invoice number', 'Issue date', 'Due date', 'Currency', 'Amount', 'Paid', 'Balance', 'Days late', 'Aging', 'Payment date', 'Reference'],
    invoice: 'invoice',
    payment: 'payment',
    total: 'total',
    aging: { notDue: 'not due', days1to30: '1-30', days31to60: '31-60', days61to90: '61-90', over90: '>90' },
  },
  fr: {
    header: ['Type', 'N° de facture', 'Date de facture', "Date d'échéance", 'Devise', 'Montant', 'Réglé', 'Solde', 'Jours de retard', 'Ancienneté', 'Date du règlement', 'Référence'],
    invoice: 'facture',
    payment: 'règlement',
    total: 'total',
    aging: { notDue: 'non échu', days1to30: '1-30', days31to60: '31-60', days61to90: '61-90', over90: '>90' },
  },
} as const;

/**
 * One row per open invoice, per payment, then per currency one total row and one row per
 * aging bucket (the bucket in "Aging", its balance in "Balance"). Same conventions as the
 * tracking sheet: UTF-8 with BOM, ISO dates; fr: `;` and a decimal comma.
 */
export function statementCsv(s: StatementData, language: Language): string {
  const L = CSV_LABELS[language];
  const dec = (minor: number, cur: string) => (language === 'fr' ? minorToDecimal(minor, cur).replace('.', ',') : minorToDecimal(minor, cur));
  const rows: string[][] = [[...L.header]];
  for (const i of s.invoices) {
    rows.push([L.invoice, i.number, i.issueDate, i.dueDate, i.currency, dec(i.amountMinor, i.currency), dec(i.paidMinor, i.currency), dec(i.balanceMinor, i.currency), String(i.daysLate), L.aging[agingBucket(i.daysLate)], '', '']);
  }
  for (const p of s.payments) rows.push([L.payment, p.invoiceNumber, '', '', p.currency, dec(p.amountMinor, p.currency), '', '', '', '', p.date, p.reference]);
  for (const t of s.totals) {
    rows.push([L.total, '', '', '', t.currency, dec(t.amountMinor, t.currency), dec(t.paidMinor, t.currency), dec(t.balanceMinor, t.currency), '', '', '', '']);
    for (const b of AGING_BUCKETS) rows.push([L.total, '', '', '', t.currency, '', '', dec(t.aging[b], t.currency), '', L.aging[b], '', '']);
  }
  return '\uFEFF' + stringify(rows, { delimiter: language === 'fr' ? ';' : ',', record_delimiter: '\r\n' });
}

export function statementRouter(deps: { prisma: PrismaClient; config: Config }, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma, config } = deps;
  const common = {
    role: 'viewer' as const,
    tags: ['customers'],
    params: CustomerParams,
    query: StatementQuery,
  };
  const prepare = async (customerId: string, query: z.infer<typeof StatementQuery>) => {
    const c = await loadStatementCustomer(prisma, customerId);
    const asOf = query.asOf ?? customerToday(Date.now(), c.timeZone);
    return { c, asOf, language: languageOf(c, query.lang), statement: await statementOf(prisma, c, asOf) };
  };

  defineRoute(router, registry, {
    ...common,
    method: 'get',
    path: '/v1/customers/{customerId}/statement.pdf',
    operationId: 'getCustomerStatementPdf',
    summary: 'Statement of account as a PDF: open invoices, payments, balance and aging (fr or en)',
    responses: {
      200: { description: 'PDF', content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } } },
      404: problemResponse('Unknown customer'),
    },
    handler: async ({ res, params, query }) => {
      const { c, asOf, language, statement } = await prepare(params.customerId, query);
      const pdf = await renderStatementPdf(statement, creditorOf(config), language);
      res.status(200);
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Content-Disposition', `inline; filename="statement-${c.externalId.replace(/[^A-Za-z0-9._-]+/g, '_')}-${asOf}.pdf"`);
      res.end(pdf);
    },
  });

  defineRoute(router, registry, {
    ...common,
    method: 'get',
    path: '/v1/customers/{customerId}/statement.csv',
    operationId: 'getCustomerStatementCsv',
    summary: 'Statement of account as CSV (UTF-8 with BOM; fr: `;` and decimal comma)',
    description:
      'Rows: type invoice (number, dates, amount, paid, balance, days late, aging bucket), type payment (invoice, ' +
      'amount, date, reference), then per currency a total row and one total row per aging bucket.',
    responses: {
      200: { description: 'CSV', content: { 'text/csv': { schema: { type: 'string' } } } },
      404: problemResponse('Unknown customer'),
    },
    handler: async ({ res, params, query }) => {
      const { c, asOf, language, statement } = await prepare(params.customerId, query);
      res.status(200);
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="statement-${c.externalId.replace(/[^A-Za-z0-9._-]+/g, '_')}-${asOf}.csv"`);
      res.end(statementCsv(statement, language));
    },
  });
  return router;
}
