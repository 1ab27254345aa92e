// A customer's workflow that takes hand-offs and never answers (a wedged or broken
// deployment of it): registered under the real type name on a queue of its own by
// tests/workflow/customer-conversation.test.ts.
import { condition } from '@temporalio/workflow';

export async function customerConversation(): Promise<void> {
  await condition(() => false);
}
