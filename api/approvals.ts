// Approval before a step (issue 17): a step whose policy (or whose customer's record, for the
// formal steps) asks approval waits in its workflow for an approveStep update. The worklist is
// read from the workflow's journal (approval-requested events without a later decision), so
// the workflow stays the one place that decides; a decision goes to the workflow first (its
// validator refuses a stale or wrong one, 422 naming the field), then to the audit log.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Response } from 'express';
import { Router } from 'express';
import { z } from 'zod';
import { APPROVAL_ACTIONS, approveStepUpdate, type ApproveStep } from '../contracts/messages';
import type { PrismaClient } from '../prisma/client';
import { actorName, recordAudit, requestActor } from './audit';
import { loadInvoice, type InvoiceRouteDeps } from './invoices';
import { problems } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { DateOrInstant, NumberParams } from './schemas';
import { updateInvoice } from './temporal';

/** The journal events that end an approval request of a step. */
const DECISIONS = ['approval-decided', 'approval-timed-out', 'approval-withdrawn'];

const ApprovalSchema = z
  .object({
    id: z.string().openapi({ description: 'The approval request (POST /v1/approvals/{id} decides it)' }),
    invoiceNumber: z.string(),
    customer: z.object({ id: z.string(), name: z.string() }),
    stepId: z.string(),
    since: z.string().openapi({ description: 'When the step fell due and the approval was asked' }),
    until: z.string().nullable().openapi({ description: "When the policy's onTimeout applies (null once escalated)" }),
    onTimeout: z.enum(['send', 'escalate']),
    escalated: z.boolean().openapi({ description: 'Nobody answered within the bound: held, at the top of the list' }),
    escalatedAt: z.string().nullable(),
  })
  .openapi('Approval');

const ApprovalListSchema = z.object({ items: z.array(ApprovalSchema) }).openapi('ApprovalList');

const ApprovalQuerySchema = z.object({
  customerId: z.string().trim().min(1).max(100).optional().openapi({ description: 'Only this customer (externalId)' }),
  escalated: z.enum(['true', 'false']).optional().openapi({ description: 'Only escalated (true) or not yet escalated (false) requests' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const decisionFields = {
  action: z.enum(APPROVAL_ACTIONS).openapi({ description: 'approve: send the step now; skip: never send it, the calendar goes on; postpone: ask again on `until`' }),
  until: DateOrInstant.optional().openapi({ description: 'Required with postpone: YYYY-MM-DD (end of that day, customer time zone) or an ISO instant' }),
  note: z.string().trim().min(1).max(2000).optional(),
};
const ApprovalDecisionSchema = z.strictObject(decisionFields).openapi('ApprovalDecision');
const InvoiceApprovalDecisionSchema = z
  .strictObject({ ...decisionFields, stepId: z.string().trim().min(1).max(100).optional().openapi({ description: 'The step waiting (default: the one waiting)' }) })
  .openapi('InvoiceApprovalDecision');

const ApprovalResultSchema = z
  .object({ invoiceNumber: z.string(), stepId: z.string(), action: z.enum(APPROVAL_ACTIONS), until: z.string().optional(), by: z.string() })
  .openapi('ApprovalResult');

interface PendingRow {
  id: string;
  invoiceNumber: string;
  at: Date;
  data: { stepId?: string; until?: string; onTimeout?: 'send' | 'escalate' };
  customerId: string;
  customerName: string;
  escalatedAt: Date | null;
}

/**
 * Approval requests with no later decision for the same step, of invoices still open; one
 * query on the (type, at) index. `id` narrows it to one request.
 */
async function pendingApprovals(prisma: PrismaClient, filter: { id?: string; customerId?: string; invoiceNumber?: string; limit: number }): Promise<PendingRow[]> {
  return prisma.$queryRaw<PendingRow[]>`
    SELECT e."id"::text AS "id", e."invoiceNumber", e."at", e."data", c."externalId" AS "customerId", c."name" AS "customerName",
           (SELECT max(x."at") FROM "DunningEvent" x
             WHERE x."invoiceNumber" = e."invoiceNumber" AND x."type" = 'approval-escalated'
               AND x."at" >= e."at" AND x."data"->>'stepId' = e."data"->>'stepId') AS "escalatedAt"
    FROM "DunningEvent" e
    JOIN "Invoice" i ON i."id" = e."invoiceId"
    JOIN "Customer" c ON c."id" = i."customerId"
    WHERE e."type" = 'approval-requested' AND i."closedAt" IS NULL
      AND (${filter.id ?? null}::uuid IS NULL OR e."id" = ${filter.id ?? null}::uuid)
      AND (${filter.customerId ?? null}::text IS NULL OR c."externalId" = ${filter.customerId ?? null}::text)
      AND (${filter.invoiceNumber ?? null}::text IS NULL OR e."invoiceNumber" = ${filter.invoiceNumber ?? null}::text)
      AND NOT EXISTS (
        SELECT 1 FROM "DunningEvent" d
        WHERE d."invoiceNumber" = e."invoiceNumber" AND d."type" = ANY(${DECISIONS}::text[])
          AND d."at" >= e."at" AND d."data"->>'stepId' = e."data"->>'stepId')
    ORDER BY e."at" ASC
    LIMIT ${filter.limit}`;
}

function approvalDto(r: PendingRow) {
  return {
    id: r.id,
    invoiceNumber: r.invoiceNumber,
    customer: { id: r.customerId, name: r.customerName },
    stepId: r.data.stepId ?? '',
    since: r.at.toISOString(),
    until: r.escalatedAt ? null : (r.data.until ?? null),
    onTimeout: r.data.onTimeout ?? 'escalate',
    escalated: r.escalatedAt !== null,
    escalatedAt: r.escalatedAt?.toISOString() ?? null,
  };
}

export function approvalsRouter(deps: InvoiceRouteDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma, temporal } = deps;
  const tags = ['approvals'];
  const decisionResponses = {
    200: jsonResponse('The workflow applied the decision', ApprovalResultSchema),
    404: problemResponse('Unknown approval or invoice'),
    409: problemResponse('Decided already, or the invoice is closed'),
    422: problemResponse('Refused by the workflow (e.g. another step waits, until missing or past)'),
  };

  /** Sends the decision to the workflow, then records who took it (audit, and so the invoice timeline). */
  async function decide(res: Response, invoiceNumber: string, stepId: string, body: Omit<ApproveStep, 'stepId' | 'actor'>) {
    const actor = requestActor(res);
    const by = actorName(actor);
    const result = await updateInvoice(temporal, invoiceNumber, approveStepUpdate, { stepId, ...body, actor: by });
    await recordAudit(prisma, {
      actor,
      action: `invoice.approval.${body.action}`,
      targetType: 'invoice',
      targetId: invoiceNumber,
      detail: { stepId, ...body, ...(result.until ? { until: result.until } : {}) },
    });
    res.json({ invoiceNumber, stepId, action: body.action, ...(result.until ? { until: result.until } : {}), by });
  }

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/approvals',
    operationId: 'listApprovals',
    role: 'viewer',
    summary: 'The worklist of steps waiting for approval: invoice, customer, step, since; escalated ones first',
    tags,
    query: ApprovalQuerySchema,
    responses: { 200: jsonResponse('Pending approvals', ApprovalListSchema) },
    handler: async ({ res, query }) => {
      const rows = await pendingApprovals(prisma, { customerId: query.customerId, limit: query.limit });
      const items = rows
        .map(approvalDto)
        .filter((a) => query.escalated === undefined || a.escalated === (query.escalated === 'true'))
        .sort((a, b) => Number(b.escalated) - Number(a.escalated));
      res.json({ items });
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/approvals/{id}',
    operationId: 'decideApproval',
    role: 'collector',
    summary: 'Approve, skip or postpone the step of one approval request',
    tags,
    params: z.object({ id: z.uuid().openapi({ description: 'id from GET /v1/approvals' }) }),
    body: ApprovalDecisionSchema,
    responses: decisionResponses,
    handler: async ({ res, params, body }) => {
      const [row] = await pendingApprovals(prisma, { id: params.id, limit: 1 });
      if (!row) {
        const known = await prisma.dunningEvent.count({ where: { id: params.id, type: 'approval-requested' } });
        if (!known) throw problems.notFound(`Approval ${params.id}`);
        throw problems.conflict(`Approval ${params.id} was decided already (or its invoice is closed)`, 'approval-decided');
      }
      await decide(res, row.invoiceNumber, row.data.stepId ?? '', body);
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/invoices/{number}/approval',
    operationId: 'decideInvoiceApproval',
    role: 'collector',
    summary: "Approve, skip or postpone the invoice's step waiting for approval",
    tags,
    params: NumberParams,
    body: InvoiceApprovalDecisionSchema,
    responses: decisionResponses,
    handler: async ({ res, params, body }) => {
      const invoice = await loadInvoice(prisma, params.number);
      const { stepId, ...decision } = body;
      let step = stepId;
      if (!step) {
        const [row] = await pendingApprovals(prisma, { invoiceNumber: invoice.number, limit: 1 });
        if (!row) throw problems.field('stepId', 'no step of this invoice is waiting for approval');
        step = row.data.stepId ?? '';
      }
      await decide(res, invoice.number, step, decision);
    },
  });

  return router;
}
