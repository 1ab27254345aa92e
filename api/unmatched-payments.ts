// Payments that could not be matched to an invoice (unknown number, currency mismatch):
// ops list them and assign them to the right invoice.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import type { Prisma } from '../prisma/client';
import { assignUnmatchedPayment, unmatchedDto, type PaymentDeps } from './payments';
import { defineRoute, jsonResponse, problemResponse } from './route';
import {
  AssignRequestSchema,
  IdParams,
  PaymentResultSchema,
  UnmatchedListQuery,
  UnmatchedListSchema,
} from './schemas';
import { recordAudit, requestActor } from './audit';

export function unmatchedPaymentsRouter(deps: PaymentDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const tags = ['payments'];

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/unmatched-payments',
    operationId: 'listUnmatchedPayments',
    role: 'viewer',
    summary: 'Payments not matched to an invoice (open by default), oldest first',
    tags,
    query: UnmatchedListQuery,
    responses: { 200: jsonResponse('Unmatched payments', UnmatchedListSchema) },
    handler: async ({ res, query }) => {
      const where: Prisma.UnmatchedPaymentWhereInput =
        query.status === 'open' ? { assignedTo: null } : query.status === 'assigned' ? { assignedTo: { not: null } } : {};
      const rows = await deps.prisma.unmatchedPayment.findMany({ where, orderBy: { receivedAt: 'asc' }, take: query.limit });
      res.json({ items: rows.map(unmatchedDto) });
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/unmatched-payments/{id}/assign',
    operationId: 'assignUnmatchedPayment',
    role: 'collector',
    summary: 'Assign an unmatched payment to an invoice: journaled as its Payment, then signalled',
    tags,
    params: IdParams,
    body: AssignRequestSchema,
    responses: {
      200: jsonResponse('Assigned (repeat: same result)', PaymentResultSchema),
      404: problemResponse('Unknown unmatched payment'),
      409: problemResponse('Already assigned to another invoice'),
    },
    handler: async ({ res, params, body }) => {
      const result = await assignUnmatchedPayment(deps, params.id, body.invoiceNumber);
      await recordAudit(deps.prisma, { actor: requestActor(res), action: 'unmatchedPayment.assign', targetType: 'invoice', targetId: body.invoiceNumber, detail: { unmatchedPaymentId: params.id, paymentId: result.paymentId } });
      res.json(result);
    },
  });
  return router;
}
