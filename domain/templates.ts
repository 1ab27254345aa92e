// Message templates (email, SMS, letter body) per step and language, kept as data and
// rendered by one small function. Pure: no I/O, no clock (asOf is an argument).
import { formatMoney, localeFor } from './money';
import { addDays } from './dates';
import type { InvoiceSnapshot, Language, PenaltyResult, PostalAddress } from './types';

export const TEMPLATE_IDS = [
  'courtesy',
  'reminder-1',
  'reminder-2',
  'formal-notice',
  'final-notice',
  'agency-handover',
  'receipt',
  'plan-confirmed',
  'plan-breached',
] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];
export type TemplateChannel = 'email' | 'sms' | 'letter';
export const TEMPLATE_CHANNELS: readonly TemplateChannel[] = ['email', 'sms', 'letter'];
export const TEMPLATE_LANGUAGES: readonly Language[] = ['fr', 'en'];

export function hasTemplate(id: string): id is TemplateId {
  return (TEMPLATE_IDS as readonly string[]).includes(id);
}

/** Days a formal notice gives the debtor when the caller passes no explicit deadline. */
export const DEFAULT_DEADLINE_DAYS = 8;
/** Hard limit for SMS bodies (two concatenated segments). */
export const SMS_MAX_LENGTH = 320;

// ---------------------------------------------------------------------------------------
// Data. Placeholders are {name}; every value is escaped for HTML at render time.

interface TemplateText {
  subject: string;
  /** Paragraphs after the greeting. */
  intro: string[];
  /** Invoice summary shows the remaining balance (default) or the invoice total (receipt). */
  summary?: 'balance' | 'paid';
  /** List the instalments of `plan` after the intro. */
  instalments?: boolean;
  /** Show the late-interest computation and the indemnity (or, B2B without figures, the legal reminder). */
  penalties?: boolean;
  /** Polite statement of consequences (formal steps). */
  consequences?: string[];
  /** Closing offer: help with difficulties, or just questions. */
  outro: 'help' | 'questions';
  sms: string;
  /** Append the payment link to the SMS (default true). */
  smsLink?: boolean;
}

interface LanguagePack {
  formatDate: (isoDate: string) => string;
  greeting: { email: string; letter: string };
  signOff: { email: string; letter: string };
  summary: { invoice: string; issued: string; due: string; balance: string; paid: string };
  payOnline: string;
  help: string;
  questions: string;
  contact: { email: string; phone: string; both: string; none: string };
  days: (n: number) => string;
  penalties: {
    b2bIntro: string;
    b2cIntro: string;
    line: string;
    indemnity: string;
    total: string;
    b2bReminder: string;
  };
  instalment: string;
  sms: { pay: string; contact: string };
}

const EN_MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
] as const;

const PACKS: Record<Language, LanguagePack> = {
  fr: {
    formatDate: (d) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`,
    greeting: { email: 'Bonjour {customerName},', letter: "À l'attention de {customerName}\nMadame, Monsieur," },
    signOff: {
      email: 'Cordialement,\n{creditorName}',
      letter:
        "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.\n{creditorName}",
    },
    summary: {
      invoice: 'Facture n°{number}',
      issued: "Date d'émission : {issueDate}",
      due: "Date d'échéance : {dueDate}",
      balance: 'Montant restant dû : {balance}',
      paid: 'Montant de la facture : {invoiceTotal}',
    },
    payOnline: 'Vous pouvez régler en ligne :',
    help: 'Si vous avez rencontré des difficultés, contactez-nous{contact} : nous chercherons une solution avec vous.',
    questions: 'Pour toute question, contactez-nous{contact}.',
    contact: { email: ' par e-mail à {email}', phone: ' par téléphone au {phone}', both: ' par e-mail à {email} ou par téléphone au {phone}', none: '' },
    days: (n) => `${n} jour${n > 1 ? 's' : ''}`,
    penalties: {
      b2bIntro:
        "Conformément à l'article L441-10 du Code de commerce, des pénalités de retard sont exigibles de plein droit depuis le lendemain de la date d'échéance. Calculées au {asOf}, elles s'élèvent à {interest} :",
      b2cIntro:
        "Des intérêts de retard au taux de l'intérêt légal (article 1231-6 du Code civil) s'appliquent au montant dû. Calculés au {asOf}, ils s'élèvent à {interest} :",
      line: 'du {from} au {to} ({days}) : {lineBalance} × {rate} × {dayCount}/365 = {lineInterest}',
      indemnity:
        "S'y ajoute l'indemnité forfaitaire pour frais de recouvrement de {indemnity} prévue à l'article D441-5 du Code de commerce.",
      total: 'Montant total réclamé : {totalClaim}.',
      b2bReminder:
        "Nous vous rappelons que tout retard de paiement rend exigibles de plein droit des pénalités de retard et l'indemnité forfaitaire pour frais de recouvrement (articles L441-10 et D441-5 du Code de commerce).",
    },
    instalment: '{date} : {amount}',
    sms: { pay: 'Payer : {link}', contact: 'Contact : {contact}' },
  },
  en: {
    formatDate: (d) => `${Number(d.slice(8, 10))} ${EN_MONTHS[Number(d.slice(5, 7)) - 1]} ${d.slice(0, 4)}`,
    greeting: { email: 'Dear {customerName},', letter: 'Dear {customerName},' },
    signOff: { email: 'Kind regards,\n{creditorName}', letter: 'Yours sincerely,\n{creditorName}' },
    summary: {
      invoice: 'Invoice {number}',
      issued: 'Issue date: {issueDate}',
      due: 'Due date: {dueDate}',
      balance: 'Amount outstanding: {balance}',
      paid: 'Invoice amount: {invoiceTotal}',
    },
    payOnline: 'You can pay online:',
    help: 'If you have run into any difficulty, please contact us{contact} and we will look for a solution with you.',
    questions: 'If you have any questions, please contact us{contact}.',
    contact: { email: ' at {email}', phone: ' on {phone}', both: ' at {email} or on {phone}', none: '' },
    days: (n) => `${n} day${n > 1 ? 's' : ''}`,
    penalties: {
      b2bIntro:
        'Under article L441-10 of the French Commercial Code (Code de commerce), late-payment interest is due by operation of law from the day after the due date. As at {asOf}, it amounts to {interest}:',
      b2cIntro:
        'Late-payment interest at the statutory rate (article 1231-6 of the French Civil Code) applies to the amount due. As at {asOf}, it amounts to {interest}:',
      line: 'from {from} to {to} ({days}): {lineBalance} × {rate} × {dayCount}/365 = {lineInterest}',
      indemnity:
        'In addition, the fixed indemnity for recovery costs of {indemnity} under article D441-5 of the Code de commerce is due.',
      total: 'Total amount claimed: {totalClaim}.',
      b2bReminder:
        'Please note that any late payment makes late-payment interest and the fixed indemnity for recovery costs due by operation of law (articles L441-10 and D441-5 of the French Commercial Code).',
    },
    instalment: '{date}: {amount}',
    sms: { pay: 'Pay: {link}', contact: 'Contact: {contact}' },
  },
};

const TEMPLATES: Record<TemplateId, Record<Language, TemplateText>> = {
  courtesy: {
    fr: {
      subject: 'Facture n°{number} : échéance le {dueDate}',
      intro: [
        'Nous vous rappelons que la facture n°{number} arrive à échéance le {dueDate}.',
        'Si le règlement est déjà programmé, merci de ne pas tenir compte de ce message.',
      ],
      outro: 'questions',
      sms: '{creditorName} : la facture n°{number} de {balance} arrive à échéance le {dueDate}.',
    },
    en: {
      subject: 'Invoice {number} falls due on {dueDate}',
      intro: [
        'This is a friendly reminder that invoice {number} falls due on {dueDate}.',
        'If payment is already scheduled, please disregard this message.',
      ],
      outro: 'questions',
      sms: '{creditorName}: invoice {number} for {balance} falls due on {dueDate}.',
    },
  },
  'reminder-1': {
    fr: {
      subject: 'Relance de facture n°{number} – Échéance dépassée',
      intro: [
        "Sauf erreur de notre part, nous n'avons pas encore reçu le règlement de la facture n°{number}, arrivée à échéance le {dueDate}.",
        'Si votre paiement est déjà en cours, merci de ne pas tenir compte de ce message.',
      ],
      outro: 'help',
      sms: '{creditorName} : la facture n°{number} est échue depuis le {dueDate}. Reste dû : {balance}.',
    },
    en: {
      subject: 'Reminder: invoice {number} is overdue',
      intro: [
        'According to our records, we have not yet received payment of invoice {number}, which fell due on {dueDate}.',
        'If your payment is already on its way, please disregard this message.',
      ],
      outro: 'help',
      sms: '{creditorName}: invoice {number} has been overdue since {dueDate}. Outstanding: {balance}.',
    },
  },
  'reminder-2': {
    fr: {
      subject: 'Deuxième relance : facture n°{number} impayée',
      intro: [
        'Malgré notre précédente relance, la facture n°{number}, arrivée à échéance le {dueDate}, reste impayée à ce jour. Vous en trouverez un extrait ci-joint.',
        'Nous vous remercions de procéder à son règlement dans les meilleurs délais. À défaut, nous serons amenés à vous adresser une mise en demeure.',
      ],
      outro: 'help',
      sms: '{creditorName} : 2e relance, la facture n°{number} reste impayée depuis le {dueDate}. Reste dû : {balance}.',
    },
    en: {
      subject: 'Second reminder: invoice {number} remains unpaid',
      intro: [
        'Despite our previous reminder, invoice {number}, which fell due on {dueDate}, remains unpaid. Please find an extract of the invoice attached.',
        'We kindly ask you to settle it without delay. Otherwise we will have to send you a formal notice.',
      ],
      outro: 'help',
      sms: '{creditorName}: second reminder, invoice {number} has been unpaid since {dueDate}. Outstanding: {balance}.',
    },
  },
  'formal-notice': {
    fr: {
      subject: 'Mise en demeure de payer – facture n°{number}',
      intro: [
        "Malgré nos relances, la facture n°{number}, arrivée à échéance le {dueDate}, n'a pas été réglée.",
        'Par la présente, nous vous mettons en demeure de nous régler la somme de {totalClaim} dans un délai de huit jours, soit au plus tard le {deadline}.',
      ],
      penalties: true,
      consequences: [
        "À défaut de règlement dans ce délai, nous serons contraints d'engager une procédure de recouvrement, amiable ou judiciaire, sans nouvel avis. Les frais qui en résulteront pourront être mis à votre charge.",
      ],
      outro: 'help',
      sms: '{creditorName} : mise en demeure de régler la facture n°{number}, soit {totalClaim}, au plus tard le {deadline}. Un courrier recommandé vous est adressé.',
    },
    en: {
      subject: 'Formal notice to pay – invoice {number}',
      intro: [
        'Despite our reminders, invoice {number}, which fell due on {dueDate}, has not been paid.',
        'We hereby give you formal notice to pay the sum of {totalClaim} within eight days, that is by {deadline} at the latest.',
      ],
      penalties: true,
      consequences: [
        'Failing payment within this period, we will have to start recovery proceedings, out of court or in court, without further notice. The resulting costs may be charged to you.',
      ],
      outro: 'help',
      sms: '{creditorName}: formal notice to pay invoice {number}, {totalClaim}, by {deadline}. A registered letter is on its way.',
    },
  },
  'final-notice': {
    fr: {
      subject: 'Dernier avis avant recouvrement – facture n°{number}',
      intro: [
        'Malgré nos relances et notre mise en demeure, la facture n°{number}, arrivée à échéance le {dueDate}, reste impayée.',
      ],
      penalties: true,
      consequences: [
        "Ceci est notre dernier avis : sans règlement de {totalClaim} au plus tard le {deadline}, votre dossier sera transmis à un organisme de recouvrement ou à notre conseil en vue d'une action en justice.",
      ],
      outro: 'help',
      sms: '{creditorName} : dernier avis avant recouvrement pour la facture n°{number} ({totalClaim}). Merci de régler au plus tard le {deadline}.',
    },
    en: {
      subject: 'Final notice before collection – invoice {number}',
      intro: [
        'Despite our reminders and our formal notice, invoice {number}, which fell due on {dueDate}, remains unpaid.',
      ],
      penalties: true,
      consequences: [
        'This is our final notice: unless {totalClaim} is paid by {deadline}, your file will be passed to a collection agency or to our lawyer with a view to legal action.',
      ],
      outro: 'help',
      sms: '{creditorName}: final notice before collection for invoice {number} ({totalClaim}). Please pay by {deadline}.',
    },
  },
  'agency-handover': {
    fr: {
      subject: 'Transmission de votre dossier au recouvrement – facture n°{number}',
      intro: [
        'La facture n°{number}, arrivée à échéance le {dueDate}, restant impayée malgré nos relances, nous avons transmis votre dossier à notre partenaire de recouvrement, qui prendra contact avec vous.',
      ],
      penalties: true,
      consequences: [
        'Tout règlement que vous effectuerez sera pris en compte et viendra en déduction des sommes réclamées.',
      ],
      outro: 'questions',
      sms: '{creditorName} : la facture n°{number} ({totalClaim}) a été transmise à notre partenaire de recouvrement.',
    },
    en: {
      subject: 'Your file has been passed to our collection agency – invoice {number}',
      intro: [
        'As invoice {number}, which fell due on {dueDate}, remains unpaid despite our reminders, we have passed your file to our collection partner, who will contact you.',
      ],
      penalties: true,
      consequences: ['Any payment you make will be taken into account and deducted from the amounts claimed.'],
      outro: 'questions',
      sms: '{creditorName}: invoice {number} ({totalClaim}) has been passed to our collection partner.',
    },
  },
  receipt: {
    fr: {
      subject: 'Merci pour votre règlement – facture n°{number}',
      intro: [
        'Nous avons bien reçu le règlement de la facture n°{number} et vous en remercions. Votre compte est à jour.',
        // A reminder already in flight when the payment landed may still arrive: say so.
        'Si un rappel concernant cette facture vous est parvenu entre-temps, merci de ne pas en tenir compte.',
      ],
      summary: 'paid',
      outro: 'questions',
      sms: '{creditorName} : merci, nous avons bien reçu le règlement de la facture n°{number}.',
      smsLink: false,
    },
    en: {
      subject: 'Thank you for your payment – invoice {number}',
      intro: [
        'We have received payment of invoice {number}, thank you. Your account is up to date.',
        'If a reminder about this invoice reached you in the meantime, please disregard it.',
      ],
      summary: 'paid',
      outro: 'questions',
      sms: '{creditorName}: thank you, we have received payment of invoice {number}.',
      smsLink: false,
    },
  },
  'plan-confirmed': {
    fr: {
      subject: 'Échéancier confirmé – facture n°{number}',
      intro: [
        "Nous vous confirmons l'échéancier convenu pour le règlement de la facture n°{number}. Tant que les échéances sont respectées, vous ne recevrez plus de relance pour cette facture.",
      ],
      instalments: true,
      outro: 'questions',
      sms: '{creditorName} : votre échéancier pour la facture n°{number} ({balance}) est confirmé. Merci.',
    },
    en: {
      subject: 'Payment plan confirmed – invoice {number}',
      intro: [
        'We confirm the payment plan agreed for invoice {number}. As long as the instalments are met, you will receive no further reminders for this invoice.',
      ],
      instalments: true,
      outro: 'questions',
      sms: '{creditorName}: your payment plan for invoice {number} ({balance}) is confirmed. Thank you.',
    },
  },
  'plan-breached': {
    fr: {
      subject: 'Échéance non honorée – facture n°{number}',
      intro: [
        "Une échéance du plan de paiement convenu pour la facture n°{number} n'a pas été réglée dans le délai prévu. Le plan de paiement est donc caduc et le solde est de nouveau exigible.",
      ],
      consequences: ['Sans règlement de votre part, la procédure de relance reprendra.'],
      outro: 'help',
      sms: "{creditorName} : une échéance de votre plan pour la facture n°{number} n'a pas été honorée. Reste dû : {balance}.",
    },
    en: {
      subject: 'Missed instalment – invoice {number}',
      intro: [
        'An instalment of the payment plan agreed for invoice {number} was not paid on time. The plan has therefore lapsed and the balance is due again.',
      ],
      consequences: ['Without payment, the reminder procedure will resume.'],
      outro: 'help',
      sms: '{creditorName}: an instalment of your plan for invoice {number} was missed. Outstanding: {balance}.',
    },
  },
};

// ---------------------------------------------------------------------------------------
// Rendering.

export interface RenderArgs {
  templateId: string;
  channel: TemplateChannel;
  language: Language;
  invoice: InvoiceSnapshot;
  /** Current remaining balance (after partial payments), minor units. */
  balanceMinor: number;
  penalties?: PenaltyResult;
  /** YYYY-MM-DD: the day the message is written. */
  asOf: string;
  creditor: { name: string; email?: string; phone?: string; address?: PostalAddress };
  /** YYYY-MM-DD; defaults to asOf + 8 days. */
  deadline?: string;
  /** For plan-confirmed: the agreed instalments. */
  plan?: { instalments: Array<{ dueDate: string; amountMinor: number }> };
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string;
}

type Block = { kind: 'p'; text: string } | { kind: 'list'; items: string[] } | { kind: 'link'; label: string; href: string };

type Vars = Record<string, string>;

function fill(template: string, vars: Vars): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = vars[key];
    if (value === undefined) throw new Error(`Template placeholder {${key}} has no value`);
    return value;
  });
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function toText(blocks: Block[]): string {
  return blocks
    .map((b) => (b.kind === 'p' ? b.text : b.kind === 'list' ? b.items.map((i) => `- ${i}`).join('\n') : `${b.label} ${b.href}`))
    .join('\n\n');
}

function toHtml(blocks: Block[], language: Language): string {
  const inline = (s: string) => escapeHtml(s).replace(/\n/g, '<br>');
  const body = blocks.map((b) => {
    if (b.kind === 'p') return `<p>${inline(b.text)}</p>`;
    if (b.kind === 'list') return `<ul>${b.items.map((i) => `<li>${inline(i)}</li>`).join('')}</ul>`;
    // Only http(s) links become anchors; anything else is shown as text.
    const link = /^https?:\/\//i.test(b.href)
      ? `<a href="${escapeHtml(b.href)}">${escapeHtml(b.href)}</a>`
      : escapeHtml(b.href);
    return `<p>${inline(b.label)} ${link}</p>`;
  });
  return `<div lang="${language}">\n${body.join('\n')}\n</div>`;
}

function lookup(templateId: string, language: string): { text: TemplateText; pack: LanguagePack } {
  if (!hasTemplate(templateId)) {
    throw new Error(`Unknown template ${JSON.stringify(templateId)}; known: ${TEMPLATE_IDS.join(', ')}`);
  }
  if (!Object.prototype.hasOwnProperty.call(PACKS, language)) {
    throw new Error(`No template ${JSON.stringify(templateId)} in language ${JSON.stringify(language)}`);
  }
  const lang = language as Language;
  return { text: TEMPLATES[templateId][lang], pack: PACKS[lang] };
}

function buildVars(args: RenderArgs, pack: LanguagePack): Vars {
  const { invoice, creditor, language } = args;
  const fmt = (minor: number) => formatMoney({ amountMinor: minor, currency: invoice.currency }, language);
  const penaltiesTotal = args.penalties?.totalMinor ?? 0;
  const contactKey = creditor.email && creditor.phone ? 'both' : creditor.email ? 'email' : creditor.phone ? 'phone' : 'none';
  const base: Vars = { email: creditor.email ?? '', phone: creditor.phone ?? '' };
  return {
    customerName: invoice.customer.name,
    creditorName: creditor.name,
    number: invoice.number,
    issueDate: pack.formatDate(invoice.issueDate),
    dueDate: pack.formatDate(invoice.dueDate),
    asOf: pack.formatDate(args.asOf),
    deadline: pack.formatDate(args.deadline ?? addDays(args.asOf, DEFAULT_DEADLINE_DAYS)),
    balance: fmt(args.balanceMinor),
    invoiceTotal: fmt(invoice.amountMinor),
    interest: fmt(args.penalties?.interestMinor ?? 0),
    indemnity: fmt(args.penalties?.indemnityMinor ?? 0),
    totalClaim: fmt(args.balanceMinor + penaltiesTotal),
    contact: fill(pack.contact[contactKey], base),
    smsContact: creditor.phone ?? creditor.email ?? '',
    link: invoice.paymentLink ?? '',
  };
}

function penaltyBlocks(args: RenderArgs, pack: LanguagePack, vars: Vars): Block[] {
  const b2b = args.invoice.customer.kind === 'B2B';
  const p = args.penalties;
  if (!p || p.totalMinor <= 0) return b2b ? [{ kind: 'p', text: pack.penalties.b2bReminder }] : [];
  const rate = new Intl.NumberFormat(localeFor(args.language), {
    style: 'percent',
    minimumFractionDigits: 2,
    maximumFractionDigits: 4,
  });
  const blocks: Block[] = [];
  if (p.lines.length > 0) {
    blocks.push({ kind: 'p', text: fill(b2b ? pack.penalties.b2bIntro : pack.penalties.b2cIntro, vars) });
    blocks.push({
      kind: 'list',
      items: p.lines.map((line) =>
        fill(pack.penalties.line, {
          from: pack.formatDate(line.from),
          to: pack.formatDate(line.to),
          days: pack.days(line.days),
          dayCount: String(line.days),
          lineBalance: formatMoney({ amountMinor: line.balanceMinor, currency: p.currency }, args.language),
          rate: rate.format(line.ratePercent / 100),
          lineInterest: formatMoney({ amountMinor: line.interestMinor, currency: p.currency }, args.language),
        }),
      ),
    });
  }
  if (p.indemnityMinor > 0) blocks.push({ kind: 'p', text: fill(pack.penalties.indemnity, vars) });
  blocks.push({ kind: 'p', text: fill(pack.penalties.total, vars) });
  return blocks;
}

function renderSms(text: TemplateText, pack: LanguagePack, vars: Vars): string {
  const core = fill(text.sms, vars);
  const link = vars.link && text.smsLink !== false ? ` ${fill(pack.sms.pay, vars)}` : '';
  const contact = vars.smsContact ? ` ${fill(pack.sms.contact, { contact: vars.smsContact })}` : '';
  if ((core + link + contact).length <= SMS_MAX_LENGTH) return core + link + contact;
  if ((core + link).length <= SMS_MAX_LENGTH) return core + link;
  // Keep the link whole; shorten the sentence.
  return `${core.slice(0, Math.max(0, SMS_MAX_LENGTH - link.length - 1))}…${link}`.slice(0, SMS_MAX_LENGTH);
}

/** Renders one message. Throws an Error naming an unknown templateId, language or channel. */
export function renderMessage(args: RenderArgs): RenderedMessage {
  const { text, pack } = lookup(args.templateId, args.language);
  if (!TEMPLATE_CHANNELS.includes(args.channel)) {
    throw new Error(`Template ${JSON.stringify(args.templateId)} has no channel ${JSON.stringify(args.channel)}`);
  }
  const vars = buildVars(args, pack);
  if (args.channel === 'sms') return { subject: '', text: renderSms(text, pack, vars), html: '' };

  const kind = args.channel === 'letter' ? 'letter' : 'email';
  const s = pack.summary;
  const blocks: Block[] = [
    { kind: 'p', text: fill(pack.greeting[kind], vars) },
    ...text.intro.map((t): Block => ({ kind: 'p', text: fill(t, vars) })),
  ];
  if (text.instalments && args.plan && args.plan.instalments.length > 0) {
    blocks.push({
      kind: 'list',
      items: args.plan.instalments.map((i) =>
        fill(pack.instalment, {
          date: pack.formatDate(i.dueDate),
          amount: formatMoney({ amountMinor: i.amountMinor, currency: args.invoice.currency }, args.language),
        }),
      ),
    });
  }
  blocks.push({
    kind: 'list',
    items: [s.invoice, s.issued, s.due, text.summary === 'paid' ? s.paid : s.balance].map((t) => fill(t, vars)),
  });
  if (text.penalties) blocks.push(...penaltyBlocks(args, pack, vars));
  if (vars.link && text.summary !== 'paid') blocks.push({ kind: 'link', label: pack.payOnline, href: vars.link });
  for (const c of text.consequences ?? []) blocks.push({ kind: 'p', text: fill(c, vars) });
  blocks.push({ kind: 'p', text: fill(pack[text.outro], vars) });
  blocks.push({ kind: 'p', text: fill(pack.signOff[kind], vars) });

  return { subject: fill(text.subject, vars), text: toText(blocks), html: toHtml(blocks, args.language) };
}
