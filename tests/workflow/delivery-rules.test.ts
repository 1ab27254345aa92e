// The workflow side of delivery told truthfully (issue 13), under time skipping:
// - an ops message with a wrong input: as a signal it is recorded as refused and changes
//   nothing; as an update it is refused with the field named, before anything is recorded;
// - a formal step whose email send ended ambiguous (the channel activity throws a
//   non-retryable AmbiguousDelivery) is held, shown in the status, and goes on only as a
//   collector resolves it (resend: sent once more) or when the policy's bound passes;
// - a step whose sends took long moves the rest of the calendar with it.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import type { SendInput, SendResult } from '../../activities/types';
import { PermanentFailureTypes } from '../../contracts/failures';
import {
  cancelInvoiceSignal,
  pauseSignal,
  pauseUpdate,
  resolveAmbiguousSendUpdate,
  resumeUpdate,
  statusQuery,
} from '../../contracts/messages';
import { cleanup, makeDoubles, startInvoice, useTestEnv } from './harness';

let env: TestWorkflowEnvironment;
const DAY = 86_400_000;
useTestEnv((e) => (env = e));

async function start(sendEmail?: (input: SendInput, base: (i: SendInput) => Promise<SendResult>) => Promise<SendResult>) {
  const doubles = makeDoubles();
  const base = doubles.activities.sendEmail!;
  if (sendEmail) doubles.activities.sendEmail = (input) => sendEmail(input, base);
  const { handle, invoice, worker } = await startInvoice(env, { queue: 'delivery', doubles });
  return { handle, doubles, cleanup: () => cleanup(handle, worker), dueMs: Date.parse(`${invoice.dueDate}T00:00:00Z`) };
}

/** The ValidationError details a rejected update carries. */
async function rejection(p: Promise<unknown>): Promise<Array<{ field: string; message: string }>> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe('ValidationError');
  return cause.details as Array<{ field: string; message: string }>;
}

describe('ops messages refuse bad input', () => {
  it('a pause signal with a wrong input is recorded as refused; the pause update names the field', async () => {
    const { handle, cleanup } = await start();
    try {
      await handle.signal(pauseSignal, { reason: 42 as unknown as string });
      let st = await handle.query(statusQuery);
      expect(st.holding).toBeUndefined();
      expect(st.timeline.find((t) => t.type === 'signal-refused')?.detail).toMatchObject({ signal: 'pause', field: 'reason' });
      expect(st.timeline.some((t) => t.type === 'paused')).toBe(false);

      expect(await rejection(handle.executeUpdate(pauseUpdate, { args: [{ reason: 42 as unknown as string }] }))).toEqual([
        { field: 'reason', message: 'must be a string, not number' },
      ]);
      const past = new Date((await env.currentTimeMs()) - DAY).toISOString();
      expect((await rejection(handle.executeUpdate(pauseUpdate, { args: [{ reason: 'asked', until: past }] })))[0]!.field).toBe('until');
      expect((await handle.query(statusQuery)).timeline.filter((t) => t.type === 'paused')).toHaveLength(0);

      expect(await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'customer on holiday' }] })).toEqual({});
      st = await handle.query(statusQuery);
      expect(st.holding).toMatchObject({ kind: 'pause', reason: 'customer on holiday' });
      expect(await handle.executeUpdate(resumeUpdate, { args: [{ note: 'back' }] })).toEqual({ resumed: true });
      expect((await handle.query(statusQuery)).holding).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});

describe('a formal step whose send ended ambiguous', () => {
  it('is held until a collector resolves it; "resend" sends it once more; the calendar keeps its spacing', async () => {
    const resends: string[] = [];
    const { handle, doubles, cleanup, dueMs } = await start(async (input, base) => {
      if (input.stepId !== 'formal-notice') return base(input);
      if (input.resendAmbiguous) {
        resends.push(input.stepId);
        return base(input);
      }
      throw ApplicationFailure.create({
        type: PermanentFailureTypes.AmbiguousDelivery,
        message: 'held: an earlier attempt may have reached smtp',
        nonRetryable: true,
        details: [{ communicationId: 'comm-1' }],
      });
    });
    try {
      await env.sleep(dueMs + 31 * DAY - (await env.currentTimeMs()) + 12 * 3_600_000); // past the formal notice (J+30)
      let st = await handle.query(statusQuery);
      expect(st.holding).toMatchObject({ kind: 'ambiguous-send', reason: 'formal-notice/email: communication comm-1' });
      expect(doubles.sent.filter((s) => s.stepId === 'formal-notice').map((s) => s.channel)).toEqual(['letter']);

      // A day later, still held: nothing else went out, the final notice is not bunched in.
      await env.sleep(DAY);
      expect(doubles.sent.some((s) => s.stepId === 'final-notice')).toBe(false);

      const wrong = await rejection(
        handle.executeUpdate(resolveAmbiguousSendUpdate, {
          args: [{ communicationId: 'comm-2', stepId: 'formal-notice', channel: 'email', action: 'resend' }],
        }),
      );
      expect(wrong[0]!.field).toBe('communicationId');
      const resolvedAt = await env.currentTimeMs();
      expect(
        await handle.executeUpdate(resolveAmbiguousSendUpdate, {
          args: [{ communicationId: 'comm-1', stepId: 'formal-notice', channel: 'email', action: 'resend', actor: 'ops' }],
        }),
      ).toEqual({ stepId: 'formal-notice', action: 'resend' });
      await env.sleep(60_000);
      st = await handle.query(statusQuery);
      expect(resends).toEqual(['formal-notice']);
      expect(st.completedSteps).toContain('formal-notice');
      expect(st.holding).toBeUndefined();
      const shifted = st.timeline.find((t) => t.type === 'calendar-shifted');
      expect(shifted?.detail).toMatchObject({ stepId: 'formal-notice' });
      expect(Number(shifted?.detail?.lateMs)).toBeGreaterThan(DAY);
      // The final notice (J+60) keeps its 30 days from the formal notice actually sent.
      expect(Date.parse(st.nextAction!.at)).toBeGreaterThan(resolvedAt + 29 * DAY);
      await handle.signal(cancelInvoiceSignal, { reason: 'write-off' });
      await handle.result();
    } finally {
      await cleanup();
    }
  });

  it('without a resolution within the bound, it goes on without resending, and says so', async () => {
    const { handle, cleanup, dueMs } = await start(async (input, base) => {
      if (input.stepId !== 'formal-notice') return base(input);
      throw ApplicationFailure.create({ type: PermanentFailureTypes.AmbiguousDelivery, message: 'held', nonRetryable: true, details: [{ communicationId: 'c' }] });
    });
    try {
      await env.sleep(dueMs + 35 * DAY - (await env.currentTimeMs()));
      const st = await handle.query(statusQuery);
      expect(st.timeline.find((t) => t.type === 'ambiguous-unresolved')?.detail).toMatchObject({
        stepId: 'formal-notice',
        channel: 'email',
        reason: 'no resolution within the bound',
      });
      expect(st.completedSteps).toContain('formal-notice');
      expect(st.holding).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});
