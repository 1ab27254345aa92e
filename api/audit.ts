// The audit log: one append-only table (AuditEntry; a trigger refuses UPDATE and DELETE)
// of who changed what. Every ops action and every change of policies, templates, customers
// and keys calls recordAudit with the acting API key; GET /v1/audit reads it, filtered.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Response } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import type { Prisma, PrismaClient } from '../prisma/client';
import type { AuthenticatedKey } from './auth';
import { defineRoute, jsonResponse } from './route';

/** Who acted: an authenticated API key, or the system itself (reconciler, workflow, CLI run). */
export type AuditActor = Pick<AuthenticatedKey, 'id' | 'name'> | { system: string };

export interface AuditRecord {
  actor: AuditActor;
  /** Dotted verb: invoice.pause, invoice.payment.record, apiKey.create, customer.erase, ... */
  action: string;
  /** invoice, customer, apiKey, policy, template, unmatchedPayment, webhookSecret, ... */
  targetType: string;
  targetId: string;
  /** The request's change or a diff ({ before, after }): JSON, no secrets. */
  detail?: Record<string, unknown>;
}

type Db = PrismaClient | Prisma.TransactionClient;

/** The actor of a request (requireApiKey set it), for recordAudit and the timeline. */
export function requestActor(res: Response): AuditActor {
  const key = res.locals.apiKey as AuthenticatedKey | undefined;
  return key ? { id: key.id, name: key.name } : { system: 'anonymous' };
}

export function actorName(actor: AuditActor): string {
  return 'system' in actor ? `system:${actor.system}` : actor.name;
}

/** Appends one entry; pass a transaction client to make it part of the change it records. */
export async function recordAudit(db: Db, entry: AuditRecord): Promise<void> {
  await db.auditEntry.create({
    data: {
      actor: actorName(entry.actor),
      actorKeyId: 'id' in entry.actor ? entry.actor.id : null,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      detail: (entry.detail ?? {}) as Prisma.InputJsonValue,
    },
  });
}

const AuditQuerySchema = z.object({
  actor: z.string().min(1).max(200).optional().openapi({ description: 'API key name (or system:<name>)' }),
  action: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}\*?$/, 'is an action, or an action prefix ending in *')
    .optional()
    .openapi({ description: 'Exact action, or a prefix ending in `*` (e.g. `invoice.*`)' }),
  targetType: z.string().min(1).max(100).optional(),
  targetId: z.string().min(1).max(200).optional(),
  from: z.iso.datetime({ offset: true }).optional().openapi({ description: 'At or after (ISO 8601)' }),
  to: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Before (ISO 8601)' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  // An entry id below the bigint column's range (18 digits), so any cursor the document allows is a query, not a database error.
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,17}$/, 'is not a cursor of this list')
    .optional()
    .openapi({ description: 'nextCursor of the previous page (an entry id: the page holds older entries)' }),
});

const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    actor: z.string(),
    actorKeyId: z.string().nullable(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    detail: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEntry');

const AuditListSchema = z
  .object({ items: z.array(AuditEntrySchema), nextCursor: z.string().nullable() })
  .openapi('AuditList');

export function auditRouter(deps: { prisma: PrismaClient }, registry: OpenAPIRegistry): Router {
  const router = Router();
  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/audit',
    operationId: 'listAuditEntries',
    role: 'viewer',
    summary: 'The audit log, newest first: who did what to which invoice, customer, key, policy or template',
    description: 'Append-only. Filters combine (AND). Cursor pagination.',
    tags: ['audit'],
    query: AuditQuerySchema,
    responses: { 200: jsonResponse('A page of audit entries', AuditListSchema) },
    handler: async ({ res, query }) => {
      let cursor: bigint | undefined;
      if (query.cursor) cursor = BigInt(query.cursor);
      const where: Prisma.AuditEntryWhereInput = {
        ...(query.actor ? { actor: query.actor } : {}),
        ...(query.action
          ? query.action.endsWith('*')
            ? { action: { startsWith: query.action.slice(0, -1) } }
            : { action: query.action }
          : {}),
        ...(query.targetType ? { targetType: query.targetType } : {}),
        ...(query.targetId ? { targetId: query.targetId } : {}),
        ...(query.from || query.to
          ? { at: { ...(query.from ? { gte: new Date(query.from) } : {}), ...(query.to ? { lt: new Date(query.to) } : {}) } }
          : {}),
        ...(cursor ? { id: { lt: cursor } } : {}),
      };
      const rows = await deps.prisma.auditEntry.findMany({ where, orderBy: { id: 'desc' }, take: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      res.json({
        items: page.map((r) => ({
          id: r.id.toString(),
          at: r.at.toISOString(),
          actor: r.actor,
          actorKeyId: r.actorKeyId,
          action: r.action,
          targetType: r.targetType,
          targetId: r.targetId,
          detail: r.detail as Record<string, unknown>,
        })),
        nextCursor: rows.length > query.limit ? page[page.length - 1].id.toString() : null,
      });
    },
  });
  return router;
}
