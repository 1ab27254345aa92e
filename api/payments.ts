// Incoming payments (webhooks, manual entry, assignment of unmatched ones): journal
// first, then signal. The Payment row is written BEFORE the workflow is signalled and
// before the caller gets its 2xx, because reminder activities check the Payment table
// just before sending. The signal's paymentId is `<source>:<externalId>` (paymentIdOf),
// the convention the workflow and the activities' settled-check share; repeating the
// signal is harmless (the workflow counts a paymentId once), so every duplicate path
// re-signals, which heals an earlier delivery that was journaled but not signalled.
import { paymentIdOf } from '../contracts/ids';
import type { PrismaClient, UnmatchedPayment } from '../prisma/client';
import { paymentReceivedSignal } from '../contracts/messages';
import { isUniqueViolation } from './infra-errors';
import type { ApiMetrics } from './metrics';
import { Problem, problems } from './problem';
import { signalInvoice, type TemporalGateway } from './temporal';

export interface PaymentDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  metrics: ApiMetrics;
}

export interface IncomingPayment {
  source: string;
  externalId: string;
  invoiceNumber?: string;
  amountMinor: number;
  currency: string;
  receivedAt: Date;
}

export interface PaymentOutcome {
  paymentId: string;
  status: 'matched' | 'unmatched' | 'duplicate';
  invoiceNumber: string | null;
  amountMinor: number;
  currency: string;
  signalled: boolean;
  unmatchedId?: string;
  reason?: string;
}

/** Signals the workflow; false when it is closed (the payment stays journaled). */
async function signalPayment(deps: PaymentDeps, invoiceNumber: string, p: IncomingPayment): Promise<boolean> {
  try {
    await signalInvoice(deps.temporal, invoiceNumber, paymentReceivedSignal, {
      paymentId: paymentIdOf(p.source, p.externalId),
      amountMinor: p.amountMinor,
      currency: p.currency,
      receivedAt: p.receivedAt.toISOString(),
      source: p.source,
    });
    return true;
  } catch (err) {
    if (err instanceof Problem && err.status === 409) return false;
    throw err;
  }
}

function unmatchedOutcome(u: UnmatchedPayment, status: PaymentOutcome['status']): PaymentOutcome {
  return {
    paymentId: paymentIdOf(u.source, u.externalId),
    status,
    invoiceNumber: u.invoiceNumber,
    amountMinor: Number(u.amountMinor),
    currency: u.currency,
    signalled: false,
    unmatchedId: u.id,
    reason: u.reason,
  };
}

async function duplicateOf(deps: PaymentDeps, p: IncomingPayment): Promise<PaymentOutcome | undefined> {
  const key = { source_externalId: { source: p.source, externalId: p.externalId } };
  const existing = await deps.prisma.payment.findUnique({ where: key, include: { invoice: { select: { number: true } } } });
  if (existing) {
    const stored = { ...p, amountMinor: Number(existing.amountMinor), currency: existing.currency, receivedAt: existing.receivedAt };
    return {
      paymentId: paymentIdOf(p.source, p.externalId),
      status: 'duplicate',
      invoiceNumber: existing.invoice.number,
      amountMinor: stored.amountMinor,
      currency: stored.currency,
      signalled: await signalPayment(deps, existing.invoice.number, stored),
    };
  }
  const unmatched = await deps.prisma.unmatchedPayment.findUnique({ where: key });
  return unmatched ? unmatchedOutcome(unmatched, 'duplicate') : undefined;
}

export async function recordIncomingPayment(deps: PaymentDeps, p: IncomingPayment): Promise<PaymentOutcome> {
  const { prisma, metrics } = deps;
  const seen = await duplicateOf(deps, p);
  if (seen) return seen;

  const invoice = p.invoiceNumber
    ? await prisma.invoice.findUnique({ where: { number: p.invoiceNumber }, select: { id: true, number: true, currency: true } })
    : null;
  const reason = !invoice ? 'unknown-invoice' : invoice.currency !== p.currency ? 'currency-mismatch' : undefined;
  try {
    if (!invoice || reason) {
      const u = await prisma.unmatchedPayment.create({
        data: {
          source: p.source,
          externalId: p.externalId,
          invoiceNumber: p.invoiceNumber ?? null,
          amountMinor: BigInt(p.amountMinor),
          currency: p.currency,
          receivedAt: p.receivedAt,
          reason: reason ?? 'unknown-invoice',
        },
      });
      metrics.payments.inc({ result: 'unmatched', source: p.source });
      return unmatchedOutcome(u, 'unmatched');
    }
    await prisma.payment.create({
      data: {
        invoiceId: invoice.id,
        source: p.source,
        externalId: p.externalId,
        amountMinor: BigInt(p.amountMinor),
        currency: p.currency,
        receivedAt: p.receivedAt,
      },
    });
  } catch (err) {
    // The same payment arriving concurrently (a replay racing the original).
    if (isUniqueViolation(err)) return (await duplicateOf(deps, p)) ?? Promise.reject(err);
    throw err;
  }
  metrics.payments.inc({ result: 'matched', source: p.source });
  return {
    paymentId: paymentIdOf(p.source, p.externalId),
    status: 'matched',
    invoiceNumber: invoice.number,
    amountMinor: p.amountMinor,
    currency: p.currency,
    signalled: await signalPayment(deps, invoice.number, p),
  };
}

/** Ops decide which invoice an unmatched payment belongs to: journal it there, then signal. */
export async function assignUnmatchedPayment(deps: PaymentDeps, id: string, invoiceNumber: string): Promise<PaymentOutcome> {
  const { prisma } = deps;
  const u = await prisma.unmatchedPayment.findUnique({ where: { id } });
  if (!u) throw problems.notFound(`Unmatched payment ${id}`);
  if (u.assignedTo && u.assignedTo !== invoiceNumber) {
    throw problems.conflict(`Unmatched payment ${id} is already assigned to invoice ${u.assignedTo}`, 'already-assigned');
  }
  const invoice = await prisma.invoice.findUnique({ where: { number: invoiceNumber }, select: { id: true, currency: true } });
  if (!invoice) throw problems.field('invoiceNumber', `invoice ${invoiceNumber} does not exist`);
  if (invoice.currency !== u.currency) {
    throw problems.field('invoiceNumber', `the invoice is in ${invoice.currency}, the payment in ${u.currency}`);
  }
  const payment: IncomingPayment = {
    source: u.source,
    externalId: u.externalId,
    invoiceNumber,
    amountMinor: Number(u.amountMinor),
    currency: u.currency,
    receivedAt: u.receivedAt,
  };
  if (!u.assignedTo) {
    await prisma.$transaction(async (tx) => {
      await tx.payment.create({
        data: {
          invoiceId: invoice.id,
          source: u.source,
          externalId: u.externalId,
          amountMinor: u.amountMinor,
          currency: u.currency,
          receivedAt: u.receivedAt,
        },
      });
      await tx.unmatchedPayment.update({ where: { id }, data: { assignedTo: invoiceNumber, assignedAt: new Date() } });
    });
    deps.metrics.payments.inc({ result: 'matched', source: u.source });
  }
  return {
    paymentId: paymentIdOf(u.source, u.externalId),
    status: 'matched',
    invoiceNumber,
    amountMinor: payment.amountMinor,
    currency: payment.currency,
    signalled: await signalPayment(deps, invoiceNumber, payment),
    unmatchedId: u.id,
  };
}

export function unmatchedDto(u: UnmatchedPayment) {
  return {
    id: u.id,
    source: u.source,
    externalId: u.externalId,
    invoiceNumber: u.invoiceNumber,
    amountMinor: Number(u.amountMinor),
    currency: u.currency,
    receivedAt: u.receivedAt.toISOString(),
    reason: u.reason,
    assignedTo: u.assignedTo,
    assignedAt: u.assignedAt?.toISOString() ?? null,
  };
}
