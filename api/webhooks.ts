// Payment webhooks, authenticated by their signatures (no API key):
//  - POST /v1/webhooks/payments (generic): X-Relance-Source, X-Relance-Timestamp (unix
//    seconds), X-Relance-Signature: v1=<hex HMAC-SHA256(secret of source, `${ts}.${rawBody}`)>
//    (several comma-separated v1= values accepted, for secret rotation);
//  - POST /v1/webhooks/stripe: Stripe-Signature checked by the official SDK; invoice
//    matched from metadata.invoice_number of payment_intent.succeeded, charge.succeeded and
//    invoice.paid; payment_intent.processing / payment_failed / canceled announce or end a
//    payment in flight (pendingPayment signal); other event types are stored and
//    acknowledged as `ignored`.
// Forged, stale or unknown-source deliveries get 401 and nothing is stored. A verified
// delivery is stored raw in WebhookDelivery (unique [source, eventId]); a replay of a
// finished delivery is acknowledged without effect, a replay of an unfinished one (an
// earlier attempt answered 503) resumes it. The payment is journaled before the 2xx.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express, { Router, type Request } from 'express';
import Stripe from 'stripe';
import { z } from 'zod';
import type { Config } from '../config/index';
import type { PrismaClient, WebhookDelivery } from '../prisma/client';
import { pendingPaymentSignal, type PendingPayment } from '../contracts/messages';
import { signalIfOpen } from './inbound/process';
import { isUniqueViolation } from './infra-errors';
import type { ApiMetrics } from './metrics';
import { recordIncomingPayment, type IncomingPayment, type PaymentDeps, type PaymentOutcome } from './payments';
import { fieldErrorsOf, Problem, problems } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { GenericWebhookSchema, WebhookAckSchema } from './schemas';
import type { TemporalGateway } from './temporal';

export interface WebhookDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
  metrics: ApiMetrics;
}

type Verdict = { ok: true } | { ok: false; reason: 'unknown-source' | 'malformed' | 'stale' | 'bad-signature' };

export function signGeneric(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

export function verifyGenericSignature(
  headers: { source?: string; timestamp?: string; signature?: string },
  rawBody: Buffer,
  /** Per source, one secret or several (current and next, during a rotation): any of them verifies. */
  secrets: Record<string, string | readonly string[]>,
  toleranceSeconds: number,
  nowSeconds = Math.floor(Date.now() / 1000),
): Verdict {
  const { source, timestamp, signature } = headers;
  if (!source || !Object.prototype.hasOwnProperty.call(secrets, source)) return { ok: false, reason: 'unknown-source' };
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !signature) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const accepted = ([] as string[]).concat(secrets[source]);
  const expected = accepted.map((secret) => Buffer.from(signGeneric(secret, timestamp, rawBody), 'hex'));
  const candidates = signature
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('v1='))
    .map((s) => s.slice(3));
  const match = candidates.some((hex) => {
    if (!/^[0-9a-f]{64}$/i.test(hex)) return false;
    const given = Buffer.from(hex, 'hex');
    return expected.some((e) => timingSafeEqual(given, e));
  });
  return match ? { ok: true } : { ok: false, reason: 'bad-signature' };
}

/** verifyGenericSignature over a request's X-Relance-* headers and its raw body. */
export function verifySignedRequest(
  req: { get(name: string): string | undefined },
  rawBody: Buffer,
  secrets: Record<string, string | readonly string[]>,
  toleranceSeconds: number,
): Verdict & { source: string } {
  const source = req.get('x-relance-source') ?? '';
  const verdict = verifyGenericSignature({ source, timestamp: req.get('x-relance-timestamp'), signature: req.get('x-relance-signature') }, rawBody, secrets, toleranceSeconds);
  return { ...verdict, source };
}

const FINISHED = new Set(['processed', 'unmatched', 'ignored']);

/** Stores the verified delivery; an existing one is returned with `duplicate`. */
async function storeDelivery(
  prisma: PrismaClient,
  d: { source: string; eventId: string; signature: string; rawBody: string },
): Promise<{ delivery: WebhookDelivery; duplicate: boolean }> {
  try {
    return { delivery: await prisma.webhookDelivery.create({ data: d }), duplicate: false };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const existing = await prisma.webhookDelivery.findUnique({
      where: { source_eventId: { source: d.source, eventId: d.eventId } },
    });
    if (!existing) throw err;
    return { delivery: existing, duplicate: true };
  }
}

async function handleDelivery(
  deps: WebhookDeps,
  d: { source: string; eventId: string; signature: string; rawBody: string },
  payment: IncomingPayment | undefined,
  pending?: { invoiceNumber?: string; signal: PendingPayment },
) {
  const { delivery, duplicate } = await storeDelivery(deps.prisma, d);
  if (duplicate && FINISHED.has(delivery.status)) {
    return { received: true as const, duplicate: true, status: delivery.status };
  }
  let outcome: PaymentOutcome | undefined;
  let status = 'ignored';
  if (payment) {
    outcome = await recordIncomingPayment(deps as PaymentDeps, payment);
    status = outcome.status === 'unmatched' || outcome.unmatchedId ? 'unmatched' : 'processed';
  } else if (pending) {
    // A payment on its way holds the reminders (or, failed, releases them): the workflow decides.
    const known = pending.invoiceNumber ? await deps.prisma.invoice.findUnique({ where: { number: pending.invoiceNumber }, select: { number: true } }) : null;
    status = known && (await signalIfOpen(deps.temporal, known.number, pendingPaymentSignal, pending.signal)) ? 'processed' : 'unmatched';
  }
  await deps.prisma.webhookDelivery.update({ where: { id: delivery.id }, data: { status } });
  return { received: true as const, duplicate, status, ...(outcome ? { payment: outcome } : {}) };
}

function rawOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

interface StripeObject {
  id: string;
  object: string;
  metadata?: Record<string, string> | null;
  currency?: string;
  amount?: number;
  amount_received?: number;
  amount_captured?: number;
  amount_paid?: number;
  payment_intent?: string | { id: string } | null;
}

/** The payment a Stripe event reports, or undefined for event types Relance ignores. */
export function paymentFromStripeEvent(event: Stripe.Event): IncomingPayment | undefined {
  const obj = event.data.object as unknown as StripeObject;
  const pi = typeof obj.payment_intent === 'string' ? obj.payment_intent : obj.payment_intent?.id;
  let externalId: string;
  let amountMinor: number | undefined;
  switch (event.type) {
    case 'payment_intent.succeeded':
      externalId = obj.id;
      amountMinor = obj.amount_received || obj.amount;
      break;
    case 'charge.succeeded':
      // Keyed by the payment intent when there is one, so the charge.succeeded and
      // payment_intent.succeeded of one payment journal a single Payment.
      externalId = pi ?? obj.id;
      amountMinor = obj.amount_captured || obj.amount;
      break;
    case 'invoice.paid':
      externalId = pi ?? obj.id;
      amountMinor = obj.amount_paid;
      break;
    default:
      return undefined;
  }
  if (!amountMinor || !obj.currency) return undefined;
  return {
    source: 'stripe',
    externalId,
    invoiceNumber: obj.metadata?.invoice_number || undefined,
    amountMinor,
    currency: obj.currency.toUpperCase(),
    receivedAt: new Date(event.created * 1000),
  };
}

/** A payment in flight a Stripe event announces (processing) or ends without money (failed, canceled). */
export function pendingFromStripeEvent(event: Stripe.Event): { invoiceNumber?: string; signal: PendingPayment } | undefined {
  if (!['payment_intent.processing', 'payment_intent.payment_failed', 'payment_intent.canceled'].includes(event.type)) return undefined;
  const obj = event.data.object as unknown as StripeObject & { last_payment_error?: { message?: string } | null; cancellation_reason?: string | null };
  const failed = event.type !== 'payment_intent.processing';
  return {
    invoiceNumber: obj.metadata?.invoice_number || undefined,
    signal: {
      reference: obj.id,
      status: failed ? 'failed' : 'pending',
      source: 'stripe',
      ...(obj.amount ? { amountMinor: obj.amount } : {}),
      ...(failed ? { reason: obj.last_payment_error?.message ?? obj.cancellation_reason ?? event.type } : {}),
    },
  };
}

export function webhooksRouter(deps: WebhookDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { config, metrics } = deps;
  const stripe = new Stripe(config.STRIPE_API_KEY);
  router.use('/v1/webhooks', express.raw({ type: () => true, limit: config.API_BODY_LIMIT }));

  const reject = (source: string, reason: string, detail: string): Problem => {
    metrics.webhooksRejected.inc({ source, reason });
    return problems.unauthorized(detail);
  };

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/webhooks/payments',
    operationId: 'receivePaymentWebhook',
    summary: 'Payment notification from a provider (HMAC-signed)',
    description:
      'Signature: `X-Relance-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + rawBody)>` with the secret of ' +
      'the `X-Relance-Source` (WEBHOOK_SECRETS); timestamps older than WEBHOOK_TOLERANCE_SECONDS are rejected. ' +
      'Deduplicated by (source, eventId). Unknown invoice or currency mismatch → stored as an unmatched payment.',
    tags: ['webhooks'],
    auth: false,
    headers: z.object({
      'x-relance-source': z.string().openapi({ example: 'bank' }),
      'x-relance-timestamp': z.string().openapi({ example: '1767225600' }),
      'x-relance-signature': z.string().openapi({ example: 'v1=5f0c6e8b1d2a4c7e9f0b3d5a7c9e1f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0c2d4e' }),
    }),
    rawBody: { required: true, content: { 'application/json': { schema: GenericWebhookSchema } } },
    responses: {
      200: jsonResponse('Accepted (or an acknowledged replay)', WebhookAckSchema),
      401: problemResponse('Unknown source, bad or stale signature: nothing stored'),
      422: problemResponse('Signed, but not a valid payment notification'),
    },
    handler: async ({ req, res }) => {
      const raw = rawOf(req);
      const verdict = verifySignedRequest(req, raw, config.WEBHOOK_SECRETS, config.WEBHOOK_TOLERANCE_SECONDS);
      const { source } = verdict;
      const label = Object.prototype.hasOwnProperty.call(config.WEBHOOK_SECRETS, source) ? source : 'unknown';
      if (!verdict.ok) throw reject(label, verdict.reason, `Webhook rejected: ${verdict.reason}`);
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        metrics.webhooksRejected.inc({ source: label, reason: 'malformed' });
        throw problems.field('(body)', 'invalid JSON');
      }
      const parsed = GenericWebhookSchema.safeParse(json);
      if (!parsed.success) {
        metrics.webhooksRejected.inc({ source: label, reason: 'malformed' });
        throw problems.validation(fieldErrorsOf(parsed.error));
      }
      const body = parsed.data;
      const ack = await handleDelivery(
        deps,
        { source, eventId: body.eventId, signature: req.get('x-relance-signature') ?? '', rawBody: raw.toString('utf8') },
        {
          source,
          externalId: body.paymentId,
          invoiceNumber: body.invoiceNumber,
          amountMinor: body.amountMinor,
          currency: body.currency.toUpperCase(),
          receivedAt: new Date(body.receivedAt),
        },
      );
      res.status(200).json(ack);
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/webhooks/stripe',
    operationId: 'receiveStripeWebhook',
    summary: 'Stripe event (Stripe-Signature verified with the official SDK)',
    description:
      'Handles payment_intent.succeeded, charge.succeeded and invoice.paid (payments), payment_intent.processing ' +
      '(a payment in flight: reminders hold) and payment_intent.payment_failed / canceled (the hold ends); the invoice is matched from ' +
      '`metadata.invoice_number`. Other events are stored and acknowledged as ignored.',
    tags: ['webhooks'],
    auth: false,
    headers: z.object({ 'stripe-signature': z.string() }),
    rawBody: {
      required: true,
      content: { 'application/json': { schema: { type: 'object', description: 'A Stripe Event object' } } },
    },
    responses: {
      200: jsonResponse('Accepted (or an acknowledged replay)', WebhookAckSchema),
      401: problemResponse('Bad or stale signature: nothing stored'),
    },
    handler: async ({ req, res }) => {
      const raw = rawOf(req);
      const header = req.get('stripe-signature') ?? '';
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(raw, header, config.STRIPE_WEBHOOK_SECRET, config.WEBHOOK_TOLERANCE_SECONDS);
      } catch (err) {
        const stale = /tolerance/i.test((err as Error).message);
        throw reject('stripe', stale ? 'stale' : 'bad-signature', `Stripe webhook rejected: ${(err as Error).message}`);
      }
      const ack = await handleDelivery(
        deps,
        { source: 'stripe', eventId: event.id, signature: header, rawBody: raw.toString('utf8') },
        paymentFromStripeEvent(event),
        pendingFromStripeEvent(event),
      );
      res.status(200).json(ack);
    },
  });
  return router;
}
