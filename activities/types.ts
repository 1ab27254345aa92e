// The activity surface the workflow sees. Implementations live one per concern
// (email.ts, sms.ts, letter.ts, agency.ts, records.ts); the workflow imports only
// these types, so nothing of Node or Prisma enters the workflow bundle.
import type { AmbiguityRule } from '../domain/delivery';
import type { RateTables } from '../domain/rates';
import type { Channel, CustomerSnapshot, InvoiceSnapshot, PenaltyResult } from '../domain/types';
import type { BatchAnswer, BatchLine, QueuedStep } from '../domain/consolidation';


export interface SendInput {
  /** `<workflowId>/<stepId>/<channel>`: unique key of the communication log. */
  idempotencyKey: string;
  workflowId: string;
  /** Policy step id, or a service message: 'receipt', 'plan-confirmed', 'plan-breached'. */
  stepId: string;
  templateId: string;
  channel: Channel;
  invoice: InvoiceSnapshot;
  /** Balance the workflow knows of when it starts the send. */
  balanceMinor: number;
  penalties?: PenaltyResult;
  /** The customer's local date of the send (YYYY-MM-DD), for the text. */
  asOf: string;
  /** Payment deadline stated in formal notices (YYYY-MM-DD). */
  deadline?: string;
  /** Payments received so far (customer's local dates), listed in formal notices. */
  payments?: Array<{ date: string; amountMinor: number }>;
  /** plan-confirmed: the instalments agreed (customer's local dates), listed in the message. */
  plan?: { instalments: Array<{ dueDate: string; amountMinor: number }> };
  /**
   * Payment ids the workflow has already counted. A reminder activity checks the
   * payment journal just before the provider call: a payment recorded meanwhile that
   * settles the balance means the reminder is skipped (status SKIPPED_SETTLED).
   */
  knownPaymentIds: string[];
  /** The step's rule after an ambiguous attempt (domain/delivery.ts); default by template. */
  onAmbiguous?: AmbiguityRule;
  /** A collector resolved the step's ambiguous send with "resend". */
  resendAmbiguous?: boolean;
}

export interface SendResult {
  /** AMBIGUOUS: resent once after an ambiguous attempt already, not sent again (friendly steps). */
  status: 'SENT' | 'ALREADY_SENT' | 'SKIPPED_SETTLED' | 'AMBIGUOUS';
  communicationId?: string;
  provider?: string;
  providerId?: string;
  documentRef?: string;
  /**
   * Letters only. registered: a registered-mail provider sent it, dispatched at dispatchedAt
   * (ISO). Not registered: the letter is a draft in the outbox, to be posted by hand; its date
   * as a formal notice is the posting date a collector records.
   */
  letter?: { registered: boolean; dispatchedAt?: string };
}

export interface AgencyHandoverInput {
  idempotencyKey: string;
  workflowId: string;
  invoice: InvoiceSnapshot;
  balanceMinor: number;
  penalties: PenaltyResult;
  asOf: string;
  payments: Array<{ paymentId: string; amountMinor: number; receivedAt: string; source: string }>;
  knownPaymentIds: string[];
}

export interface AgencyHandoverResult {
  status: SendResult['status'];
  dossierRef?: string;
  providerId?: string;
}

export interface PhoneTaskInput {
  idempotencyKey: string;
  workflowId: string;
  stepId: string;
  invoice: InvoiceSnapshot;
  balanceMinor: number;
  /**
   * Payment ids the workflow has counted. As for a reminder send, payments recorded
   * meanwhile that settle the balance mean the task is not given to ops (skipped).
   * Absent in inputs recorded before this field existed: no check then.
   */
  knownPaymentIds?: string[];
}

/** A phone task created, or skipped because payments recorded meanwhile settle the balance. */
export interface PhoneTaskResult {
  taskId: string;
  skipped?: boolean;
}

export interface RecordEventInput {
  workflowId: string;
  invoiceNumber: string;
  /** Deterministic per workflow event, so a retried write is a no-op. */
  eventKey: string;
  type: string;
  /** ISO instant (workflow time). */
  at: string;
  data: Record<string, unknown>;
}

export interface SyncInvoiceStateInput {
  invoiceNumber: string;
  /** The policy the workflow runs now (changes only through migratePolicy). */
  policy?: { id: string; version: number };
  stage: string;
  balanceMinor: number;
  outcome?: string;
  closedAt?: string;
}

export interface ChannelActivities {
  sendEmail(input: SendInput): Promise<SendResult>;
  sendSms(input: SendInput): Promise<SendResult>;
  sendLetter(input: SendInput): Promise<SendResult>;
  handoverToAgency(input: AgencyHandoverInput): Promise<AgencyHandoverResult>;
}

export interface RecordActivities {
  createPhoneTask(input: PhoneTaskInput): Promise<PhoneTaskResult>;
}

export interface JournalInput {
  events: RecordEventInput[];
  /** The invoice row's mirror of the workflow state, for reports and lists. */
  state?: SyncInvoiceStateInput;
}

/** Run as local activities on the workflow task queue: short database writes. */
export interface JournalActivities {
  journal(input: JournalInput): Promise<void>;
  createPhoneTask(input: PhoneTaskInput): Promise<PhoneTaskResult>;
}

export interface PublicHolidaysInput {
  /** ISO 3166-1 alpha-2, any case. */
  country: string;
  year: number;
}

/**
 * Run as a local activity on the workflow task queue, once per (country, year) a workflow
 * needs: the holiday library stays out of the workflow bundle (domain/send-window.ts).
 */
export interface CalendarActivities {
  /** The country's public holidays that year, as sorted YYYY-MM-DD local dates. */
  publicHolidays(input: PublicHolidaysInput): Promise<string[]>;
  /**
   * The late-payment rate tables of the worker's configuration. The workflow asks before each
   * step: the result is recorded in history, so a newly confirmed rate reaches running invoices
   * at their next step and a replay sees the table each run saw.
   */
  rateTables(): Promise<RateTables>;
}

export interface QueueForCustomerInput {
  customer: CustomerSnapshot;
  item: QueuedStep;
  /** The workflow task queue the customer's workflow runs on when it has to be started. */
  taskQueue: string;
}

export interface CheckBatchInput {
  /** `customer-<id>/<batch date>/<channel>`: the batch asking. */
  batchKey: string;
  items: QueuedStep[];
}

/**
 * Run on the workflow task queue with a Temporal client: a workflow can neither
 * signal-with-start nor send an update, an activity can.
 */
export interface CustomerActivities {
  /** Signal-with-start of `customer-<id>`: started when absent, signalled when running. */
  queueForCustomer(input: QueueForCustomerInput): Promise<void>;
  /** Asks each invoice (consolidationCheck update) whether its step is still due; one answer per item, in order. */
  checkBatch(input: CheckBatchInput): Promise<BatchAnswer[]>;
}

export interface BatchEmailInput {
  /** `customer-<id>/<batch date>/email`. */
  idempotencyKey: string;
  customerWorkflowId: string;
  customer: CustomerSnapshot;
  lines: BatchLine[];
  /** The most advanced step among the lines (batchTemplate). */
  templateId: string;
  /** The batch's local date. */
  asOf: string;
}

export interface BatchEmailResult {
  status: SendResult['status'];
  communicationId?: string;
  /** Invoices the message listed. */
  listed: string[];
  /** Invoices left out at the last moment: payments recorded meanwhile settle them. */
  skipped: Array<{ invoiceNumber: string; reason: string }>;
}

export interface BatchChannelActivities {
  sendBatchEmail(input: BatchEmailInput): Promise<BatchEmailResult>;
  /** The same batch on SMS (key `customer-<id>/<batch date>/sms`): count, total and payment link. */
  sendBatchSms(input: BatchEmailInput): Promise<BatchEmailResult>;
}

export type DunningActivities = ChannelActivities & RecordActivities & JournalActivities & CalendarActivities;
