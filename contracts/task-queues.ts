// Task queue names, shared by the worker (which polls them), the API (which starts
// workflows on the workflow queue) and the workflow (which schedules channel activities).

/** Task queue of each channel: each gets its own worker and provider rate limit. */
export const TaskQueues = {
  workflow: 'dunning',
  email: 'dunning-email',
  sms: 'dunning-sms',
  letter: 'dunning-letter',
  agency: 'dunning-agency',
} as const;

export type ChannelQueues = { email: string; sms: string; letter: string; agency: string };

/**
 * The channel queues that go with a workflow queue: `<prefix>dunning` → `<prefix>dunning-email`...
 * A prefixed deployment (or a test) keeps its queues apart by prefixing the workflow queue
 * only; the workflow asks this for its channel queues, and so do the workers that poll them.
 */
export function channelQueuesFor(workflowQueue: string = TaskQueues.workflow): ChannelQueues {
  // No throw on a queue named otherwise (the replayer's own queue, for one): a throw here
  // would fail every workflow task of the run; the worker only ever polls `<prefix>dunning`.
  const prefix = workflowQueue.slice(0, -TaskQueues.workflow.length);
  return { email: prefix + TaskQueues.email, sms: prefix + TaskQueues.sms, letter: prefix + TaskQueues.letter, agency: prefix + TaskQueues.agency };
}
