// Ops actions on one invoice, each forwarded to its workflow: pause, resume, disputes and
// cancel go as updates (answered 202 once the workflow validated and applied them), plans
// and promises as updates answered 200 with the workflow's result; a validator's rejection
// comes back as 422 naming the field. Agency outcomes and pending payments stay signals
// (202). A closed workflow → 409.
import { randomUUID } from 'node:crypto';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import type { z } from 'zod';
import type { SignalDefinition } from '@temporalio/common';
import {
  agencyOutcomeSignal,
  cancelInvoiceUpdate,
  openDisputeUpdate,
  pauseUpdate,
  formalNoticePostedUpdate,
  pendingPaymentSignal,
  proposeInstalmentPlanUpdate,
  recordPromiseToPayUpdate,
  resolveDisputeUpdate,
  resumeUpdate,
} from '../contracts/messages';
import { recordAudit, requestActor } from './audit';
import { decimalField, type InvoiceWithCustomer } from './format';
import { loadInvoice, type InvoiceRouteDeps } from './invoices';
import { recordIncomingPayment } from './payments';
import { problems } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import {
  AcceptedSchema,
  AgencyOutcomeRequestSchema,
  CancelRequestSchema,
  InstalmentPlanRequestSchema,
  ManualPaymentRequestSchema,
  NumberParams,
  OpenDisputeRequestSchema,
  PauseRequestSchema,
  NoticePostedRequestSchema,
  PaymentResultSchema,
  PendingPaymentRequestSchema,
  PromiseToPayRequestSchema,
  ResolveDisputeRequestSchema,
  ResumeRequestSchema,
  UpdateResultSchema,
} from './schemas';
import { signalInvoice, updateInvoice } from './temporal';

export function opsActionsRouter(deps: InvoiceRouteDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma, temporal } = deps;
  const tags = ['ops actions'];
  const base = '/v1/invoices/{number}';
  const common = { 404: problemResponse('Unknown invoice'), 409: problemResponse('The invoice workflow is closed') };

  /**
   * One action on the invoice's workflow: a signal (202, the workflow applies it) or an
   * update (200 with the workflow's result; its validator's rejections are 422).
   */
  function action<S extends z.ZodType>(spec: {
    path: string;
    operationId: string;
    summary: string;
    body: S;
    /**
     * signal: delivered, the workflow applies it (senders that cannot wait); update: the
     * workflow's result (200); checked-update: an ops action sent as an update so that the
     * workflow's validator refuses a wrong input (422 naming the field), answered 202 as
     * the signal it replaces was.
     */
    kind: 'signal' | 'update' | 'checked-update';
    forward: (body: z.infer<S>, invoice: InvoiceWithCustomer) => Promise<unknown>;
  }) {
    defineRoute(router, registry, {
      method: 'post',
      path: `${base}/${spec.path}`,
      operationId: spec.operationId,
      role: 'collector',
      summary: spec.summary,
      tags,
      params: NumberParams,
      body: spec.body,
      responses: {
        ...(spec.kind === 'signal'
          ? { 202: jsonResponse('Signal delivered to the workflow', AcceptedSchema) }
          : spec.kind === 'checked-update'
            ? { 202: jsonResponse('The workflow validated and applied it', AcceptedSchema) }
          : { 200: jsonResponse('The workflow accepted the update; its result', UpdateResultSchema) }),
        ...common,
      },
      handler: async ({ res, params, body }) => {
        const invoice = await loadInvoice(prisma, params.number);
        const result = await spec.forward(body, invoice);
        // After the workflow accepted it: the log holds what happened, not what was tried.
        await recordAudit(prisma, {
          actor: requestActor(res),
          action: `invoice.${spec.operationId}`,
          targetType: 'invoice',
          targetId: invoice.number,
          detail: body as Record<string, unknown>,
        });
        const ack = { invoiceNumber: invoice.number, action: spec.operationId };
        if (spec.kind !== 'update') res.status(202).json({ accepted: true, ...ack });
        else res.json({ ...ack, result });
      },
    });
  }
  const signal = <A>(def: SignalDefinition<[A]>, invoice: InvoiceWithCustomer, arg: A) =>
    signalInvoice(temporal, invoice.number, def, arg);

  defineRoute(router, registry, {
    method: 'post',
    path: `${base}/payments`,
    operationId: 'recordManualPayment',
    role: 'collector',
    summary: 'Record a payment received outside the webhooks (bank transfer, cheque)',
    description:
      'Journaled as a Payment (source `manual`, external id = reference or a new id) before the workflow is ' +
      'signalled with paymentId `manual:<externalId>`. With a reference the call is idempotent.',
    tags,
    params: NumberParams,
    body: ManualPaymentRequestSchema,
    responses: {
      201: jsonResponse('Payment journaled and signalled', PaymentResultSchema),
      200: jsonResponse('Repeat of a payment with the same reference', PaymentResultSchema),
      ...common,
    },
    handler: async ({ res, params, body }) => {
      const invoice = await loadInvoice(prisma, params.number);
      if (body.currency && body.currency !== invoice.currency) {
        throw problems.field('currency', `the invoice is in ${invoice.currency}`);
      }
      const outcome = await recordIncomingPayment(deps, {
        source: 'manual',
        externalId: body.reference ?? randomUUID(),
        invoiceNumber: invoice.number,
        amountMinor: decimalField(body.amount, invoice.currency, 'amount', { positive: true }),
        currency: invoice.currency,
        receivedAt: body.receivedAt ? new Date(body.receivedAt) : new Date(),
      });
      if (outcome.status !== 'duplicate') {
        await recordAudit(prisma, {
          actor: requestActor(res),
          action: 'invoice.recordManualPayment',
          targetType: 'invoice',
          targetId: invoice.number,
          detail: { ...body, paymentId: outcome.paymentId },
        });
      }
      res.status(outcome.status === 'duplicate' ? 200 : 201).json(outcome);
    },
  });

  action({
    path: 'instalment-plan',
    operationId: 'proposeInstalmentPlan',
    summary: 'Agree an instalment plan (update; the workflow validates sum, dates and count)',
    body: InstalmentPlanRequestSchema,
    kind: 'update',
    forward: (b, invoice) => {
      const instalments = b.instalments.map((i, n) => ({
        due: i.due,
        amountMinor: decimalField(i.amount, invoice.currency, `instalments.${n}.amount`, { positive: true }),
      }));
      return updateInvoice(temporal, invoice.number, proposeInstalmentPlanUpdate, { instalments, note: b.note });
    },
  });
  action({
    path: 'promise-to-pay',
    operationId: 'recordPromiseToPay',
    summary: 'Record a promise to pay: reminders wait until the date (+ grace)',
    body: PromiseToPayRequestSchema,
    kind: 'update',
    forward: (b, invoice) => updateInvoice(temporal, invoice.number, recordPromiseToPayUpdate, b),
  });
  action({
    path: 'disputes',
    operationId: 'openDispute',
    summary: 'Open a dispute: reminders stop until it is resolved',
    body: OpenDisputeRequestSchema,
    kind: 'checked-update',
    forward: (b, invoice) => updateInvoice(temporal, invoice.number, openDisputeUpdate, { reason: b.reason }),
  });
  action({
    path: 'disputes/resolve',
    operationId: 'resolveDispute',
    summary: "Resolve the dispute: in the creditor's favour (escalation resumes) or by a credit note",
    body: ResolveDisputeRequestSchema,
    kind: 'checked-update',
    forward: (b, invoice) =>
      updateInvoice(temporal, invoice.number, resolveDisputeUpdate, {
        outcome: b.outcome,
        creditNoteMinor: b.creditNote ? decimalField(b.creditNote, invoice.currency, 'creditNote', { positive: true }) : undefined,
        note: b.note,
      }),
  });
  action({
    path: 'pause',
    operationId: 'pauseDunning',
    summary: 'Pause the reminders, with a reason and an optional end',
    body: PauseRequestSchema,
    kind: 'checked-update',
    forward: (b, invoice) => updateInvoice(temporal, invoice.number, pauseUpdate, { reason: b.reason, until: b.until }),
  });
  action({
    path: 'notice-posted',
    operationId: 'recordNoticePosted',
    summary: 'Record the day the formal-notice letter (an outbox draft, not registered mail) was posted: the date of the notice',
    body: NoticePostedRequestSchema,
    kind: 'checked-update',
    forward: (b, invoice) => updateInvoice(temporal, invoice.number, formalNoticePostedUpdate, { postedOn: b.postedOn, note: b.note }),
  });
  action({
    path: 'resume',
    operationId: 'resumeDunning',
    summary: 'Resume the reminders after a pause',
    body: ResumeRequestSchema,
    kind: 'checked-update',
    forward: (b, invoice) => updateInvoice(temporal, invoice.number, resumeUpdate, { note: b.note }),
  });
  action({
    path: 'cancel',
    operationId: 'cancelInvoice',
    summary: 'Cancel the invoice (credit note, write-off, issued in error): the workflow ends',
    body: CancelRequestSchema,
    kind: 'checked-update',
    forward: (b, invoice) => updateInvoice(temporal, invoice.number, cancelInvoiceUpdate, { reason: b.reason, note: b.note }),
  });
  action({
    path: 'agency-outcome',
    operationId: 'recordAgencyOutcome',
    summary: "Record the collection agency's outcome",
    body: AgencyOutcomeRequestSchema,
    kind: 'signal',
    forward: (b, invoice) =>
      signal(agencyOutcomeSignal, invoice, {
        status: b.status,
        amountRecoveredMinor: b.amountRecovered ? decimalField(b.amountRecovered, invoice.currency, 'amountRecovered') : undefined,
        note: b.note,
      }),
  });
  action({
    path: 'pending-payments',
    operationId: 'announcePendingPayment',
    summary: 'A payment on its way (transfer announced by the debtor, debit initiated): reminders hold until it arrives, fails or expires',
    body: PendingPaymentRequestSchema,
    kind: 'signal',
    forward: (b, invoice) =>
      signal(pendingPaymentSignal, invoice, {
        reference: b.reference,
        status: b.status,
        source: 'manual',
        amountMinor: b.amount ? decimalField(b.amount, invoice.currency, 'amount', { positive: true }) : undefined,
        expiresAt: b.expiresAt,
        reason: b.note,
      }),
  });

  return router;
}
