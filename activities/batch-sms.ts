// A customer's batch SMS (issue 18): one SMS per customer per batch, for the friendly steps
// whose SMS fell due since the last batch. It says how many invoices, the total and the one
// payment link (the list itself is in the batch email and the statement: an SMS that listed
// them would not fit). Same communication log as any send (key `customer-<id>/<batch date>/sms`,
// Twilio's idempotency token carrying it), one CommunicationInvoice row per invoice covered.
import { renderBatchSms } from '../domain/templates/batch';
import { batchSpec, closeBatch, openBatch, paymentLinkOf, recordListed } from './batch-email';
import { runLoggedSend } from './communication-log';
import { resolveContacts } from './contacts';
import { creditorOf, sendContext, type ActivityDeps } from './deps';
import { createTwilioSender, smsRecipient } from './sms';
import type { BatchEmailInput, BatchEmailResult } from './types';

export function createSendBatchSms(deps: ActivityDeps) {
  const ctx = sendContext(deps);
  const creditor = creditorOf(deps.config);
  const twilioSender = createTwilioSender(deps.config);
  const { prisma } = deps;

  return async function sendBatchSms(input: BatchEmailInput): Promise<BatchEmailResult> {
    const opened = await openBatch(prisma, input, 'sms');
    if ('done' in opened) return opened.done;
    const { lines, skipped, probe, invoiceIds } = opened;
    const contacts = await resolveContacts(prisma, probe);
    const customer = contacts.input.invoice.customer;
    const call = twilioSender.call(input.idempotencyKey);
    const result = await runLoggedSend(
      ctx,
      batchSpec(input, lines, 'sms', customer.language, twilioSender.provider),
      {
        recipient: await smsRecipient(prisma, contacts),
        async prepare(recipient) {
          const body = renderBatchSms({ templateId: input.templateId, language: customer.language, lines, asOf: input.asOf, creditor, paymentLink: paymentLinkOf(lines) });
          return { recipient, body };
        },
        async deliver(content, attempt) {
          await recordListed(prisma, attempt.communicationId, lines, invoiceIds);
          return call.send(content.recipient, content.body!);
        },
        classify: call.classify,
      },
    );
    return closeBatch(prisma, result, lines, skipped);
  };
}
