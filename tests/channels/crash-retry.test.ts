// A worker dying between the provider's acceptance and the end of the activity leaves a
// PENDING row behind. The retry must not send twice where the provider lets us tell:
// same email Message-ID (the sink drops the duplicate and counts it), same Twilio
// idempotency token (same SM sid), same postal / agency Idempotency-Key, the existing
// outbox file. Each test crashes once (a hook throwing where the worker would die, or a
// real SIGKILL of a child process), then runs the activity again with the same key.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index';
import { messageIdFor } from '../../activities/email';
import type { ActivityDeps } from '../../activities/deps';
import type { SendHooks } from '../../activities/communication-log';
import type { DunningActivities } from '../../activities/types';
import { startMailSink } from '../../tools/peers/mail-sink';
import type { MailSink } from '../../tools/peers/mail-sink';
import { startTwilioFake } from '../../tools/peers/sms-fake';
import type { TwilioFake } from '../../tools/peers/sms-fake';
import { startPostalFake } from '../../tools/peers/postal-fake';
import type { PostalFake } from '../../tools/peers/postal-fake';
import { startAgencyFake } from '../../tools/peers/agency-fake';
import type { AgencyFake } from '../../tools/peers/agency-fake';
import {
  communication,
  invoiceFixture,
  memoryLogger,
  PENALTIES,
  runActivity,
  seedInvoice,
  seedPayment,
  sendInput,
  startTestDb,
  tempDir,
  testConfig,
} from './support';
import type { TestDb } from './support';

const SID = 'AC0123456789abcdef0123456789abcdef';
const SECRET = 'crash-test-agency-secret';

let db: TestDb;
let sink: MailSink;
let twilio: TwilioFake;
let postal: PostalFake;
let agency: AgencyFake;
let dataDir: { dir: string; remove(): Promise<void> };
let env: Record<string, string>;
let log: ReturnType<typeof memoryLogger>;

beforeAll(async () => {
  [db, sink, twilio, postal, agency, dataDir] = await Promise.all([
    startTestDb(),
    startMailSink({ smtpPort: 0, webPort: 0 }),
    startTwilioFake({ port: 0 }),
    startPostalFake({ port: 0 }),
    startAgencyFake({ port: 0, secret: SECRET }),
    tempDir('crash'),
  ]);
  env = {
    DATA_DIR: dataDir.dir,
    SMTP_PORT: String(sink.smtpPort),
    TWILIO_API_BASE: twilio.url,
    TWILIO_ACCOUNT_SID: SID,
    AGENCY_HMAC_SECRET: SECRET,
  };
});

afterAll(async () => {
  await Promise.all([sink?.stop(), twilio?.stop(), postal?.stop(), agency?.stop(), db?.stop()]);
  await dataDir?.remove();
});

beforeEach(() => {
  sink.clear();
  twilio.clear();
  postal.clear();
  agency.clear();
  log = memoryLogger();
});

/** Activities whose first delivery "crashes" right after the provider accepted it. */
function crashingOnce(extraEnv: Record<string, string> = {}): { crashing: DunningActivities; healthy: DunningActivities } {
  let crashed = false;
  const hooks: SendHooks = {
    afterDeliver() {
      if (!crashed) {
        crashed = true;
        throw new Error('worker died after the provider accepted');
      }
    },
  };
  const deps: ActivityDeps = { prisma: db.prisma, config: testConfig({ ...env, ...extraEnv }), log, hooks };
  return { crashing: createActivities(deps), healthy: createActivities({ ...deps, hooks: undefined }) };
}

async function crash(run: Promise<unknown>): Promise<void> {
  await expect(run).rejects.toThrow('worker died after the provider accepted');
}

describe('crash between provider acceptance and log completion', () => {
  it('email: the retry resends the same Message-ID; the sink keeps one message and counts the duplicate; the row ends SENT', async () => {
    const { crashing, healthy } = crashingOnce();
    const input = sendInput(invoiceFixture(), 'email', 'reminder-1');

    await crash(runActivity(crashing.sendEmail, input));
    let row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'PENDING', error: null, attempts: 1 });
    expect(sink.messages()).toHaveLength(1);

    const result = await runActivity(healthy.sendEmail, input);

    expect(result.status).toBe('SENT');
    expect(sink.messages()).toHaveLength(1);
    expect(sink.duplicates).toBe(1); // it was sent again, and recognised as the same message
    expect(sink.messages()[0]!.messageId).toBe(messageIdFor(input.idempotencyKey));
    row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'SENT', attempts: 2, error: null, providerId: messageIdFor(input.idempotencyKey) });
    expect(log.lines.some((l) => l.startsWith('warn resuming a send'))).toBe(true);
  });

  it('email, real process death: a child worker is SIGKILLed after SMTP acceptance, the retry dedupes', async () => {
    const input = sendInput(invoiceFixture(), 'email', 'reminder-2');
    const child = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.resolve('tests/channels/crash-child.ts')], {
      env: { ...process.env, ...env, NODE_ENV: 'test', DATABASE_URL: db.url, RELANCE_CRASH_INPUT: JSON.stringify(input) },
      timeout: 30_000,
    }).then(
      () => ({ killed: false, stdout: '' }),
      (err: { signal?: string; stdout?: string }) => ({ killed: err.signal === 'SIGKILL', stdout: err.stdout ?? '' }),
    );
    expect(child.stdout).toContain('accepted by SMTP; dying now');
    expect(child.killed).toBe(true);
    expect(sink.messages()).toHaveLength(1);
    expect((await communication(db.prisma, input.idempotencyKey)).status).toBe('PENDING');

    const { healthy } = crashingOnce();
    expect((await runActivity(healthy.sendEmail, input)).status).toBe('SENT');
    expect(sink.messages()).toHaveLength(1);
    expect(sink.duplicates).toBe(1);
    expect(sink.messages()[0]!.attachments).toHaveLength(1); // reminder-2 carries the extract
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', attempts: 2 });
  }, 40_000);

  it('SMS: the retry reuses the Twilio idempotency token: same SM sid, one message', async () => {
    const { crashing, healthy } = crashingOnce();
    const input = sendInput(invoiceFixture(), 'sms', 'reminder-2');

    await crash(runActivity(crashing.sendSms, input));
    const firstSid = twilio.received[0]!.sid;
    const result = await runActivity(healthy.sendSms, input);

    expect(twilio.received).toHaveLength(1);
    expect(twilio.replays).toBe(1);
    expect(result.providerId).toBe(firstSid);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', attempts: 2, providerId: firstSid });
  });

  it('letter to the outbox: the existing file is the delivery, it is not written again', async () => {
    const { crashing, healthy } = crashingOnce();
    const input = sendInput(invoiceFixture(), 'letter', 'formal-notice', { penalties: PENALTIES });

    await crash(runActivity(crashing.sendLetter, input));
    const file = (await communication(db.prisma, input.idempotencyKey)).documentRef!;
    const before = await stat(file);
    await new Promise((r) => setTimeout(r, 20));
    const result = await runActivity(healthy.sendLetter, input);

    expect(result.status).toBe('SENT');
    const after = await stat(file);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', attempts: 2 });
  });

  it('letter through the postal API: the same Idempotency-Key returns the same tracking number', async () => {
    const { crashing, healthy } = crashingOnce({ POSTAL_API_URL: postal.url });
    const input = sendInput(invoiceFixture(), 'letter', 'formal-notice', { penalties: PENALTIES });

    await crash(runActivity(crashing.sendLetter, input));
    const result = await runActivity(healthy.sendLetter, input);

    expect(postal.letters).toHaveLength(1);
    expect(postal.replays).toBe(1);
    expect(result.providerId).toBe(postal.letters[0]!.trackingNumber);
  });

  it('agency over HTTP: the same Idempotency-Key returns the same case', async () => {
    const { crashing, healthy } = crashingOnce({ AGENCY_URL: agency.url });
    const invoice = invoiceFixture();
    const input = {
      idempotencyKey: `invoice-${invoice.number}/agency-handover/agency`,
      workflowId: `invoice-${invoice.number}`,
      invoice,
      balanceMinor: 120_000,
      penalties: PENALTIES,
      asOf: '2026-04-13',
      payments: [],
      knownPaymentIds: [],
    };

    await crash(runActivity(crashing.handoverToAgency, input));
    const result = await runActivity(healthy.handoverToAgency, input);

    expect(agency.received).toHaveLength(1);
    expect(agency.replays).toBe(1);
    expect(result).toMatchObject({ status: 'SENT', providerId: agency.received[0]!.caseId });
  });

  it('a payment recorded before the retry: skipped, and the row says AMBIGUOUS (the crashed attempt may have been delivered)', async () => {
    const { crashing, healthy } = crashingOnce();
    const invoice = invoiceFixture();
    const invoiceId = await seedInvoice(db.prisma, invoice);
    const input = sendInput(invoice, 'email', 'reminder-1');

    await crash(runActivity(crashing.sendEmail, input));
    await seedPayment(db.prisma, invoiceId, { source: 'bank', externalId: 'TX-late', amountMinor: 120_000 });
    const result = await runActivity(healthy.sendEmail, input);

    expect(result.status).toBe('SKIPPED_SETTLED');
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row.status).toBe('AMBIGUOUS');
    expect(row.error).toMatch(/^skipped: settled meanwhile; an earlier attempt was interrupted and may have reached smtp/);
    expect(sink.duplicates).toBe(0);
  });
});
