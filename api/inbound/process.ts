// One inbound message, from the SMTP receiver or the inbound-mail webhook, to its effects:
//   1. parsed (mailparser), classified (classify.ts), matched to the communication its VERP
//      token names (recipient addresses; a DSN's embedded original headers), else to the
//      message it answers (In-Reply-To/References = our Message-ID), else to the open
//      invoices of the customer whose address (or a contact's) sent it;
//   2. stored with its attachments as rows of their own (InboundMessage, unique on the
//      raw bytes' sha256: a redelivery is stored once), status `received`;
//   3. each invoice it covers gets a timeline event, and its workflow a signal: a human
//      reply → replyReceived (the workflow holds as its policy says); a permanent bounce →
//      the address is marked invalid, the communication failed, and deliveryFailed (the
//      step goes out on its fallback channel); an auto-reply or a transient bounce is only
//      recorded;
//   4. status `processed`. A failure in 3 (database or Temporal down) is thrown: the
//      sender retries (SMTP 451, webhook 503) and the redelivery resumes at 3. Every
//      effect is idempotent (event keys, signals deduplicated by the workflow).
import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { markAddressInvalid } from '../../prisma/invalid-addresses';
import { parseReturnAddress } from '../../contracts/reply-addresses';
import type { Config } from '../../config/index';
import type { Communication, InboundMessage, PrismaClient } from '../../prisma/client';
import { deliveryFailedSignal, replyReceivedSignal } from '../../contracts/messages';
import type { Channel } from '../../domain/types';
import { isUniqueViolation } from '../infra-errors';
import { Problem } from '../problem';
import { signalInvoice, type TemporalGateway } from '../temporal';
import { classifyInbound, replyExcerpt, type Classification } from './classify';

export interface InboundDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
}

export interface InboundOutcome {
  id: string;
  duplicate: boolean;
  kind: string;
  bounce?: string;
  matchedBy?: string;
  invoiceNumbers: string[];
}

/** Signals an invoice's workflow; false when it is closed (the record stays). */
export async function signalIfOpen<A>(temporal: TemporalGateway, invoiceNumber: string, signal: Parameters<typeof signalInvoice<[A]>>[2], arg: A): Promise<boolean> {
  try {
    await signalInvoice(temporal, invoiceNumber, signal, arg);
    return true;
  } catch (err) {
    if (err instanceof Problem && err.status === 409) return false;
    throw err;
  }
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value.map((v) => v.address ?? '')).filter(Boolean);
}

function headerAddresses(mail: ParsedMail, name: string): string[] {
  const v = mail.headers.get(name);
  if (v === undefined) return [];
  const text = typeof v === 'string' ? v : Array.isArray(v) ? v.join(',') : typeof v === 'object' && v && 'value' in v ? String((v as { value: unknown }).value) : String(v);
  return text.match(/[^\s<>,;"]+@[^\s<>,;"]+/g) ?? [];
}

/** Message-IDs this message refers to (In-Reply-To, References). */
function referencedIds(mail: ParsedMail): string[] {
  const refs = Array.isArray(mail.references) ? mail.references : mail.references ? [mail.references] : [];
  return [...new Set([mail.inReplyTo, ...refs].filter((x): x is string => !!x))];
}

/** The original message's headers a DSN carries (text/rfc822-headers or message/rfc822). */
function embeddedOriginal(mail: ParsedMail): string {
  return mail.attachments
    .filter((a) => /^(text\/rfc822-headers|message\/rfc822|message\/global-headers)$/i.test(a.contentType))
    .map((a) => a.content.subarray(0, 64 * 1024).toString('utf8'))
    .join('\n');
}

interface Match {
  by: 'token' | 'in-reply-to' | 'sender';
  communication?: Communication;
  invoiceNumbers: string[];
}

async function match(deps: InboundDeps, mail: ParsedMail, recipients: string[], classification: Classification): Promise<Match | undefined> {
  const { prisma, config } = deps;
  const original = classification.kind === 'bounce' ? embeddedOriginal(mail) : '';
  const candidates = [
    ...recipients,
    ...addressesOf(mail.to),
    ...addressesOf(mail.cc),
    ...headerAddresses(mail, 'delivered-to'),
    ...headerAddresses(mail, 'x-original-to'),
    ...(original.match(/[^\s<>,;"]+@[^\s<>,;"]+/g) ?? []),
  ];
  for (const address of candidates) {
    const parsed = parseReturnAddress(config, address);
    if (!parsed) continue;
    const communication = await prisma.communication.findUnique({ where: { id: parsed.communicationId } });
    if (communication) return { by: 'token', communication, invoiceNumbers: await invoicesListedBy(prisma, communication) };
  }
  const ids = [...referencedIds(mail), ...(original.match(/<[^<>\s]+@relance>/g) ?? [])];
  if (ids.length) {
    const communication = await prisma.communication.findFirst({ where: { channel: 'email', providerId: { in: ids } } });
    if (communication) return { by: 'in-reply-to', communication, invoiceNumbers: await invoicesListedBy(prisma, communication) };
  }
  // A bounce comes from the mailer daemon, not the customer: no sender match.
  const from = mail.from?.value?.[0]?.address;
  if (classification.kind === 'bounce' || !from) return undefined;
  const invoices = await prisma.invoice.findMany({
    where: {
      closedAt: null,
      customer: {
        OR: [
          { email: { equals: from.trim(), mode: 'insensitive' } },
          { contacts: { some: { email: { equals: from.trim(), mode: 'insensitive' } } } },
        ],
      },
    },
    select: { number: true },
    orderBy: { dueDate: 'asc' },
    take: 100,
  });
  return invoices.length ? { by: 'sender', invoiceNumbers: invoices.map((i) => i.number) } : undefined;
}

/** The invoice a message was about, or every invoice a customer's grouped message listed. */
async function invoicesListedBy(prisma: PrismaClient, communication: Communication): Promise<string[]> {
  const listed = await prisma.communicationInvoice.findMany({ where: { communicationId: communication.id }, select: { invoiceNumber: true }, orderBy: { invoiceNumber: 'asc' } });
  return listed.length ? listed.map((l) => l.invoiceNumber) : [communication.invoiceNumber];
}

async function store(
  prisma: PrismaClient,
  data: Omit<Parameters<PrismaClient['inboundMessage']['create']>[0]['data'], 'attachments'>,
  mail: ParsedMail,
): Promise<{ row: InboundMessage; duplicate: boolean }> {
  try {
    const row = await prisma.inboundMessage.create({
      data: {
        ...data,
        attachments: {
          create: mail.attachments.map((a) => ({
            filename: a.filename ?? null,
            contentType: a.contentType,
            sizeBytes: a.size ?? a.content.length,
            sha256: createHash('sha256').update(a.content).digest('hex'),
            content: new Uint8Array(a.content),
          })),
        },
      },
    });
    return { row, duplicate: false };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const row = await prisma.inboundMessage.findUnique({ where: { rawSha256: data.rawSha256 as string } });
    if (!row) throw err;
    return { row, duplicate: true };
  }
}

const EVENT_TYPES: Record<string, string> = {
  reply: 'reply-received',
  'auto-reply': 'auto-reply-received',
  'bounce:permanent': 'bounce-permanent',
  'bounce:transient': 'bounce-transient',
};

/** Parses, stores, matches and applies one raw MIME message. `recipients`: the SMTP envelope's, when known. */
export async function receiveInbound(deps: InboundDeps, raw: Buffer, opts: { source: string; recipients?: string[] }): Promise<InboundOutcome> {
  const { prisma } = deps;
  const rawSha256 = createHash('sha256').update(raw).digest('hex');
  const known = await prisma.inboundMessage.findUnique({ where: { rawSha256 } });
  if (known?.status === 'processed') return outcomeOf(known, true);

  const mail = await simpleParser(raw, { skipHtmlToText: false, skipTextToHtml: true, skipImageLinks: true });
  const classification = classifyInbound(mail);
  const m = await match(deps, mail, opts.recipients ?? [], classification);
  const bounce = classification.kind === 'bounce' ? classification.bounce : undefined;
  const { row, duplicate } = known
    ? { row: known, duplicate: true }
    : await store(
        prisma,
        {
          rawSha256,
          source: opts.source,
          messageId: mail.messageId ?? null,
          fromAddress: mail.from?.value?.[0]?.address ?? null,
          toAddresses: [...new Set([...(opts.recipients ?? []), ...addressesOf(mail.to)])],
          subject: mail.subject ?? null,
          text: mail.text ?? null,
          excerpt: classification.kind === 'bounce' ? (bounce?.diagnostic ?? null) : (replyExcerpt(mail.text) ?? null),
          kind: classification.kind,
          classifiedBy: classification.by,
          bounce: bounce?.severity ?? null,
          bounceRecipient: bounce?.recipient ?? m?.communication?.recipient ?? null,
          bounceStatus: bounce?.status ?? null,
          matchedBy: m?.by ?? null,
          communicationId: m?.communication?.id ?? null,
          invoiceNumbers: m?.invoiceNumbers ?? [],
          sizeBytes: raw.length,
        },
        mail,
      );
  if (duplicate && row.status === 'processed') return outcomeOf(row, true);
  await apply(deps, row, m?.communication);
  const done = await prisma.inboundMessage.update({ where: { id: row.id }, data: { status: 'processed' } });
  return outcomeOf(done, duplicate);
}

async function apply(deps: InboundDeps, row: InboundMessage, communication: Communication | undefined): Promise<void> {
  const { prisma, temporal } = deps;
  const type = EVENT_TYPES[row.kind === 'bounce' ? `bounce:${row.bounce}` : row.kind] ?? 'inbound-received';
  const detail = {
    inboundId: row.id,
    from: row.fromAddress,
    subject: row.subject,
    excerpt: row.excerpt,
    matchedBy: row.matchedBy,
    ...(row.kind === 'bounce' ? { recipient: row.bounceRecipient, status: row.bounceStatus, stepId: communication?.stepId, channel: communication?.channel } : {}),
  };
  if (row.invoiceNumbers.length) {
    const invoices = await prisma.invoice.findMany({ where: { number: { in: row.invoiceNumbers } }, select: { id: true, number: true, workflowId: true } });
    await prisma.dunningEvent.createMany({
      data: invoices.map((i) => ({
        invoiceId: i.id,
        invoiceNumber: i.number,
        workflowId: i.workflowId,
        eventKey: `inbound/${row.id}/${i.number}`,
        type,
        at: row.receivedAt,
        data: detail,
      })),
      skipDuplicates: true,
    });
  }

  if (row.kind === 'reply') {
    for (const number of row.invoiceNumbers) {
      await signalIfOpen(temporal, number, replyReceivedSignal, {
        inboundId: row.id,
        receivedAt: row.receivedAt.toISOString(),
        from: row.fromAddress ?? undefined,
        subject: row.subject ?? undefined,
        excerpt: row.excerpt?.slice(0, 500) ?? undefined,
      });
    }
  } else if (row.kind === 'bounce' && row.bounce === 'permanent' && communication) {
    const reason = `bounced${row.bounceStatus ? ` ${row.bounceStatus}` : ''}${row.excerpt ? `: ${row.excerpt}` : ''}`.slice(0, 500);
    const address = row.bounceRecipient ?? communication.recipient;
    if (address && communication.channel === 'email') {
      await markAddressInvalid(prisma, { channel: 'email', address, reason, evidence: `inbound:${row.id}` });
    }
    await prisma.communication.update({ where: { id: communication.id }, data: { status: 'FAILED_PERMANENT', error: reason } });
    await signalIfOpen(temporal, communication.invoiceNumber, deliveryFailedSignal, {
      reference: `inbound:${row.id}`,
      stepId: communication.stepId,
      channel: communication.channel as Channel,
      permanent: true,
      reason,
    });
  }
}

function outcomeOf(row: InboundMessage, duplicate: boolean): InboundOutcome {
  return {
    id: row.id,
    duplicate,
    kind: row.kind,
    ...(row.bounce ? { bounce: row.bounce } : {}),
    ...(row.matchedBy ? { matchedBy: row.matchedBy } : {}),
    invoiceNumbers: row.invoiceNumbers,
  };
}
