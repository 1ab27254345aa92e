// Reminder emails over SMTP (nodemailer): HTML + plain text per step and language from
// the domain templates, the payment link and the contact, the invoice extract PDF from
// the second reminder on, a real From, a per-message Reply-To and Return-Path (VERP, when
// INBOUND_DOMAIN is set; else MAIL_REPLY_TO), and a Message-ID
// derived from the idempotency key so that a resend after a crash is recognisably the
// same message (receivers and our sink drop the duplicate).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { format } from 'node:util';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { escapeHtml } from '../domain/templates';
import type { SendInput, SendResult } from './types';
import { PermanentFailureTypes, TransientFailureTypes, type TransientFailureType } from '../contracts/failures';
import { runLoggedSend } from './communication-log';
import { resolveContacts } from './contacts';
import type { LoggedContent } from './communication-log';
import { creditorOf, overridesOf, renderFor, sendContext, specOf } from './deps';
import type { ActivityDeps } from './deps';
import { classifyNetworkError, DeliveryError, permanent, transient } from './failures';
import { invoiceExtractFileName, renderInvoiceExtractPdf } from './invoice-extract-pdf';
import { invalidAddressReason } from '../prisma/invalid-addresses';
import { returnAddress } from '../contracts/reply-addresses';

/** Templates whose email carries the invoice extract (the second reminder and later). */
export const EXTRACT_TEMPLATES: ReadonlySet<string> = new Set(['reminder-2', 'formal-notice', 'final-notice', 'agency-handover']);

/** `<sha256(key)@relance>`: the same key always gives the same Message-ID. */
export function messageIdFor(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex')}@relance>`;
}

// Deliberately simple: one @, no spaces or brackets, a dot in the domain.
const EMAIL_RE = /^[^\s@<>()[\]",;:\\]+@[^\s@<>()[\]",;:\\]+\.[^\s@<>()[\]",;:\\]+$/;

interface EmailContent extends LoggedContent {
  subject: string;
  text: string;
  html: string;
  attachments: Array<{ filename: string; content: Buffer; contentType: string }>;
}

export function createEmailTransport(deps: ActivityDeps): Transporter<SMTPTransport.SentMessageInfo> {
  const c = deps.config;
  return nodemailer.createTransport({
    host: c.SMTP_HOST,
    port: c.SMTP_PORT,
    secure: c.SMTP_SECURE,
    auth: c.SMTP_USER ? { user: c.SMTP_USER, pass: c.SMTP_PASSWORD ?? '' } : undefined,
    connectionTimeout: c.PROVIDER_TIMEOUT_MS,
    greetingTimeout: c.PROVIDER_TIMEOUT_MS,
    socketTimeout: c.PROVIDER_TIMEOUT_MS,
    // The SMTP conversation of each send is kept (see withTranscript): when the server's
    // answer never comes, it is what a collector reads to decide whether it arrived.
    transactionLog: true,
    logger: transcriptLogger,
  });
}

/** The lines of the send in progress (one per async context: sends run concurrently). */
const transcripts = new AsyncLocalStorage<string[]>();
const TRANSCRIPT_MAX_LINES = 200;

function record(entry: unknown, message: unknown, ...args: unknown[]) {
  const lines = transcripts.getStore();
  const tnx = (entry as { tnx?: string } | undefined)?.tnx;
  if (!lines || (tnx !== 'server' && tnx !== 'client') || lines.length >= TRANSCRIPT_MAX_LINES) return;
  lines.push(`${tnx === 'server' ? 'S' : 'C'}: ${format(String(message), ...args)}`);
}
const ignore = () => undefined;
const transcriptLogger = { trace: ignore, debug: record, info: ignore, warn: ignore, error: ignore, fatal: ignore };

/** Runs a send, attaching what was said on the wire to the DeliveryError it may throw. */
export async function withTranscript<T>(send: () => Promise<T>): Promise<T> {
  const lines: string[] = [];
  try {
    return await transcripts.run(lines, send);
  } catch (err) {
    let failure = err instanceof DeliveryError ? err : classifySmtpError(err);
    // nodemailer reports every socket timeout as a 'CONN' error, even one waiting for
    // the answer to the message itself: the conversation tells the two apart.
    if (failure.kind === 'transient' && !failure.uncertain && handedOver(lines)) {
      failure = transient(failure.type as TransientFailureType, `${failure.message} after the message was handed over`, {
        uncertain: true,
        cause: failure.cause,
      });
    }
    failure.transcript = lines.join('\n') || undefined;
    throw failure;
  }
}

/** The server said 354 (send the message) and nothing after: it may hold the message. */
function handedOver(lines: string[]): boolean {
  const go = lines.findLastIndex((l) => l.startsWith('S: 354'));
  return go >= 0 && !lines.slice(go + 1).some((l) => l.startsWith('S: '));
}

export function wrapHtml(fragment: string, subject: string, language: string): string {
  return `<!doctype html>
<html lang="${language}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 14px; line-height: 1.5; color: #222;">
${fragment}
</body></html>`;
}

/** Commands before DATA: a failure there means the message was certainly not taken. */
const BEFORE_DATA = /^(CONN|EHLO|HELO|LHLO|STARTTLS|AUTH|MAIL|RCPT)/i;

/** nodemailer's error → permanent (5xx), transient (4xx, network) or uncertain (lost during DATA). */
export function classifySmtpError(err: unknown): DeliveryError {
  const e = err as { responseCode?: number; code?: string; command?: string; response?: string; message?: string };
  const text = e.response ?? e.message ?? String(err);
  const code = e.responseCode;
  if (code && code >= 500) {
    const recipient = e.code === 'EENVELOPE' || /RCPT/i.test(e.command ?? '');
    const type = recipient && [550, 551, 553, 501].includes(code) ? PermanentFailureTypes.InvalidRecipient : PermanentFailureTypes.ProviderRejected;
    return permanent(type, `SMTP ${code}: ${text}`, { providerCode: code, cause: err });
  }
  if (code && code >= 400) {
    const type = code === 421 || /rate|too many|throttl/i.test(text) ? TransientFailureTypes.RateLimited : TransientFailureTypes.Unavailable;
    return transient(type, `SMTP ${code}: ${text}`, { providerCode: code, cause: err });
  }
  if (e.code === 'EAUTH') return transient(TransientFailureTypes.Unavailable, `SMTP authentication failed: ${text}`, { cause: err });
  return classifyNetworkError(err, 'SMTP', BEFORE_DATA.test(e.command ?? '') || /ECONNREFUSED/.test(text));
}

/**
 * The recipients an email may go to. Looked up before the logged send (its recipient() step is
 * synchronous): an address marked invalid (bounced) is left out.
 */
export async function usableAddresses(prisma: ActivityDeps['prisma'], contacts: { emailTo: string[]; emailCc: string[] }) {
  const invalid = new Map<string, string>();
  for (const address of [...contacts.emailTo, ...contacts.emailCc]) {
    const reason = await invalidAddressReason(prisma, 'email', address);
    if (reason) invalid.set(address, reason);
  }
  return { emailTo: contacts.emailTo.filter((a) => !invalid.has(a)), emailCc: contacts.emailCc.filter((a) => !invalid.has(a)), invalid };
}

/** The recipient as the communication log records it, or the permanent failure of having none usable. */
export function emailRecipient(customerId: string, contacts: { emailTo: string[]; emailCc: string[] }, usable: Awaited<ReturnType<typeof usableAddresses>>): string {
  if (contacts.emailTo.length === 0) throw permanent(PermanentFailureTypes.NoRecipient, `customer ${customerId} has no email address`);
  for (const email of [...contacts.emailTo, ...contacts.emailCc]) {
    if (!EMAIL_RE.test(email)) throw permanent(PermanentFailureTypes.InvalidRecipient, `invalid email address ${JSON.stringify(email)}`);
  }
  if (usable.emailTo.length === 0) {
    const [email, reason] = [...usable.invalid.entries()][0]!;
    throw permanent(PermanentFailureTypes.InvalidRecipient, `email address ${JSON.stringify(email)} is marked invalid: ${reason}`);
  }
  // As recorded in the communication log: a changed address is a new try there.
  return usable.emailTo.join(', ') + (usable.emailCc.length ? ` (cc: ${usable.emailCc.join(', ')})` : '');
}

export function createSendEmail(deps: ActivityDeps, transport = createEmailTransport(deps)) {
  const ctx = sendContext(deps);
  const creditor = creditorOf(deps.config);
  const templates = overridesOf(deps);

  return async function sendEmail(sent: SendInput): Promise<SendResult> {
    const contacts = await resolveContacts(deps.prisma, sent);
    const { input } = contacts;
    const { invoice } = input;
    const language = invoice.customer.language;
    const usable = await usableAddresses(deps.prisma, contacts);
    const { emailTo, emailCc } = usable;
    return runLoggedSend<EmailContent>(
      ctx,
      specOf(input, 'email', 'smtp'),
      {
        recipient: () => emailRecipient(invoice.customer.id, contacts, usable),
        async prepare(recipient) {
          const rendered = await renderFor('email', input, creditor, templates, { earlyPaymentDiscount: contacts.earlyPaymentDiscount });
          const attachments = EXTRACT_TEMPLATES.has(input.templateId)
            ? [
                {
                  filename: invoiceExtractFileName(invoice),
                  contentType: 'application/pdf',
                  content: await renderInvoiceExtractPdf({ invoice, balanceMinor: input.balanceMinor, asOf: input.asOf, creditor }),
                },
              ]
            : [];
          return {
            recipient,
            subject: rendered.subject,
            body: rendered.text,
            text: rendered.text,
            html: wrapHtml(rendered.html, rendered.subject, language),
            documentRef: attachments.length ? `attachment:${attachments[0]!.filename}` : undefined,
            attachments,
          };
        },
        async deliver(content, attempt) {
          // VERP: replies and bounces name this communication (contracts/reply-addresses.ts).
          const bounceTo = returnAddress(deps.config, 'bounce', attempt.communicationId);
          const info = await withTranscript(() => transport.sendMail({
            from: deps.config.MAIL_FROM,
            replyTo: returnAddress(deps.config, 'reply', attempt.communicationId) ?? deps.config.MAIL_REPLY_TO,
            // The envelope lists every recipient: the CCs get it too.
            ...(bounceTo ? { envelope: { from: bounceTo, to: [...emailTo, ...emailCc] } } : {}),
            to: emailTo.map((address) => ({ name: invoice.customer.name, address })),
            cc: emailCc,
            subject: content.subject,
            text: content.text,
            html: content.html,
            attachments: content.attachments,
            messageId: messageIdFor(input.idempotencyKey),
            headers: {
              'X-Relance-Invoice': invoice.number,
              'X-Relance-Idempotency-Key': input.idempotencyKey,
              'Content-Language': language,
            },
          }));
          // Refused for every recipient: not delivered. A CC refused alone does not undo the send.
          if (info.rejected.length > 0 && info.accepted.length === 0) {
            throw permanent(PermanentFailureTypes.InvalidRecipient, `SMTP rejected ${info.rejected.join(', ')}: ${info.response}`);
          }
          return { providerId: info.messageId };
        },
        classify: classifySmtpError,
      },
    );
  };
}
