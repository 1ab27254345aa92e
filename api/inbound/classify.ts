// What an inbound message is: a delivery status notification (RFC 3464), an automatic reply
// (RFC 3834 Auto-Submitted, X-Autoreply, Precedence, then subject heuristics) or a human
// reply. Checked in that order: a DSN carries Auto-Submitted too.
import type { HeaderValue, ParsedMail } from 'mailparser';

export interface BounceReport {
  /** permanent: 5.x.x or Action failed; transient: 4.x.x or Action delayed. */
  severity: 'permanent' | 'transient';
  recipient?: string;
  /** RFC 3463 enhanced status code, e.g. 5.1.1. */
  status?: string;
  diagnostic?: string;
}

export type Classification =
  | { kind: 'bounce'; by: string; bounce: BounceReport }
  | { kind: 'auto-reply'; by: string }
  | { kind: 'reply'; by: string };

// "Automatic reply:", "Réponse automatique :", "Out of Office", "Abwesenheitsnotiz"...
const AUTO_SUBJECT_RE =
  /^\s*(auto(matic)?[ _-]?(reply|response|answer)|autoreply|out of (the )?office|ooo\b|absen(t|ce)|abwesen|automatische antwort|r[ée]ponse automatique|message d'absence|vacation|cong[ée]s?\b|respuesta autom[áa]tica|risposta automatica)/i;
const BOUNCE_SUBJECT_RE = /(undeliver|undelivered|delivery (status notification|failure|has failed)|returned mail|mail delivery failed|non remis|failure notice)/i;
const MAILER_DAEMON_RE = /^(mailer-daemon|postmaster)@/i;

function headerText(v: HeaderValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map((x) => headerText(x as HeaderValue)).join(', ');
  if (typeof v === 'object' && 'value' in v) return String((v as { value: unknown }).value);
  return String(v);
}

/** RFC 3464 per-recipient fields, read from the text mailparser gives (it inlines the delivery-status part). */
export function parseDeliveryStatus(text: string): BounceReport | undefined {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'im').exec(text)?.[1]?.trim();
  const action = field('Action')?.toLowerCase();
  const status = field('Status')?.match(/[245]\.\d{1,3}\.\d{1,3}/)?.[0] ?? text.match(/\b([45]\.\d{1,3}\.\d{1,3})\b/)?.[1];
  if (!action && !status) return undefined;
  const recipient = (field('Final-Recipient') ?? field('Original-Recipient'))?.replace(/^rfc822\s*;\s*/i, '').replace(/[<>]/g, '').trim();
  const transient = action === 'delayed' || action === 'relayed' || action === 'delivered' || (!!status && status.startsWith('4'));
  return {
    severity: action === 'failed' || (!transient && status?.startsWith('5')) ? 'permanent' : 'transient',
    recipient: recipient || undefined,
    status,
    diagnostic: field('Diagnostic-Code')?.replace(/^smtp\s*;\s*/i, ''),
  };
}

export function classifyInbound(mail: Pick<ParsedMail, 'headers' | 'subject' | 'text' | 'from'>): Classification {
  const h = (name: string) => headerText(mail.headers.get(name));
  const contentType = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const from = mail.from?.value?.[0]?.address ?? '';
  const subject = mail.subject ?? '';

  const isReport = contentType?.value?.toLowerCase() === 'multipart/report' && contentType.params?.['report-type']?.toLowerCase() === 'delivery-status';
  if (isReport || (MAILER_DAEMON_RE.test(from) && BOUNCE_SUBJECT_RE.test(subject))) {
    const report = parseDeliveryStatus(mail.text ?? '');
    // A report we cannot read is noted, not acted on: acting needs a permanent verdict.
    return { kind: 'bounce', by: isReport ? 'multipart/report delivery-status' : 'mailer-daemon subject', bounce: report ?? { severity: 'transient' } };
  }
  const autoSubmitted = h('auto-submitted')?.trim().toLowerCase();
  if (autoSubmitted && autoSubmitted !== 'no') return { kind: 'auto-reply', by: `Auto-Submitted: ${autoSubmitted}` };
  if (h('x-autoreply') !== undefined || h('x-autorespond') !== undefined) return { kind: 'auto-reply', by: 'X-Autoreply' };
  const precedence = h('precedence')?.trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'auto_reply' || precedence === 'junk') return { kind: 'auto-reply', by: `Precedence: ${precedence}` };
  if (AUTO_SUBJECT_RE.test(subject.replace(/^\s*((re|aw|tr|fwd?)\s*:\s*)+/i, ''))) return { kind: 'auto-reply', by: 'subject' };
  return { kind: 'reply', by: 'no automatic marker' };
}

/** The new text of a reply: what precedes the quoted message. */
export function replyExcerpt(text: string | undefined, max = 2_000): string | undefined {
  if (!text) return undefined;
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (/^\s*>/.test(line)) break;
    if (/^\s*(On|Le)\s.+(wrote|a écrit)\s*:\s*$/i.test(line)) break;
    if (/^\s*-{2,}\s*(Original Message|Message d'origine|Urspr)/i.test(line)) break;
    if (/^\s*(From|De)\s*:\s.+/.test(line) && out.length > 0) break;
    out.push(line);
  }
  const excerpt = out.join('\n').trim();
  return excerpt ? excerpt.slice(0, max) : undefined;
}
