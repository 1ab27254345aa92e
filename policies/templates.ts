// Message templates as data: LiquidJS (a sandboxed template language: no code execution,
// no file access here), one template per policy version, step, channel and language,
// overriding the built-in packs of domain/templates.ts for that message.
//
// A template is plain text with Liquid tags. It is rendered once, to text; the HTML part
// is derived from that text (everything escaped, blank-line paragraphs, "- " lists,
// http(s) links), so the two parts cannot disagree and an author cannot inject markup.
//
// The variables a template may use are the catalogue below (docs/templates.md lists
// them); saving a template checks every variable it names against it, parses it, renders
// it against a sample, and for a formal notice checks the mandatory legal mentions.
import { Liquid, type Template } from 'liquidjs';
import { formatMoney, localeFor } from '../domain/money';
import { addDays } from '../domain/dates';
import { DEFAULT_DEADLINE_DAYS, escapeHtml, SMS_MAX_LENGTH, type RenderArgs, type RenderedMessage, type TemplateChannel } from '../domain/templates';
import type { Language, PenaltyResult } from '../domain/types';

export const TEMPLATE_CHANNELS_AS_DATA: readonly TemplateChannel[] = ['email', 'sms', 'letter'];

/**
 * What a formal notice must keep, in one place: the late-payment law's mentions (interest
 * running until full payment and its rate basis, the fixed indemnity: `penalties.mentions`),
 * the amount claimed, the deadline and the creditor's legal id (SIREN/SIRET). A template
 * of a formal-notice step (email or letter) that does not use all of them is refused.
 * (The creditor's IBAN, CREDITOR_IBAN, is where the debtor pays besides the payment link.)
 */
export const FORMAL_NOTICE_REQUIRED: readonly string[] = ['penalties.mentions', 'amounts.totalClaim', 'dates.deadline', 'creditor.legalId', 'creditor.iban'];
/** Steps whose written messages are formal notices (by step id or templateId). */
export const FORMAL_NOTICE_TEMPLATE_IDS: ReadonlySet<string> = new Set(['formal-notice']);

/** The documented variables (docs/templates.md): path → description. */
export const VARIABLE_CATALOGUE: Readonly<Record<string, string>> = {
  'invoice.number': 'Invoice number',
  'invoice.issueDate': 'Issue date, formatted for the language',
  'invoice.dueDate': 'Due date, formatted for the language',
  'invoice.total': 'Invoice total incl. tax, formatted with its currency',
  'invoice.currency': 'ISO 4217 currency code',
  'customer.id': "The billing system's customer id",
  'customer.name': 'Customer name',
  'customer.email': 'Customer email (may be empty)',
  'customer.phone': 'Customer phone (may be empty)',
  'creditor.name': 'Creditor (your company) name',
  'creditor.email': 'Creditor contact email',
  'creditor.phone': 'Creditor contact phone',
  'creditor.address': 'Creditor postal address on one line',
  'creditor.legalId': 'Creditor legal id (SIREN/SIRET)',
  'creditor.shareCapital': 'Creditor legal form and share capital (CREDITOR_SHARE_CAPITAL; may be empty)',
  'creditor.iban': 'Creditor IBAN for bank transfers (CREDITOR_IBAN; may be empty)',
  'creditor.bic': 'Creditor BIC (CREDITOR_BIC; may be empty)',
  'amounts.balance': 'Remaining balance, formatted',
  'amounts.total': 'Invoice total, formatted',
  'amounts.interest': 'Late-payment interest to date, formatted',
  'amounts.indemnity': 'Fixed recovery indemnity, formatted',
  'amounts.penalties': 'Interest + indemnity, formatted',
  'amounts.totalClaim': 'Balance + penalties, formatted',
  'penalties.mode': 'commercial | legal | none',
  'penalties.rateBasis': 'The legal basis of the interest rate, one sentence',
  'penalties.mentions': 'The mandatory late-payment mentions (formal notices), a paragraph',
  'penalties.lines': 'Interest periods: each has from, to, days, balance, rate, interest',
  instalments: 'Agreed instalments (payment plans): each has dueDate, amount',
  'payment.link': 'Online payment link (may be empty)',
  'dates.asOf': 'Date of the message, formatted',
  'dates.deadline': 'Payment deadline of formal notices, formatted',
  'message.step': 'Policy step id',
  'message.channel': 'email | sms | letter',
  'message.language': 'fr | en',
};

/** Members of the items of the list variables. */
const ITEM_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  'penalties.lines': ['from', 'to', 'days', 'balance', 'rate', 'interest'],
  instalments: ['dueDate', 'amount'],
};

const engine = new Liquid({
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  // No file system: include/render/layout find nothing (an empty in-memory store).
  templates: {},
  relativeReference: false,
  // Bounds against a template written to exhaust the process.
  parseLimit: 100_000,
  renderLimit: 1_000,
  memoryLimit: 10_000_000,
});

export interface TemplateSource {
  subject?: string | null;
  body: string;
}

export interface TemplateProblem {
  /** subject | body */
  field: 'subject' | 'body';
  message: string;
}

const parsed = new Map<string, Template[]>();
function parse(source: string): Template[] {
  let t = parsed.get(source);
  if (!t) {
    t = engine.parse(source);
    if (parsed.size > 2_000) parsed.clear();
    parsed.set(source, t);
  }
  return t;
}

type Segments = Array<string | number | unknown>;

/** The dotted path of a variable's segments, with list items as "[]". */
function pathOf(segments: Segments): string {
  return segments.map((s) => (typeof s === 'number' ? '[]' : String(s))).join('.').replace(/\.\[\]/g, '[]');
}

function checkVariable(segments: Segments): string | undefined {
  const names = segments.filter((s): s is string => typeof s === 'string');
  const full = pathOf(segments);
  // A list: the list itself, one of its items (by index) and that item's members.
  for (const [list, members] of Object.entries(ITEM_MEMBERS)) {
    if (full === list || full === `${list}.size` || full === `${list}.first` || full === `${list}.last`) return undefined;
    if (full.startsWith(`${list}[]`) || full.startsWith(`${list}.first.`) || full.startsWith(`${list}.last.`)) {
      const member = names[names.length - 1];
      return members.includes(member!) ? undefined : full;
    }
  }
  if (Object.prototype.hasOwnProperty.call(VARIABLE_CATALOGUE, full)) return undefined;
  // A whole object (e.g. {{ invoice }}) is not a printable value: name it as unknown.
  return full;
}

/** Variables the template uses that are not in the catalogue (loop variables are fine). */
export function unknownVariables(source: string): string[] {
  const unknown = new Set<string>();
  for (const segments of engine.globalVariableSegmentsSync(parse(source))) {
    const bad = checkVariable(segments as Segments);
    if (bad) unknown.add(bad);
  }
  return [...unknown];
}

function usedVariables(source: string): Set<string> {
  return new Set(engine.globalVariableSegmentsSync(parse(source)).map((s) => pathOf(s as Segments)));
}

/**
 * Everything wrong with a template for this step and channel; empty when it can be saved.
 * Syntax errors and unknown variables name the part (subject, body) and the variable.
 */
export function validateTemplate(t: TemplateSource, where: { templateId: string; step: string; channel: TemplateChannel; language: Language }): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const parts: Array<['subject' | 'body', string]> = [['body', t.body]];
  if (t.subject != null) parts.unshift(['subject', t.subject]);
  if (where.channel !== 'sms' && !t.subject) problems.push({ field: 'subject', message: `an ${where.channel} template needs a subject` });
  const used = new Set<string>();
  for (const [field, source] of parts) {
    try {
      parse(source);
    } catch (err) {
      problems.push({ field, message: `syntax error: ${(err as Error).message}` });
      continue;
    }
    let unknown: string[];
    try {
      unknown = unknownVariables(source);
    } catch (err) {
      // include/render/layout: there are no other templates to read.
      problems.push({ field, message: `cannot be analysed: ${(err as Error).message}` });
      continue;
    }
    for (const name of unknown) {
      problems.push({ field, message: `unknown variable "${name}" (the catalogue is in docs/templates.md)` });
    }
    for (const v of usedVariables(source)) used.add(v);
    if (unknown.length) continue;
    try {
      engine.renderSync(parse(source), sampleScope(where.language, where.step, where.channel));
    } catch (err) {
      problems.push({ field, message: `does not render against the sample invoice: ${(err as Error).message}` });
    }
  }
  const formal = FORMAL_NOTICE_TEMPLATE_IDS.has(where.templateId) || FORMAL_NOTICE_TEMPLATE_IDS.has(where.step);
  if (formal && where.channel !== 'sms') {
    const missing = FORMAL_NOTICE_REQUIRED.filter((v) => !used.has(v));
    if (missing.length) {
      problems.push({
        field: 'body',
        message: `a formal notice must keep the legal mentions: missing ${missing.map((m) => `{{ ${m} }}`).join(', ')}`,
      });
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------
// The scope of a render: the catalogue's values for one message.

const MENTIONS: Record<Language, { commercial: string; legal: string; none: string; runs: string; runsLegal: string; indemnity: string; asOf: string }> = {
  fr: {
    commercial:
      "Taux des pénalités : taux de refinancement de la Banque centrale européenne majoré de {spread} points (article L441-10 du Code de commerce)",
    legal: "Taux des intérêts : taux de l'intérêt légal (articles 1231-6 et 1344-1 du Code civil)",
    none: '',
    runs: "Les pénalités courent de plein droit depuis le lendemain de la date d'échéance jusqu'au paiement intégral.",
    runsLegal: "Les intérêts au taux légal courent à compter de la mise en demeure jusqu'au paiement intégral.",
    indemnity: "S'y ajoute l'indemnité forfaitaire pour frais de recouvrement de {indemnity} (article D441-5 du Code de commerce).",
    asOf: 'Au {asOf}, elles s\'élèvent à {interest}.',
  },
  en: {
    commercial:
      'Interest rate: the European Central Bank main refinancing rate plus {spread} points (article L441-10 of the French Commercial Code)',
    legal: 'Interest rate: the statutory interest rate (articles 1231-6 and 1344-1 of the French Civil Code)',
    none: '',
    runs: 'Interest runs by operation of law from the day after the due date until payment in full.',
    runsLegal: 'Statutory interest runs from the formal notice until payment in full.',
    indemnity: 'A fixed indemnity for recovery costs of {indemnity} is added (article D441-5 of the French Commercial Code).',
    asOf: 'As at {asOf}, it amounts to {interest}.',
  },
};

function fill(s: string, vars: Record<string, string>): string {
  return s.replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');
}

const FR_MONTHS_FMT = (d: string) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;
const EN_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const EN_FMT = (d: string) => `${Number(d.slice(8, 10))} ${EN_MONTHS[Number(d.slice(5, 7)) - 1]} ${d.slice(0, 4)}`;
const formatDate = (d: string, language: Language) => (language === 'en' ? EN_FMT(d) : FR_MONTHS_FMT(d));

export interface ScopeArgs extends RenderArgs {
  step: string;
  penaltyMode?: 'commercial' | 'legal' | 'none';
  spreadPoints?: number;
  creditor: RenderArgs['creditor'] & { legalId?: string; shareCapital?: string; iban?: string; bic?: string };
}

/** The catalogue's values for one message (every value a string, a number or a list). */
export function scopeOf(args: ScopeArgs): Record<string, unknown> {
  const { invoice, language } = args;
  const money = (minor: number) => formatMoney({ amountMinor: minor, currency: invoice.currency }, language);
  const p: PenaltyResult | undefined = args.penalties;
  const penaltiesTotal = p?.totalMinor ?? 0;
  const deadline = args.deadline ?? addDays(args.asOf, DEFAULT_DEADLINE_DAYS);
  const mode = args.penaltyMode ?? (invoice.customer.kind === 'B2B' ? 'commercial' : 'legal');
  const M = MENTIONS[language];
  const rate = new Intl.NumberFormat(localeFor(language), { style: 'percent', minimumFractionDigits: 2, maximumFractionDigits: 4 });
  const rateBasis = fill(M[mode], { spread: String(args.spreadPoints ?? 10) });
  const vars = { asOf: formatDate(args.asOf, language), interest: money(p?.interestMinor ?? 0), indemnity: money(p?.indemnityMinor ?? 0) };
  const mentions = [rateBasis ? `${rateBasis}.` : '', mode === 'legal' ? M.runsLegal : M.runs, fill(M.asOf, vars), (p?.indemnityMinor ?? 0) > 0 ? fill(M.indemnity, vars) : '']
    .filter(Boolean)
    .join(' ');
  const address = args.creditor.address;
  return {
    invoice: {
      number: invoice.number,
      issueDate: formatDate(invoice.issueDate, language),
      dueDate: formatDate(invoice.dueDate, language),
      total: money(invoice.amountMinor),
      currency: invoice.currency,
    },
    customer: { id: invoice.customer.id, name: invoice.customer.name, email: invoice.customer.email ?? '', phone: invoice.customer.phone ?? '' },
    creditor: {
      name: args.creditor.name,
      email: args.creditor.email ?? '',
      phone: args.creditor.phone ?? '',
      address: address ? [...address.lines, `${address.postalCode} ${address.city}`, address.country].filter(Boolean).join(', ') : '',
      legalId: args.creditor.legalId ?? '',
      shareCapital: args.creditor.shareCapital ?? '',
      iban: args.creditor.iban ?? '',
      bic: args.creditor.bic ?? '',
    },
    amounts: {
      balance: money(args.balanceMinor),
      total: money(invoice.amountMinor),
      interest: money(p?.interestMinor ?? 0),
      indemnity: money(p?.indemnityMinor ?? 0),
      penalties: money(penaltiesTotal),
      totalClaim: money(args.balanceMinor + penaltiesTotal),
    },
    penalties: {
      mode,
      rateBasis,
      mentions,
      lines: (p?.lines ?? []).map((l) => ({
        from: formatDate(l.from, language),
        to: formatDate(l.to, language),
        days: l.days,
        balance: money(l.balanceMinor),
        rate: rate.format(l.ratePercent / 100),
        interest: money(l.interestMinor),
      })),
    },
    instalments: (args.plan?.instalments ?? []).map((i) => ({ dueDate: formatDate(i.dueDate, language), amount: money(i.amountMinor) })),
    payment: { link: invoice.paymentLink ?? '' },
    dates: { asOf: formatDate(args.asOf, language), deadline: formatDate(deadline, language) },
    message: { step: args.step, channel: args.channel, language },
  };
}

/** The sample invoice templates are rendered against when saved (and previews without one). */
export function sampleRenderArgs(language: Language, step: string, channel: TemplateChannel): ScopeArgs {
  return {
    templateId: step,
    step,
    channel,
    language,
    invoice: {
      number: 'F-2026-0042',
      customer: {
        id: 'CUST-42',
        name: 'Dupont SARL',
        kind: 'B2B',
        email: 'compta@dupont.example',
        phone: '+33612345678',
        address: { lines: ['3 rue des Lilas'], postalCode: '69001', city: 'Lyon', country: 'FR' },
        country: 'FR',
        language,
        timeZone: 'Europe/Paris',
      },
      currency: 'EUR',
      amountMinor: 120_000,
      depositMinor: 0,
      issueDate: '2026-01-05',
      dueDate: '2026-02-04',
      paymentLink: 'https://pay.example.test/i/F-2026-0042',
    },
    balanceMinor: 120_000,
    penalties: {
      interestMinor: 1_233,
      indemnityMinor: 4_000,
      totalMinor: 5_233,
      currency: 'EUR',
      lines: [{ from: '2026-02-05', to: '2026-03-06', days: 30, balanceMinor: 120_000, ratePercent: 12.5, interestMinor: 1_233 }],
    },
    asOf: '2026-03-06',
    deadline: '2026-03-14',
    creditor: {
      name: 'Atelier Durand SAS',
      email: 'compta@durand.example',
      phone: '+33 1 23 45 67 89',
      legalId: 'SIREN 123 456 789',
      shareCapital: 'SAS au capital de 50 000 €',
      iban: 'FR7630006000011234567890189',
      bic: 'AGRIFRPP',
    },
    plan: { instalments: [{ dueDate: '2026-03-15', amountMinor: 60_000 }, { dueDate: '2026-04-15', amountMinor: 60_000 }] },
  };
}

function sampleScope(language: Language, step: string, channel: TemplateChannel): Record<string, unknown> {
  return scopeOf(sampleRenderArgs(language, step, channel));
}

/** Plain text → the HTML fragment: escaped, paragraphs, "- " lists, http(s) links as anchors. */
export function textToHtml(text: string, language: Language): string {
  const inline = (s: string) =>
    escapeHtml(s)
      .replace(/https?:\/\/[^\s<]+/gi, (url) => `<a href="${url}">${url}</a>`)
      .replace(/\n/g, '<br>');
  const blocks = text
    .split(/\n{2,}/)
    .map((b) => b.trim())
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      if (lines.every((l) => l.startsWith('- '))) return `<ul>${lines.map((l) => `<li>${inline(l.slice(2))}</li>`).join('')}</ul>`;
      return `<p>${inline(block)}</p>`;
    });
  return `<div lang="${language}">\n${blocks.join('\n')}\n</div>`;
}

/** Renders a saved template for one message: subject and text, HTML derived from the text. */
export function renderTemplate(t: TemplateSource, args: ScopeArgs): RenderedMessage {
  const scope = scopeOf(args);
  const text = String(engine.renderSync(parse(t.body), scope))
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (args.channel === 'sms') return { subject: '', text: text.replace(/\s*\n\s*/g, ' ').slice(0, SMS_MAX_LENGTH), html: '' };
  const subject = t.subject ? String(engine.renderSync(parse(t.subject), scope)).replace(/\s+/g, ' ').trim() : '';
  return { subject, text, html: textToHtml(text, args.language) };
}
