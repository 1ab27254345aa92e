// Messages of the invoiceDunning workflow. Inputs are plain JSON objects so ops
// can send them from the Temporal UI as well as through the API.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Channel, DunningPolicy, InvoiceSnapshot, PenaltyResult } from '../domain/types';

export interface PaymentReceived {
  /** Unique per payment: a repeated signal with the same id is counted once. */
  paymentId: string;
  amountMinor: number;
  currency: string;
  /** ISO instant the provider received it. */
  receivedAt: string;
  source: string;
}

export interface InstalmentInput {
  /** YYYY-MM-DD (end of that day, customer's time zone) or an ISO instant. */
  due: string;
  amountMinor: number;
}
export interface ProposeInstalmentPlan {
  instalments: InstalmentInput[];
  note?: string;
}
export interface InstalmentState extends InstalmentInput {
  /** Resolved ISO instant the instalment falls due. */
  dueAt: string;
  paidMinor: number;
}
export interface InstalmentPlan {
  agreedAt: string;
  instalments: InstalmentState[];
  note?: string;
}

export interface RecordPromiseToPay {
  /** YYYY-MM-DD (end of that day, customer's time zone) or an ISO instant. */
  date: string;
  note?: string;
}

export interface OpenDispute {
  reason: string;
}
/** The closed vocabularies of the messages; the API's request schemas are built from them (message-schemas.ts). */
export const DISPUTE_OUTCOMES = ['creditor', 'credit-note'] as const;
export const CANCEL_REASONS = ['credit-note', 'write-off', 'issued-in-error'] as const;
export const AGENCY_OUTCOME_STATUSES = ['in-progress', 'recovered', 'partially-recovered', 'unrecoverable'] as const;

export interface ResolveDispute {
  /** creditor: escalation resumes; credit-note: balance lowered by creditNoteMinor (or cancelled when it covers it). */
  outcome: (typeof DISPUTE_OUTCOMES)[number];
  creditNoteMinor?: number;
  note?: string;
}
export interface Pause {
  reason: string;
  /** ISO instant or YYYY-MM-DD; without it the pause lasts until resume. */
  until?: string;
}
export interface CancelInvoice {
  reason: (typeof CANCEL_REASONS)[number];
  note?: string;
}
export interface AgencyOutcome {
  status: (typeof AGENCY_OUTCOME_STATUSES)[number];
  amountRecoveredMinor?: number;
  note?: string;
}

export type Outcome = 'paid' | 'cancelled' | 'written-off' | 'agency-recovered' | 'agency-unrecoverable' | 'agency-closed';

export interface TimelineEntry {
  at: string;
  type: string;
  detail?: Record<string, unknown>;
}

export interface DunningStatus {
  invoiceNumber: string;
  workflowId: string;
  stage: string;
  balanceMinor: number;
  currency: string;
  penalties?: PenaltyResult;
  nextAction?: { stepId: string; channels: string[]; at: string };
  /** Why no action is scheduled: paused, disputed, promise, plan, done. */
  holding?: { kind: 'pause' | 'dispute' | 'promise' | 'plan' | 'ambiguous-send' | 'reply' | 'pending-payment' | 'approval'; until?: string; reason?: string };
  /** A step waiting for a collector's approval (approveStep), when one is. */
  approval?: PendingApproval;
  plan?: InstalmentPlan;
  promise?: { date: string; until: string };
  completedSteps: string[];
  payments: PaymentReceived[];
  outcome?: Outcome;
  policy: { id: string; version: number };
  timeline: TimelineEntry[];
}

export const paymentReceivedSignal = defineSignal<[PaymentReceived]>('paymentReceived');

// The ops actions a person sends (API, Temporal UI, CLI) are also updates, under the same
// names as their signals: the validator refuses a wrong input with the field named before
// anything is recorded. The signals stay for running senders that cannot wait (webhooks);
// a signal with a wrong input is recorded in the timeline as refused, never applied.
export const recordPaymentUpdate = defineUpdate<{ balanceMinor: number }, [PaymentReceived]>('paymentReceived');
export const openDisputeUpdate = defineUpdate<{ disputed: boolean }, [OpenDispute]>('openDispute');
export const resolveDisputeUpdate = defineUpdate<{ balanceMinor: number }, [ResolveDispute]>('resolveDispute');
export const pauseUpdate = defineUpdate<{ until?: string }, [Pause]>('pause');
export const resumeUpdate = defineUpdate<{ resumed: boolean }, [{ note?: string }]>('resume');
export const cancelInvoiceUpdate = defineUpdate<{ cancelled: boolean }, [CancelInvoice]>('cancelInvoice');
export const openDisputeSignal = defineSignal<[OpenDispute]>('openDispute');
export const resolveDisputeSignal = defineSignal<[ResolveDispute]>('resolveDispute');
export const pauseSignal = defineSignal<[Pause]>('pause');
export const resumeSignal = defineSignal<[{ note?: string }?]>('resume');
export const cancelInvoiceSignal = defineSignal<[CancelInvoice]>('cancelInvoice');
export const agencyOutcomeSignal = defineSignal<[AgencyOutcome]>('agencyOutcome');

/** A collector posted the formal-notice letter (an outbox draft) by hand on `postedOn`. */
export interface FormalNoticePosted {
  /** YYYY-MM-DD, the customer's local date of posting: a consumer's legal interest runs from it. */
  postedOn: string;
  note?: string;
}
export const formalNoticePostedSignal = defineSignal<[FormalNoticePosted]>('formalNoticePosted');
/** The same as an update: refused (field named) when the date is wrong or the notice is dated already. */
export const formalNoticePostedUpdate = defineUpdate<{ date: string }, [FormalNoticePosted]>('formalNoticePosted');

/** A human reply to one of the invoice's messages (api/inbound): holds reminders per the policy's onReply. */
export interface ReplyReceived {
  /** InboundMessage id: a repeated signal with the same id is counted once. */
  inboundId: string;
  receivedAt: string;
  from?: string;
  subject?: string;
  excerpt?: string;
}
/** A collector marked the reply read: its hold ends. */
export interface ReplyRead {
  inboundId: string;
}
/** A message the workflow had sent turned out undeliverable (a DSN, an SMS delivery report). */
export interface DeliveryFailed {
  /** Inbound message or provider callback that told us; a repeat is counted once. */
  reference: string;
  stepId: string;
  channel: Channel;
  /** Permanent: resend the step on its fallback channel. Transient: noted only. */
  permanent: boolean;
  reason: string;
}
/** A payment on its way (SEPA debit processing, a transfer the debtor announced), or its failure. */
export interface PendingPayment {
  /** Provider reference (Stripe payment intent id) or the ops' reference; a payment with this external id ends it. */
  reference: string;
  status: 'pending' | 'failed';
  source: string;
  amountMinor?: number;
  /** ISO instant; capped by the policy's pendingPaymentMax. */
  expiresAt?: string;
  reason?: string;
}
export const replyReceivedSignal = defineSignal<[ReplyReceived]>('replyReceived');
export const replyReadSignal = defineSignal<[ReplyRead]>('replyRead');
export const deliveryFailedSignal = defineSignal<[DeliveryFailed]>('deliveryFailed');
export const pendingPaymentSignal = defineSignal<[PendingPayment]>('pendingPayment');

export const proposeInstalmentPlanUpdate = defineUpdate<InstalmentPlan, [ProposeInstalmentPlan]>('proposeInstalmentPlan');
export const recordPromiseToPayUpdate = defineUpdate<{ until: string }, [RecordPromiseToPay]>('recordPromiseToPay');

export interface MigratePolicy {
  /** The new policy snapshot (validated); steps already done (by id) stay done. */
  policy: DunningPolicy;
  reason?: string;
}
/** The channels whose send can be ambiguous, and a collector's answers about one. */
export const AMBIGUOUS_SEND_CHANNELS = ['email', 'sms', 'letter', 'agency'] as const;
export const AMBIGUOUS_SEND_ACTIONS = ['delivered', 'resend', 'drop'] as const;
/** A collector's answer about a send whose outcome is unknown (held formal step). */
export interface ResolveAmbiguousSend {
  communicationId: string;
  stepId: string;
  channel: (typeof AMBIGUOUS_SEND_CHANNELS)[number];
  /** delivered: count it as sent; resend: send it once more; drop: go on without it. */
  action: (typeof AMBIGUOUS_SEND_ACTIONS)[number];
  /** Who resolved it (the API key's name), for the timeline. */
  actor?: string;
  note?: string;
}
export const resolveAmbiguousSendUpdate = defineUpdate<{ stepId: string; action: ResolveAmbiguousSend['action'] }, [ResolveAmbiguousSend]>(
  'resolveAmbiguousSend',
);
/** The decisions a collector takes on a step waiting for approval. */
export const APPROVAL_ACTIONS = ['approve', 'skip', 'postpone'] as const;
/** A collector's answer to a step that requires approval before it is sent. */
export interface ApproveStep {
  /** The step waiting (the invoice's pending approval); checked by the validator. */
  stepId: string;
  /** approve: send it now; skip: never send it, go on with the calendar; postpone: ask again on `until`. */
  action: (typeof APPROVAL_ACTIONS)[number];
  /** With postpone: YYYY-MM-DD (end of that day, customer's time zone) or an ISO instant in the future. */
  until?: string;
  /** Who decided (the API key's name), for the timeline. */
  actor?: string;
  note?: string;
}
export interface PendingApproval {
  stepId: string;
  /** ISO instant the approval was asked (again, after a postponement). */
  since: string;
  /** When nobody answers by then, the policy's onTimeout applies (absent once escalated). */
  until?: string;
  onTimeout: 'send' | 'escalate';
  escalated?: boolean;
  /** Set while postponed: the step is asked again at `until`. */
  postponed?: boolean;
}
export const approveStepUpdate = defineUpdate<{ stepId: string; action: ApproveStep['action']; until?: string }, [ApproveStep]>('approveStep');

/**
 * Agreed terms of the customer's record that change the calendar: set at start (input) and
 * sent to running invoices when the record changes (absolute values, so a repeat is harmless).
 */
export interface CustomerTerms {
  /** Days the whole calendar is pushed back (0 or null: none). */
  graceDays?: number | null;
  /** The formal steps (formal and final notices, agency handover) wait for a collector's approval. */
  approvalBeforeFormalSteps?: boolean;
  /** Who changed them (the API key's name), for the timeline. */
  actor?: string;
}
export const customerTermsUpdate = defineUpdate<{ graceDays: number; approvalBeforeFormalSteps: boolean }, [CustomerTerms]>('customerTerms');
export const migratePolicyUpdate = defineUpdate<{ from: string; to: string; nextStep?: string }, [MigratePolicy]>('migratePolicy');

export const statusQuery = defineQuery<DunningStatus>('status');
/** The policy snapshot this invoice runs now (pinned at issue, or the one migrated to). */
export const policyQuery = defineQuery<DunningPolicy>('policy');

export interface InvoiceDunningInput {
  invoice: InvoiceSnapshot;
  policy: DunningPolicy;
  /**
   * Public holidays of the customer's country for the years the calendar spans, by
   * "CC:YYYY" (dunningInputFor() in domain/schedule.ts fills it from date-holidays).
   * The workflow fetches any other year it needs through a local activity.
   */
  holidays?: Record<string, string[]>;
  /** History length that triggers continue-as-new (default 2,000; tests lower it). */
  continueAsNewAfterEvents?: number;
  /** The customer's agreed grace period and approval setting when the invoice was issued. */
  customerTerms?: CustomerTerms;
  /** The customer's pause when the invoice was issued during it: the invoice starts paused. */
  customerHold?: Pause;
  /** Carried across continue-as-new; absent on the first run. */
  carried?: unknown;
}
