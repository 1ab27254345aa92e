// sendSms through the real twilio SDK against the local fake of Twilio's Messages API
// over HTTP: what the fake received (path, form body, Basic auth, idempotency token),
// and how 400 (permanent), 429 (retry after Retry-After) and 500 (retry) are handled.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSendSms, toE164 } from '../../activities/sms';
import type { ActivityDeps } from '../../activities/deps';
import { startTwilioFake, twilioError } from '../../tools/peers/sms-fake';
import type { TwilioFake } from '../../tools/peers/sms-fake';
import { communication, invoiceFixture, memoryLogger, runActivity, runFailing, sendInput, startTestDb, testConfig } from './support';
import type { TestDb } from './support';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'test-auth-token';

let db: TestDb;
let fake: TwilioFake;
let deps: ActivityDeps;
let sendSms: ReturnType<typeof createSendSms>;

beforeAll(async () => {
  [db, fake] = await Promise.all([startTestDb(), startTwilioFake({ port: 0, accountSid: SID, authToken: TOKEN })]);
  const config = testConfig({
    TWILIO_API_BASE: fake.url,
    TWILIO_ACCOUNT_SID: SID,
    TWILIO_AUTH_TOKEN: TOKEN,
    TWILIO_FROM: '+33757000000',
  });
  deps = { prisma: db.prisma, config, log: memoryLogger() };
  sendSms = createSendSms(deps);
});

afterAll(async () => {
  await Promise.all([fake?.stop(), db?.stop()]);
});

beforeEach(() => fake.clear());

describe('toE164', () => {
  it('parses national numbers with the customer country and refuses what cannot take an SMS', () => {
    expect(toE164('06 12 34 56 78', 'FR')).toBe('+33612345678');
    expect(toE164('0470 12 34 56', 'BE')).toBe('+32470123456');
    expect(toE164('+44 7911 123456', 'FR')).toBe('+447911123456');
    expect(() => toE164('12345', 'FR')).toThrow(/invalid phone number/);
    expect(() => toE164('01 23 45 67 89', 'FR')).toThrow(/cannot receive SMS \(FIXED_LINE\)/);
  });
});

describe('sendSms', () => {
  it('sends a short formal reminder through the SDK with the idempotency token, and logs it', async () => {
    const invoice = invoiceFixture();
    const input = sendInput(invoice, 'sms', 'reminder-2');

    const result = await runActivity(sendSms, input);

    expect(fake.received).toHaveLength(1);
    const sms = fake.received[0]!;
    expect(sms.accountSid).toBe(SID);
    expect(sms.to).toBe('+33612345678');
    expect(sms.from).toBe('+33757000000');
    expect(sms.body).toContain(`facture n°${invoice.number}`);
    expect(sms.body).toMatch(/Reste dû : 1[\s\u202f\u00a0]200,00[\s\u00a0]€/);
    expect(sms.body).toContain(`Payer : ${invoice.paymentLink}`);
    expect(sms.body.length).toBeLessThanOrEqual(320);
    expect(sms.idempotencyToken).toBe(input.idempotencyKey);
    expect(sms.headers['authorization']).toBe(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString('base64')}`);
    expect(sms.headers['content-type']).toContain('application/x-www-form-urlencoded');

    expect(result).toMatchObject({ status: 'SENT', provider: 'twilio-fake', providerId: sms.sid });
    expect(sms.sid).toMatch(/^SM[0-9a-f]{32}$/);
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'SENT', channel: 'sms', recipient: '+33612345678', providerId: sms.sid, body: sms.body, attempts: 1 });
  });

  it('returns ALREADY_SENT without a request for a key already SENT', async () => {
    const input = sendInput(invoiceFixture(), 'sms', 'reminder-2');
    await runActivity(sendSms, input);
    const again = await runActivity(sendSms, input);
    expect(again.status).toBe('ALREADY_SENT');
    expect(fake.requests).toBe(1);
  });

  it("fails permanently on 400 / 21211 (invalid 'To'), recorded with Twilio's code", async () => {
    // +1 500 555 0001 is a valid personal number for libphonenumber; Twilio (and the fake) refuse it.
    const input = sendInput(invoiceFixture({}, { phone: '+15005550001' }), 'sms', 'reminder-2');

    const failure = await runFailing(sendSms, input);

    expect(failure).toMatchObject({ nonRetryable: true, type: 'InvalidRecipient' });
    expect(failure.message).toContain('21211');
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row.status).toBe('FAILED_PERMANENT');
    expect(row.error).toMatch(/^InvalidRecipient \[21211\]: Twilio 400 error 21211: Invalid 'To' Phone Number/);
    expect(fake.received).toHaveLength(0);
  });

  it('fails permanently (ProviderRejected) on another 400', async () => {
    const input = sendInput(invoiceFixture(), 'sms', 'reminder-2');
    fake.failNext(400, twilioError(400, 21610, 'Attempt to send to unsubscribed recipient'));
    expect(await runFailing(sendSms, input)).toMatchObject({ nonRetryable: true, type: 'InvalidRecipient' });

    const other = sendInput(invoiceFixture(), 'sms', 'reminder-2');
    fake.failNext(400, twilioError(400, 21602, 'Message body is required.'));
    expect(await runFailing(sendSms, other)).toMatchObject({ nonRetryable: true, type: 'ProviderRejected' });
  });

  it('retries a 429 after the Retry-After the provider gave (nextRetryDelay), then sends once', async () => {
    const input = sendInput(invoiceFixture(), 'sms', 'reminder-2');
    fake.failNext(429, undefined, { 'Retry-After': '7' });

    const failure = await runFailing(sendSms, input);

    expect(failure).toMatchObject({ nonRetryable: false, type: 'ProviderRateLimited' });
    expect(failure.nextRetryDelay).toBe(7000);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({
      status: 'PENDING',
      error: expect.stringMatching(/^retrying: ProviderRateLimited \[20429\]/),
    });

    expect((await runActivity(sendSms, input)).status).toBe('SENT');
    expect(fake.received).toHaveLength(1);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', attempts: 2, error: null });
  });

  it('retries a 500 without a Retry-After (default backoff) and marks the row AMBIGUOUS meanwhile', async () => {
    const input = sendInput(invoiceFixture(), 'sms', 'reminder-2');
    fake.failNext(500);

    const failure = await runFailing(sendSms, input);

    expect(failure).toMatchObject({ nonRetryable: false, type: 'ProviderUnavailable' });
    expect(failure.nextRetryDelay).toBeUndefined();
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row.status).toBe('AMBIGUOUS');
    expect(row.error).toContain('twilio-fake may have received it');

    expect((await runActivity(sendSms, input)).status).toBe('SENT');
    expect(fake.received).toHaveLength(1);
    expect(fake.received[0]!.idempotencyToken).toBe(input.idempotencyKey);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', attempts: 2 });
  });

  it('refuses a missing, invalid or landline number before calling Twilio', async () => {
    const none = sendInput(invoiceFixture({}, { phone: undefined }), 'sms', 'reminder-2');
    const landline = sendInput(invoiceFixture({}, { phone: '01 23 45 67 89' }), 'sms', 'reminder-2');
    expect(await runFailing(sendSms, none)).toMatchObject({ nonRetryable: true, type: 'NoRecipient' });
    expect(await runFailing(sendSms, landline)).toMatchObject({ nonRetryable: true, type: 'InvalidRecipient' });
    expect(fake.requests).toBe(0);
  });

  it('fails permanently when Twilio refuses the credentials (401)', async () => {
    const wrong = createSendSms({ ...deps, config: { ...deps.config, TWILIO_AUTH_TOKEN: 'wrong' } });
    const input = sendInput(invoiceFixture(), 'sms', 'reminder-2');
    const failure = await runFailing(wrong, input);
    expect(failure).toMatchObject({ nonRetryable: true, type: 'ProviderRejected' });
    expect(failure.message).toContain('20003');
  });

  it('retries when the API cannot be reached', async () => {
    const down = createSendSms({ ...deps, config: { ...deps.config, TWILIO_API_BASE: 'http://127.0.0.1:1' } });
    const input = sendInput(invoiceFixture(), 'sms', 'reminder-2');
    const failure = await runFailing(down, input);
    expect(failure.nonRetryable).toBe(false);
    expect((await communication(db.prisma, input.idempotencyKey)).error).toMatch(/^retrying: ProviderUnavailable/);
  });

  it('lists received SMS on the fake\'s page for humans', async () => {
    await runActivity(sendSms, sendInput(invoiceFixture(), 'sms', 'reminder-2'));
    const html = await fetch(`${fake.url}/`).then((r) => r.text());
    expect(html).toContain('+33612345678');
    expect(html).toContain(fake.received[0]!.sid);
  });
});
