// The formal notice ("mise en demeure") as an A4 PDF: creditor letterhead, the debtor's
// address where a French DL windowed envelope shows it (right-hand window, ~110 mm from
// the left, ~50 mm from the top), place and date, "Lettre recommandée avec accusé de
// réception" only when a registered-mail provider sends it (creditor.registeredMail; an
// outbox letter is a draft posted by hand and must not claim it), references, subject, the
// body from the domain templates' 'letter' channel (original amount and payments, interest
// lines with their rate basis, €40 for businesses, the policy's deadline, consequences), a
// statement of account, bank details, the legal mentions and a signature block.
import { formatMoney } from '../domain/money';
import type { InvoiceSnapshot, Language } from '../domain/types';
import type { SendInput } from './types';
import { A4, createA4, ensureRoom, footers, namedAddressLines, formatDate, letterhead, MARGIN, MM, pdfText, toBuffer } from './pdf';
import type { Creditor, Pdf } from './pdf';
import { renderFor } from './deps';

/** The send's own fields (asOf: the date of the letter; without a deadline the template's is asOf + 8 days), and the letter's. */
export interface LetterInput extends Pick<SendInput, 'templateId' | 'invoice' | 'balanceMinor' | 'penalties' | 'asOf' | 'deadline' | 'payments'> {
  /** The body already rendered (a policy's own template); else the built-in pack's. */
  rendered?: { subject: string; text: string };
  creditor: Creditor;
  /** Name and title above the signature line. */
  signatory: string;
  /** Our reference printed on the letter (the idempotency key). */
  reference: string;
  /**
   * The customer's other open invoices on the letter's date (issue 18): listed after this
   * invoice's account as a statement of account, with their total. The letter stays about one
   * invoice; the others are information, not part of its demand.
   */
  otherOpen?: OtherOpenInvoice[];
}

export interface OtherOpenInvoice {
  number: string;
  dueDate: string;
  currency: string;
  balanceMinor: number;
  daysLate: number;
}

export interface RenderedLetter {
  pdf: Buffer;
  subject: string;
  /** The letter's body text, as logged. */
  text: string;
}

/** Where the address block sits: the window of a French DL envelope (right-hand side). */
export const ADDRESS_WINDOW = { x: 110 * MM, y: 50 * MM, width: 85 * MM, height: 35 * MM };

const LABELS = {
  fr: {
    registered: 'LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION',
    madeAt: (place: string, date: string) => `Fait à ${place}, le ${date}`,
    yourRef: (id: string) => `Vos références : client ${id}`,
    ourRef: (n: string, ref: string) => `Nos références : facture n°${n} – ${ref}`,
    subject: 'Objet : ',
    statement: 'Décompte des sommes dues',
    others: 'Relevé de compte : vos autres factures restant dues',
    otherLine: (n: string, due: string, late: number) => `Facture n°${n}, échéance ${due}${late > 0 ? `, ${late} jour${late > 1 ? 's' : ''} de retard` : ', non échue'}`,
    othersTotal: 'Total de vos autres factures restant dues',
    accountTotal: 'Total de votre compte, cette facture comprise',
    invoiceTotal: (n: string, d: string) => `Facture n°${n} du ${d}`,
    deposit: 'Acompte versé',
    payment: (d: string) => `Règlement reçu le ${d}`,
    principal: (n: string) => `Solde restant dû sur la facture n°${n}`,
    bank: (iban: string, bic?: string) => `Coordonnées bancaires : IBAN ${iban}${bic ? ` – BIC ${bic}` : ''}`,
    interest: 'Pénalités de retard',
    indemnity: 'Indemnité forfaitaire pour frais de recouvrement',
    total: 'Total à régler',
    signature: 'Signature',
    page: (i: number, n: number) => `Page ${i}/${n}`,
    legalB2B:
      "Mentions légales : la présente vaut mise en demeure au sens de l'article 1344 du Code civil. Pénalités de retard exigibles de plein droit dès le lendemain de l'échéance (article L441-10 du Code de commerce) ; indemnité forfaitaire pour frais de recouvrement de 40 € due par tout professionnel en situation de retard de paiement (articles L441-10 et D441-5 du Code de commerce).",
    legalB2C:
      "Mentions légales : la présente vaut mise en demeure au sens de l'article 1344 du Code civil ; elle fait courir, à compter de sa date d'envoi et jusqu'au complet paiement, les intérêts au taux de l'intérêt légal (articles 1231-6 et 1344-1 du Code civil). Aucun frais de recouvrement n'est mis à votre charge sans titre exécutoire (article L111-8 du Code des procédures civiles d'exécution).",
  },
  en: {
    registered: 'REGISTERED LETTER WITH ACKNOWLEDGEMENT OF RECEIPT',
    madeAt: (place: string, date: string) => `${place}, ${date}`,
    yourRef: (id: string) => `Your reference: customer ${id}`,
    ourRef: (n: string, ref: string) => `Our reference: invoice ${n} – ${ref}`,
    subject: 'Subject: ',
    statement: 'Statement of amounts due',
    others: 'Statement of account: your other invoices still due',
    otherLine: (n: string, due: string, late: number) => `Invoice ${n}, due ${due}${late > 0 ? `, ${late} day${late > 1 ? 's' : ''} late` : ', not yet due'}`,
    othersTotal: 'Total of your other invoices still due',
    accountTotal: 'Total of your account, this invoice included',
    invoiceTotal: (n: string, d: string) => `Invoice ${n} of ${d}`,
    deposit: 'Deposit paid',
    payment: (d: string) => `Payment received on ${d}`,
    principal: (n: string) => `Balance outstanding on invoice ${n}`,
    bank: (iban: string, bic?: string) => `Bank details: IBAN ${iban}${bic ? ` – BIC ${bic}` : ''}`,
    interest: 'Late-payment interest',
    indemnity: 'Fixed indemnity for recovery costs',
    total: 'Total to pay',
    signature: 'Signature',
    page: (i: number, n: number) => `Page ${i}/${n}`,
    legalB2B:
      'Legal notice: this letter is a formal notice within the meaning of article 1344 of the French Civil Code. Late-payment interest is due by operation of law from the day after the due date (article L441-10 of the French Commercial Code); a fixed indemnity of €40 for recovery costs is owed by any business paying late (articles L441-10 and D441-5 of the French Commercial Code).',
    legalB2C:
      'Legal notice: this letter is a formal notice within the meaning of article 1344 of the French Civil Code; statutory interest runs from the day it is sent until payment in full (articles 1231-6 and 1344-1 of the French Civil Code). No recovery costs are charged to you without an enforceable title (article L111-8 of the French Code of Civil Enforcement Procedures).',
  },
} as const;

export async function renderLetterPdf(input: LetterInput): Promise<RenderedLetter> {
  const { invoice, creditor } = input;
  const language: Language = invoice.customer.language;
  const L = LABELS[language];
  const rendered = input.rendered ?? (await renderFor('letter', { ...input, stepId: input.templateId }, creditor));

  // Pages are buffered so the footer can say "Page i/n".
  const doc = createA4({ title: rendered.subject, subject: creditor.registeredMail ? L.registered : rendered.subject, author: creditor.name, language, date: input.asOf, bufferPages: true });
  const width = A4.width - 2 * MARGIN;

  letterhead(doc, creditor, language);
  addressBlock(doc, invoice);

  // Place and date, right-aligned under the window; registered-mail mention and references on the left.
  doc.font('Helvetica').fontSize(10);
  doc.text(pdfText(L.madeAt(creditor.address.city, formatDate(input.asOf, language))), MARGIN, 95 * MM, { width, align: 'right' });
  if (creditor.registeredMail) doc.font('Helvetica-Bold').fontSize(10).text(pdfText(L.registered), MARGIN, 103 * MM, { width });
  doc.font('Helvetica').fontSize(9).fillColor('#444444');
  doc.text(pdfText(L.yourRef(invoice.customer.id)), MARGIN, creditor.registeredMail ? doc.y : 103 * MM, { width });
  doc.text(pdfText(L.ourRef(invoice.number, input.reference)), { width });
  doc.fillColor('black').moveDown(1);
  doc.font('Helvetica-Bold').fontSize(11).text(pdfText(L.subject + rendered.subject), { width });
  doc.moveDown(1);

  bodyText(doc, rendered.text, width);
  statement(doc, input, width);
  if (input.otherOpen && input.otherOpen.length > 0) otherInvoices(doc, input, input.otherOpen, width);
  signature(doc, input.signatory, L.signature);
  legalMentions(doc, invoice.customer.kind === 'B2B' ? L.legalB2B : L.legalB2C, width);
  footers(doc, creditor, L.page);

  return { pdf: await toBuffer(doc), subject: rendered.subject, text: rendered.text };
}

function addressBlock(doc: Pdf, invoice: InvoiceSnapshot): void {
  const lines = namedAddressLines(invoice.customer.name, invoice.customer.address);
  const w = ADDRESS_WINDOW;
  doc.font('Helvetica').fontSize(11).text(pdfText(lines.join('\n')), w.x, w.y, { width: w.width, height: w.height, lineGap: 1 });
}

/** The template's text: paragraphs separated by blank lines, "- " lines as bullets. */
function bodyText(doc: Pdf, text: string, width: number): void {
  doc.font('Helvetica').fontSize(10.5);
  for (const block of text.split(/\n{2,}/)) {
    const lines = block.split('\n');
    if (lines.every((l) => l.startsWith('- '))) {
      doc.list(lines.map((l) => pdfText(l.slice(2))), MARGIN, doc.y, { width, bulletRadius: 1.5, textIndent: 12, paragraphGap: 2 });
      doc.text('', MARGIN, doc.y + 6, { width });
    } else {
      doc.text(pdfText(block), MARGIN, doc.y, { width, align: 'justify', paragraphGap: 6 });
    }
  }
}

function statement(doc: Pdf, input: LetterInput, width: number): void {
  const L = LABELS[input.invoice.customer.language];
  const money = (minor: number) => pdfText(formatMoney({ amountMinor: minor, currency: input.invoice.currency }, input.invoice.customer.language));
  const p = input.penalties;
  const inv = input.invoice;
  const date = (d: string) => formatDate(d, inv.customer.language);
  const rows: Array<[string, string, boolean]> = [[L.invoiceTotal(inv.number, date(inv.issueDate)), money(inv.amountMinor), false]];
  if (inv.depositMinor > 0) rows.push([L.deposit, money(-inv.depositMinor), false]);
  for (const payment of input.payments ?? []) rows.push([L.payment(date(payment.date)), money(-payment.amountMinor), false]);
  rows.push([L.principal(inv.number), money(input.balanceMinor), true]);
  if (p && p.interestMinor > 0) rows.push([L.interest, money(p.interestMinor), false]);
  if (p && p.indemnityMinor > 0) rows.push([L.indemnity, money(p.indemnityMinor), false]);
  rows.push([L.total, money(input.balanceMinor + (p?.totalMinor ?? 0)), true]);

  ensureRoom(doc, 14 + rows.length * 16);
  doc.moveDown(0.5).font('Helvetica-Bold').fontSize(10.5).text(pdfText(L.statement), MARGIN, doc.y, { width });
  doc.moveDown(0.3);
  amountRows(doc, rows, width);
  const creditor = input.creditor;
  if (creditor.iban) doc.moveDown(0.3).font('Helvetica').fontSize(9).text(pdfText(L.bank(creditor.iban, creditor.bic)), MARGIN, doc.y, { width });
  doc.moveDown(1);
}

/** The customer's other open invoices (number, due date, days late, balance) and the totals. */
function otherInvoices(doc: Pdf, input: LetterInput, others: readonly OtherOpenInvoice[], width: number): void {
  const language = input.invoice.customer.language;
  const L = LABELS[language];
  const date = (d: string) => formatDate(d, language);
  // One total per currency (an account rarely mixes them).
  const sums = (rows: ReadonlyArray<{ currency: string; balanceMinor: number }>) => {
    const by = new Map<string, number>();
    for (const r of rows) by.set(r.currency, (by.get(r.currency) ?? 0) + r.balanceMinor);
    return [...by].map(([currency, amountMinor]) => pdfText(formatMoney({ amountMinor, currency }, language))).join(' + ');
  };
  const own = { currency: input.invoice.currency, balanceMinor: input.balanceMinor + (input.penalties?.totalMinor ?? 0) };
  const rows: Array<[string, string, boolean]> = others.map((o) => [
    L.otherLine(o.number, date(o.dueDate), o.daysLate),
    pdfText(formatMoney({ amountMinor: o.balanceMinor, currency: o.currency }, language)),
    false,
  ]);
  rows.push([L.othersTotal, sums(others), true]);
  rows.push([L.accountTotal, sums([...others, own]), true]);
  ensureRoom(doc, 14 + Math.min(rows.length, 6) * 16);
  doc.font('Helvetica-Bold').fontSize(10.5).text(pdfText(L.others), MARGIN, doc.y, { width });
  doc.moveDown(0.3);
  amountRows(doc, rows, width, true);
  doc.moveDown(1);
}

/** Label on the left, amount on the right, a rule under each; a long list breaks across pages. */
function amountRows(doc: Pdf, rows: ReadonlyArray<[string, string, boolean]>, width: number, mayBreak = false): void {
  for (const [label, value, bold] of rows) {
    if (mayBreak) ensureRoom(doc, 16);
    const y = doc.y;
    doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(10);
    doc.text(pdfText(label), MARGIN + 4, y, { width: width - 45 * MM });
    doc.text(value, MARGIN + width - 40 * MM, y, { width: 40 * MM, align: 'right' });
    doc.y = Math.max(doc.y, y + 12);
    doc.moveTo(MARGIN, doc.y + 1).lineTo(MARGIN + width, doc.y + 1).strokeColor('#cccccc').lineWidth(0.5).stroke();
    doc.y += 4;
  }
}

function signature(doc: Pdf, signatory: string, label: string): void {
  ensureRoom(doc, 70);
  const x = 110 * MM;
  doc.font('Helvetica').fontSize(10).text(pdfText(signatory), x, doc.y, { width: 85 * MM });
  doc.fontSize(8).fillColor('#888888').text(label, x, doc.y + 28, { width: 85 * MM }).fillColor('black');
  doc.moveTo(x, doc.y + 2).lineTo(x + 60 * MM, doc.y + 2).strokeColor('#888888').lineWidth(0.5).stroke();
  doc.y += 18;
}

function legalMentions(doc: Pdf, text: string, width: number): void {
  ensureRoom(doc, 50);
  doc.font('Helvetica').fontSize(7.5).fillColor('#555555').text(pdfText(text), MARGIN, doc.y, { width, align: 'justify' }).fillColor('black');
}
