// Messages between an invoice's workflow and its customer's workflow (issue 18). The invoice
// hands a due step over (stepQueued, through signal-with-start), the customer acknowledges
// (consolidationQueued), asks just before sending whether the step is still due (the
// consolidationCheck update, answered from the invoice's state) and reports what became of it
// (consolidationReport).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BatchAnswer, BatchChannel, QueuedStep } from '../domain/consolidation';
import type { CustomerSnapshot } from '../domain/types';

export type { BatchAnswer, BatchChannel, BatchLine, QueuedStep } from '../domain/consolidation';

export interface CustomerConversationInput {
  customer: CustomerSnapshot;
  /** Seconds the customers' batches are spread over after the batch time (default 60; batchSpreadMs). */
  batchSpreadSeconds?: number;
  /** History length that triggers continue-as-new (default 2,000; tests lower it). */
  continueAsNewAfterEvents?: number;
  /** Carried across continue-as-new; absent on the first run. */
  carried?: unknown;
}

/** To the customer: a step fell due and waits for the batch. */
export const stepQueuedSignal = defineSignal<[QueuedStep]>('stepQueued');

/** To the invoice: the customer's workflow took the step for the batch at `batchAt`. */
export interface BatchQueued {
  stepId: string;
  batchAt: string;
  customerWorkflowId: string;
}
export const batchQueuedSignal = defineSignal<[BatchQueued]>('consolidationQueued');

/** To the invoice: what the batch did with its step. */
export interface BatchReport {
  stepId: string;
  /**
   * sent: listed in the batch message; dropped: no longer due (reason); failed: the batch
   * message failed for good; missed: queued after its batch had gone (the invoice sends alone).
   */
  status: 'sent' | 'dropped' | 'failed' | 'missed';
  reason?: string;
  batchKey: string;
  communicationId?: string;
  /** How many invoices the message listed. */
  invoices?: number;
  /**
   * Per channel, when the step handed over more than its email (SMS batching): what each
   * channel's message did. Absent: the report above stands for every channel handed over.
   */
  channels?: Partial<Record<BatchChannel, Omit<BatchReport, 'stepId' | 'channels'>>>;
}
export const batchReportSignal = defineSignal<[BatchReport]>('consolidationReport');

export interface BatchCheck {
  stepId: string;
  batchKey: string;
}
/** Asked of the invoice just before the batch goes: is this step still due? */
export const batchCheckUpdate = defineUpdate<BatchAnswer, [BatchCheck]>('consolidationCheck');

export interface CustomerConversationStatus {
  customerId: string;
  pending: QueuedStep[];
  lastBatchDate?: string;
  batches: number;
  recent: Array<{
    batchKey: string;
    at: string;
    listed: string[];
    dropped: Array<{ invoiceNumber: string; reason: string }>;
    status: string;
    /** The batch's SMS, when it carried one. */
    sms?: { batchKey: string; listed: string[]; status: string };
  }>;
}
export const customerStatusQuery = defineQuery<CustomerConversationStatus>('customerStatus');
