// Contacts read from the customer's record when a message is sent, over HTTP against the
// real database, a real Temporal dev server, the real email and SMS activities, an SMTP
// sink and the local Twilio fake: billing contact + CC both get the reminder, a billing
// email changed while the invoice runs is used by its next reminder, the agreed discount
// is printed in the courtesy email, and do-not-SMS makes an SMS step fall back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendEmail } from '../../activities/email';
import { createSendSms } from '../../activities/sms';
import { DEMO_SECONDS } from '../../domain/policy';
import type { DunningPolicy } from '../../domain/types';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { startTwilioFake, type TwilioFake } from '../../tools/peers/sms-fake';
import { workflowIdFor } from '../../contracts/ids';
import { migratePolicyUpdate } from '../../contracts/messages';
import { daysFromToday, eventually, invoiceRequest, startApiHarness, uniqueCustomerId, type ApiHarness } from './harness';

const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'test-auth-token';
const quiet = { info: () => {}, warn: () => {} };

let h: ApiHarness;
let sink: MailSink;
let sms: TwilioFake;

beforeAll(async () => {
  [sink, sms] = await Promise.all([startMailSink({ smtpPort: 0, webPort: 0 }), startTwilioFake({ port: 0, accountSid: SID, authToken: TOKEN })]);
  h = await startApiHarness({
    config: {
      SMTP_PORT: String(sink.smtpPort),
      TWILIO_API_BASE: sms.url,
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: TOKEN,
      TWILIO_FROM: '+33757000000',
    },
    channels: (prisma, config) => ({
      sendEmail: createSendEmail({ prisma, config, log: quiet }),
      sendSms: createSendSms({ prisma, config, log: quiet }),
    }),
  });
}, 120_000);
afterAll(async () => {
  await h?.close();
  await Promise.all([sink?.stop(), sms?.stop()]);
});

const customerId = () => uniqueCustomerId('C17c');
const mailsOf = (number: string, subject: RegExp) =>
  sink.messages().filter((m) => m.headers.get('x-relance-invoice') === number && subject.test(m.subject ?? ''));

describe('contacts resolved when a message is sent', () => {
  it('billing contact and CC both get the reminder; a billing email changed meanwhile gets the next one; the agreed discount is in the courtesy email', async () => {
    const id = customerId();
    const created = await h.request('POST', '/v1/customers', {
      body: {
        externalId: id,
        name: 'Contacts SAS',
        kind: 'B2B',
        country: 'FR',
        contacts: [
          { role: 'billing', name: 'Compta', email: 'compta@contacts.example' },
          { role: 'cc', name: 'DAF', email: 'daf@contacts.example' },
          { role: 'escalation', email: 'ceo@contacts.example' },
        ],
        agreedTerms: { earlyPaymentDiscount: { percent: '2', withinDays: 10 } },
      },
    });
    expect(created.status).toBe(201);
    // Demo calendar: courtesy 5 s before the due instant, reminder-1 5 s after it.
    const dueAt = Date.now() + 9_000;
    const body = invoiceRequest(
      { policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(dueAt).toISOString() },
      { externalId: id, name: 'Contacts SAS', email: 'old-from-invoice@contacts.example' },
    );
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);

    const [courtesy] = await eventually(async () => mailsOf(body.number, /échéance/).length > 0 && mailsOf(body.number, /échéance/), 30_000, 'the courtesy email');
    expect(courtesy.to).toEqual(['compta@contacts.example']);
    expect(String(courtesy.headers.get('cc') && JSON.stringify(courtesy.headers.get('cc')))).toContain('daf@contacts.example');
    expect([...courtesy.envelope.to].sort()).toEqual(['compta@contacts.example', 'daf@contacts.example']);
    // 2 % of 1,000.00 if paid within 10 days of the issue date.
    expect(courtesy.text).toMatch(new RegExp(`Escompte pour paiement anticipé convenu avec vous : 2\\s% si le règlement nous parvient au plus tard le ${daysFromToday(10).split('-').reverse().join('/')}, soit 980,00\\s€`));

    const changed = await h.request('PATCH', `/v1/customers/${id}`, {
      body: { contacts: [{ role: 'billing', email: 'new-billing@contacts.example' }, { role: 'cc', email: 'daf@contacts.example' }] },
    });
    expect(changed.status).toBe(200);
    expect(Date.now()).toBeLessThan(dueAt + 5_000); // the change landed before reminder-1 was due

    const [reminder] = await eventually(async () => mailsOf(body.number, /Relance/).length > 0 && mailsOf(body.number, /Relance/), 30_000, 'reminder-1');
    expect(reminder.to).toEqual(['new-billing@contacts.example']);
    expect([...reminder.envelope.to].sort()).toEqual(['daf@contacts.example', 'new-billing@contacts.example']);
    expect(reminder.text).not.toContain('Escompte');
    await h.client.workflow.getHandle(workflowIdFor(body.number)).terminate('test over');
  }, 90_000);

  it('do-not-SMS: the SMS step fails with DoNotContact, nothing reaches Twilio, the policy fallback (email) is sent', async () => {
    const id = customerId();
    await h.request('POST', '/v1/customers', {
      body: { externalId: id, name: 'Pas de SMS SARL', kind: 'B2B', country: 'FR', phone: '+33612345678', email: 'compta@sms.example', doNotSms: true },
    });
    const body = invoiceRequest(
      { policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(Date.now() + 60_000).toISOString() },
      // The billing system's email and phone refresh the record's own (contacts, when kept, win).
      { externalId: id, name: 'Pas de SMS SARL', phone: '+33612345678', email: 'compta@sms.example' },
    );
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    // A calendar with an SMS-only step whose policy fallback is email, given to the running invoice.
    const smsOnly: DunningPolicy = {
      ...DEMO_SECONDS,
      id: 'sms-only',
      steps: [{ id: 'reminder-1', offset: '-PT55S', channels: ['sms'], templateId: 'reminder-1', stage: 'reminder-1', fallback: { sms: 'email' } }],
    };
    const handle = h.client.workflow.getHandle(workflowIdFor(body.number));
    await handle.executeUpdate(migratePolicyUpdate, { args: [{ policy: smsOnly, reason: 'test' }] });

    const [mail] = await eventually(async () => mailsOf(body.number, /Relance/).length > 0 && mailsOf(body.number, /Relance/), 30_000, 'the fallback email');
    expect(mail.to).toEqual(['compta@sms.example']);
    expect(sms.received.filter((m) => m.body.includes(body.number))).toHaveLength(0);
    // The workflow journals its events after the step: wait for them.
    const timeline = await eventually(async () => {
      const t = await h.request('GET', `/v1/invoices/${body.number}/timeline`);
      return t.json.entries.some((e: { type: string }) => e.type === 'fallback') && t;
    }, 15_000, 'the fallback in the timeline');
    const types = timeline.json.entries.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['sms.failed_permanent', 'send-failed', 'fallback', 'email.sent']));
    const failed = timeline.json.entries.find((e: { type: string }) => e.type === 'send-failed');
    expect(failed.detail).toMatchObject({ channel: 'sms', type: 'DoNotContact' });
    await handle.terminate('test over');
  }, 90_000);
});
