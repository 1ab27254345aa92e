// The activities a worker registers: one implementation per concern, built from the
// database, the configuration and a logger.
//
//   const activities = createActivities({ prisma, config });
//   Worker.create({ taskQueue: TaskQueues.email, activities, ... });
import type { BatchChannelActivities, DunningActivities } from './types';
import { createSendBatchEmail } from './batch-email';
import { createSendBatchSms } from './batch-sms';
import type { ActivityDeps } from './deps';
import { createHandoverToAgency } from './agency';
import { createSendEmail } from './email';
import { createSendLetter } from './letter';
import { createLocalActivities } from './local';
import { createSendSms } from './sms';

export type { ActivityDeps } from './deps';
export type { ActivityLogger, SendHooks } from './communication-log';
export { SKIPPED_SETTLED_NOTE } from './communication-log';
export { messageIdFor } from './email';

export function createActivities(deps: ActivityDeps): DunningActivities & BatchChannelActivities {
  return {
    sendEmail: createSendEmail(deps),
    sendBatchEmail: createSendBatchEmail(deps),
    sendSms: createSendSms(deps),
    sendBatchSms: createSendBatchSms(deps),
    sendLetter: createSendLetter(deps),
    handoverToAgency: createHandoverToAgency(deps),
    ...createLocalActivities(deps),
  };
}
