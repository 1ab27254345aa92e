// Reminder emails over SMTP (nodemailer): HTML + plain text per step and language from
// the domain templates, the payment link and the contact, the invoice extract PDF from
// the second reminder on, a real From / Reply-To from configuration, and a Message-ID
// derived from the idempotency key so that a resend after a crash is recognisably the
// same message (receivers and our sink drop the duplicate).
import { createHash } from 'node:crypto';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { escapeHtml } from '../domain/templates';
import type { SendInput, SendResult } from './types';
import { PermanentFailureTypes, TransientFailureTypes } from './types';
import { runLoggedSend } from './communication-log';
import type { LoggedContent } from './communication-log';
import { creditorOf, renderFor, sendContext, specOf } from './deps';
import type { ActivityDeps } from './deps';
import { classifyNetworkError, DeliveryError, permanent, transient } from './failures';
import { invoiceExtractFileName, renderInvoiceExtractPdf } from './invoice-extract-pdf';

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
  });
}

function wrapHtml(fragment: string, subject: string, language: string): string {
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

export function createSendEmail(deps: ActivityDeps, transport = createEmailTransport(deps)) {
  const ctx = sendContext(deps);
  const creditor = creditorOf(deps.config);

  return async function sendEmail(input: SendInput): Promise<SendResult> {
    const { invoice } = input;
    const language = invoice.customer.language;
    return runLoggedSend<EmailContent>(
      ctx,
      specOf(input, 'email', 'smtp'),
      {
        recipient() {
          const email = invoice.customer.email?.trim();
          if (!email) throw permanent(PermanentFailureTypes.NoRecipient, `customer ${invoice.customer.id} has no email address`);
          if (!EMAIL_RE.test(email)) throw permanent(PermanentFailureTypes.InvalidRecipient, `invalid email address ${JSON.stringify(email)}`);
          return email;
        },
        async prepare(recipient) {
          const rendered = renderFor('email', input, creditor);
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
        async deliver(content) {
          const info = await transport.sendMail({
            from: deps.config.MAIL_FROM,
            replyTo: deps.config.MAIL_REPLY_TO,
            to: { name: invoice.customer.name, address: content.recipient },
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
          });
          if (info.rejected.length > 0) {
            throw permanent(PermanentFailureTypes.InvalidRecipient, `SMTP rejected ${info.rejected.join(', ')}: ${info.response}`);
          }
          return { providerId: info.messageId };
        },
        classify: classifySmtpError,
      },
    );
  };
}
