// Identifiers and idempotency keys, one home each: the API, the workflow and the
// activities all build them here, so a key written by one is found by the others.

/** One workflow per invoice: starting twice for the same number finds the running one. */
export const workflowIdFor = (invoiceNumber: string): string => `invoice-${invoiceNumber}`;

/**
 * The paymentId convention shared by the API (payment signals), the workflow
 * (`knownPaymentIds`) and the activities' settled-check: `<source>:<externalId>` of
 * the Payment row (unique per source + external id), e.g. `stripe:pi_3Nx...`.
 */
export function paymentIdOf(source: string, externalId: string): string {
  return `${source}:${externalId}`;
}

/** Unique key of the communication log: one send per (workflow, step, channel), ever. */
export function sendIdempotencyKey(workflowId: string, stepId: string, channel: string): string {
  return `${workflowId}/${stepId}/${channel}`;
}

/** Key of one journal event: a retried write of the same event is a no-op. */
export function journalEventKey(workflowId: string, firstExecutionRunId: string, seq: number): string {
  return `${workflowId}/${firstExecutionRunId}/${seq}`;
}

/** One workflow per customer (issue 18): the daily batch of its invoices' friendly steps. */
export const customerWorkflowIdFor = (customerId: string): string => `customer-${customerId}`;

/** Key of a customer's batch message: one per channel per batch date, ever. */
export function batchIdempotencyKey(customerId: string, batchDate: string, channel: string): string {
  return `${customerWorkflowIdFor(customerId)}/${batchDate}/${channel}`;
}
