// The activities of a customer's conversation (issue 18) that need a Temporal client: a
// workflow can neither signal-with-start another workflow nor send it an update.
//   - queueForCustomer: signal-with-start of `customer-<id>` (started when absent, else
//     signalled, atomically: two invoices handing over at once find one customer workflow);
//   - checkBatch: the consolidationCheck update of each queued invoice, answered from its
//     current state just before the batch goes.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { batchCheckUpdate, stepQueuedSignal, type CustomerConversationInput } from '../contracts/consolidation';
import { customerWorkflowIdFor } from '../contracts/ids';
import type { BatchAnswer } from '../domain/consolidation';
import type { CheckBatchInput, CustomerActivities, QueueForCustomerInput } from './types';

/**
 * Invoices asked at once by a batch: every invoice of an ordinary account at once (each answer
 * is a workflow task of its invoice, the batch waits for the slowest); a customer with hundreds
 * of invoices still does not flood the frontend.
 */
const CHECK_CONCURRENCY = 64;

/** `batchSpreadSeconds`: over how many seconds after the batch time the customers' batches go (default 60). */
export function createCustomerActivities(client: Client, opts: { batchSpreadSeconds?: number } = {}): CustomerActivities {
  return {
    async queueForCustomer({ customer, item, taskQueue }: QueueForCustomerInput): Promise<void> {
      const args: [CustomerConversationInput] = [{ customer, ...(opts.batchSpreadSeconds !== undefined ? { batchSpreadSeconds: opts.batchSpreadSeconds } : {}) }];
      await client.workflow.signalWithStart('customerConversation', {
        workflowId: customerWorkflowIdFor(customer.id),
        taskQueue,
        args,
        signal: stepQueuedSignal,
        signalArgs: [item],
        staticSummary: `Customer ${customer.id}`,
      });
    },

    async checkBatch({ batchKey, items }: CheckBatchInput): Promise<BatchAnswer[]> {
      const answers: BatchAnswer[] = new Array(items.length);
      for (let from = 0; from < items.length; from += CHECK_CONCURRENCY) {
        await Promise.all(
          items.slice(from, from + CHECK_CONCURRENCY).map(async (item, i) => {
            answers[from + i] = await ask(client, item.workflowId, { stepId: item.stepId, batchKey });
          }),
        );
      }
      return answers;
    },
  };
}

async function ask(client: Client, workflowId: string, check: { stepId: string; batchKey: string }): Promise<BatchAnswer> {
  try {
    return await client.workflow.getHandle(workflowId).executeUpdate(batchCheckUpdate, { args: [check] });
  } catch (err) {
    // A closed invoice (paid, cancelled) takes no update: it is no longer due. Anything else
    // (the frontend unavailable) is retried by the activity.
    if (err instanceof WorkflowNotFoundError || /already completed|not found/i.test((err as Error).message)) {
      return { due: false, reason: 'the invoice is closed' };
    }
    throw err;
  }
}
