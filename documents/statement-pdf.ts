// The statement of account ("relevé de compte") of one customer as an A4 PDF: creditor
// letterhead, the customer's address in the envelope window, every open invoice (number,
// dates, amount, paid, balance, days late), the payments received on them, the balance per
// currency and its aging, bank details. fr or en. Deterministic bytes for the same input.
import { formatMoney } from '../domain/money';
import type { Language, PostalAddress } from '../domain/types';
import { A4, createA4, ensureRoom, footers, formatDate, letterhead, MARGIN, MM, namedAddressLines, pdfText, toBuffer, type Creditor, type Pdf } from './pdf';

export const AGING_BUCKETS = ['notDue', 'days1to30', 'days31to60', 'days61to90', 'over90'] as const;
export type AgingBucket = (typeof AGING_BUCKETS)[number];

/** The aging bucket of a balance `daysLate` days past its due date (0 or less: not due). */
export function agingBucket(daysLate: number): AgingBucket {
  if (daysLate <= 0) return 'notDue';
  if (daysLate <= 30) return 'days1to30';
  if (daysLate <= 60) return 'days31to60';
  if (daysLate <= 90) return 'days61to90';
  return 'over90';
}

export interface StatementData {
  asOf: string;
  customer: { externalId: string; name: string; address?: PostalAddress };
  invoices: Array<{
    number: string;
    issueDate: string;
    dueDate: string;
    currency: string;
    amountMinor: number;
    paidMinor: number;
    balanceMinor: number;
    daysLate: number;
  }>;
  payments: Array<{ date: string; invoiceNumber: string; currency: string; amountMinor: number; reference: string }>;
  totals: Array<{ currency: string; amountMinor: number; paidMinor: number; balanceMinor: number; aging: Record<AgingBucket, number> }>;
}

export const STATEMENT_LABELS = {
  fr: {
    title: 'Relevé de compte',
    asOf: (d: string) => `Situation au ${d}`,
    customerRef: (id: string) => `Client : ${id}`,
    openInvoices: 'Factures ouvertes',
    invoiceCols: ['Facture', 'Date', 'Échéance', 'Montant', 'Réglé', 'Solde', 'Jours de retard'],
    noInvoice: 'Aucune facture ouverte.',
    payments: 'Règlements reçus sur ces factures',
    paymentCols: ['Date', 'Facture', 'Référence', 'Montant'],
    noPayment: 'Aucun règlement reçu sur ces factures.',
    balance: (cur: string, amount: string) => `Solde dû (${cur}) : ${amount}`,
    aging: 'Ancienneté du solde',
    agingCols: { notDue: 'Non échu', days1to30: '1 à 30 j', days31to60: '31 à 60 j', days61to90: '61 à 90 j', over90: '> 90 j' },
    total: 'Total',
    bank: (iban: string, bic?: string) => `Règlement par virement : IBAN ${iban}${bic ? ` – BIC ${bic}` : ''}`,
    closing: "Sauf erreur ou omission de notre part. Si un règlement a croisé ce relevé, merci de ne pas en tenir compte et de nous communiquer sa référence.",
    page: (i: number, n: number) => `Page ${i}/${n}`,
  },
  en: {
    title: 'Statement of account',
    asOf: (d: string) => `As of ${d}`,
    customerRef: (id: string) => `Customer: ${id}`,
    openInvoices: 'Open invoices',
    invoiceCols: ['Invoice', 'Date', 'Due date', 'Amount', 'Paid', 'Balance', 'Days late'],
    noInvoice: 'No open invoice.',
    payments: 'Payments received on these invoices',
    paymentCols: ['Date', 'Invoice', 'Reference', 'Amount'],
    noPayment: 'No payment received on these invoices.',
    balance: (cur: string, amount: string) => `Balance due (${cur}): ${amount}`,
    aging: 'Aging of the balance',
    agingCols: { notDue: 'Not due', days1to30: '1-30 days', days31to60: '31-60 days', days61to90: '61-90 days', over90: '> 90 days' },
    total: 'Total',
    bank: (iban: string, bic?: string) => `Payment by bank transfer: IBAN ${iban}${bic ? ` – BIC ${bic}` : ''}`,
    closing: 'Errors and omissions excepted. If a payment has crossed this statement, please disregard it and send us its reference.',
    page: (i: number, n: number) => `Page ${i}/${n}`,
  },
} as const;

/** A row of cells in fixed columns; numbers right-aligned. Returns nothing, moves doc.y below the row. */
function row(doc: Pdf, cells: string[], widths: number[], opts: { bold?: boolean; rightFrom: number; size?: number; rule?: boolean }): void {
  ensureRoom(doc, 16);
  const y = doc.y;
  let x = MARGIN;
  doc.font(opts.bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(opts.size ?? 8.5);
  let bottom = y;
  cells.forEach((cell, i) => {
    doc.text(pdfText(cell), x + 2, y, { width: widths[i] - 4, align: i >= opts.rightFrom ? 'right' : 'left' });
    bottom = Math.max(bottom, doc.y);
    x += widths[i];
  });
  doc.y = bottom + 2;
  if (opts.rule ?? true) {
    doc.moveTo(MARGIN, doc.y).lineTo(MARGIN + widths.reduce((a, b) => a + b, 0), doc.y).strokeColor('#cccccc').lineWidth(0.5).stroke();
  }
  doc.y += 3;
}

function heading(doc: Pdf, text: string, width: number): void {
  ensureRoom(doc, 40);
  doc.moveDown(0.6).font('Helvetica-Bold').fontSize(10.5).fillColor('#1a3c6e').text(pdfText(text), MARGIN, doc.y, { width }).fillColor('black');
  doc.moveDown(0.3);
}

export async function renderStatementPdf(data: StatementData, creditor: Creditor, language: Language): Promise<Buffer> {
  const L = STATEMENT_LABELS[language];
  const date = (d: string) => formatDate(d, language);
  const money = (minor: number, currency: string) => formatMoney({ amountMinor: minor, currency }, language);
  const doc = createA4({ title: `${L.title} – ${data.customer.name}`, author: creditor.name, language, date: data.asOf, bufferPages: true });
  const width = A4.width - 2 * MARGIN;

  letterhead(doc, creditor, language);
  doc.font('Helvetica').fontSize(11).text(pdfText(namedAddressLines(data.customer.name, data.customer.address).join('\n')), 110 * MM, 50 * MM, { width: 85 * MM });

  doc.font('Helvetica-Bold').fontSize(16).fillColor('#1a3c6e').text(pdfText(L.title), MARGIN, 95 * MM, { width }).fillColor('black');
  doc.font('Helvetica').fontSize(10).text(pdfText(`${L.asOf(date(data.asOf))} – ${L.customerRef(data.customer.externalId)}`), { width });

  heading(doc, L.openInvoices, width);
  const invoiceWidths = [34, 21, 21, 26, 24, 26, 18].map((w) => w * MM);
  row(doc, [...L.invoiceCols], invoiceWidths, { bold: true, rightFrom: 3 });
  if (data.invoices.length === 0) doc.font('Helvetica').fontSize(9).text(pdfText(L.noInvoice), MARGIN + 2, doc.y, { width });
  for (const i of data.invoices) {
    row(
      doc,
      [i.number, date(i.issueDate), date(i.dueDate), money(i.amountMinor, i.currency), money(i.paidMinor, i.currency), money(i.balanceMinor, i.currency), String(i.daysLate)],
      invoiceWidths,
      { rightFrom: 3 },
    );
  }

  heading(doc, L.payments, width);
  const paymentWidths = [30, 40, 70, 30].map((w) => w * MM);
  if (data.payments.length === 0) doc.font('Helvetica').fontSize(9).text(pdfText(L.noPayment), MARGIN + 2, doc.y, { width });
  else row(doc, [...L.paymentCols], paymentWidths, { bold: true, rightFrom: 3 });
  for (const p of data.payments) row(doc, [date(p.date), p.invoiceNumber, p.reference, money(p.amountMinor, p.currency)], paymentWidths, { rightFrom: 3 });

  const agingWidths = [28, 24, 24, 24, 24, 24, 22].map((w) => w * MM);
  for (const t of data.totals) {
    heading(doc, L.balance(t.currency, money(t.balanceMinor, t.currency)), width);
    row(doc, [L.aging, ...AGING_BUCKETS.map((b) => L.agingCols[b]), L.total], agingWidths, { bold: true, rightFrom: 1 });
    row(doc, [t.currency, ...AGING_BUCKETS.map((b) => money(t.aging[b], t.currency)), money(t.balanceMinor, t.currency)], agingWidths, { rightFrom: 1 });
  }

  doc.moveDown(1);
  ensureRoom(doc, 40);
  if (creditor.iban) doc.font('Helvetica').fontSize(9).text(pdfText(L.bank(creditor.iban, creditor.bic)), MARGIN, doc.y, { width });
  doc.moveDown(0.5).font('Helvetica-Oblique').fontSize(8.5).fillColor('#555555').text(pdfText(L.closing), MARGIN, doc.y, { width }).fillColor('black');
  footers(doc, creditor, L.page);
  return toBuffer(doc);
}
