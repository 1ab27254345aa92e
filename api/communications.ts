// The communication log for collectors: what was sent, and above all what may or may not
// have been (AMBIGUOUS: an attempt that never got the provider's answer, with its SMTP
// transcript). A held formal step waits for a collector's resolution: delivered (count it
// as sent), resend (once more), or drop (go on without it). The workflow is told through
// its resolveAmbiguousSend update, so a wrong or late answer is refused there and nothing
// is written here first.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { CommunicationStatus, type Communication, type Prisma, type PrismaClient } from '../prisma/client';
import { AMBIGUOUS_SEND_ACTIONS, resolveAmbiguousSendUpdate, type ResolveAmbiguousSend } from '../contracts/messages';
import { actorName, recordAudit, requestActor } from './audit';
import { problems } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { IdParams } from './schemas';
import { updateInvoice, type TemporalGateway } from './temporal';

const STATUSES = ['pending', 'sent', 'failed', 'ambiguous'] as const;
const STATUS_OF: Record<(typeof STATUSES)[number], CommunicationStatus> = {
  pending: CommunicationStatus.PENDING,
  sent: CommunicationStatus.SENT,
  failed: CommunicationStatus.FAILED_PERMANENT,
  ambiguous: CommunicationStatus.AMBIGUOUS,
};

const ListQuery = z.object({
  status: z.enum(STATUSES).optional().openapi({ description: 'ambiguous: the sends a collector must resolve' }),
  invoiceNumber: z.string().min(1).max(64).optional(),
  unresolved: z.enum(['true', 'false']).optional().openapi({ description: 'true: only those no collector resolved yet' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const CommunicationSchema = z
  .object({
    id: z.string(),
    invoiceNumber: z.string(),
    stepId: z.string(),
    channel: z.string(),
    status: z.enum(STATUSES),
    recipient: z.string().nullable(),
    subject: z.string().nullable(),
    provider: z.string().nullable(),
    providerId: z.string().nullable(),
    attempts: z.number().int(),
    resends: z.number().int(),
    error: z.string().nullable(),
    transcript: z.string().nullable().openapi({ description: 'The SMTP conversation of the ambiguous attempt, when one was kept' }),
    resolution: z.enum(AMBIGUOUS_SEND_ACTIONS).nullable(),
    resolvedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .openapi('Communication');

const ResolveBody = z
  .object({
    action: z.enum(AMBIGUOUS_SEND_ACTIONS).openapi({
      description: 'delivered: it arrived (count it as sent); resend: send it once more; drop: go on without it',
    }),
    note: z.string().max(2000).optional(),
  })
  .strict();

const ResolveResult = z.object({ communication: CommunicationSchema, workflow: z.object({ stepId: z.string(), action: z.string() }) });

export function communicationsRouter(deps: { prisma: PrismaClient; temporal: TemporalGateway }, registry: OpenAPIRegistry): Router {
  const router = Router();
  const tags = ['communications'];

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/communications',
    operationId: 'listCommunications',
    role: 'viewer',
    summary: 'Communications, newest first; status=ambiguous lists the sends a collector must resolve',
    tags,
    query: ListQuery,
    responses: { 200: jsonResponse('Communications', z.object({ items: z.array(CommunicationSchema) })) },
    handler: async ({ res, query }) => {
      const where: Prisma.CommunicationWhereInput = {
        ...(query.status ? { status: STATUS_OF[query.status] } : {}),
        ...(query.invoiceNumber ? { invoiceNumber: query.invoiceNumber } : {}),
        ...(query.unresolved === 'true' ? { resolution: null } : query.unresolved === 'false' ? { resolution: { not: null } } : {}),
      };
      const rows = await deps.prisma.communication.findMany({ where, orderBy: { createdAt: 'desc' }, take: query.limit });
      res.json({ items: rows.map(communicationDto) });
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/communications/{id}/resolve',
    operationId: 'resolveCommunication',
    role: 'collector',
    summary: 'Resolve an ambiguous send: delivered, resend or drop; the held step then goes on',
    tags,
    params: IdParams,
    body: ResolveBody,
    responses: {
      200: jsonResponse('Resolved; the workflow took the answer', ResolveResult),
      404: problemResponse('Unknown communication'),
      409: problemResponse('Not ambiguous, already resolved, or the invoice is closed'),
    },
    handler: async ({ res, params, body }) => {
      res.json(await resolveCommunication(deps, params.id, body, requestActor(res)));
    },
  });
  return router;
}

/** Tells the workflow first (it refuses what it is not waiting for), then records the answer. */
async function resolveCommunication(
  deps: { prisma: PrismaClient; temporal: TemporalGateway },
  id: string,
  body: z.infer<typeof ResolveBody>,
  actor: ReturnType<typeof requestActor>,
) {
  const row = await deps.prisma.communication.findUnique({ where: { id } });
  if (!row) throw problems.notFound(`Communication ${id}`);
  if (row.status !== CommunicationStatus.AMBIGUOUS || row.resolution) {
    throw problems.conflict(
      row.resolution ? `Communication ${id} was resolved already (${row.resolution} by ${row.resolvedBy})` : `Communication ${id} is ${row.status}, not ambiguous`,
      'not-ambiguous',
    );
  }
  const message: ResolveAmbiguousSend = {
    communicationId: row.id,
    stepId: row.stepId,
    channel: row.channel as ResolveAmbiguousSend['channel'],
    action: body.action,
    actor: actorName(actor),
    note: body.note,
  };
  const workflow = await updateInvoice(deps.temporal, row.invoiceNumber, resolveAmbiguousSendUpdate, message);
  const now = new Date();
  const updated = await deps.prisma.$transaction(async (tx) => {
    const data: Prisma.CommunicationUpdateInput = { resolution: body.action, resolvedBy: actorName(actor), resolvedAt: now };
    if (body.action === 'delivered') Object.assign(data, { status: CommunicationStatus.SENT, sentAt: now });
    if (body.action === 'drop') {
      Object.assign(data, { status: CommunicationStatus.FAILED_PERMANENT, error: `dropped by ${actorName(actor)}${body.note ? `: ${body.note}` : ''}` });
    }
    const r = await tx.communication.update({ where: { id }, data });
    await recordAudit(tx, {
      actor,
      action: 'communication.resolve',
      targetType: 'communication',
      targetId: id,
      detail: { invoiceNumber: row.invoiceNumber, stepId: row.stepId, channel: row.channel, action: body.action, note: body.note },
    });
    return r;
  });
  return { communication: communicationDto(updated), workflow };
}

function communicationDto(r: Communication): z.infer<typeof CommunicationSchema> {
  const status = (Object.keys(STATUS_OF) as Array<keyof typeof STATUS_OF>).find((k) => STATUS_OF[k] === r.status) ?? 'pending';
  return {
    id: r.id,
    invoiceNumber: r.invoiceNumber,
    stepId: r.stepId,
    channel: r.channel,
    status,
    recipient: r.recipient,
    subject: r.subject,
    provider: r.provider,
    providerId: r.providerId,
    attempts: r.attempts,
    resends: r.resends,
    error: r.error,
    transcript: r.transcript,
    resolution: (r.resolution as 'delivered' | 'resend' | 'drop' | null) ?? null,
    resolvedBy: r.resolvedBy,
    resolvedAt: r.resolvedAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
    sentAt: r.sentAt?.toISOString() ?? null,
  };
}
