// Letters: the formal-notice PDF (letter-pdf.ts), kept under <DATA_DIR>/documents/letters/
// for the record (and the agency dossier), then either
//   - posted as registered mail with acknowledgement of receipt to a postal provider's HTTP
//     API (POSTAL_API_URL; the API is described in tools/peers/postal-fake.ts) with an
//     Idempotency-Key, which returns a tracking number; the result carries the dispatch
//     instant (the date of a consumer's notice); or, by default,
//   - written to the outbox: <DATA_DIR>/outbox/letters/<invoice>-<step>.pdf, atomically;
//     an existing file for the same invoice and step means "already sent". That letter is a
//     draft to post by hand (it says nothing of registered mail): the result says so, and the
//     notice's date is the posting date a collector records (POST .../notice-posted).
// The PDF is deterministic (its dates come from asOf), so a resend is the same letter.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { SendInput, SendResult } from './types';
import { runLoggedSend } from './communication-log';
import { resolveContacts } from './contacts';
import type { LoggedContent } from './communication-log';
import { creditorOf, overridesOf, postalAddressOf, renderFor, safeName, sendContext, specOf } from './deps';
import type { ActivityDeps } from './deps';
import { classifyNetworkError } from './failures';
import { postJson } from './http';
import { renderLetterPdf, type OtherOpenInvoice } from './letter-pdf';
import { namedAddressLines } from './pdf';
import { exists, outboxDir, writeFileAtomic } from './outbox';
import { utcDate } from '../domain/dates';
import { daysLate } from '../domain/overdue';
import type { PrismaClient } from '../prisma/client';

/** Postal API error codes that blame the address. */
const ADDRESS_ERRORS: ReadonlySet<string> = new Set(['invalid_address', 'undeliverable_address']);

export interface PostalLetterResponse {
  id: string;
  status: string;
  trackingNumber: string;
}

interface LetterContent extends LoggedContent {
  pdf: Buffer;
  fileName: string;
  documentRef: string;
}

export function letterFileName(invoiceNumber: string, stepId: string): string {
  return `${safeName(invoiceNumber)}-${safeName(stepId)}.pdf`;
}

export function createSendLetter(deps: ActivityDeps) {
  const ctx = sendContext(deps);
  const config = deps.config;
  const creditor = creditorOf(config);
  const templates = overridesOf(deps);
  const postalUrl = config.POSTAL_API_URL?.replace(/\/+$/, '');
  const provider = postalUrl ? 'postal-api' : 'outbox';

  return async function sendLetter(sent: SendInput): Promise<SendResult> {
    // The postal address and name as the customer's record says now.
    const { input } = await resolveContacts(deps.prisma, sent);
    const { invoice } = input;
    const fileName = letterFileName(invoice.number, input.stepId);
    const result = await send(input, fileName);
    if (result.status === 'SKIPPED_SETTLED') return result;
    if (!postalUrl) return { ...result, letter: { registered: false } };
    // The provider took it when the row was completed: that instant is the dispatch date.
    const row = result.communicationId
      ? await deps.prisma.communication.findUnique({ where: { id: result.communicationId }, select: { sentAt: true } })
      : null;
    return { ...result, letter: { registered: true, ...(row?.sentAt ? { dispatchedAt: row.sentAt.toISOString() } : {}) } };
  };

  function send(input: SendInput, fileName: string): Promise<SendResult> {
    const { invoice } = input;
    return runLoggedSend<LetterContent>(
      ctx,
      specOf(input, 'letter', provider),
      {
        recipient() {
          return namedAddressLines(invoice.customer.name, postalAddressOf(invoice)).join(', ');
        },
        async prepare(recipient) {
          const letter = await renderLetterPdf({
            rendered: await renderFor('letter', input, creditor, templates),
            templateId: input.templateId,
            invoice,
            balanceMinor: input.balanceMinor,
            penalties: input.penalties,
            asOf: input.asOf,
            deadline: input.deadline,
            payments: input.payments,
            creditor,
            signatory: config.CREDITOR_SIGNATORY,
            reference: input.idempotencyKey,
            otherOpen: await otherOpenInvoices(deps.prisma, invoice.number, input.asOf),
          });
          const documentRef = postalUrl
            ? path.resolve(config.dataDir, 'documents', 'letters', fileName)
            : path.join(outboxDir(config.dataDir, 'letters'), fileName);
          return { recipient, subject: letter.subject, body: letter.text, pdf: letter.pdf, fileName, documentRef };
        },
        async deliver(content) {
          if (!postalUrl) {
            // The outbox file is the delivery: if it is there, an earlier attempt delivered it.
            if (!(await exists(content.documentRef))) await writeFileAtomic(content.documentRef, content.pdf);
            return { providerId: `outbox:${content.fileName}` };
          }
          await writeFileAtomic(content.documentRef, content.pdf);
          const address = postalAddressOf(invoice);
          const body = JSON.stringify({
            reference: input.idempotencyKey,
            service: 'registered_ar',
            recipient: {
              name: invoice.customer.name,
              addressLines: address.lines,
              postalCode: address.postalCode,
              city: address.city,
              country: address.country,
            },
            sender: {
              name: creditor.name,
              addressLines: creditor.address.lines,
              postalCode: creditor.address.postalCode,
              city: creditor.address.city,
              country: creditor.address.country,
            },
            document: {
              fileName: content.fileName,
              contentType: 'application/pdf',
              sha256: createHash('sha256').update(content.pdf).digest('hex'),
              contentBase64: content.pdf.toString('base64'),
            },
            metadata: { invoiceNumber: invoice.number, stepId: input.stepId, workflowId: input.workflowId },
          });
          const response = await postJson<PostalLetterResponse>(`${postalUrl}/v1/letters`, body, {
            what: 'postal API',
            headers: {
              'Idempotency-Key': input.idempotencyKey,
              ...(config.POSTAL_API_KEY ? { Authorization: `Bearer ${config.POSTAL_API_KEY}` } : {}),
            },
            timeoutMs: config.PROVIDER_TIMEOUT_MS,
            recipientErrorCodes: ADDRESS_ERRORS,
          });
          return { providerId: response.body.trackingNumber ?? response.body.id };
        },
        classify: (err) => classifyNetworkError(err, provider),
      },
    );
  }
}

/**
 * The customer's other invoices still due on the letter's date, oldest due first (issue 18: a
 * formal notice is a letter of its own and lists the others as a statement of account). Read
 * at render time, as the record says then; an invoice unknown to the database has none.
 */
export async function otherOpenInvoices(prisma: PrismaClient, invoiceNumber: string, asOf: string): Promise<OtherOpenInvoice[]> {
  const self = await prisma.invoice.findUnique({ where: { number: invoiceNumber }, select: { customerId: true } });
  if (!self) return [];
  const rows = await prisma.invoice.findMany({
    where: { customerId: self.customerId, number: { not: invoiceNumber }, closedAt: null, balanceMinor: { gt: 0 }, issueDate: { lte: new Date(`${asOf}T00:00:00Z`) } },
    select: { number: true, dueDate: true, currency: true, balanceMinor: true },
    orderBy: [{ dueDate: 'asc' }, { number: 'asc' }],
  });
  return rows.map((r) => {
    const dueDate = utcDate(r.dueDate);
    return { number: r.number, dueDate, currency: r.currency, balanceMinor: Number(r.balanceMinor), daysLate: daysLate(dueDate, asOf) };
  });
}
