// createDunningWorkers refuses a role whose activities were not given, before creating any
// Worker (a process started with WORKER_ROLES=email but no email activity fails at start,
// not at its first send).
import type { NativeConnection } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { createDunningWorkers } from '../../../worker/create-worker';

const base = { connection: {} as NativeConnection, namespace: 'default', rates: { email: 1, sms: 1, letter: 1, agency: 1 } };
const noop = async () => undefined as never;

describe('createDunningWorkers roles', () => {
  it('names each missing activity with its role', async () => {
    await expect(createDunningWorkers({ ...base, roles: ['email', 'workflows'], activities: { journal: noop } })).rejects.toThrow(
      /missing activities for the roles asked \(email: sendEmail, workflows: createPhoneTask, workflows: publicHolidays, workflows: rateTables\)/,
    );
  });

  it('asks nothing of the roles not run here, and refuses an empty role list', async () => {
    // Only the SMS activity is given and only SMS is asked: the check passes and Worker.create is
    // reached, which fails on the fake connection (proof that no role check refused it).
    await expect(createDunningWorkers({ ...base, roles: ['sms'], activities: { sendSms: noop } })).rejects.not.toThrow(/missing activities/);
    await expect(createDunningWorkers({ ...base, roles: [], activities: {} })).rejects.toThrow(/no role given/);
  });
});
