// Answers that come back, against real peers: the real email activity sends reminders to
// the local SMTP sink with per-message Reply-To / Return-Path, the customer's reply goes over
// SMTP to the inbound receiver (smtp-server) or through the signed inbound-mail webhook,
// bounces come back as RFC 3464 reports, Twilio posts signed status callbacks, Stripe
// announces payments in flight; the invoice workflows run on a real Temporal dev server.
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import Stripe from 'stripe';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendBatchEmail } from '../../activities/batch-email';
import { createSendEmail } from '../../activities/email';
import { loadInvoice, snapshotOf } from '../../api/invoices';
import { returnAddress } from '../../contracts/reply-addresses';
import { DEMO_SECONDS } from '../../domain/policy';
import { TaskQueues } from '../../contracts/task-queues';
import { startInboundSmtp, type InboundSmtp } from '../../api/inbound/smtp-receiver';
import { signGeneric } from '../../api/webhooks';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { dsn } from '../helpers/inbound-mail';
import { runActivity } from '../channels/support';
import { eventually, invoiceRequest, startApiHarness, STRIPE_SECRET, type ApiHarness } from './harness';

const DOMAIN = 'inbound.relance.test';
const INBOUND_SECRET = 'inbound-webhook-secret-for-tests';
const PUBLIC_BASE_URL = 'https://relance.example.test';

let h: ApiHarness;
let sink: MailSink;
let inbound: InboundSmtp;

beforeAll(async () => {
  sink = await startMailSink({ smtpPort: 0, webPort: 0 });
  // The email channel is the real one (nodemailer → sink); the others record.
  h = await startApiHarness({
    config: {
      INBOUND_DOMAIN: DOMAIN,
      INBOUND_WEBHOOK_SECRETS: JSON.stringify({ mail: INBOUND_SECRET }),
      INBOUND_MAX_BYTES: String(256 * 1024),
      SMTP_PORT: String(sink.smtpPort),
      PUBLIC_BASE_URL,
      // The stored policy a test publishes is seen at once.
      POLICY_CACHE_SECONDS: '1',
    },
    channels: (prisma, config) => ({ sendEmail: createSendEmail({ prisma, config, log: { info() {}, warn() {} } }) }),
  });
  inbound = await startInboundSmtp(
    { prisma: h.prisma, config: h.config, temporal: { client: h.client, taskQueue: `${h.taskQueuePrefix}${TaskQueues.workflow}`, timeoutMs: 5_000 } },
    { port: 0, host: '127.0.0.1' },
  );
}, 120_000);

afterAll(async () => {
  await inbound?.stop();
  await h?.close();
  await sink?.stop();
});

const smtp = () => nodemailer.createTransport({ host: '127.0.0.1', port: inbound.port, secure: false, ignoreTLS: true });

/**
 * Issues an invoice on the second-scale policy (or one with its calendar) and waits for its
 * courtesy email in the sink. reminder-1 is due 5 s after the due date (demo-seconds).
 */
async function issueAndReceiveCourtesy(customer: Record<string, unknown> = {}, policyId = 'demo-seconds') {
  const dueAt = Date.now() + 6_000;
  const body = invoiceRequest({ policyId, dueAt: new Date(dueAt).toISOString() }, { externalId: `C-${randomBytes(3).toString('hex')}`, ...customer });
  expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
  const mail = await eventually(async () => sink.messages().find((m) => m.headers.get('x-relance-invoice') === body.number), 20_000, 'courtesy email');
  return { number: body.number, mail, email: body.customer.email as string, reminder1At: dueAt + 5_000 };
}

/** reminder-1 (due at dueAt on demo-seconds) as the sink received it, if it did. */
const reminder1 = (number: string) => sink.messages().find((m) => m.headers.get('x-relance-idempotency-key') === `invoice-${number}/reminder-1/email`);

/**
 * The hold (timeline `from` to `to`) spanned reminder-1's due time, and reminder-1 went out
 * only after it ended: the hold held the next reminder, then escalation resumed.
 */
async function heldReminder1(number: string, dueAt: number, from: string, to: string) {
  await eventually(async () => reminder1(number), 20_000, 'reminder-1 after the hold');
  const entries = (await h.request('GET', `/v1/invoices/${number}/timeline`)).json.entries as Array<{ type: string; at: string }>;
  const at = (type: string) => Date.parse(entries.find((e) => e.type === type)?.at ?? 'missing');
  expect(at(from)).toBeLessThan(dueAt);
  expect(at(to)).toBeGreaterThan(dueAt);
  const sent = await h.prisma.communication.findFirstOrThrow({ where: { invoiceNumber: number, stepId: 'reminder-1', channel: 'email' } });
  expect((sent.sentAt ?? sent.createdAt).getTime()).toBeGreaterThanOrEqual(at(to));
}

const signedMime = (raw: string | Buffer, opts: { secret?: string; timestamp?: number; recipient?: string } = {}) => {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  return {
    raw,
    headers: {
      'content-type': 'message/rfc822',
      'x-relance-source': 'mail',
      'x-relance-timestamp': String(ts),
      'x-relance-signature': `v1=${signGeneric(opts.secret ?? INBOUND_SECRET, ts, raw)}`,
      ...(opts.recipient ? { 'x-relance-recipient': opts.recipient } : {}),
    },
  };
};
const postMime = (d: ReturnType<typeof signedMime>) => h.request('POST', '/v1/webhooks/inbound-mail', { raw: d.raw, headers: d.headers, auth: false });

const replyMime = (o: { from: string; to: string; subject: string; text: string; headers?: Record<string, string> }) =>
  [
    `From: ${o.from}`,
    `To: ${o.to}`,
    `Subject: ${o.subject}`,
    `Message-ID: <${randomBytes(8).toString('hex')}@dupont.example>`,
    'Date: Thu, 03 Dec 2026 09:00:00 +0100',
    ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    'Content-Type: text/plain; charset=utf-8',
    '',
    o.text,
    '',
  ].join('\r\n');

const holding = async (number: string) => (await h.request('GET', `/v1/invoices/${number}`)).json.live?.holding as { kind: string } | undefined;
const timelineTypes = async (number: string) => (await h.request('GET', `/v1/invoices/${number}/timeline`)).json.entries.map((e: { type: string }) => e.type) as string[];

describe('addresses that route back', () => {
  it('each reminder email has its own Reply-To and Return-Path naming its communication', async () => {
    const { number, mail } = await issueAndReceiveCourtesy();
    const comm = await h.prisma.communication.findFirstOrThrow({ where: { invoiceNumber: number, stepId: 'courtesy', channel: 'email' } });
    expect(mail.replyTo).toBe(returnAddress(h.config, 'reply', comm.id));
    expect(mail.envelope.from).toBe(returnAddress(h.config, 'bounce', comm.id));
    expect(mail.replyTo).toMatch(new RegExp(`^reply\\+[0-9a-f]{44}@${DOMAIN.replace(/\./g, '\\.')}$`));
  }, 40_000);
});

describe('a reply over SMTP to the Reply-To address', () => {
  it('is stored with its attachment apart, matched by token, in the timeline and the unread list until marked read', async () => {
    const { number, mail, email } = await issueAndReceiveCourtesy();
    const pdf = Buffer.from('%PDF-1.4 proof of transfer');
    await smtp().sendMail({
      from: `Jean Dupont <${email}>`,
      to: mail.replyTo!,
      subject: `Re: ${mail.subject}`,
      text: 'Nous avons payé hier, voir le justificatif.\n\nLe 3 déc. 2026, Relance a écrit :\n> Madame, Monsieur',
      attachments: [{ filename: 'virement.pdf', content: pdf, contentType: 'application/pdf' }],
    });
    const row = await h.prisma.inboundMessage.findFirstOrThrow({ where: { invoiceNumbers: { has: number } }, include: { attachments: true } });
    expect(row).toMatchObject({ source: 'smtp', kind: 'reply', matchedBy: 'token', excerpt: 'Nous avons payé hier, voir le justificatif.', readAt: null });
    expect(row.attachments).toHaveLength(1);
    expect(Buffer.from(row.attachments[0]!.content).equals(pdf)).toBe(true);
    expect(row.text).not.toContain('PDF-1.4');

    const unread = await h.request('GET', '/v1/replies?unread=true');
    expect(unread.status).toBe(200);
    const listed = unread.json.items.find((r: { id: string }) => r.id === row.id);
    expect(listed).toMatchObject({ invoiceNumbers: [number], from: email, readAt: null, attachments: [{ filename: 'virement.pdf', contentType: 'application/pdf', sizeBytes: pdf.length }] });
    const download = await fetch(`${h.baseUrl}/v1/replies/${row.id}/attachments/${row.attachments[0]!.id}`, { headers: { authorization: `Bearer ${h.apiKey}` } });
    expect(Buffer.from(await download.arrayBuffer()).equals(pdf)).toBe(true);
    expect(await timelineTypes(number)).toContain('reply-received');
    await eventually(async () => (await holding(number))?.kind === 'reply', 10_000, 'reply hold');

    const read = await h.request('POST', `/v1/replies/${row.id}/read`);
    expect(read.status).toBe(200);
    expect(read.json.readAt).toEqual(expect.any(String));
    const after = await h.request('GET', '/v1/replies?unread=true');
    expect(after.json.items.map((r: { id: string }) => r.id)).not.toContain(row.id);
    await eventually(async () => (await holding(number)) === undefined, 10_000, 'hold released on read');
    expect(await timelineTypes(number)).toEqual(expect.arrayContaining(['reply-hold', 'reply-read']));
  }, 40_000);

  it('refuses mail for other domains (not a relay)', async () => {
    await expect(smtp().sendMail({ from: 'a@b.example', to: 'someone@elsewhere.example', subject: 'x', text: 'x' })).rejects.toThrow(/550|relaying denied/);
  });
});

describe('the inbound-mail webhook', () => {
  it('a forged, stale or unknown-source delivery is refused and nothing is stored; an oversize one is 413', async () => {
    const before = await h.prisma.inboundMessage.count();
    const raw = replyMime({ from: 'x@dupont.example', to: `reply+00@${DOMAIN}`, subject: 'Re: x', text: 'forged' });
    expect((await postMime(signedMime(raw, { secret: 'not-the-secret-at-all' }))).status).toBe(401);
    expect((await postMime(signedMime(raw, { timestamp: Math.floor(Date.now() / 1000) - 3_600 }))).status).toBe(401);
    const unknown = signedMime(raw);
    expect((await h.request('POST', '/v1/webhooks/inbound-mail', { raw, headers: { ...unknown.headers, 'x-relance-source': 'bank' }, auth: false })).status).toBe(401);
    expect((await postMime(signedMime(raw + 'x'.repeat(300 * 1024)))).status).toBe(413);
    expect(await h.prisma.inboundMessage.count()).toBe(before);
  });

  it('an out-of-office is recorded as an auto-reply and is not listed as a reply; a redelivery is stored once', async () => {
    const { number, mail, email } = await issueAndReceiveCourtesy();
    const raw = replyMime({ from: email, to: mail.replyTo!, subject: `Réponse automatique : ${mail.subject}`, text: "Je suis absent jusqu'au 5.", headers: { 'Auto-Submitted': 'auto-replied' } });
    const first = await postMime(signedMime(raw));
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({ kind: 'auto-reply', matchedBy: 'token', invoiceNumbers: [number], duplicate: false });
    expect((await postMime(signedMime(raw))).json).toMatchObject({ id: first.json.id, duplicate: true });
    expect(await h.prisma.inboundMessage.count({ where: { invoiceNumbers: { has: number } } })).toBe(1);
    expect((await h.request('GET', '/v1/replies?unread=true')).json.items.map((r: { id: string }) => r.id)).not.toContain(first.json.id);
    expect(await timelineTypes(number)).toContain('auto-reply-received');
    expect(await holding(number)).toBeUndefined();
  }, 40_000);

  it('a signed reply holds the invoice until a collector marks it read', async () => {
    const { number, mail, email } = await issueAndReceiveCourtesy();
    const res = await postMime(signedMime(replyMime({ from: email, to: mail.replyTo!, subject: `Re: ${mail.subject}`, text: 'Je vous appelle demain.' })));
    expect(res.json).toMatchObject({ kind: 'reply', matchedBy: 'token', invoiceNumbers: [number] });
    await eventually(async () => (await holding(number))?.kind === 'reply', 10_000, 'reply hold');
    expect(await timelineTypes(number)).toContain('reply-received');
    expect((await h.request('POST', `/v1/replies/${res.json.id}/read`)).status).toBe(200);
    await eventually(async () => (await holding(number)) === undefined, 10_000, 'hold released on read');
    expect(await timelineTypes(number)).toEqual(expect.arrayContaining(['reply-hold', 'reply-read']));
  }, 40_000);

  it('a reply over SMTP and one through the webhook each hold the next reminder until replyHoldMax passes (12 s on demo-seconds); they stay unread', async () => {
    const [bySmtp, byWebhook] = await Promise.all([issueAndReceiveCourtesy(), issueAndReceiveCourtesy()]);
    await smtp().sendMail({ from: bySmtp.email, to: bySmtp.mail.replyTo!, subject: `Re: ${bySmtp.mail.subject}`, text: 'Je conteste les pénalités.' });
    const res = await postMime(signedMime(replyMime({ from: byWebhook.email, to: byWebhook.mail.replyTo!, subject: `Re: ${byWebhook.mail.subject}`, text: 'Je conteste le montant.' })));
    expect(res.json).toMatchObject({ kind: 'reply', matchedBy: 'token', invoiceNumbers: [byWebhook.number] });
    const smtpRow = await h.prisma.inboundMessage.findFirstOrThrow({ where: { invoiceNumbers: { has: bySmtp.number } } });
    expect(smtpRow).toMatchObject({ source: 'smtp', kind: 'reply', matchedBy: 'token' });

    for (const { number } of [bySmtp, byWebhook]) await eventually(async () => (await holding(number))?.kind === 'reply', 10_000, 'reply hold');
    for (const { number, reminder1At } of [bySmtp, byWebhook]) {
      await eventually(async () => (await holding(number)) === undefined, 30_000, 'hold expired');
      expect(await timelineTypes(number)).toContain('reply-received');
      await heldReminder1(number, reminder1At, 'reply-hold', 'reply-hold-expired');
    }
    const unread = (await h.request('GET', '/v1/replies?unread=true')).json.items.map((r: { id: string }) => r.id);
    expect(unread).toEqual(expect.arrayContaining([smtpRow.id, res.json.id]));
  }, 90_000);

  it('a reply without a token is matched by its sender to every open invoice of the customer, and holds each until read', async () => {
    const customer = { externalId: `C-${randomBytes(3).toString('hex')}`, email: `compta-${randomBytes(3).toString('hex')}@dupont.example` };
    const [first, second] = await Promise.all([issueAndReceiveCourtesy(customer), issueAndReceiveCourtesy(customer)]);
    const res = await postMime(signedMime(replyMime({ from: customer.email.toUpperCase(), to: 'comptabilite@example.test', subject: 'Question', text: 'Pouvez-vous renvoyer les factures ?' })));
    expect(res.json.matchedBy).toBe('sender');
    expect([...res.json.invoiceNumbers].sort()).toEqual([first.number, second.number].sort());
    for (const { number } of [first, second]) await eventually(async () => (await holding(number))?.kind === 'reply', 10_000, 'reply hold');
    expect((await h.request('POST', `/v1/replies/${res.json.id}/read`)).status).toBe(200);
    for (const { number } of [first, second]) await eventually(async () => (await holding(number)) === undefined, 10_000, 'hold released on read');
  }, 40_000);
});

describe('a reply to a grouped message', () => {
  it("applies to every invoice the customer's batch email listed: each holds until the reply is read", async () => {
    const customer = { externalId: `C-${randomBytes(3).toString('hex')}`, email: `compta-${randomBytes(3).toString('hex')}@dupont.example` };
    const [first, second] = await Promise.all([issueAndReceiveCourtesy(customer), issueAndReceiveCourtesy(customer)]);
    // The customer's batch of the day, sent by the real activity as its workflow does.
    const snapshots = await Promise.all([first, second].map(async (i) => snapshotOf(await loadInvoice(h.prisma, i.number))));
    const asOf = new Date().toISOString().slice(0, 10);
    const sendBatchEmail = createSendBatchEmail({ prisma: h.prisma, config: h.config, log: { info() {}, warn() {} } });
    const batch = await runActivity(sendBatchEmail, {
      idempotencyKey: `customer-${customer.externalId}/${asOf}/email`,
      customerWorkflowId: `customer-${customer.externalId}`,
      customer: snapshots[0]!.customer,
      templateId: 'reminder-1',
      asOf,
      lines: snapshots.map((inv) => ({
        invoiceNumber: inv.number,
        stepId: 'reminder-1',
        templateId: 'reminder-1',
        stepIndex: 1,
        currency: inv.currency,
        issueDate: inv.issueDate,
        dueDate: inv.dueDate,
        amountMinor: inv.amountMinor,
        balanceMinor: inv.amountMinor - inv.depositMinor,
        daysLate: 0,
        penaltiesMinor: 0,
        knownPaymentIds: [],
      })),
    });
    expect(batch.listed.sort()).toEqual([first.number, second.number].sort());
    const mail = await eventually(async () => sink.messages().find((m) => m.headers.get('x-relance-idempotency-key') === `customer-${customer.externalId}/${asOf}/email`), 10_000, 'the batch email');

    const res = await postMime(signedMime(replyMime({ from: customer.email, to: mail.replyTo!, subject: `Re: ${mail.subject}`, text: 'Les deux factures sont réglées par virement demain.' })));
    expect(res.json).toMatchObject({ kind: 'reply', matchedBy: 'token' });
    expect([...res.json.invoiceNumbers].sort()).toEqual([first.number, second.number].sort());
    for (const { number } of [first, second]) await eventually(async () => (await holding(number))?.kind === 'reply', 10_000, 'reply hold');
    expect((await h.request('POST', `/v1/replies/${res.json.id}/read`)).status).toBe(200);
    for (const { number } of [first, second]) await eventually(async () => (await holding(number)) === undefined, 10_000, 'hold released on read');
  }, 60_000);
});

describe('a bounce', () => {
  it('a permanent DSN to the Return-Path marks the address invalid and fails the communication; a transient one is noted', async () => {
    const address = `nobody-${randomBytes(3).toString('hex')}@dupont.example`;
    const { number, mail } = await issueAndReceiveCourtesy({ email: address });
    await smtp().sendMail({
      envelope: { from: '', to: [mail.envelope.from!] },
      raw: dsn({ recipient: address, action: 'delayed', status: '4.2.2', to: mail.envelope.from! }),
    });
    expect(await h.prisma.invalidAddress.count({ where: { address } })).toBe(0);
    await smtp().sendMail({
      envelope: { from: '', to: [mail.envelope.from!] },
      raw: dsn({ recipient: address, action: 'failed', status: '5.1.1', to: mail.envelope.from! }),
    });
    const rows = await h.prisma.inboundMessage.findMany({ where: { invoiceNumbers: { has: number } }, orderBy: { receivedAt: 'asc' } });
    expect(rows.map((r) => [r.kind, r.bounce, r.matchedBy])).toEqual([
      ['bounce', 'transient', 'token'],
      ['bounce', 'permanent', 'token'],
    ]);
    expect(await h.prisma.invalidAddress.findFirst({ where: { channel: 'email', address } })).toMatchObject({ reason: expect.stringContaining('5.1.1') });
    const comm = await h.prisma.communication.findFirstOrThrow({ where: { invoiceNumber: number, stepId: 'courtesy', channel: 'email' } });
    expect(comm.status).toBe('FAILED_PERMANENT');
    expect(await timelineTypes(number)).toEqual(expect.arrayContaining(['bounce-transient', 'bounce-permanent']));
  }, 40_000);
});

describe('a hard bounce of a step with a fallback', () => {
  it('a DSN for reminder-1 sends reminder-1 again as a letter', async () => {
    const address = `gone-${randomBytes(3).toString('hex')}@dupont.example`;
    const { number } = await issueAndReceiveCourtesy({ email: address });
    const reminder = await eventually(
      async () => sink.messages().find((m) => m.headers.get('x-relance-idempotency-key') === `invoice-${number}/reminder-1/email`),
      30_000,
      'reminder-1 email',
    );
    expect(h.calls.filter((c) => c.invoiceNumber === number && c.channel === 'letter')).toEqual([]);
    await smtp().sendMail({ envelope: { from: '', to: [reminder.envelope.from!] }, raw: dsn({ recipient: address, action: 'failed', status: '5.1.1', to: reminder.envelope.from! }) });
    await eventually(async () => h.calls.some((c) => c.invoiceNumber === number && c.stepId === 'reminder-1' && c.channel === 'letter'), 15_000, 'letter fallback');
    await eventually(async () => (await timelineTypes(number)).includes('fallback'), 10_000, 'fallback journaled');
    expect(await timelineTypes(number)).toEqual(expect.arrayContaining(['bounce-permanent', 'delivery-failed', 'fallback']));
  }, 60_000);
});

describe('payments in flight (Stripe)', () => {
  it('payment_intent.processing holds the reminders, payment_failed releases them, an unanswered one expires, a succeeded one is the payment', async () => {
    const { number, reminder1At } = await issueAndReceiveCourtesy();
    const processing = await stripeEvent('payment_intent.processing', 'pi_flight_1', number);
    expect(processing.json).toMatchObject({ status: 'processed' });
    await eventually(async () => (await holding(number))?.kind === 'pending-payment', 10_000, 'pending hold');
    await stripeEvent('payment_intent.payment_failed', 'pi_flight_1', number, { last_payment_error: { message: 'insufficient funds' } });
    await eventually(async () => (await holding(number)) === undefined, 10_000, 'released on failure');
    expect(await timelineTypes(number)).toEqual(expect.arrayContaining(['payment-pending', 'pending-payment-failed']));

    await stripeEvent('payment_intent.processing', 'pi_flight_2', number);
    await eventually(async () => (await holding(number))?.kind === 'pending-payment', 10_000, 'pending hold again');
    await eventually(async () => (await holding(number)) === undefined, 30_000, 'expired (12 s on demo-seconds)');
    expect(await timelineTypes(number)).toContain('pending-payment-expired');
    // The second one spanned reminder-1's due time: it went out only after the expiry.
    await heldReminder1(number, reminder1At, 'payment-pending', 'pending-payment-expired');

    // The one that succeeds is an ordinary payment: it ends the hold and, in full, the invoice.
    await stripeEvent('payment_intent.processing', 'pi_flight_3', number);
    await eventually(async () => (await holding(number))?.kind === 'pending-payment', 10_000, 'pending hold, third');
    expect((await stripeEvent('payment_intent.succeeded', 'pi_flight_3', number, { amount_received: 100000 })).json).toMatchObject({ status: 'processed' });
    await eventually(async () => (await h.request('GET', `/v1/invoices/${number}`)).json.live?.outcome === 'paid', 15_000, 'paid');
    expect(await timelineTypes(number)).toContain('pending-payment-arrived');
  }, 60_000);
});

describe('payments in flight (announced by a collector)', () => {
  it('a transfer the debtor announced holds the next reminder for the stored policy\'s pendingPaymentMax; the payment with its reference ends it as an ordinary payment', async () => {
    // A stored policy: the demo calendar with payments in flight held up to a minute.
    const policyId = `flight-${randomBytes(3).toString('hex')}`;
    const { id: _id, version: _version, ...demo } = DEMO_SECONDS;
    const created = await h.request('POST', '/v1/policies', { body: { ...demo, id: policyId, name: 'Demo, long payments in flight', pendingPaymentMax: 'PT60S', consolidate: 'off' } });
    expect(created.status, created.text).toBe(201);
    expect(created.json.definition).toMatchObject({ pendingPaymentMax: 'PT60S' });
    expect((await h.request('POST', `/v1/policies/${policyId}/versions/1/publish`)).status).toBe(200);
    const { number, reminder1At } = await issueAndReceiveCourtesy({}, policyId);

    const reference = `VIR-${randomBytes(3).toString('hex')}`;
    const announcedAt = Date.now();
    const announced = await h.request('POST', `/v1/invoices/${number}/pending-payments`, { body: { reference, amount: '400.00' } });
    expect(announced.status, announced.text).toBe(202);
    const hold = await eventually(async () => {
      const held = (await h.request('GET', `/v1/invoices/${number}`)).json.live?.holding as { kind: string; until: string } | undefined;
      return held?.kind === 'pending-payment' ? held : undefined;
    }, 10_000, 'pending hold');
    expect(Date.parse(hold.until) - announcedAt).toBeGreaterThan(55_000);
    // Past reminder-1's due time, still held.
    await new Promise((r) => setTimeout(r, Math.max(0, reminder1At + 2_000 - Date.now())));
    expect((await holding(number))?.kind).toBe('pending-payment');
    expect(reminder1(number)).toBeUndefined();

    const paid = await h.request('POST', `/v1/invoices/${number}/payments`, { body: { amount: '400.00', reference } });
    expect(paid.status, paid.text).toBe(201);
    await eventually(async () => (await holding(number)) === undefined, 10_000, 'released by the payment');
    expect(await timelineTypes(number)).toEqual(expect.arrayContaining(['payment-pending', 'payment-received', 'pending-payment-arrived']));
    // A partial payment: escalation resumes for the rest.
    await heldReminder1(number, reminder1At, 'payment-pending', 'pending-payment-arrived');
    expect((await h.request('GET', `/v1/invoices/${number}`)).json.live?.balanceMinor).toBe(60_000);
  }, 60_000);
});

describe('Twilio status callbacks', () => {
  const url = `${PUBLIC_BASE_URL}/v1/webhooks/twilio/status`;
  const post = (params: Record<string, string>, signature: string) =>
    h.request('POST', '/v1/webhooks/twilio/status', {
      raw: new URLSearchParams(params).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      auth: false,
    });

  it('a forged callback is refused and nothing is stored; a signed undelivered one fails the SMS and marks a dead number', async () => {
    const { number } = await issueAndReceiveCourtesy();
    const sid = `SM${randomBytes(16).toString('hex')}`;
    await h.prisma.communication.create({
      data: { idempotencyKey: `invoice-${number}/reminder-2/sms`, invoiceNumber: number, workflowId: `invoice-${number}`, stepId: 'reminder-2', channel: 'sms', recipient: '+33612345678', status: 'SENT', provider: 'twilio', providerId: sid },
    });
    const params = { MessageSid: sid, MessageStatus: 'undelivered', ErrorCode: '30006', To: '+33612345678', AccountSid: h.config.TWILIO_ACCOUNT_SID };
    const before = await h.prisma.webhookDelivery.count();
    const forged = await post(params, twilio.getExpectedTwilioSignature('another-auth-token', url, params));
    expect(forged.status).toBe(401);
    expect(await post({ ...params, ErrorCode: '30003' }, twilio.getExpectedTwilioSignature(h.config.TWILIO_AUTH_TOKEN, url, params))).toMatchObject({ status: 401 });
    expect(await h.prisma.webhookDelivery.count()).toBe(before);
    expect((await h.prisma.communication.findFirstOrThrow({ where: { providerId: sid } })).status).toBe('SENT');

    const ok = await post(params, twilio.getExpectedTwilioSignature(h.config.TWILIO_AUTH_TOKEN, url, params));
    expect(ok.status).toBe(204);
    expect(await h.prisma.webhookDelivery.findFirst({ where: { source: 'twilio-status', eventId: `${sid}:undelivered` } })).toMatchObject({ status: 'processed' });
    expect((await h.prisma.communication.findFirstOrThrow({ where: { providerId: sid } })).status).toBe('FAILED_PERMANENT');
    expect(await h.prisma.invalidAddress.count({ where: { channel: 'sms', address: '+33612345678' } })).toBe(1);
    // The workflow is told; demo-seconds gives an SMS no fallback, so it says so.
    await eventually(async () => (await timelineTypes(number)).includes('no-fallback'), 10_000, 'delivery failure journaled');
    expect(await timelineTypes(number)).toContain('delivery-failed');
  }, 40_000);
});

export function stripeEvent(type: string, pi: string, invoiceNumber: string, extra: Record<string, unknown> = {}) {
  const payload = JSON.stringify({
    id: `evt_${randomBytes(8).toString('hex')}`,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: pi, object: 'payment_intent', amount: 100000, currency: 'eur', metadata: { invoice_number: invoiceNumber }, ...extra } },
  });
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
  return h.request('POST', '/v1/webhooks/stripe', { raw: payload, headers: { 'content-type': 'application/json', 'stripe-signature': header }, auth: false });
}
