// A customer's batch email (issue 18): one message listing every invoice whose friendly step
// fell due since the last batch, sent through the same communication log as any reminder
// (key `customer-<id>/<batch date>/email`, row PENDING before the SMTP call, a Message-ID
// derived from the key), with one CommunicationInvoice row per invoice listed, written before
// the provider call as the row itself is.
import { CommunicationStatus } from '../prisma/client';
import type { PrismaClient } from '../prisma/client';
import { PermanentFailureTypes } from '../contracts/failures';
import { returnAddress } from '../contracts/reply-addresses';
import type { BatchLine } from '../domain/consolidation';
import { renderBatchMessage } from '../domain/templates/batch';
import { runLoggedSend, settledMeanwhile, SKIPPED_SETTLED_NOTE, type LoggedContent, type LoggedSendSpec } from './communication-log';
import { resolveContacts } from './contacts';
import { creditorOf, sendContext, type ActivityDeps } from './deps';
import { classifySmtpError, createEmailTransport, emailRecipient, messageIdFor, usableAddresses, withTranscript, wrapHtml } from './email';
import { permanent } from './failures';
import type { BatchEmailInput, BatchEmailResult, SendInput } from './types';

interface BatchContent extends LoggedContent {
  subject: string;
  text: string;
  html: string;
}

/** The one payment link of the message: the invoices' shared link, else the first invoice's. */
export function paymentLinkOf(lines: readonly BatchLine[]): string | undefined {
  const links = [...new Set(lines.map((l) => l.paymentLink).filter((l): l is string => !!l))];
  return links[0];
}

export function createSendBatchEmail(deps: ActivityDeps, transport = createEmailTransport(deps)) {
  const ctx = sendContext(deps);
  const creditor = creditorOf(deps.config);
  const { prisma } = deps;

  return async function sendBatchEmail(input: BatchEmailInput): Promise<BatchEmailResult> {
    const opened = await openBatch(prisma, input, 'email');
    if ('done' in opened) return opened.done;
    const { lines, skipped, probe, invoiceIds } = opened;
    const contacts = await resolveContacts(prisma, probe);
    const customer = contacts.input.invoice.customer;
    const usable = await usableAddresses(prisma, contacts);
    const { emailTo, emailCc } = usable;

    const result = await runLoggedSend<BatchContent>(
      ctx,
      batchSpec(input, lines, 'email', customer.language, 'smtp'),
      {
        recipient: () => emailRecipient(customer.id, contacts, usable),
        async prepare(recipient) {
          const rendered = renderBatchMessage({
            templateId: input.templateId,
            language: customer.language,
            customerName: customer.name,
            lines,
            asOf: input.asOf,
            creditor,
            paymentLink: paymentLinkOf(lines),
          });
          return { recipient, subject: rendered.subject, body: rendered.text, text: rendered.text, html: wrapHtml(rendered.html, rendered.subject, customer.language) };
        },
        async deliver(content, attempt) {
          // The invoices this attempt lists, recorded before the provider call (as the row is).
          await recordListed(prisma, attempt.communicationId, lines, invoiceIds);
          const bounceTo = returnAddress(deps.config, 'bounce', attempt.communicationId);
          const info = await withTranscript(() =>
            transport.sendMail({
              from: deps.config.MAIL_FROM,
              replyTo: returnAddress(deps.config, 'reply', attempt.communicationId) ?? deps.config.MAIL_REPLY_TO,
              ...(bounceTo ? { envelope: { from: bounceTo, to: [...emailTo, ...emailCc] } } : {}),
              to: emailTo.map((address) => ({ name: customer.name, address })),
              cc: emailCc,
              subject: content.subject,
              text: content.text,
              html: content.html,
              messageId: messageIdFor(input.idempotencyKey),
              headers: {
                'X-Relance-Customer': customer.id,
                'X-Relance-Invoices': lines.map((l) => l.invoiceNumber).join(', '),
                'X-Relance-Idempotency-Key': input.idempotencyKey,
                'Content-Language': customer.language,
              },
            }),
          );
          if (info.rejected.length > 0 && info.accepted.length === 0) {
            throw permanent(PermanentFailureTypes.InvalidRecipient, `SMTP rejected ${info.rejected.join(', ')}: ${info.response}`);
          }
          return { providerId: info.messageId };
        },
        classify: classifySmtpError,
      },
    );
    return closeBatch(prisma, result, lines, skipped);
  };
}

interface OpenedBatch {
  lines: BatchLine[];
  skipped: BatchEmailResult['skipped'];
  probe: SendInput;
  invoiceIds: Map<string, string>;
}

/**
 * What both batch channels do before their provider call: a batch already sent answers as it
 * did; an invoice whose settling payment was accepted after its answer is left out (the last
 * moment); the probe a contacts lookup needs; the invoices' ids for the join rows.
 */
export async function openBatch(prisma: PrismaClient, input: BatchEmailInput, channel: 'email' | 'sms'): Promise<{ done: BatchEmailResult } | OpenedBatch> {
  const existing = await prisma.communication.findUnique({ where: { idempotencyKey: input.idempotencyKey }, include: { invoices: true } });
  if (existing?.status === CommunicationStatus.SENT) {
    return { done: { status: 'ALREADY_SENT', communicationId: existing.id, listed: existing.invoices.map((i) => i.invoiceNumber), skipped: [] } };
  }
  const lines: BatchLine[] = [];
  const skipped: BatchEmailResult['skipped'] = [];
  for (const l of input.lines) {
    if (await settledMeanwhile(prisma, { invoiceNumber: l.invoiceNumber, currency: l.currency, balanceMinor: l.balanceMinor, knownPaymentIds: l.knownPaymentIds })) {
      skipped.push({ invoiceNumber: l.invoiceNumber, reason: SKIPPED_SETTLED_NOTE });
    } else lines.push(l);
  }
  if (lines.length === 0) return { done: { status: 'SKIPPED_SETTLED', listed: [], skipped } };
  const first = lines[0]!;
  // Who it goes to, as the customer's record says now (billing contacts, CCs, language, phone).
  const probe: SendInput = {
    idempotencyKey: input.idempotencyKey,
    workflowId: input.customerWorkflowId,
    stepId: input.templateId,
    templateId: input.templateId,
    channel,
    invoice: {
      number: first.invoiceNumber,
      customer: input.customer,
      currency: first.currency,
      amountMinor: first.amountMinor,
      depositMinor: 0,
      issueDate: first.issueDate,
      dueDate: first.dueDate,
    },
    balanceMinor: first.balanceMinor,
    asOf: input.asOf,
    knownPaymentIds: [],
  };
  const invoiceIds = new Map(
    (await prisma.invoice.findMany({ where: { number: { in: lines.map((l) => l.invoiceNumber) } }, select: { id: true, number: true } })).map((r) => [r.number, r.id]),
  );
  return { lines, skipped, probe, invoiceIds };
}

/** The communication row of a batch: it names its customer's workflow; the invoices it lists are its CommunicationInvoice rows. */
export function batchSpec(input: BatchEmailInput, lines: readonly BatchLine[], channel: 'email' | 'sms', language: string, provider: string): LoggedSendSpec {
  return {
    idempotencyKey: input.idempotencyKey,
    workflowId: input.customerWorkflowId,
    stepId: input.templateId,
    channel,
    invoiceNumber: input.customerWorkflowId,
    currency: lines[0]!.currency,
    balanceMinor: lines.reduce((sum, l) => sum + l.balanceMinor, 0),
    knownPaymentIds: [],
    templateId: input.templateId,
    language,
    provider,
  };
}

/** The batch's result: the invoices listed (read back from the join rows when it had gone already). */
export async function closeBatch(
  prisma: PrismaClient,
  result: { status: BatchEmailResult['status']; communicationId: string },
  lines: readonly BatchLine[],
  skipped: BatchEmailResult['skipped'],
): Promise<BatchEmailResult> {
  if (result.status === 'ALREADY_SENT') {
    const rows = await prisma.communicationInvoice.findMany({ where: { communicationId: result.communicationId }, select: { invoiceNumber: true } });
    return { status: result.status, communicationId: result.communicationId, listed: rows.map((r) => r.invoiceNumber), skipped };
  }
  return { status: result.status, communicationId: result.communicationId, listed: result.status === 'SENT' || result.status === 'AMBIGUOUS' ? lines.map((l) => l.invoiceNumber) : [], skipped };
}

/** This attempt's invoices exactly: an earlier attempt that listed one settled since is corrected. */
export async function recordListed(prisma: PrismaClient, communicationId: string, lines: readonly BatchLine[], invoiceIds: Map<string, string>) {
  await prisma.$transaction([
    prisma.communicationInvoice.deleteMany({ where: { communicationId, invoiceNumber: { notIn: lines.map((l) => l.invoiceNumber) } } }),
    prisma.communicationInvoice.createMany({
      data: lines.map((l) => ({
        communicationId,
        invoiceNumber: l.invoiceNumber,
        invoiceId: invoiceIds.get(l.invoiceNumber) ?? null,
        stepId: l.stepId,
        balanceMinor: BigInt(l.balanceMinor),
      })),
      skipDuplicates: true,
    }),
  ]);
}
