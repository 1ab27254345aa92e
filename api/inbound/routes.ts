// HTTP side of the answers that come back:
//  - POST /v1/webhooks/inbound-mail: a mail provider's inbound route posting the raw MIME
//    (message/rfc822), signed like the payment webhook (X-Relance-Source / -Timestamp /
//    -Signature, secrets INBOUND_WEBHOOK_SECRETS), at most INBOUND_MAX_BYTES;
//  - POST /v1/webhooks/twilio/status: Twilio's SMS StatusCallback, checked with the twilio
//    SDK's validateRequest (X-Twilio-Signature over PUBLIC_BASE_URL + path and the form);
//    undelivered/failed → the step's fallback channel;
//  - GET /v1/replies (?unread=true), GET /v1/replies/{id}, POST /v1/replies/{id}/read and
//    the stored attachments, for collectors.
// Forged, stale or unknown-source deliveries: 401, nothing stored.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { Router, type Request } from 'express';
import twilio from 'twilio';
import { z } from 'zod';
import { markAddressInvalid } from '../../prisma/invalid-addresses';
import type { Config } from '../../config/index';
import type { InboundAttachment, InboundMessage, PrismaClient } from '../../prisma/client';
import { deliveryFailedSignal, replyReadSignal } from '../../contracts/messages';
import { recordAudit, requestActor } from '../audit';
import { isUniqueViolation } from '../infra-errors';
import type { ApiMetrics } from '../metrics';
import { problems } from '../problem';
import { defineRoute, jsonResponse, problemResponse } from '../route';
// Imported for its side effect: zod extended with .openapi() before the schemas below.
import '../schemas';
import type { TemporalGateway } from '../temporal';
import { verifySignedRequest } from '../webhooks';
import { receiveInbound, signalIfOpen } from './process';

export interface InboundRouteDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
  metrics: ApiMetrics;
}

export const INBOUND_MAIL_PATH = '/v1/webhooks/inbound-mail';
export const TWILIO_STATUS_PATH = '/v1/webhooks/twilio/status';

const InboundAckSchema = z
  .object({
    received: z.literal(true),
    id: z.string(),
    duplicate: z.boolean(),
    kind: z.enum(['reply', 'auto-reply', 'bounce']),
    bounce: z.enum(['permanent', 'transient']).optional(),
    matchedBy: z.enum(['token', 'in-reply-to', 'sender']).optional(),
    invoiceNumbers: z.array(z.string()),
  })
  .openapi('InboundMailAck');

const AttachmentSchema = z
  .object({ id: z.string(), filename: z.string().nullable(), contentType: z.string(), sizeBytes: z.number().int() })
  .openapi('InboundAttachment');
const ReplySchema = z
  .object({
    id: z.string(),
    kind: z.enum(['reply', 'auto-reply', 'bounce']),
    classifiedBy: z.string(),
    bounce: z.enum(['permanent', 'transient']).nullable(),
    from: z.string().nullable(),
    subject: z.string().nullable(),
    excerpt: z.string().nullable(),
    text: z.string().nullable(),
    matchedBy: z.string().nullable(),
    invoiceNumbers: z.array(z.string()),
    receivedAt: z.string(),
    readAt: z.string().nullable(),
    attachments: z.array(AttachmentSchema),
  })
  .openapi('Reply');
const ReplyListSchema = z.object({ items: z.array(ReplySchema) }).openapi('ReplyList');
const ReplyListQuery = z.object({
  unread: z.enum(['true', 'false']).optional().openapi({ description: 'true: only those no collector has marked read' }),
  kind: z.enum(['reply', 'auto-reply', 'bounce', 'all']).default('reply'),
  invoice: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const IdParams = z.object({ id: z.uuid() });
const AttachmentParams = z.object({ id: z.uuid(), attachmentId: z.uuid() });

type ReplyRow = InboundMessage & { attachments: Array<Omit<InboundAttachment, 'content'>> };
const attachmentMeta = { select: { id: true, inboundMessageId: true, filename: true, contentType: true, sizeBytes: true, sha256: true } } as const;

function replyDto(r: ReplyRow): z.infer<typeof ReplySchema> {
  return {
    id: r.id,
    kind: r.kind as z.infer<typeof ReplySchema>['kind'],
    classifiedBy: r.classifiedBy,
    bounce: r.bounce as z.infer<typeof ReplySchema>['bounce'],
    from: r.fromAddress,
    subject: r.subject,
    excerpt: r.excerpt,
    text: r.text,
    matchedBy: r.matchedBy,
    invoiceNumbers: r.invoiceNumbers,
    receivedAt: r.receivedAt.toISOString(),
    readAt: r.readAt?.toISOString() ?? null,
    attachments: r.attachments.map((a) => ({ id: a.id, filename: a.filename, contentType: a.contentType, sizeBytes: a.sizeBytes })),
  };
}

function rawOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

/** Twilio signs the URL it called: the public one behind a proxy (PUBLIC_BASE_URL), else this request's. */
export function twilioCallbackUrl(config: Config, req: Request): string {
  const base = config.PUBLIC_BASE_URL?.replace(/\/+$/, '') ?? `${req.protocol}://${req.get('host')}`;
  return `${base}${req.originalUrl}`;
}

/** Twilio error codes meaning the number itself cannot receive SMS (unknown, landline, unreachable handset type). */
const DEAD_NUMBER_CODES = new Set(['30005', '30006']);

/** Signature-checked routes (no API key); mounted before the payment webhooks' raw body parser. */
export function inboundWebhooksRouter(deps: InboundRouteDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { config, metrics, prisma, temporal } = deps;
  router.use(INBOUND_MAIL_PATH, express.raw({ type: () => true, limit: config.INBOUND_MAX_BYTES }));
  router.use(TWILIO_STATUS_PATH, express.urlencoded({ extended: false, limit: '64kb' }));

  defineRoute(router, registry, {
    method: 'post',
    path: INBOUND_MAIL_PATH,
    operationId: 'receiveInboundMail',
    summary: 'A reply, auto-reply or bounce forwarded by a mail provider (raw MIME, HMAC-signed)',
    description:
      'Body: the raw message (`message/rfc822`), at most INBOUND_MAX_BYTES. Signature as for /v1/webhooks/payments, ' +
      'with the secret of the `X-Relance-Source` in INBOUND_WEBHOOK_SECRETS. Optional `X-Relance-Recipient`: the envelope ' +
      'recipient(s), comma-separated, when the provider knows them. Matched by the VERP token of the address it was ' +
      'sent to, then the message it answers, then the sender; stored once per distinct message.',
    tags: ['webhooks'],
    auth: false,
    headers: z.object({
      'x-relance-source': z.string().openapi({ example: 'mail' }),
      'x-relance-timestamp': z.string().openapi({ example: '1767225600' }),
      'x-relance-signature': z.string(),
      'x-relance-recipient': z.string().optional(),
    }),
    rawBody: { required: true, content: { 'message/rfc822': { schema: { type: 'string', format: 'binary' } } } },
    responses: {
      200: jsonResponse('Stored and applied (or an acknowledged redelivery)', InboundAckSchema),
      401: problemResponse('Unknown source, bad or stale signature: nothing stored'),
      413: problemResponse('Larger than INBOUND_MAX_BYTES'),
    },
    handler: async ({ req, res }) => {
      const raw = rawOf(req);
      const verdict = verifySignedRequest(req, raw, config.INBOUND_WEBHOOK_SECRETS, config.WEBHOOK_TOLERANCE_SECONDS);
      const { source } = verdict;
      if (!verdict.ok) {
        metrics.webhooksRejected.inc({ source: 'inbound-mail', reason: verdict.reason });
        throw problems.unauthorized(`Inbound mail rejected: ${verdict.reason}`);
      }
      if (raw.length === 0) throw problems.field('(body)', 'empty message');
      const recipients = (req.get('x-relance-recipient') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const outcome = await receiveInbound(deps, raw, { source, recipients });
      res.status(200).json({ received: true, ...outcome });
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: TWILIO_STATUS_PATH,
    operationId: 'receiveTwilioStatus',
    summary: "Twilio's SMS StatusCallback (X-Twilio-Signature checked with the twilio SDK)",
    description:
      'Set as the StatusCallback of every SMS when PUBLIC_BASE_URL is configured. `undelivered` or `failed` sends the ' +
      "step again on its fallback channel; error 30005/30006 also marks the number invalid. Deduplicated by (MessageSid, MessageStatus).",
    tags: ['webhooks'],
    auth: false,
    headers: z.object({ 'x-twilio-signature': z.string() }),
    rawBody: {
      required: true,
      content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', description: 'Twilio status callback parameters' } } },
    },
    responses: {
      204: { description: 'Accepted' },
      401: problemResponse('Bad signature: nothing stored'),
    },
    handler: async ({ req, res }) => {
      const params = (req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? req.body : {}) as Record<string, string>;
      const signature = req.get('x-twilio-signature') ?? '';
      if (!signature || !twilio.validateRequest(config.TWILIO_AUTH_TOKEN, signature, twilioCallbackUrl(config, req), params)) {
        metrics.webhooksRejected.inc({ source: 'twilio', reason: 'bad-signature' });
        throw problems.unauthorized('Twilio status callback rejected: bad-signature');
      }
      const sid = String(params.MessageSid ?? params.SmsSid ?? '');
      const status = String(params.MessageStatus ?? params.SmsStatus ?? '');
      if (!sid || !status) throw problems.field(!sid ? 'MessageSid' : 'MessageStatus', 'required');
      let deliveryId: string;
      try {
        deliveryId = (
          await prisma.webhookDelivery.create({
            data: { source: 'twilio-status', eventId: `${sid}:${status}`, signature, rawBody: new URLSearchParams(params).toString() },
          })
        ).id;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const existing = await prisma.webhookDelivery.findUnique({ where: { source_eventId: { source: 'twilio-status', eventId: `${sid}:${status}` } } });
        if (!existing || existing.status !== 'received') return void res.status(204).end();
        deliveryId = existing.id;
      }
      let outcome = 'ignored';
      if (status === 'undelivered' || status === 'failed') {
        const communication = await prisma.communication.findFirst({ where: { channel: 'sms', providerId: sid } });
        outcome = 'unmatched';
        if (communication) {
          const code = params.ErrorCode ? String(params.ErrorCode) : undefined;
          const reason = `SMS ${status}${code ? ` (Twilio error ${code})` : ''}`;
          if (code && DEAD_NUMBER_CODES.has(code) && (params.To || communication.recipient)) {
            await markAddressInvalid(prisma, { channel: 'sms', address: params.To || communication.recipient!, reason, evidence: `twilio:${sid}` });
          }
          await prisma.communication.update({ where: { id: communication.id }, data: { status: 'FAILED_PERMANENT', error: reason } });
          await signalIfOpen(temporal, communication.invoiceNumber, deliveryFailedSignal, {
            reference: `twilio:${sid}`,
            stepId: communication.stepId,
            channel: 'sms',
            permanent: true,
            reason,
          });
          outcome = 'processed';
        }
      }
      await prisma.webhookDelivery.update({ where: { id: deliveryId }, data: { status: outcome } });
      res.status(204).end();
    },
  });
  return router;
}

/** Replies for collectors (behind the API key). */
export function repliesRouter(deps: InboundRouteDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma, temporal } = deps;
  const tags = ['replies'];

  const load = async (id: string): Promise<ReplyRow> => {
    const row = await prisma.inboundMessage.findUnique({ where: { id }, include: { attachments: attachmentMeta } });
    if (!row) throw problems.notFound(`Inbound message ${id}`);
    return row;
  };

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/replies',
    operationId: 'listReplies',
    role: 'viewer',
    summary: 'Replies (and, with kind, auto-replies and bounces) that came back, newest first',
    tags,
    query: ReplyListQuery,
    responses: { 200: jsonResponse('The replies', ReplyListSchema) },
    handler: async ({ res, query }) => {
      const rows = await prisma.inboundMessage.findMany({
        where: {
          ...(query.kind === 'all' ? {} : { kind: query.kind }),
          ...(query.unread === 'true' ? { readAt: null } : query.unread === 'false' ? { readAt: { not: null } } : {}),
          ...(query.invoice ? { invoiceNumbers: { has: query.invoice } } : {}),
        },
        include: { attachments: attachmentMeta },
        orderBy: { receivedAt: 'desc' },
        take: query.limit,
      });
      res.json({ items: rows.map(replyDto) });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/replies/{id}',
    operationId: 'getReply',
    role: 'viewer',
    summary: 'One inbound message with its text',
    tags,
    params: IdParams,
    responses: { 200: jsonResponse('The reply', ReplySchema), 404: problemResponse('Unknown reply') },
    handler: async ({ res, params }) => {
      res.json(replyDto(await load(params.id)));
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/replies/{id}/read',
    operationId: 'markReplyRead',
    role: 'collector',
    summary: 'Mark a reply read: the reminder hold it caused on its invoices ends',
    tags,
    params: IdParams,
    body: z.object({}).openapi('MarkReplyReadRequest', { description: 'No fields: an empty object (or no body)' }),
    responses: { 200: jsonResponse('The reply, read', ReplySchema), 404: problemResponse('Unknown reply') },
    handler: async ({ res, params }) => {
      const row = await load(params.id);
      const read = row.readAt ? row : { ...row, ...(await prisma.inboundMessage.update({ where: { id: row.id }, data: { readAt: new Date() } })) };
      // Re-signalled on a repeat: heals a first call whose signal did not get through.
      for (const number of row.invoiceNumbers) await signalIfOpen(temporal, number, replyReadSignal, { inboundId: row.id });
      if (!row.readAt) {
        await recordAudit(prisma, { actor: requestActor(res), action: 'reply.markRead', targetType: 'inboundMessage', targetId: row.id, detail: { invoiceNumbers: row.invoiceNumbers } });
      }
      res.json(replyDto(read));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/replies/{id}/attachments/{attachmentId}',
    operationId: 'getReplyAttachment',
    role: 'viewer',
    summary: 'An attachment of an inbound message, as received',
    tags,
    params: AttachmentParams,
    responses: {
      200: { description: 'The attachment', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
      404: problemResponse('Unknown attachment'),
    },
    handler: async ({ res, params }) => {
      const a = await prisma.inboundAttachment.findFirst({ where: { id: params.attachmentId, inboundMessageId: params.id } });
      if (!a) throw problems.notFound(`Attachment ${params.attachmentId}`);
      res.setHeader('Content-Type', a.contentType);
      res.setHeader('Content-Disposition', `attachment; filename="${(a.filename ?? 'attachment').replace(/[^\w.-]+/g, '_')}"`);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.send(Buffer.from(a.content));
    },
  });
  return router;
}
