// Shared shapes of the dunning domain. Plain JSON everywhere: these cross the
// Temporal boundary (workflow input, messages, activity inputs) unchanged.

export type Channel = 'email' | 'sms' | 'letter' | 'agency' | 'phone';
export type Language = 'fr' | 'en';
export type Audience = 'B2B' | 'B2C';

/** An amount in integer minor units (cents) with its ISO 4217 currency. */
export interface Money {
  amountMinor: number;
  currency: string;
}

export interface PostalAddress {
  lines: string[];
  postalCode: string;
  city: string;
  /** ISO 3166-1 alpha-2 */
  country: string;
}

export interface CustomerSnapshot {
  /** The billing system's id for the customer (safe for search attributes). */
  id: string;
  name: string;
  kind: Audience;
  email?: string;
  phone?: string;
  address?: PostalAddress;
  /** ISO 3166-1 alpha-2: which public holidays apply. */
  country: string;
  language: Language;
  /** IANA time zone, e.g. Europe/Paris */
  timeZone: string;
}

export interface InvoiceSnapshot {
  number: string;
  customer: CustomerSnapshot;
  currency: string;
  /** Total amount of the invoice, incl. tax, minor units. */
  amountMinor: number;
  /** Deposit already paid when the invoice was issued, minor units. */
  depositMinor: number;
  /** YYYY-MM-DD */
  issueDate: string;
  /** YYYY-MM-DD, in the customer's time zone. */
  dueDate: string;
  /**
   * Optional exact instant (ISO-8601) the invoice falls due. When set it anchors the
   * calendar instead of the start of dueDate: second-scale demo policies need it.
   */
  dueAt?: string;
  paymentLink?: string;
}

/** Which penalties a policy applies (French Code de commerce by default). */
export interface PenaltyTerms {
  /** commercial: ECB refi + spread (B2B, L441-10); legal: legal rate (B2C); none. */
  mode: 'commercial' | 'legal' | 'none';
  /** Percentage points over the ECB main refinancing rate (commercial mode). */
  spreadPoints: number;
  /** Agreed contractual annual rate in percent, overrides the table when set. */
  agreedRatePercent?: number;
  /** Fixed recovery indemnity in minor units (4000 = €40, B2B only), 0 for none. */
  fixedIndemnityMinor: number;
}

export interface SendWindow {
  /** When false, actions fire at their exact instants (demo / test policies). */
  enabled: boolean;
  /** Local wall-clock "HH:mm" */
  start: string;
  end: string;
  businessDaysOnly: boolean;
  skipPublicHolidays: boolean;
}

export interface PolicyStep {
  id: string;
  /** ISO-8601 duration from the anchor, may be negative: "-P3D", "P7D", "PT30S". */
  offset: string;
  channels: Channel[];
  /** Template id per step (templates exist per language and channel). */
  templateId: string;
  /** Channel used when a channel fails permanently, e.g. { email: 'letter' }. */
  fallback?: Partial<Record<Channel, Channel>>;
  /** Display name of the dunning stage reached by this step (defaults to id). */
  stage?: string;
  /** The step waits for a collector's approval (approve, skip, postpone) before it is sent. */
  approval?: StepApproval;
}

export interface StepApproval {
  /** False: this step is sent without approval (a policy created through the API asks it by default for its formal notice and agency handover). */
  required?: boolean;
  /** ISO duration the step waits for an answer (default P3D). */
  within?: string;
  /** Without an answer by then: send it anyway, or keep it held and escalated on the list (default). */
  onTimeout?: 'send' | 'escalate';
}

export interface DunningPolicy {
  id: string;
  version: number;
  name: string;
  audience: Audience;
  steps: PolicyStep[];
  sendWindow: SendWindow;
  penalties: PenaltyTerms;
  /** Grace after a missed instalment before the plan is void (ISO duration). */
  instalmentGrace: string;
  maxInstalments: number;
  /** Grace after a promised date before escalation resumes (ISO duration). */
  promiseGrace: string;
  /** How long the workflow listens for payments/agency outcome after handover. */
  agencyListenFor: string;
  /** Days a formal notice gives the debtor to pay (default 8), stated in the letter. */
  noticeDeadlineDays?: number;
  /** A human reply holds the reminders until a collector reads it ('hold', the default) or is only recorded ('note'). */
  onReply?: 'hold' | 'note';
  /** Longest a reply holds the reminders when nobody reads it (ISO duration, default P5D). */
  replyHoldMax?: string;
  /** Longest a payment in flight holds the reminders without news (ISO duration, default P10D). */
  pendingPaymentMax?: string;
  /** How often a hold without an end (dispute, pause without until) wakes the workflow to re-evaluate (ISO duration, default P30D). */
  holdRecheck?: string;
  /**
   * One conversation per customer (domain/consolidation.ts): `friendly` hands the email of a
   * friendly step to the customer's daily batch; `off` (the default) sends at step time.
   */
  consolidate?: 'friendly' | 'off';
  /** Local "HH:mm" of the customer's daily batch (default 09:30). */
  consolidateAt?: string;
  /** ISO duration the invoice waits for the customer's workflow before sending alone (default PT1H). */
  consolidateWaitFor?: string;
}

/** Where a line's rate comes from, printed beside it in letters. */
export type RateBasis =
  /** ECB main refinancing rate of the half-year + the policy's spread (L441-10 default). */
  | { kind: 'ecb'; halfYear: string; ecbPercent: number; spreadPoints: number }
  /** Taux de l'intérêt légal of the half-year (consumers, Code civil 1231-6). */
  | { kind: 'legal'; halfYear: string }
  /** The rate agreed in the contract. */
  | { kind: 'agreed'; agreedPercent: number }
  /** An agreed rate below 3 × the legal rate, raised to that floor (L441-10). */
  | { kind: 'floor'; halfYear: string; agreedPercent: number; legalPercent: number };

export interface PenaltyResult {
  /** True when a line used a rate not yet published (marked provisional, or past the table). */
  provisionalRates?: boolean;
  interestMinor: number;
  indemnityMinor: number;
  totalMinor: number;
  currency: string;
  /**
   * One line per period of constant balance, rate and half-year, for letters and dossiers.
   * Each line is rounded half-up to the minor unit; the interest is the sum of the lines.
   */
  lines: Array<{
    from: string;
    to: string;
    days: number;
    balanceMinor: number;
    ratePercent: number;
    interestMinor: number;
    basis?: RateBasis;
    provisional?: boolean;
  }>;
  /**
   * Set when an agreed contractual rate (`agreedRatePercent`) was below the legal floor of
   * 3x the legal interest rate (art. L441-10 Code de commerce) for part of the period: the
   * lines concerned are computed at the floor (basis `floor`) and the letter says so.
   */
  belowLegalFloor?: boolean;
  /**
   * Consumers only: the date of the formal notice from which legal interest runs (Code
   * civil 1231-6, 1344-1). Absent for a consumer: no notice yet, so no interest.
   */
  formalNoticeDate?: string;
}
