// The shapes every language file fills in: the template ids, one template's text, and a
// language pack (the phrases shared by all templates of a language).
import type { Language } from '../types';

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

export function hasTemplate(id: string): id is TemplateId {
  return (TEMPLATE_IDS as readonly string[]).includes(id);
}

export interface TemplateText {
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
  /**
   * Consequences for a consumer, when they must differ: no claim that recovery costs will be
   * charged (L111-8 Code des procédures civiles d'exécution).
   */
  consequencesB2C?: string[];
  /** The summary lists the original amount, the deposit and each payment before the balance. */
  account?: boolean;
  /** The creditor's identity (SIREN/SIRET) and bank details, besides the link. */
  creditorDetails?: boolean;
  /** Email only: says the same text also goes by post ({letterMention}). */
  letterCopy?: string;
  /** Closing offer: help with difficulties, or just questions. */
  outro: 'help' | 'questions';
  sms: string;
  /** Append the payment link to the SMS (default true). */
  smsLink?: boolean;
  /** Print the customer's agreed early-payment discount while it still applies (courtesy). */
  discount?: boolean;
}

export interface LanguagePack {
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
    /** A consumer after the notice: interest from {noticeDate}. */
    b2cIntro: string;
    /** A consumer's formal notice, before its date is known: it starts the interest. */
    b2cFromThisNotice: string;
    /** One line; {basis} is " (where the rate comes from)", or empty when the caller gave none. */
    line: string;
    basis: { ecb: string; legal: string; agreed: string; floor: string };
    /** "2025-H2" → "2d semestre 2025". */
    half: (halfYear: string) => string;
    /** Appended to the basis of a line whose rate is not yet published. */
    provisionalMark: string;
    rounding: string;
    floor: string;
    provisional: string;
    runningB2B: string;
    runningB2C: string;
    indemnity: string;
    total: string;
    b2bReminder: string;
  };
  account: { invoiceTotal: string; deposit: string; payment: string };
  creditor: { identity: string; bank: string };
  /** How the letter travels: registered only when a registered-mail provider sends it. */
  letterMention: { registered: string; post: string };
  instalment: string;
  sms: { pay: string; contact: string };
  /** The agreed early-payment discount: {discountPercent}, {discountUntil}, {discountedBalance}. */
  discount: string;
}

/** One language file: its pack and the text of every template. */
export interface LanguageTemplates {
  pack: LanguagePack;
  templates: Record<TemplateId, TemplateText>;
}

/** Type-level reminder that `Language` and the language files agree. */
export type LanguageFiles = Record<Language, LanguageTemplates>;
