// A customer's payment behaviour from our own records (invoices, payments, the
// communications sent, the promises and plans journaled by the workflows), and its risk
// class (domain/payment-behaviour.ts holds the rules and thresholds' meaning).
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import type { Config } from '../config/index';
import { localDate } from '../domain/dates';
import { paymentBehaviour, RISK_CLASSES, type BehaviourFacts, type PaymentBehaviour, type RiskThresholds } from '../domain/payment-behaviour';
import type { Prisma, PrismaClient } from '../prisma/client';
import { CustomerParams } from './customer-schemas';
import { isoDay } from './format';
import { problems } from './problem';
import { problemResponse, defineRoute, jsonResponse } from './route';

type RiskConfig = Pick<
  Config,
  'RISK_A_MAX_AVG_DAYS_LATE' | 'RISK_A_MAX_P90_DAYS_LATE' | 'RISK_A_MIN_PAID_INVOICES' | 'RISK_C_MIN_AVG_DAYS_LATE' | 'RISK_C_MIN_P90_DAYS_LATE' | 'RISK_C_MIN_BROKEN'
>;

export function riskThresholdsOf(config: RiskConfig): RiskThresholds {
  return {
    aMaxAvgDaysLate: config.RISK_A_MAX_AVG_DAYS_LATE,
    aMaxP90DaysLate: config.RISK_A_MAX_P90_DAYS_LATE,
    aMinPaidInvoices: config.RISK_A_MIN_PAID_INVOICES,
    cMinAvgDaysLate: config.RISK_C_MIN_AVG_DAYS_LATE,
    cMinP90DaysLate: config.RISK_C_MIN_P90_DAYS_LATE,
    cMinBroken: config.RISK_C_MIN_BROKEN,
  };
}

/** Channels that reach the customer: a step sent on one of them counts as a reminder sent. */
const REMINDER_CHANNELS = ['email', 'sms', 'letter'];
/** Notices of a plan (plan-confirmed-N, plan-breached-N) are not steps of the calendar. */
const isCalendarStep = (stepId: string) => !stepId.startsWith('plan-');

/**
 * What to read of an invoice for the reminders it got: its own sends, and the customer's
 * batch messages that listed it (CommunicationInvoice, with the invoice's step in them).
 */
export const SENT_REMINDERS = {
  communications: { where: { status: 'SENT', channel: { in: REMINDER_CHANNELS } }, select: { stepId: true, channel: true, sentAt: true, createdAt: true } },
  batchedIn: {
    where: { communication: { status: 'SENT', channel: { in: REMINDER_CHANNELS } } },
    select: { stepId: true, communication: { select: { channel: true, sentAt: true, createdAt: true } } },
  },
} as const satisfies Prisma.InvoiceSelect;

type SentReminderRows = Prisma.InvoiceGetPayload<{ select: typeof SENT_REMINDERS }>;

/** The calendar reminders of an invoice, oldest first, whether sent alone or in a customer's batch. */
export function sentReminders(inv: SentReminderRows): Array<{ stepId: string; channel: string; at: Date; batched: boolean }> {
  return [
    ...inv.communications.map((c) => ({ stepId: c.stepId, channel: c.channel, at: c.sentAt ?? c.createdAt, batched: false })),
    ...inv.batchedIn.map((b) => ({ stepId: b.stepId, channel: b.communication.channel, at: b.communication.sentAt ?? b.communication.createdAt, batched: true })),
  ]
    .filter((r) => isCalendarStep(r.stepId))
    .sort((a, b) => a.at.getTime() - b.at.getTime());
}

export async function behaviourFacts(prisma: PrismaClient, customer: { id: string; timeZone: string }): Promise<BehaviourFacts> {
  const [paid, events] = await Promise.all([
    prisma.invoice.findMany({
      where: { customerId: customer.id, outcome: 'paid' },
      select: {
        number: true,
        dueDate: true,
        amountMinor: true,
        depositMinor: true,
        payments: { select: { amountMinor: true, receivedAt: true }, orderBy: { receivedAt: 'asc' } },
        ...SENT_REMINDERS,
      },
      orderBy: { dueDate: 'asc' },
    }),
    prisma.dunningEvent.groupBy({
      by: ['type'],
      where: { invoice: { customerId: customer.id }, type: { in: ['promise-to-pay', 'promise-broken', 'plan-agreed', 'plan-breached'] } },
      _count: { _all: true },
    }),
  ]);
  const count = (type: string) => events.find((e) => e.type === type)?._count._all ?? 0;
  const facts: BehaviourFacts = {
    paid: [],
    promisesMade: count('promise-to-pay'),
    promisesBroken: count('promise-broken'),
    plansAgreed: count('plan-agreed'),
    plansBreached: count('plan-breached'),
  };
  for (const inv of paid) {
    if (inv.payments.length === 0) continue; // settled otherwise (credit note): no payment date to rate
    // The settling payment: the one that brought what was due to zero (the last one otherwise).
    const due = inv.amountMinor - inv.depositMinor;
    let cumulated = 0n;
    const settling = inv.payments.find((p) => (cumulated += p.amountMinor) >= due) ?? inv.payments[inv.payments.length - 1];
    const before = sentReminders(inv).filter((r) => r.at <= settling.receivedAt);
    facts.paid.push({
      number: inv.number,
      dueDate: isoDay(inv.dueDate),
      paidOn: localDate(settling.receivedAt.getTime(), customer.timeZone),
      lastStepBefore: before.at(-1)?.stepId,
    });
  }
  return facts;
}

export async function customerBehaviour(prisma: PrismaClient, customer: { id: string; timeZone: string }, config: RiskConfig): Promise<PaymentBehaviour> {
  return paymentBehaviour(await behaviourFacts(prisma, customer), riskThresholdsOf(config));
}

/** The risk class of a customer known by its external id (undefined: no such customer yet). */
export async function riskClassOf(prisma: PrismaClient, externalId: string, config: RiskConfig) {
  const c = await prisma.customer.findUnique({ where: { externalId }, select: { id: true, timeZone: true } });
  return c ? (await customerBehaviour(prisma, c, config)).riskClass : undefined;
}

const BehaviourSchema = z
  .object({
    customerId: z.string(),
    paidInvoices: z.number().int(),
    averageDaysLate: z.number().nullable(),
    p90DaysLate: z.number().nullable(),
    paidAfterStep: z.array(z.object({ step: z.string(), invoices: z.number().int(), sharePercent: z.number() })),
    promises: z.object({ made: z.number().int(), broken: z.number().int() }),
    plans: z.object({ agreed: z.number().int(), breached: z.number().int() }),
    riskClass: z.enum(RISK_CLASSES),
    reasons: z.array(z.string()),
    thresholds: z.record(z.string(), z.number()),
  })
  .openapi('PaymentBehaviour');

export function behaviourRouter(deps: { prisma: PrismaClient; config: Config }, registry: OpenAPIRegistry): Router {
  const router = Router();
  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/customers/{customerId}/behaviour',
    operationId: 'getCustomerBehaviour',
    role: 'viewer',
    summary: 'Payment behaviour: average and p90 days late, share paid after each step, broken promises and plans, risk class',
    description:
      'Computed from our own records at each call. Days late of a paid invoice: local date of the settling payment − due ' +
      'date, at least 0; p90 by nearest rank. The risk class (A/B/C) follows the RISK_* thresholds of the configuration, ' +
      'returned with the reasons; policy rules can match on it (match.riskClass).',
    tags: ['customers'],
    params: CustomerParams,
    responses: { 200: jsonResponse('The figures and the class', BehaviourSchema), 404: problemResponse('Unknown customer') },
    handler: async ({ res, params }) => {
      // Not customers.ts's loadCustomer: issuing (invoice-service) imports this module.
      const c = await deps.prisma.customer.findUnique({ where: { externalId: params.customerId } });
      if (!c) throw problems.notFound(`Customer ${params.customerId}`);
      res.json({ customerId: c.externalId, ...(await customerBehaviour(deps.prisma, c, deps.config)) });
    },
  });
  return router;
}
