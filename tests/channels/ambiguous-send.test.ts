// An email whose 250 never comes back in time: the SMTP server (one that, like most,
// stores a repeat of the same Message-ID instead of dropping it) has taken the message
// and answers after the client gave up. That attempt is AMBIGUOUS, with its SMTP
// transcript. What the retry does is the step's rule (domain/delivery.ts): a friendly
// step is resent once and never again; a formal step is never resent blindly, it throws
// a non-retryable AmbiguousDelivery for a collector, whose "resend" sends it once more.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ActivityDeps } from '../../activities/deps';
import { createActivities } from '../../activities/index';
import type { DunningActivities } from '../../activities/types';
import { PermanentFailureTypes } from '../../contracts/failures';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import {
  communication,
  invoiceFixture,
  memoryLogger,
  PENALTIES,
  runActivity,
  runFailing,
  sendInput,
  startTestDb,
  testConfig,
  type TestDb,
} from './support';

/** The client gives up after this; the server answers its 250 later still. */
const CLIENT_TIMEOUT_MS = 700;
const LATE_ACCEPT_MS = 2_000;

let db: TestDb;
let sink: MailSink;
let activities: DunningActivities;

beforeAll(async () => {
  [db, sink] = await Promise.all([startTestDb(), startMailSink({ smtpPort: 0, webPort: 0, dropDuplicates: false })]);
  const deps: ActivityDeps = {
    prisma: db.prisma,
    config: testConfig({ SMTP_PORT: String(sink.smtpPort), PROVIDER_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS) }),
    log: memoryLogger(),
  };
  activities = createActivities(deps);
});
afterAll(async () => {
  await Promise.all([sink?.stop(), db?.stop()]);
});
beforeEach(() => {
  sink.clear();
  sink.setAcceptDelay(0);
});

/** The first attempt: stored by the server, no 250 in time. */
async function ambiguousFirstAttempt(input: ReturnType<typeof sendInput>) {
  sink.setAcceptDelay(LATE_ACCEPT_MS);
  const failure = await runFailing(activities.sendEmail, input);
  expect(failure.nonRetryable).toBe(false); // the activity's retry policy decides what comes next
  expect(sink.messages()).toHaveLength(1);
  const row = await communication(db.prisma, input.idempotencyKey);
  expect(row.status).toBe('AMBIGUOUS');
  // The transcript shows the message was handed over (DATA accepted with 354, body sent)
  // and no final answer came.
  expect(row.transcript).toMatch(/C: DATA/);
  expect(row.transcript).toMatch(/S: 354/);
  expect(row.transcript).not.toMatch(/S: 250 .*(queued|OK).*\n?$/i);
  await new Promise((r) => setTimeout(r, LATE_ACCEPT_MS)); // the server's late 250 is of no use now
  sink.setAcceptDelay(0);
  return row;
}

describe('an email step whose attempt ended ambiguous', () => {
  it('friendly step: resent once (the customer may hold two), then never again', async () => {
    const input = sendInput(invoiceFixture(), 'email', 'reminder-1');
    await ambiguousFirstAttempt(input);

    // Retry 1: resent once.
    sink.setAcceptDelay(LATE_ACCEPT_MS); // and this one is lost in the same way
    await runFailing(activities.sendEmail, input);
    expect(sink.messages()).toHaveLength(2);
    expect(sink.duplicates).toBe(1); // the server stored the repeat: the customer has two
    await new Promise((r) => setTimeout(r, LATE_ACCEPT_MS));
    sink.setAcceptDelay(0);

    // Retry 2: not resent again; recorded as such and the step goes on.
    const result = await runActivity(activities.sendEmail, input);
    expect(result.status).toBe('AMBIGUOUS');
    expect(sink.messages()).toHaveLength(2);
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'AMBIGUOUS', resends: 1, attempts: 3 });
    expect(row.error).toMatch(/^not resent: .*resent once already/);
  });

  it('friendly step: a resend that gets its 250 ends SENT, one resend recorded', async () => {
    const input = sendInput(invoiceFixture(), 'email', 'reminder-2');
    await ambiguousFirstAttempt(input);
    const result = await runActivity(activities.sendEmail, input);
    expect(result.status).toBe('SENT');
    expect(sink.messages()).toHaveLength(2);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', resends: 1, attempts: 2 });
  });

  it('formal step: held, not resent, until a collector says "resend"', async () => {
    const input = sendInput(invoiceFixture(), 'email', 'formal-notice', { penalties: PENALTIES, deadline: '2026-03-22' });
    await ambiguousFirstAttempt(input);

    const held = await runFailing(activities.sendEmail, input);
    expect(held.type).toBe(PermanentFailureTypes.AmbiguousDelivery);
    expect(held.nonRetryable).toBe(true);
    expect(sink.messages()).toHaveLength(1); // 0 duplicates
    let row = await communication(db.prisma, input.idempotencyKey);
    expect(held.details).toEqual([{ communicationId: row.id }]);
    expect(row).toMatchObject({ status: 'AMBIGUOUS', resends: 0 });
    expect(row.error).toMatch(/^held: .*never resent blindly/);
    expect(row.transcript).toMatch(/C: DATA/); // the first attempt's conversation is kept for the collector

    // A retry of the activity (a worker restart, a workflow that asks again) holds again.
    expect((await runFailing(activities.sendEmail, input)).type).toBe(PermanentFailureTypes.AmbiguousDelivery);
    expect(sink.messages()).toHaveLength(1);

    const resent = await runActivity(activities.sendEmail, { ...input, resendAmbiguous: true });
    expect(resent.status).toBe('SENT');
    expect(sink.messages()).toHaveLength(2);
    row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'SENT', resends: 1 });
  });

  it('the policy can make a friendly step hold too', async () => {
    const input = sendInput(invoiceFixture(), 'email', 'reminder-1', { onAmbiguous: 'hold' });
    await ambiguousFirstAttempt(input);
    expect((await runFailing(activities.sendEmail, input)).type).toBe(PermanentFailureTypes.AmbiguousDelivery);
    expect(sink.messages()).toHaveLength(1);
  });
});
