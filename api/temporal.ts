// The API's calls to Temporal: each bounded by a deadline (a down server answers 503
// fast instead of hanging in the client's retries), with the workflow's errors mapped
// to problems: closed workflow → 409, update/validator rejection → 422 naming the field.
import {
  ApplicationFailure,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { workflowIdFor } from '../contracts/ids';
import { Problem, problems, type FieldError } from './problem';

export interface TemporalGateway {
  client: Client;
  /** Task queue of the invoiceDunning workflow (TaskQueues.workflow, with a prefix in tests). */
  taskQueue: string;
  /** Deadline of one call, ms. */
  timeoutMs: number;
}

export function withDeadline<R>(t: TemporalGateway, fn: () => Promise<R>, timeoutMs = t.timeoutMs): Promise<R> {
  return t.client.withDeadline(Date.now() + timeoutMs, fn);
}

export function handleFor(t: TemporalGateway, invoiceNumber: string): WorkflowHandle {
  return t.client.workflow.getHandle(workflowIdFor(invoiceNumber));
}

function closedProblem(invoiceNumber: string): Problem {
  return problems.conflict(`The dunning workflow of invoice ${invoiceNumber} is closed; it takes no more actions`, 'invoice-closed');
}

/** "instalments[0].amountMinor" (workflow) → "instalments.0.amount" (API body). */
export function apiFieldOf(workflowField: string): string {
  return workflowField.replace(/\[(\d+)\]/g, '.$1').replace(/Minor$/, '');
}

export async function signalInvoice<A extends unknown[]>(
  t: TemporalGateway,
  invoiceNumber: string,
  signal: SignalDefinition<A>,
  ...args: A
): Promise<void> {
  try {
    await withDeadline(t, () => handleFor(t, invoiceNumber).signal(signal, ...args));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw closedProblem(invoiceNumber);
    throw err;
  }
}

export async function updateInvoice<R, A>(
  t: TemporalGateway,
  invoiceNumber: string,
  update: UpdateDefinition<R, [A]>,
  arg: A,
): Promise<R> {
  try {
    return await withDeadline(t, () => handleFor(t, invoiceNumber).executeUpdate(update, { args: [arg] }));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw closedProblem(invoiceNumber);
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause;
      const reason = cause?.message ?? err.message;
      const details = cause instanceof ApplicationFailure ? (cause.details ?? []) : [];
      const errors: FieldError[] = details
        .filter((d): d is FieldError => typeof d === 'object' && d !== null && 'field' in d && 'message' in d)
        .map((d) => ({ field: apiFieldOf(String(d.field)), message: String(d.message) }));
      // A refusal about the invoice's state (closed, cancelled, with the agency), not about the
      // request, is a conflict: the same request could succeed on another invoice.
      const stateOnly = errors.length > 0 && errors.every((e) => e.field === 'invoice');
      throw new Problem(stateOnly ? 409 : 422, 'Rejected by the workflow', reason, {
        type: stateOnly ? 'invoice-state' : 'workflow-rejected',
        errors: errors.length ? errors : [{ field: '(body)', message: reason }],
      });
    }
    throw err;
  }
}

export async function queryInvoice<R>(t: TemporalGateway, invoiceNumber: string, query: QueryDefinition<R, []>): Promise<R> {
  return withDeadline(t, () => handleFor(t, invoiceNumber).query(query));
}
