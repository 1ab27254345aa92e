// The invoice extract attached to reminders from the formal step on: who owes what
// for which invoice, what was paid, what remains, and how to pay. One A4 page.
import { formatMoney } from '../domain/money';
import type { InvoiceSnapshot, Language } from '../domain/types';
import { createA4, namedAddressLines, formatDate, letterhead, MARGIN, MM, pdfText, toBuffer } from './pdf';
import type { Creditor } from './pdf';
import { safeName } from './deps';

export interface InvoiceExtractInput {
  invoice: InvoiceSnapshot;
  balanceMinor: number;
  asOf: string;
  creditor: Creditor;
}

const LABELS = {
  fr: {
    title: (n: string) => `Extrait de facture n°${n}`,
    asOf: (d: string) => `Situation au ${d}`,
    customer: 'Client',
    rows: ['Facture n°', "Date d'émission", "Date d'échéance", 'Montant TTC', 'Acompte versé', 'Règlements reçus depuis', 'Solde restant dû'],
    pay: 'Règlement en ligne :',
    contact: 'Contact :',
  },
  en: {
    title: (n: string) => `Invoice extract ${n}`,
    asOf: (d: string) => `Statement as at ${d}`,
    customer: 'Customer',
    rows: ['Invoice no.', 'Issue date', 'Due date', 'Amount incl. tax', 'Deposit paid', 'Payments received since', 'Balance due'],
    pay: 'Pay online:',
    contact: 'Contact:',
  },
} as const;

export function invoiceExtractFileName(invoice: InvoiceSnapshot): string {
  const safe = safeName(invoice.number);
  return invoice.customer.language === 'fr' ? `extrait-facture-${safe}.pdf` : `invoice-extract-${safe}.pdf`;
}

export async function renderInvoiceExtractPdf(input: InvoiceExtractInput): Promise<Buffer> {
  const { invoice, creditor } = input;
  const language: Language = invoice.customer.language;
  const L = LABELS[language];
  const money = (minor: number) => pdfText(formatMoney({ amountMinor: minor, currency: invoice.currency }, language));
  const doc = createA4({ title: L.title(invoice.number), author: creditor.name, language, date: input.asOf });

  const top = letterhead(doc, creditor, language);
  const customer = invoice.customer;
  doc.font('Helvetica-Bold').fontSize(10).text(L.customer, 110 * MM, MARGIN, { width: 80 * MM });
  doc.font('Helvetica').text(
    pdfText(namedAddressLines(customer.name, customer.address).join('\n')),
    { width: 80 * MM },
  );

  doc.y = Math.max(top, doc.y) + 12 * MM;
  doc.font('Helvetica-Bold').fontSize(16).text(pdfText(L.title(invoice.number)), MARGIN);
  doc.font('Helvetica').fontSize(10).fillColor('#555555').text(L.asOf(formatDate(input.asOf, language))).fillColor('black');
  doc.moveDown(1);

  const paidSince = invoice.amountMinor - invoice.depositMinor - input.balanceMinor;
  const values = [
    invoice.number,
    formatDate(invoice.issueDate, language),
    formatDate(invoice.dueDate, language),
    money(invoice.amountMinor),
    money(invoice.depositMinor),
    money(Math.max(0, paidSince)),
    money(input.balanceMinor),
  ];
  const labelX = MARGIN;
  const valueX = MARGIN + 80 * MM;
  L.rows.forEach((label, i) => {
    const y = doc.y;
    const last = i === L.rows.length - 1;
    doc.font(last ? 'Helvetica-Bold' : 'Helvetica').fontSize(11);
    doc.text(pdfText(label), labelX, y, { width: 78 * MM });
    doc.text(pdfText(values[i]!), valueX, y, { width: 60 * MM, align: 'right' });
    doc.moveTo(labelX, doc.y + 2).lineTo(valueX + 60 * MM, doc.y + 2).strokeColor('#dddddd').stroke();
    doc.y += 6;
  });

  doc.moveDown(2).font('Helvetica').fontSize(10);
  if (invoice.paymentLink) {
    doc.text(pdfText(`${L.pay} ${invoice.paymentLink}`), MARGIN, doc.y, { link: invoice.paymentLink, underline: false });
  }
  const contact = [creditor.email, creditor.phone].filter(Boolean).join(' · ');
  if (contact) doc.text(pdfText(`${L.contact} ${contact}`), MARGIN);
  return toBuffer(doc);
}
