// sendEmail against a real SMTP server in-process (the mail sink), reading back what it
// received: headers, text, HTML, the PDF extract; and how SMTP 4xx / 5xx replies, a dead
// server, missing or bad addresses and a payment recorded meanwhile are handled.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PDFParse } from 'pdf-parse';
import { createSendEmail, messageIdFor } from '../../activities/email';
import type { ActivityDeps } from '../../activities/deps';
import { startMailSink } from '../../tools/peers/mail-sink';
import type { MailSink } from '../../tools/peers/mail-sink';
import {
  communication,
  invoiceFixture,
  memoryLogger,
  runActivity,
  runFailing,
  seedInvoice,
  seedPayment,
  sendInput,
  startTestDb,
  testConfig,
} from './support';
import type { TestDb } from './support';

let db: TestDb;
let sink: MailSink;
let deps: ActivityDeps;
let sendEmail: ReturnType<typeof createSendEmail>;

beforeAll(async () => {
  [db, sink] = await Promise.all([startTestDb(), startMailSink({ smtpPort: 0, webPort: 0 })]);
  deps = { prisma: db.prisma, config: testConfig({ SMTP_PORT: String(sink.smtpPort) }), log: memoryLogger() };
  sendEmail = createSendEmail(deps);
});

afterAll(async () => {
  await Promise.all([sink?.stop(), db?.stop()]);
});

beforeEach(() => sink.clear());

describe('sendEmail', () => {
  it('sends a French reminder with both parts, payment link, contact, From/Reply-To and a deterministic Message-ID', async () => {
    // A customer of its own: a seeded record is what later sends read (activities/contacts.ts).
    const invoice = invoiceFixture({}, { id: 'C-seeded-1' });
    const invoiceId = await seedInvoice(db.prisma, invoice);
    const input = sendInput(invoice, 'email', 'reminder-1');

    const result = await runActivity(sendEmail, input);

    expect(result.status).toBe('SENT');
    expect(result.provider).toBe('smtp');
    const [mail, ...others] = sink.messages();
    expect(others).toHaveLength(0);
    expect(mail!.messageId).toBe(messageIdFor(input.idempotencyKey));
    expect(mail!.messageId).toMatch(/^<[0-9a-f]{64}@relance>$/);
    expect(mail!.subject).toBe(`Relance de facture n°${invoice.number} – Échéance dépassée`);
    expect(mail!.from).toBe('"Relance Démo" <relance@example.test>');
    expect(mail!.replyTo).toBe('recouvrement@example.test');
    expect(mail!.to).toEqual(['compta@boulangerie-petit.test']);
    expect(mail!.envelope.to).toEqual(['compta@boulangerie-petit.test']);
    expect(mail!.headers.get('x-relance-idempotency-key')).toBe(input.idempotencyKey);
    expect(mail!.text).toContain('Bonjour Boulangerie Petit SARL,');
    expect(mail!.text).toMatch(/Montant restant dû : 1[\s\u202f\u00a0]200,00[\s\u00a0]€/);
    expect(mail!.text).toContain(invoice.paymentLink);
    expect(mail!.text).toContain('compta@atelier-durand.test');
    expect(mail!.html).toContain(`<a href="${invoice.paymentLink}">`);
    expect(mail!.html).toContain('<html lang="fr">');
    expect(mail!.attachments).toHaveLength(0);

    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({
      status: 'SENT',
      channel: 'email',
      recipient: 'compta@boulangerie-petit.test',
      provider: 'smtp',
      providerId: mail!.messageId,
      subject: mail!.subject,
      templateId: 'reminder-1',
      language: 'fr',
      invoiceId,
      invoiceNumber: invoice.number,
      attempts: 1,
      error: null,
    });
    expect(row.body).toContain(invoice.paymentLink);
    expect(row.sentAt).toBeInstanceOf(Date);
    expect(result.communicationId).toBe(row.id);
    expect(result.providerId).toBe(mail!.messageId);
  });

  it('returns ALREADY_SENT for a key that is SENT, without contacting the server', async () => {
    const invoice = invoiceFixture();
    const input = sendInput(invoice, 'email', 'courtesy');
    await runActivity(sendEmail, input);
    sink.replyWith(554, { count: 5 }); // would make any new send fail

    const again = await runActivity(sendEmail, input);

    expect(again.status).toBe('ALREADY_SENT');
    expect(sink.messages()).toHaveLength(1);
    expect(sink.duplicates).toBe(0);
    expect((await communication(db.prisma, input.idempotencyKey)).attempts).toBe(1);
  });

  it('attaches the invoice extract PDF from the second reminder on (English)', async () => {
    const invoice = invoiceFixture({}, { language: 'en', name: 'Acme Ltd', email: 'ap@acme.test' });
    const input = sendInput(invoice, 'email', 'reminder-2', { balanceMinor: 95_000 });

    await runActivity(sendEmail, input);

    const mail = sink.messages()[0]!;
    expect(mail.subject).toBe(`Second reminder: invoice ${invoice.number} remains unpaid`);
    expect(mail.attachments).toHaveLength(1);
    const pdf = mail.attachments[0]!;
    expect(pdf.contentType).toBe('application/pdf');
    expect(pdf.filename).toBe(`invoice-extract-${invoice.number}.pdf`);
    const { text } = await new PDFParse({ data: new Uint8Array(pdf.content) }).getText();
    expect(text).toContain(`Invoice extract ${invoice.number}`);
    expect(text).toContain('Atelier Durand SAS');
    expect(text).toContain('Acme Ltd');
    expect(text).toContain('€1,500.00'); // total
    expect(text).toContain('€950.00'); // balance due
    expect(text).toContain('€250.00'); // paid since issue: 1500 - 300 - 950
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row.documentRef).toBe(`attachment:invoice-extract-${invoice.number}.pdf`);
  });

  it('retries an SMTP 4xx reply (message refused, not delivered): PENDING "retrying", then SENT', async () => {
    const invoice = invoiceFixture();
    const input = sendInput(invoice, 'email', 'reminder-1');
    sink.replyWith(451, { message: '4.3.0 Temporary local problem' });

    const failure = await runFailing(sendEmail, input);

    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe('ProviderUnavailable');
    expect(failure.message).toContain('451');
    let row = await communication(db.prisma, input.idempotencyKey);
    expect(row.status).toBe('PENDING');
    expect(row.error).toMatch(/^retrying: ProviderUnavailable \[451\]/);
    expect(row.reason).toBe('retrying');
    expect(sink.messages()).toHaveLength(0);

    const result = await runActivity(sendEmail, input);
    expect(result.status).toBe('SENT');
    row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'SENT', attempts: 2, error: null });
    expect(sink.messages()).toHaveLength(1);
    expect(sink.duplicates).toBe(0);
  });

  it('treats SMTP 421 as rate limiting (retryable)', async () => {
    const input = sendInput(invoiceFixture(), 'email', 'reminder-1');
    sink.replyWith(421, { message: '4.7.0 Too many messages, slow down' });
    const failure = await runFailing(sendEmail, input);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'ProviderRateLimited' });
  });

  it('fails permanently on SMTP 550 for the recipient, records it, and does not call the server again', async () => {
    const invoice = invoiceFixture();
    const input = sendInput(invoice, 'email', 'reminder-1');
    sink.replyWith(550, { phase: 'rcpt', message: '5.1.1 Mailbox does not exist' });

    const failure = await runFailing(sendEmail, input);

    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('InvalidRecipient');
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row.status).toBe('FAILED_PERMANENT');
    expect(row.error).toMatch(/^InvalidRecipient \[550\]: SMTP 550/);

    const again = await runFailing(sendEmail, input);
    expect(again).toMatchObject({ nonRetryable: true, type: 'InvalidRecipient' });
    expect(sink.messages()).toHaveLength(0); // the server would have accepted it this time
    expect((await communication(db.prisma, input.idempotencyKey)).attempts).toBe(1);
  });

  it('fails permanently (ProviderRejected) on SMTP 554 after DATA', async () => {
    const input = sendInput(invoiceFixture(), 'email', 'reminder-1');
    sink.replyWith(554, { message: '5.7.1 Message rejected as spam' });
    const failure = await runFailing(sendEmail, input);
    expect(failure).toMatchObject({ nonRetryable: true, type: 'ProviderRejected' });
    expect((await communication(db.prisma, input.idempotencyKey)).status).toBe('FAILED_PERMANENT');
  });

  it('tries again when the customer address changed after a permanent failure', async () => {
    const invoice = invoiceFixture();
    const input = sendInput(invoice, 'email', 'reminder-1');
    sink.replyWith(550, { phase: 'rcpt' });
    await runFailing(sendEmail, input);

    const fixed = { ...input, invoice: { ...invoice, customer: { ...invoice.customer, email: 'accounts@boulangerie-petit.test' } } };
    const result = await runActivity(sendEmail, fixed);

    expect(result.status).toBe('SENT');
    expect(sink.messages()[0]!.to).toEqual(['accounts@boulangerie-petit.test']);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', attempts: 2 });
  });

  it('fails permanently with NoRecipient / InvalidRecipient before any SMTP call, and logs it', async () => {
    const none = sendInput(invoiceFixture({}, { email: undefined }), 'email', 'reminder-1');
    const bad = sendInput(invoiceFixture({}, { email: 'not an address' }), 'email', 'reminder-1');

    expect(await runFailing(sendEmail, none)).toMatchObject({ nonRetryable: true, type: 'NoRecipient' });
    expect(await runFailing(sendEmail, bad)).toMatchObject({ nonRetryable: true, type: 'InvalidRecipient' });

    expect(await communication(db.prisma, none.idempotencyKey)).toMatchObject({ status: 'FAILED_PERMANENT', recipient: null });
    expect((await communication(db.prisma, bad.idempotencyKey)).error).toContain('not an address');
    expect(sink.messages()).toHaveLength(0);
  });

  it('retries when the SMTP server is down (connection refused, certainly not delivered)', async () => {
    const down = createSendEmail({ ...deps, config: testConfig({ SMTP_PORT: '1' }) });
    const input = sendInput(invoiceFixture(), 'email', 'reminder-1');
    const failure = await runFailing(down, input);
    expect(failure.nonRetryable).toBe(false);
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row.status).toBe('PENDING');
    expect(row.error).toMatch(/^retrying: /);
  });

  it('skips the send when payments recorded meanwhile settle the balance (and not when they are known)', async () => {
    const invoice = invoiceFixture({}, { id: 'C-seeded-2' });
    const invoiceId = await seedInvoice(db.prisma, invoice);
    await seedPayment(db.prisma, invoiceId, { source: 'bank', externalId: 'TX-1', amountMinor: 70_000 });
    await seedPayment(db.prisma, invoiceId, { source: 'stripe', externalId: 'pi_2', amountMinor: 50_000 });

    // Only the first payment is known to the workflow: the rest (500 €) does not cover 1 200 €.
    const partly = sendInput(invoice, 'email', 'reminder-1', { knownPaymentIds: ['bank:TX-1'] });
    expect((await runActivity(sendEmail, partly)).status).toBe('SENT');

    // Neither is known and both together cover the balance: skipped.
    const skipped = sendInput(invoice, 'email', 'reminder-2');
    const result = await runActivity(sendEmail, skipped);
    expect(result.status).toBe('SKIPPED_SETTLED');
    const row = await communication(db.prisma, skipped.idempotencyKey);
    expect(row).toMatchObject({ status: 'FAILED_PERMANENT', error: 'skipped: settled meanwhile', reason: 'skipped-settled', invoiceId });
    expect(sink.messages()).toHaveLength(1);
  });

  it('shows received mail in the web inbox (list, message page, JSON, attachment)', async () => {
    const invoice = invoiceFixture();
    await runActivity(sendEmail, sendInput(invoice, 'email', 'formal-notice', { penalties: undefined }));

    const list = await fetch(`${sink.url}/`).then((r) => r.text());
    expect(list).toContain('Mise en demeure de payer');
    expect(list).toContain('href="/messages/');
    const api = (await fetch(`${sink.url}/api/messages`).then((r) => r.json())) as {
      messages: Array<{ id: number; subject: string; attachments: Array<{ url: string; contentType: string }> }>;
    };
    expect(api.messages).toHaveLength(1);
    const page = await fetch(`${sink.url}/messages/${api.messages[0]!.id}`).then((r) => r.text());
    expect(page).toContain('srcdoc=');
    expect(page).toContain(invoice.number);
    const pdf = await fetch(`${sink.url}${api.messages[0]!.attachments[0]!.url}`);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe('%PDF-');
  });
});
