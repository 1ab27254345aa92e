// Customer-level holds: pause, resume, a dispute or a promise to pay for the whole customer.
// Each is the invoice's own checked update sent to every running invoice of the customer (the
// workflow validates and applies it, or refuses with its reason), answered per invoice. The
// pause is also kept on the Customer row so that an invoice issued during it starts paused
// (api/invoice-service.ts customerHoldOf); resume clears it. A workflow that did not answer
// makes the call a 503 to repeat (the updates are absolute: a repeat is harmless).
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { openDisputeUpdate, pauseUpdate, recordPromiseToPayUpdate, resumeUpdate } from '../contracts/messages';
import { resolveDeadline } from '../domain/clock';
import { checkPause } from '../domain/message-validation';
import type { Customer, PrismaClient } from '../prisma/client';
import { actorName, recordAudit, requestActor } from './audit';
import { CustomerParams } from './customer-schemas';
import { decimalField, minorToDecimal as toDecimal } from './format';
import { Problem, problems, RETRY_AFTER_SECONDS, type FieldError } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { DateOrInstant, PauseRequestSchema, PositiveDecimal, ResumeRequestSchema } from './schemas';
import { updateInvoice, type TemporalGateway } from './temporal';

/** What one invoice's workflow answered: applied, closed (nothing left to do), refused with its reason, or no answer. */
export interface InvoiceOutcome {
  invoiceNumber: string;
  outcome: 'applied' | 'closed' | 'refused' | 'failed' | 'not-covered';
  detail?: string;
}

/**
 * Sends one checked update per invoice, a few at a time (a customer with hundreds of invoices
 * must not flood the frontend), and classifies each answer. In the order given.
 */
export async function applyToInvoices<T extends { invoiceNumber: string }>(
  invoices: T[],
  send: (invoice: T) => Promise<unknown>,
): Promise<InvoiceOutcome[]> {
  const out: InvoiceOutcome[] = [];
  for (let i = 0; i < invoices.length; i += 8) {
    out.push(
      ...(await Promise.all(
        invoices.slice(i, i + 8).map(async (inv): Promise<InvoiceOutcome> => {
          try {
            await send(inv);
            return { invoiceNumber: inv.invoiceNumber, outcome: 'applied' };
          } catch (err) {
            if (!(err instanceof Problem) || (err.status !== 409 && err.status !== 422)) {
              return { invoiceNumber: inv.invoiceNumber, outcome: 'failed', detail: (err as Error).message };
            }
            // Closed meanwhile (paid, cancelled): nothing left to hold. Any other refusal is the workflow's reason.
            const closed = err.status === 409 && /\bclosed\b/.test(err.detail ?? '');
            return { invoiceNumber: inv.invoiceNumber, outcome: closed ? 'closed' : 'refused', detail: err.detail };
          }
        }),
      )),
    );
  }
  return out;
}

/** The customer's running invoices (closedAt null), oldest due first. */
export async function openInvoicesOf(prisma: PrismaClient, customerId: string) {
  const rows = await prisma.invoice.findMany({
    where: { customerId, closedAt: null },
    select: { number: true, dueDate: true, balanceMinor: true, currency: true },
    orderBy: [{ dueDate: 'asc' }, { number: 'asc' }],
  });
  return rows.map((r) => ({ invoiceNumber: r.number, dueDate: r.dueDate, balanceMinor: Number(r.balanceMinor), currency: r.currency }));
}

/** A 503 naming the invoices whose workflow did not answer, with every outcome; the same request repeats safely. */
export function incompleteProblem(type: string, outcomes: Array<{ invoiceNumber: string; outcome?: string; status?: string }>, extra: Record<string, unknown>): Problem | undefined {
  const failed = outcomes.filter((o) => (o.outcome ?? o.status) === 'failed');
  if (!failed.length) return undefined;
  return new Problem(503, 'Some invoices did not answer', `The workflows of ${failed.map((h) => h.invoiceNumber).join(', ')} did not answer; repeat the same request`, {
    type,
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    extra,
  });
}

export const CustomerDisputeRequestSchema = z
  .object({
    reason: z.string().trim().min(1).max(500),
    invoiceNumbers: z.array(z.string().trim().min(1).max(64)).min(1).max(500).optional().openapi({ description: 'Only these open invoices of the customer; every open invoice without it' }),
  })
  .openapi('CustomerDisputeRequest');
export const CustomerPromiseRequestSchema = z
  .object({
    promisedDate: DateOrInstant.openapi({ description: "The day the customer promised to pay by (end of that day in the customer's time zone) or an instant" }),
    amount: PositiveDecimal.optional().openapi({
      description: 'What was promised: spread over the open invoices oldest due first; an invoice it does not reach keeps its reminders (not-covered). Without it, every open invoice.',
    }),
    note: z.string().trim().min(1).max(500),
  })
  .openapi('CustomerPromiseRequest');

const OutcomeSchema = z.object({
  invoiceNumber: z.string(),
  outcome: z.enum(['applied', 'closed', 'refused', 'failed', 'not-covered']),
  detail: z.string().optional().openapi({ description: "The workflow's reason for a refusal" }),
  amount: z.string().optional().openapi({ description: 'Promise: the share of the promised amount on this invoice' }),
});
const CustomerHoldResultSchema = z
  .object({
    customerId: z.string(),
    action: z.enum(['pause', 'resume', 'dispute', 'promise']),
    hold: z.object({ reason: z.string(), until: z.string().nullable(), by: z.string(), since: z.string() }).nullable().openapi({ description: "The customer's pause after the call" }),
    invoices: z.array(OutcomeSchema),
  })
  .openapi('CustomerHoldResult');

function holdView(c: Customer) {
  return c.holdReason ? { reason: c.holdReason, until: c.holdUntil, by: c.holdBy ?? '', since: (c.holdSince ?? c.updatedAt).toISOString() } : null;
}

export function customerHoldsRouter(deps: { prisma: PrismaClient; temporal: TemporalGateway }, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma, temporal } = deps;
  const tags = ['customers'];
  const base = '/v1/customers/{customerId}';
  const common = { 404: problemResponse('Unknown customer'), 503: problemResponse('A workflow did not answer: repeat the same request') };

  async function load(externalId: string) {
    const c = await prisma.customer.findUnique({ where: { externalId } });
    if (!c) throw problems.notFound(`Customer ${externalId}`);
    return c;
  }

  /** Audit, a note on the customer's timeline (with the actor), then the answer or the 503. */
  async function finish(res: Response, c: Customer, action: 'pause' | 'resume' | 'dispute' | 'promise', body: Record<string, unknown>, outcomes: Array<InvoiceOutcome & { amount?: string }>, text: string) {
    const actor = requestActor(res);
    const applied = outcomes.filter((o) => o.outcome === 'applied').length;
    await prisma.$transaction(async (tx) => {
      await recordAudit(tx, { actor, action: `customer.${action}`, targetType: 'customer', targetId: c.externalId, detail: { ...body, invoices: outcomes } });
      await tx.note.create({ data: { customerId: c.id, author: actorName(actor), text: `Customer-level ${text}: applied to ${applied} of ${outcomes.length} open invoice(s)` } });
    });
    const result = { customerId: c.externalId, action, hold: holdView(await load(c.externalId)), invoices: outcomes };
    const incomplete = incompleteProblem('customer-hold-incomplete', outcomes, result);
    if (incomplete) throw incomplete;
    res.json(result);
  }

  /**
   * One customer-level action: `apply` checks the request against the customer (a refusal
   * is thrown before anything is sent or stored), sends the invoice's update to the invoices
   * it concerns and says what the note on the customer's timeline reads; then `finish`.
   */
  function action<S extends z.ZodType>(spec: {
    path: string;
    operationId: string;
    action: 'pause' | 'resume' | 'dispute' | 'promise';
    summary: string;
    description?: string;
    body: S;
    apply: (c: Customer, body: z.infer<S>, res: Response) => Promise<{ outcomes: Array<InvoiceOutcome & { amount?: string }>; note: string }>;
  }) {
    defineRoute(router, registry, {
      method: 'post',
      path: `${base}/${spec.path}`,
      operationId: spec.operationId,
      role: 'collector',
      summary: spec.summary,
      description: spec.description,
      tags,
      params: CustomerParams,
      body: spec.body,
      responses: { 200: jsonResponse('Per invoice, what its workflow answered', CustomerHoldResultSchema), ...common },
      handler: async ({ res, params, body }) => {
        const c = await load(params.customerId);
        const { outcomes, note } = await spec.apply(c, body, res);
        await finish(res, c, spec.action, body as Record<string, unknown>, outcomes, note);
      },
    });
  }

  action({
    path: 'pause',
    operationId: 'pauseCustomer',
    action: 'pause',
    summary: 'Pause the reminders of every running invoice of the customer; invoices issued during the pause start paused',
    body: PauseRequestSchema,
    apply: async (c, body, res) => {
      const problem = checkPause(body, c.timeZone, Date.now());
      if (problem) throw problems.field(problem.field, problem.message);
      // Stored first: an invoice issued while the updates go out starts paused too.
      await prisma.customer.update({
        where: { id: c.id },
        data: { holdReason: body.reason, holdUntil: body.until ?? null, holdBy: actorName(requestActor(res)), holdSince: c.holdReason ? c.holdSince : new Date() },
      });
      const outcomes = await applyToInvoices(await openInvoicesOf(prisma, c.id), (inv) => updateInvoice(temporal, inv.invoiceNumber, pauseUpdate, { reason: body.reason, until: body.until }));
      return { outcomes, note: `pause (${body.reason}${body.until ? `, until ${body.until}` : ''})` };
    },
  });

  action({
    path: 'resume',
    operationId: 'resumeCustomer',
    action: 'resume',
    summary: "Lift the customer's pause: every paused running invoice resumes (one not paused answers refused)",
    body: ResumeRequestSchema,
    apply: async (c, body) => {
      await prisma.customer.update({ where: { id: c.id }, data: { holdReason: null, holdUntil: null, holdBy: null, holdSince: null } });
      const outcomes = await applyToInvoices(await openInvoicesOf(prisma, c.id), (inv) => updateInvoice(temporal, inv.invoiceNumber, resumeUpdate, { note: body.note }));
      return { outcomes, note: `resume${body.note ? ` (${body.note})` : ''}` };
    },
  });

  action({
    path: 'disputes',
    operationId: 'openCustomerDispute',
    action: 'dispute',
    summary: 'Open a dispute on every open invoice of the customer, or on the listed ones: their reminders stop until each is resolved',
    body: CustomerDisputeRequestSchema,
    apply: async (c, body) => {
      let open = await openInvoicesOf(prisma, c.id);
      if (body.invoiceNumbers) {
        const listed = body.invoiceNumbers;
        const byNumber = new Set(open.map((i) => i.invoiceNumber));
        const errors: FieldError[] = listed.flatMap((n, i) => (byNumber.has(n) ? [] : [{ field: `invoiceNumbers.${i}`, message: `${n} is not an open invoice of customer ${c.externalId}` }]));
        if (errors.length) throw problems.validation(errors);
        open = open.filter((i) => listed.includes(i.invoiceNumber));
      }
      const outcomes = await applyToInvoices(open, (inv) => updateInvoice(temporal, inv.invoiceNumber, openDisputeUpdate, { reason: body.reason }));
      return { outcomes, note: `dispute (${body.reason})` };
    },
  });

  action({
    path: 'promises',
    operationId: 'recordCustomerPromise',
    action: 'promise',
    summary: "A promise to pay covering the customer's open invoices: their reminders wait until the date (+ the policy's promiseGrace)",
    description:
      'Each covered invoice gets its own recordPromiseToPay update. With an amount, it is spread oldest due first: each invoice takes ' +
      'up to its balance, an invoice the amount reaches (even in part) is covered, the later ones are not-covered and keep their reminders. ' +
      'The amount needs the open invoices to share one currency.',
    body: CustomerPromiseRequestSchema,
    apply: async (c, body) => {
      const at = resolveDeadline(body.promisedDate, c.timeZone);
      if (!at || Date.parse(at) <= Date.now()) throw problems.field('promisedDate', 'must be in the future');
      const open = await openInvoicesOf(prisma, c.id);
      const shares = new Map<string, number>();
      if (body.amount !== undefined) {
        const currencies = [...new Set(open.map((i) => i.currency))];
        if (currencies.length > 1) throw problems.field('amount', `the open invoices are in ${currencies.join(' and ')}: promise without an amount`);
        let left = decimalField(body.amount, currencies[0] ?? 'EUR', 'amount', { positive: true });
        for (const inv of open) {
          const share = Math.min(left, Math.max(inv.balanceMinor, 0));
          if (share <= 0) continue;
          shares.set(inv.invoiceNumber, share);
          left -= share;
        }
      }
      const covered = body.amount === undefined ? open : open.filter((i) => shares.has(i.invoiceNumber));
      const sent = await applyToInvoices(covered, (inv) => {
        const share = shares.get(inv.invoiceNumber);
        const note = share === undefined ? body.note : `${body.note} (${toDecimal(share, inv.currency)} ${inv.currency} of a customer-level promise of ${body.amount})`;
        return updateInvoice(temporal, inv.invoiceNumber, recordPromiseToPayUpdate, { date: body.promisedDate, note });
      });
      const byNumber = new Map(sent.map((o) => [o.invoiceNumber, o]));
      const outcomes = open.map((inv) => {
        const share = shares.get(inv.invoiceNumber);
        const o = byNumber.get(inv.invoiceNumber) ?? { invoiceNumber: inv.invoiceNumber, outcome: 'not-covered' as const };
        return share === undefined ? o : { ...o, amount: toDecimal(share, inv.currency) };
      });
      return { outcomes, note: `promise to pay by ${body.promisedDate}${body.amount ? ` (${body.amount})` : ''}` };
    },
  });

  return router;
}
