// Invoices: issue, read, list, timeline, reminder preview. (CSV import: invoice-import.ts.)
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../config/index';
import { addDays, localDate } from '../domain/dates';
import { noticeDeadlineDays } from '../domain/policy';
import type { TemplateChannel } from '../domain/templates';
import { renderWithOverrides, templateOverrides } from '../policies/overrides';
import { creditorOf } from '../documents/pdf';
import type { InvoiceSnapshot, Language, PenaltyResult } from '../domain/types';
import type { Prisma, PrismaClient } from '../prisma/client';
import { policyQuery, statusQuery, type DunningStatus } from '../contracts/messages';
import { customerDto, invoiceDto, isoDay, type InvoiceWithCustomer } from './format';
import { infrastructureFailure } from './infra-errors';
import { issueInvoice } from './invoice-service';
import { customerTodays, notOverdueWhere, overdueWhere } from './overdue';
import type { ApiMetrics } from './metrics';
import { notesAndCalls, outcomeOf } from './notes';
import { problems } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import {
  InvoiceDetailSchema,
  InvoiceListQuerySchema,
  InvoiceListSchema,
  InvoiceSchema,
  IssueInvoiceRequestSchema,
  NumberParams,
  PreviewParams,
  PreviewQuery,
  PreviewSchema,
  TimelineSchema,
} from './schemas';
import { queryInvoice, type TemporalGateway } from './temporal';
import type { PolicyCatalog } from '../policies/catalog';
import { recordAudit, requestActor } from './audit';

export interface InvoiceRouteDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
  metrics: ApiMetrics;
  /** Published policies and assignment rules (policies/catalog.ts). */
  policies?: PolicyCatalog;
}

export async function loadInvoice(prisma: PrismaClient, number: string): Promise<InvoiceWithCustomer> {
  const invoice = await prisma.invoice.findUnique({ where: { number }, include: { customer: true } });
  if (!invoice) throw problems.notFound(`Invoice ${number}`);
  return invoice;
}

/** The live status, or why it is unavailable (the record is still worth returning). */
export async function liveStatus(
  temporal: TemporalGateway,
  number: string,
): Promise<{ live: DunningStatus | null; liveError?: string }> {
  try {
    return { live: await queryInvoice(temporal, number, statusQuery) };
  } catch (err) {
    const infra = infrastructureFailure(err);
    return { live: null, liveError: infra === 'temporal' ? 'Temporal unreachable' : (err as Error).message };
  }
}

export function snapshotOf(inv: InvoiceWithCustomer): InvoiceSnapshot {
  const c = customerDto(inv.customer);
  return {
    number: inv.number,
    customer: {
      id: c.externalId,
      name: c.name,
      kind: c.kind,
      email: c.email ?? undefined,
      phone: c.phone ?? undefined,
      address: c.address ?? undefined,
      country: c.country,
      language: c.language as Language,
      timeZone: c.timeZone,
    },
    currency: inv.currency,
    amountMinor: Number(inv.amountMinor),
    depositMinor: Number(inv.depositMinor),
    issueDate: isoDay(inv.issueDate),
    dueDate: isoDay(inv.dueDate),
    paymentLink: inv.paymentLink ?? undefined,
  };
}

export function invoicesRouter(deps: InvoiceRouteDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma, temporal, config, metrics, policies } = deps;
  const tags = ['invoices'];

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/invoices',
    operationId: 'issueInvoice',
    role: 'collector',
    summary: 'Issue an invoice: record it and start its dunning workflow',
    description:
      'Idempotent on the invoice number and the optional Idempotency-Key header: a repeat returns the same ' +
      'invoice (200, `Idempotent-Replayed: true`); the same number (or key) with different content is a 409. ' +
      'Amounts are decimal strings in the invoice currency; more decimals than the currency has is a 422 naming ' +
      'the field. When Temporal or the database is unreachable: 503 with Retry-After, and no invoice row without ' +
      'a running workflow (the workflow is started first with the deterministic id `invoice-<number>`).',
    tags,
    headers: z.object({ 'idempotency-key': z.string().max(200).optional() }),
    body: IssueInvoiceRequestSchema,
    responses: {
      201: jsonResponse('Issued: row written and workflow started', InvoiceSchema),
      200: jsonResponse('Idempotent repeat: the invoice issued earlier', InvoiceSchema),
      409: problemResponse('Same number or Idempotency-Key with different content'),
    },
    handler: async ({ req, res, body }) => {
      const key = req.get('idempotency-key')?.trim() || undefined;
      if (key && key.length > 200) throw problems.field('Idempotency-Key', 'at most 200 characters');
      const result = await issueInvoice({ prisma, temporal, config, policies }, body, key);
      if (result.created) metrics.invoicesIssued.inc({ via: 'api' });
      else res.setHeader('Idempotent-Replayed', 'true');
      res.location(`/v1/invoices/${encodeURIComponent(result.invoice.number)}`);
      if (result.created) {
        await recordAudit(prisma, { actor: requestActor(res), action: 'invoice.issue', targetType: 'invoice', targetId: result.invoice.number, detail: { customer: result.invoice.customer.externalId, policyId: result.invoice.policyId } });
      }
      res.status(result.created ? 201 : 200).json(invoiceDto(result.invoice));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/invoices',
    operationId: 'listInvoices',
    role: 'viewer',
    summary: 'List invoices by stage, customer, overdue (cursor pagination, newest first)',
    tags,
    query: InvoiceListQuerySchema,
    responses: { 200: jsonResponse('A page of invoices', InvoiceListSchema) },
    handler: async ({ res, query }) => {
      const todays = query.overdue ? await customerTodays(prisma, Date.now()) : [];
      const where: Prisma.InvoiceWhereInput = {
        AND: [
          query.stage ? { stage: query.stage } : {},
          query.customer ? { customer: { externalId: query.customer } } : {},
          query.overdue === 'true' ? overdueWhere(todays) : query.overdue === 'false' ? notOverdueWhere(todays) : {},
        ],
      };
      const cursorId = query.cursor;
      const rows = await prisma.invoice.findMany({
        where,
        include: { customer: true },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: query.limit + 1,
        ...(cursorId ? { cursor: { id: cursorId }, skip: 1 } : {}),
      });
      const page = rows.slice(0, query.limit);
      const next = rows.length > query.limit ? page[page.length - 1].id : null;
      res.json({ items: page.map(invoiceDto), nextCursor: next });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/invoices/{number}',
    operationId: 'getInvoice',
    role: 'viewer',
    summary: 'The invoice record and the live workflow status (`status` query)',
    tags,
    params: NumberParams,
    responses: {
      200: jsonResponse('The invoice', InvoiceDetailSchema),
      404: problemResponse('Unknown invoice'),
    },
    handler: async ({ res, params }) => {
      const invoice = await loadInvoice(prisma, params.number);
      res.json({ ...invoiceDto(invoice), ...(await liveStatus(temporal, invoice.number)) });
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/invoices/{number}/timeline',
    operationId: 'getInvoiceTimeline',
    role: 'viewer',
    summary: 'What happened and what was sent: dunning events and communications, chronological',
    tags,
    params: NumberParams,
    responses: { 200: jsonResponse('The timeline', TimelineSchema), 404: problemResponse('Unknown invoice') },
    handler: async ({ res, params }) => {
      res.json(await invoiceTimeline(prisma, params.number));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/invoices/{number}/reminders/{step}/preview',
    operationId: 'previewReminder',
    role: 'viewer',
    summary: 'A policy step rendered as it would be sent now (current balance and penalties)',
    tags,
    params: PreviewParams,
    query: PreviewQuery,
    responses: { 200: jsonResponse('The rendered message', PreviewSchema), 404: problemResponse('Unknown invoice or step') },
    handler: async ({ res, params, query }) => {
      const invoice = await loadInvoice(prisma, params.number);
      // The policy the invoice runs (a migration may have replaced the one it was issued
      // with); when the workflow cannot be asked, the published version its row names.
      let policy = await queryInvoice(temporal, invoice.number, policyQuery).catch(() => undefined);
      if (!policy) {
        policy = (await policies?.snapshot())?.find(`${invoice.policyId}@${invoice.policyVersion}`);
        if (!policy) throw problems.notFound(`Policy ${invoice.policyId}@${invoice.policyVersion}`);
      }
      const step = policy.steps.find((s) => s.id === params.step);
      if (!step) {
        throw problems.notFound(`Step ${params.step} of policy ${policy.id} (steps: ${policy.steps.map((s) => s.id).join(', ')})`);
      }
      const renderable = step.channels.filter((c): c is TemplateChannel => c === 'email' || c === 'sms' || c === 'letter');
      const channel = query.channel ?? renderable[0] ?? 'email';
      const snapshot = snapshotOf(invoice);
      const language = query.lang ?? snapshot.customer.language;
      const { live } = await liveStatus(temporal, invoice.number);
      const balanceMinor = live?.balanceMinor ?? Number(invoice.balanceMinor);
      const penalties: PenaltyResult | undefined = live?.penalties;
      const asOf = localDate(Date.now(), snapshot.customer.timeZone);
      const creditor = creditorOf(config);
      // As the channel activities render it: the template saved for the invoice's policy
      // version, step, channel and language, else the built-in pack.
      const rendered = await renderWithOverrides(templateOverrides(prisma), {
        step: step.id,
        templateId: step.templateId,
        channel,
        language,
        invoice: snapshot,
        balanceMinor,
        penalties,
        asOf,
        deadline: addDays(asOf, noticeDeadlineDays(policy)),
        creditor,
        payments: (live?.payments ?? []).map((p) => ({ date: localDate(p.receivedAt, snapshot.customer.timeZone), amountMinor: p.amountMinor })),
        // As the letter activity decides: registered only through a registered-mail provider.
        registeredMail: creditor.registeredMail ?? false,
      });
      res.json({
        invoiceNumber: invoice.number,
        step: step.id,
        channel,
        language,
        templateId: step.templateId,
        balanceMinor,
        asOf,
        provisionalRates: penalties?.provisionalRates ?? false,
        ...rendered,
      });
    },
  });

  return router;
}

export async function invoiceTimeline(prisma: PrismaClient, number: string) {
  const invoice = await prisma.invoice.findUnique({ where: { number }, select: { id: true } });
  if (!invoice) throw problems.notFound(`Invoice ${number}`);
  const [events, comms, actions, staff] = await Promise.all([
    prisma.dunningEvent.findMany({
      where: { invoiceNumber: number },
      orderBy: { at: 'asc' },
      include: { callOutcome: { select: { id: true, outcome: true, author: true, createdAt: true } } },
    }),
    // Its own messages and the customer's batch messages that listed it (issue 18).
    prisma.communication.findMany({
      where: { OR: [{ invoiceNumber: number }, { invoices: { some: { invoiceNumber: number } } }] },
      include: { invoices: { select: { invoiceNumber: true }, orderBy: { invoiceNumber: 'asc' } } },
      orderBy: { createdAt: 'asc' },
    }),
    // Who did it: the staff actions on this invoice, from the audit log.
    prisma.auditEntry.findMany({ where: { targetType: 'invoice', targetId: number }, orderBy: { id: 'asc' } }),
    notesAndCalls(prisma, { invoiceId: invoice.id }),
  ]);
  const entries = [
    ...events.map((e) => ({
      at: e.at.toISOString(),
      kind: 'event' as const,
      type: e.type,
      // A phone task shows its id (to close it with a call outcome) and, once closed, how.
      detail: {
        ...((e.data ?? {}) as Record<string, unknown>),
        ...(e.type === 'phone-task'
          ? {
              taskId: e.id,
              closed: e.callOutcome
                ? { callId: e.callOutcome.id, outcome: outcomeOf(e.callOutcome.outcome), by: e.callOutcome.author, at: e.callOutcome.createdAt.toISOString() }
                : null,
            }
          : {}),
        // An approval request shows the id POST /v1/approvals/{id} decides.
        ...(e.type === 'approval-requested' ? { approvalId: e.id } : {}),
      } as Record<string, unknown>,
    })),
    ...staff.map(({ invoiceNumber: _n, ...entry }) => entry),
    ...comms.map((c) => ({
      at: (c.sentAt ?? c.createdAt).toISOString(),
      kind: 'communication' as const,
      type: `${c.channel}.${c.status.toLowerCase()}`,
      detail: {
        stepId: c.stepId,
        channel: c.channel,
        status: c.status,
        recipient: c.recipient,
        templateId: c.templateId,
        language: c.language,
        subject: c.subject,
        provider: c.provider,
        providerId: c.providerId,
        documentRef: c.documentRef,
        error: c.error,
        ...(c.invoices.length > 0 ? { batch: c.idempotencyKey, invoices: c.invoices.map((i) => i.invoiceNumber) } : {}),
      },
    })),
    ...actions.map((a) => ({
      at: a.at.toISOString(),
      kind: 'action' as const,
      type: a.action,
      detail: { actor: a.actor, ...(a.detail as Record<string, unknown>) },
    })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind.localeCompare(b.kind)));
  return { invoiceNumber: number, entries };
}
