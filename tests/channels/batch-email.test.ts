// The customer's batch email (issue 18) against the SMTP sink and PGlite: one message listing
// the invoices, one CommunicationInvoice row per invoice listed, the batch's own idempotency
// key; an invoice whose settling payment was accepted after its answer is left out at the
// last moment (the email lists 4); a repeat sends nothing and reports the same invoices.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendBatchEmail } from '../../activities/batch-email';
import { messageIdFor } from '../../activities/email';
import type { BatchLine } from '../../domain/consolidation';
import { invoiceTimeline } from '../../api/invoices';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { invoiceFixture, memoryLogger, runActivity, seedInvoice, seedPayment, startTestDb, testConfig, type TestDb } from './support';

let db: TestDb;
let sink: MailSink;
let sendBatchEmail: ReturnType<typeof createSendBatchEmail>;

beforeAll(async () => {
  [db, sink] = await Promise.all([startTestDb(), startMailSink({ smtpPort: 0, webPort: 0 })]);
  sendBatchEmail = createSendBatchEmail({ prisma: db.prisma, config: testConfig({ SMTP_PORT: String(sink.smtpPort) }), log: memoryLogger() });
});
afterAll(async () => {
  await Promise.all([sink?.stop(), db?.stop()]);
});

describe('sendBatchEmail', () => {
  it('lists the invoices still unpaid, records each one, and never sends twice', async () => {
    const customer = { id: 'C-BATCH-1', name: 'Boulangerie Petit SARL', email: 'compta@petit.test' };
    const invoices = [1, 2, 3, 4, 5].map((i) => invoiceFixture({ number: `B-2026-00${i}`, paymentLink: 'https://pay.example.test/c/C-BATCH-1' }, customer));
    const ids = await Promise.all(invoices.map((i) => seedInvoice(db.prisma, i)));
    // Accepted by a webhook after the invoice answered the batch: its workflow does not know yet.
    await seedPayment(db.prisma, ids[2]!, { source: 'stripe', externalId: 'pi_late', amountMinor: 120_000 });
    const lines: BatchLine[] = invoices.map((i) => ({
      invoiceNumber: i.number,
      stepId: 'reminder-1',
      templateId: 'reminder-1',
      stepIndex: 1,
      currency: 'EUR',
      issueDate: i.issueDate,
      dueDate: i.dueDate,
      amountMinor: i.amountMinor,
      balanceMinor: 120_000,
      daysLate: 38,
      penaltiesMinor: 5_527,
      paymentLink: i.paymentLink,
      knownPaymentIds: [],
    }));
    const input = {
      idempotencyKey: 'customer-C-BATCH-1/2026-03-14/email',
      customerWorkflowId: 'customer-C-BATCH-1',
      customer: invoices[0]!.customer,
      lines,
      templateId: 'reminder-1',
      asOf: '2026-03-14',
    };

    const result = await runActivity(sendBatchEmail, input);

    const expected = invoices.filter((_, i) => i !== 2).map((i) => i.number);
    expect(result).toMatchObject({ status: 'SENT', listed: expected, skipped: [{ invoiceNumber: invoices[2]!.number, reason: 'skipped: settled meanwhile' }] });
    const [mail, ...others] = sink.messages();
    expect(others).toHaveLength(0);
    expect(mail!.messageId).toBe(messageIdFor(input.idempotencyKey));
    expect(mail!.to).toEqual(['compta@petit.test']);
    expect(mail!.subject).toBe('Atelier Durand SAS – Relance : 4 factures en retard de paiement');
    const listed = [...(mail!.text ?? '').matchAll(/Facture n°(\S+) du (\S+), échéance (\S+) : montant (.+?), reste dû (.+?), (\d+) jours de retard, pénalités (.+)/g)];
    expect(listed.map((m) => m[1])).toEqual(expected);
    expect(listed[0]!.slice(2, 8).map((s) => s.replace(/[\u202f\u00a0]/g, ' '))).toEqual(['05/01/2026', '04/02/2026', '1 500,00 €', '1 200,00 €', '38', '55,27 €']);
    expect(mail!.text).toMatch(/Total restant dû : 4[\s\u202f\u00a0]800,00[\s\u00a0]€/);
    expect(mail!.text!.match(/https:\/\/pay\.example\.test\/c\/C-BATCH-1/g)).toHaveLength(1);

    const row = await db.prisma.communication.findUniqueOrThrow({ where: { idempotencyKey: input.idempotencyKey }, include: { invoices: true } });
    expect(row).toMatchObject({ status: 'SENT', channel: 'email', workflowId: 'customer-C-BATCH-1', templateId: 'reminder-1', providerId: mail!.messageId });
    expect(row.invoices.map((i) => i.invoiceNumber).sort()).toEqual(expected);
    expect(row.invoices.map((i) => i.invoiceId).sort()).toEqual(ids.filter((_, i) => i !== 2).sort());
    // In each listed invoice's timeline, not in the paid one's.
    const t0 = await invoiceTimeline(db.prisma, invoices[0]!.number);
    expect(t0.entries.filter((e) => e.kind === 'communication').map((e) => e.detail)).toEqual([expect.objectContaining({ batch: input.idempotencyKey, invoices: expected })]);
    const paid = await invoiceTimeline(db.prisma, invoices[2]!.number);
    expect(paid.entries.filter((e) => e.kind === 'communication')).toEqual([]);

    // The activity retried (a worker crash after the send): nothing sent again, the same invoices reported.
    const again = await runActivity(sendBatchEmail, input);
    expect(again).toMatchObject({ status: 'ALREADY_SENT', communicationId: row.id, listed: expected });
    expect(sink.messages()).toHaveLength(1);
  });
});
