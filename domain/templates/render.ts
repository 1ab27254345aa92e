// Renders one message (email, SMS, letter body) from a template of a language file. Pure: no
// I/O, no clock (asOf is an argument).
import { formatMoney, localeFor } from '../money';
import { addDays, epochDay } from '../dates';
import { DEFAULT_NOTICE_DEADLINE_DAYS } from '../policy-schema';
import type { InvoiceSnapshot, Language, PenaltyResult, PostalAddress, RateBasis } from '../types';
import { en } from './en';
import { fr } from './fr';
import { hasTemplate, TEMPLATE_CHANNELS, TEMPLATE_IDS, type LanguageFiles, type LanguagePack, type TemplateChannel, type TemplateText } from './types';

// A new language is one more file here and one more member of `Language`.
const LANGUAGES: LanguageFiles = { fr, en };
export const TEMPLATE_LANGUAGES = Object.keys(LANGUAGES) as readonly Language[];

/** Days a formal notice gives the debtor when the caller passes no explicit deadline (the policy's default). */
export const DEFAULT_DEADLINE_DAYS = DEFAULT_NOTICE_DEADLINE_DAYS;
/** Hard limit for SMS bodies (two concatenated segments). */
export const SMS_MAX_LENGTH = 320;

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
  creditor: {
    name: string;
    email?: string;
    phone?: string;
    address?: PostalAddress;
    /** SIREN/SIRET as printed, e.g. "SIRET 123 456 789 00012". */
    legalId?: string;
    iban?: string;
    bic?: string;
  };
  /** YYYY-MM-DD; defaults to asOf + 8 days. */
  deadline?: string;
  /** For plan-confirmed: the agreed instalments. */
  plan?: { instalments: Array<{ dueDate: string; amountMinor: number }> };
  /** Payments received so far (customer's local dates): formal steps list each one. */
  payments?: Array<{ date: string; amountMinor: number }>;
  /**
   * True only when letters go through a registered-mail provider: then, and only then, may a
   * text say "lettre recommandée avec accusé de réception". Otherwise the letter is a draft
   * posted by hand and the texts say "courrier".
   */
  registeredMail?: boolean;
  /** The customer's agreed early-payment discount (courtesy message). */
  earlyPaymentDiscount?: EarlyPaymentDiscount;
}

export interface EarlyPaymentDiscount {
  /** Basis points: 200 = 2 %. */
  bps: number;
  /** YYYY-MM-DD: last day a payment earns the discount. */
  until: string;
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
  if (!Object.prototype.hasOwnProperty.call(LANGUAGES, language)) {
    throw new Error(`No template ${JSON.stringify(templateId)} in language ${JSON.stringify(language)}`);
  }
  const lang = language as Language;
  return { text: LANGUAGES[lang].templates[templateId], pack: LANGUAGES[lang].pack };
}

function buildVars(args: RenderArgs, pack: LanguagePack): Vars {
  const { invoice, creditor, language } = args;
  const fmt = (minor: number) => formatMoney({ amountMinor: minor, currency: invoice.currency }, language);
  const penaltiesTotal = args.penalties?.totalMinor ?? 0;
  const deadline = args.deadline ?? addDays(args.asOf, DEFAULT_DEADLINE_DAYS);
  const contactKey = creditor.email && creditor.phone ? 'both' : creditor.email ? 'email' : creditor.phone ? 'phone' : 'none';
  const base: Vars = { email: creditor.email ?? '', phone: creditor.phone ?? '' };
  return {
    customerName: invoice.customer.name,
    creditorName: creditor.name,
    number: invoice.number,
    issueDate: pack.formatDate(invoice.issueDate),
    dueDate: pack.formatDate(invoice.dueDate),
    asOf: pack.formatDate(args.asOf),
    deadline: pack.formatDate(deadline),
    deadlineDays: pack.days(epochDay(deadline) - epochDay(args.asOf)),
    noticeDate: args.penalties?.formalNoticeDate ? pack.formatDate(args.penalties.formalNoticeDate) : '',
    letterMention: args.registeredMail ? pack.letterMention.registered : pack.letterMention.post,
    legalIdPart: creditor.legalId ? `, ${creditor.legalId}` : '',
    iban: creditor.iban ?? '',
    bicPart: creditor.bic ? ` – BIC ${creditor.bic}` : '',
    deposit: fmt(invoice.depositMinor),
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

/**
 * Each interest line in words, with its rate and where the rate comes from ("du 01/07/2026 au
 * 16/11/2026 (139 jours) : 1 000,00 € × 12,15 % (taux BCE du 2d semestre 2026 : …) × 139/365 =
 * 46,27 €"): formal notices and the claim declaration print the same lines.
 */
export function interestLineTexts(p: PenaltyResult, language: Language): string[] {
  const pack = LANGUAGES[language].pack;
  const P = pack.penalties;
  const percent = new Intl.NumberFormat(localeFor(language), {
    style: 'percent',
    minimumFractionDigits: 2,
    maximumFractionDigits: 4,
  });
  const pct = (value: number) => percent.format(value / 100);
  const basisText = (basis: RateBasis | undefined): string => {
    if (!basis) return '';
    switch (basis.kind) {
      case 'ecb':
        return fill(P.basis.ecb, { ecb: pct(basis.ecbPercent), spread: String(basis.spreadPoints).replace('.', language === 'fr' ? ',' : '.'), half: P.half(basis.halfYear) });
      case 'legal':
        return fill(P.basis.legal, { half: P.half(basis.halfYear) });
      case 'agreed':
        return P.basis.agreed;
      case 'floor':
        return fill(P.basis.floor, { agreed: pct(basis.agreedPercent), legal: pct(basis.legalPercent), half: P.half(basis.halfYear) });
    }
  };
  return p.lines.map((line) =>
    fill(P.line, {
      from: pack.formatDate(line.from),
      to: pack.formatDate(line.to),
      days: pack.days(line.days),
      dayCount: String(line.days),
      lineBalance: formatMoney({ amountMinor: line.balanceMinor, currency: p.currency }, language),
      rate: pct(line.ratePercent),
      basis: line.basis ? ` (${basisText(line.basis)}${line.provisional ? P.provisionalMark : ''})` : '',
      lineInterest: formatMoney({ amountMinor: line.interestMinor, currency: p.currency }, language),
    }),
  );
}

function penaltyBlocks(args: RenderArgs, pack: LanguagePack, vars: Vars): Block[] {
  const b2b = args.invoice.customer.kind === 'B2B';
  const p = args.penalties;
  const P = pack.penalties;
  if (!p || p.totalMinor <= 0) {
    if (b2b) return [{ kind: 'p', text: P.b2bReminder }];
    // A consumer owes interest only from the formal notice (Code civil 1231-6, 1344-1): before
    // one is dated, the notice says that it starts them, and claims no figure.
    return [{ kind: 'p', text: P.b2cFromThisNotice }];
  }
  const blocks: Block[] = [];
  if (p.lines.length > 0) {
    blocks.push({ kind: 'p', text: fill(b2b ? P.b2bIntro : P.b2cIntro, vars) });
    blocks.push({ kind: 'list', items: interestLineTexts(p, args.language) });
    const notes = [P.rounding];
    if (p.lines.some((l) => l.basis?.kind === 'floor')) notes.push(P.floor);
    if (p.provisionalRates) notes.push(P.provisional);
    notes.push(b2b ? P.runningB2B : P.runningB2C);
    blocks.push({ kind: 'p', text: notes.join(' ') });
  }
  if (p.indemnityMinor > 0) blocks.push({ kind: 'p', text: fill(P.indemnity, vars) });
  blocks.push({ kind: 'p', text: fill(P.total, vars) });
  return blocks;
}

/** The original amount, the deposit and each payment received, before the balance (formal steps). */
function accountItems(args: RenderArgs, pack: LanguagePack, vars: Vars): string[] {
  const A = pack.account;
  const items = [fill(A.invoiceTotal, vars)];
  if (args.invoice.depositMinor > 0) items.push(fill(A.deposit, vars));
  for (const payment of args.payments ?? []) {
    items.push(
      fill(A.payment, {
        date: pack.formatDate(payment.date),
        amount: formatMoney({ amountMinor: payment.amountMinor, currency: args.invoice.currency }, args.language),
      }),
    );
  }
  return items;
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
  const last = text.summary === 'paid' ? s.paid : s.balance;
  blocks.push({
    kind: 'list',
    items: [
      ...[s.invoice, s.issued, s.due].map((t) => fill(t, vars)),
      ...(text.account ? accountItems(args, pack, vars) : []),
      fill(last, vars),
    ],
  });
  if (text.penalties) blocks.push(...penaltyBlocks(args, pack, vars));
  const discount = args.earlyPaymentDiscount;
  if (text.discount && discount && args.asOf <= discount.until) {
    const pct = new Intl.NumberFormat(localeFor(args.language), { style: 'percent', maximumFractionDigits: 2 });
    const discounted = Math.round((args.balanceMinor * (10_000 - discount.bps)) / 10_000);
    blocks.push({
      kind: 'p',
      text: fill(pack.discount, {
        discountPercent: pct.format(discount.bps / 10_000),
        discountUntil: pack.formatDate(discount.until),
        discountedBalance: formatMoney({ amountMinor: discounted, currency: args.invoice.currency }, args.language),
      }),
    });
  }
  if (vars.link && text.summary !== 'paid') blocks.push({ kind: 'link', label: pack.payOnline, href: vars.link });
  if (text.creditorDetails) {
    blocks.push({ kind: 'p', text: fill(pack.creditor.identity, vars) });
    if (vars.iban) blocks.push({ kind: 'p', text: fill(pack.creditor.bank, vars) });
  }
  const consumer = args.invoice.customer.kind === 'B2C';
  for (const c of (consumer ? text.consequencesB2C : undefined) ?? text.consequences ?? []) blocks.push({ kind: 'p', text: fill(c, vars) });
  if (kind === 'email' && text.letterCopy) blocks.push({ kind: 'p', text: fill(text.letterCopy, vars) });
  blocks.push({ kind: 'p', text: fill(pack[text.outro], vars) });
  blocks.push({ kind: 'p', text: fill(pack.signOff[kind], vars) });

  return { subject: fill(text.subject, vars), text: toText(blocks), html: toHtml(blocks, args.language) };
}
