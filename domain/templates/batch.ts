// The customer's batch email (issue 18): one message listing every invoice whose friendly
// step fell due since the last batch, in the tone of the most advanced of those steps. Pure:
// no I/O, no clock (asOf is an argument).
import { batchTotals, type BatchLine } from '../consolidation';
import { formatMoney } from '../money';
import type { Language } from '../types';
import { escapeHtml, SMS_MAX_LENGTH, type RenderedMessage } from './render';

export interface BatchRenderArgs {
  /** courtesy, reminder-1, reminder-2 (anything else reads as reminder-2). */
  templateId: string;
  language: Language;
  customerName: string;
  lines: readonly BatchLine[];
  asOf: string;
  creditor: { name: string; email?: string; phone?: string };
  /** The one payment link of the message. */
  paymentLink?: string;
}

type Tone = 'courtesy' | 'reminder-1' | 'reminder-2';

const TEXT: Record<Language, {
  date: (d: string) => string;
  subject: Record<Tone, (n: number, creditor: string) => string>;
  intro: Record<Tone, (n: number) => string>;
  line: (l: { number: string; issued: string; due: string; amount: string; balance: string; late: string; penalties: string }) => string;
  late: (n: number) => string;
  notDue: string;
  penalties: (p: string) => string;
  total: (t: string) => string;
  totalPenalties: (t: string) => string;
  pay: string;
  contact: (c: string) => string;
  greeting: (name: string) => string;
  signOff: (creditor: string) => string;
  head: string[];
}> = {
  fr: {
    date: (d) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`,
    subject: {
      courtesy: (n, c) => `${c} – ${n} facture${n > 1 ? 's' : ''} arrivant à échéance`,
      'reminder-1': (n, c) => `${c} – Relance : ${n} facture${n > 1 ? 's' : ''} en retard de paiement`,
      'reminder-2': (n, c) => `${c} – Deuxième relance : ${n} facture${n > 1 ? 's' : ''} impayée${n > 1 ? 's' : ''}`,
    },
    intro: {
      courtesy: (n) => `Pour votre suivi, voici ${n > 1 ? `les ${n} factures qui arrivent` : 'la facture qui arrive'} à échéance :`,
      'reminder-1': (n) => `Sauf erreur de notre part, ${n > 1 ? `les ${n} factures suivantes restent impayées` : 'la facture suivante reste impayée'} à ce jour :`,
      'reminder-2': (n) => `Malgré notre précédente relance, ${n > 1 ? `les ${n} factures suivantes restent impayées` : 'la facture suivante reste impayée'}. Merci de régulariser sans tarder :`,
    },
    line: (l) => `Facture n°${l.number} du ${l.issued}, échéance ${l.due} : montant ${l.amount}, reste dû ${l.balance}, ${l.late}${l.penalties}`,
    late: (n) => `${n} jour${n > 1 ? 's' : ''} de retard`,
    notDue: 'non échue',
    penalties: (p) => `, pénalités ${p}`,
    total: (t) => `Total restant dû : ${t}`,
    totalPenalties: (t) => `Pénalités de retard et indemnités à ce jour : ${t}`,
    pay: 'Vous pouvez tout régler en ligne :',
    contact: (c) => `Pour toute question, contactez-nous${c}.`,
    greeting: (name) => `Bonjour ${name},`,
    signOff: (c) => `Cordialement,\n${c}`,
    head: ['Facture', 'Émise le', 'Échéance', 'Montant', 'Reste dû', 'Retard', 'Pénalités'],
  },
  en: {
    date: (d) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`,
    subject: {
      courtesy: (n, c) => `${c} – ${n} invoice${n > 1 ? 's' : ''} falling due`,
      'reminder-1': (n, c) => `${c} – Reminder: ${n} overdue invoice${n > 1 ? 's' : ''}`,
      'reminder-2': (n, c) => `${c} – Second reminder: ${n} unpaid invoice${n > 1 ? 's' : ''}`,
    },
    intro: {
      courtesy: (n) => `For your records, ${n > 1 ? `these ${n} invoices fall` : 'this invoice falls'} due:`,
      'reminder-1': (n) => `Unless we are mistaken, ${n > 1 ? `these ${n} invoices remain` : 'this invoice remains'} unpaid:`,
      'reminder-2': (n) => `Despite our previous reminder, ${n > 1 ? `these ${n} invoices remain` : 'this invoice remains'} unpaid. Please settle without delay:`,
    },
    line: (l) => `Invoice ${l.number} of ${l.issued}, due ${l.due}: amount ${l.amount}, balance ${l.balance}, ${l.late}${l.penalties}`,
    late: (n) => `${n} day${n > 1 ? 's' : ''} late`,
    notDue: 'not yet due',
    penalties: (p) => `, penalties ${p}`,
    total: (t) => `Total balance due: ${t}`,
    totalPenalties: (t) => `Late-payment penalties and indemnities to date: ${t}`,
    pay: 'You can pay everything online:',
    contact: (c) => `If you have any question, contact us${c}.`,
    greeting: (name) => `Dear ${name},`,
    signOff: (c) => `Kind regards,\n${c}`,
    head: ['Invoice', 'Issued', 'Due', 'Amount', 'Balance', 'Late', 'Penalties'],
  },
};

function toneOf(templateId: string): Tone {
  return templateId === 'courtesy' || templateId === 'reminder-1' ? templateId : 'reminder-2';
}

export function renderBatchMessage(args: BatchRenderArgs): RenderedMessage {
  const t = TEXT[args.language];
  const tone = toneOf(args.templateId);
  const n = args.lines.length;
  const m = (minor: number, currency: string) => formatMoney({ amountMinor: minor, currency }, args.language);
  const rows = args.lines.map((l) => ({
    number: l.invoiceNumber,
    issued: t.date(l.issueDate),
    due: t.date(l.dueDate),
    amount: m(l.amountMinor, l.currency),
    balance: m(l.balanceMinor, l.currency),
    late: l.daysLate > 0 ? t.late(l.daysLate) : t.notDue,
    penaltiesAmount: l.penaltiesMinor > 0 ? m(l.penaltiesMinor, l.currency) : '–',
    penalties: l.penaltiesMinor > 0 ? t.penalties(m(l.penaltiesMinor, l.currency)) : '',
  }));
  const totals = batchTotals(args.lines);
  const total = totals.map((x) => m(x.balanceMinor, x.currency)).join(' + ');
  const penalties = totals.filter((x) => x.penaltiesMinor > 0).map((x) => m(x.penaltiesMinor, x.currency)).join(' + ');
  const c = args.creditor;
  const contact = c.email && c.phone ? ` : ${c.email}, ${c.phone}` : c.email || c.phone ? ` : ${c.email ?? c.phone}` : '';
  const contactText = args.language === 'en' ? contact.replace(' : ', ': ') : contact;
  const subject = t.subject[tone](n, c.name);

  const text = [
    t.greeting(args.customerName),
    t.intro[tone](n),
    rows.map((r) => `- ${t.line(r)}`).join('\n'),
    t.total(total),
    ...(penalties ? [t.totalPenalties(penalties)] : []),
    ...(args.paymentLink ? [`${t.pay} ${args.paymentLink}`] : []),
    t.contact(contactText),
    t.signOff(c.name),
  ].join('\n\n');

  const e = escapeHtml;
  const cell = (v: string, right = false) => `<td style="padding:4px 8px;border-bottom:1px solid #ddd;${right ? 'text-align:right;' : ''}">${e(v)}</td>`;
  const html = `<div lang="${args.language}">
<p>${e(t.greeting(args.customerName))}</p>
<p>${e(t.intro[tone](n))}</p>
<table style="border-collapse:collapse">
<thead><tr>${t.head.map((h) => `<th style="padding:4px 8px;text-align:left">${e(h)}</th>`).join('')}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${cell(r.number)}${cell(r.issued)}${cell(r.due)}${cell(r.amount, true)}${cell(r.balance, true)}${cell(r.late)}${cell(r.penaltiesAmount, true)}</tr>`).join('\n')}
</tbody>
</table>
<p><strong>${e(t.total(total))}</strong></p>
${penalties ? `<p>${e(t.totalPenalties(penalties))}</p>\n` : ''}${args.paymentLink && /^https?:\/\//i.test(args.paymentLink) ? `<p>${e(t.pay)} <a href="${e(args.paymentLink)}">${e(args.paymentLink)}</a></p>\n` : ''}<p>${e(t.contact(contactText))}</p>
<p>${e(t.signOff(c.name)).replace(/\n/g, '<br>')}</p>
</div>`;
  return { subject, text, html };
}

const SMS_TEXT: Record<Language, {
  core: Record<Tone, (a: { creditor: string; n: number; total: string; oldest: string }) => string>;
  pay: (link: string) => string;
}> = {
  fr: {
    core: {
      courtesy: (a) => `${a.creditor} : ${a.n} facture${a.n > 1 ? 's' : ''} arrive${a.n > 1 ? 'nt' : ''} à échéance, total ${a.total}.`,
      'reminder-1': (a) => `${a.creditor} : ${a.n} facture${a.n > 1 ? 's' : ''} impayée${a.n > 1 ? 's' : ''} (la plus ancienne échue le ${a.oldest}), total restant dû ${a.total}.`,
      'reminder-2': (a) => `${a.creditor} : 2e relance, ${a.n} facture${a.n > 1 ? 's' : ''} impayée${a.n > 1 ? 's' : ''} (la plus ancienne échue le ${a.oldest}), total restant dû ${a.total}.`,
    },
    pay: (link) => `Payer : ${link}`,
  },
  en: {
    core: {
      courtesy: (a) => `${a.creditor}: ${a.n} invoice${a.n > 1 ? 's' : ''} falling due, total ${a.total}.`,
      'reminder-1': (a) => `${a.creditor}: ${a.n} unpaid invoice${a.n > 1 ? 's' : ''} (oldest due ${a.oldest}), total balance ${a.total}.`,
      'reminder-2': (a) => `${a.creditor}: second reminder, ${a.n} unpaid invoice${a.n > 1 ? 's' : ''} (oldest due ${a.oldest}), total balance ${a.total}.`,
    },
    pay: (link) => `Pay: ${link}`,
  },
};

/**
 * The customer's batch SMS: how many invoices, the total and the one payment link, within
 * SMS_MAX_LENGTH (two segments). The invoices themselves are in the batch email and the
 * statement; an SMS that listed them would not fit. The link is kept whole; the sentence gives way.
 */
export function renderBatchSms(args: Omit<BatchRenderArgs, 'customerName'>): string {
  if (args.lines.length === 0) throw new Error('an empty batch has no SMS');
  const t = TEXT[args.language];
  const total = batchTotals(args.lines)
    .map((x) => formatMoney({ amountMinor: x.balanceMinor, currency: x.currency }, args.language))
    .join(' + ');
  const oldest = t.date([...args.lines].map((l) => l.dueDate).sort()[0]!);
  const core = SMS_TEXT[args.language].core[toneOf(args.templateId)]({ creditor: args.creditor.name, n: args.lines.length, total, oldest });
  const link = args.paymentLink ? ` ${SMS_TEXT[args.language].pay(args.paymentLink)}` : '';
  if ((core + link).length <= SMS_MAX_LENGTH) return core + link;
  return `${core.slice(0, Math.max(0, SMS_MAX_LENGTH - link.length - 1))}…${link}`.slice(0, SMS_MAX_LENGTH);
}
