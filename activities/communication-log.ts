// The communication log around every provider call, written once for all channels.
//
//   1. A row for the idempotency key `<workflowId>/<stepId>/<channel>` that is SENT
//      means the provider already took it: return ALREADY_SENT, call nobody.
//   2. The recipient is checked; an unusable one is recorded FAILED_PERMANENT and
//      thrown as a non-retryable failure (NoRecipient / InvalidRecipient).
//   3. The content is rendered and the row written PENDING *before* the provider call
//      (attempts + 1 on a later attempt, error cleared).
//   4. Settled-check: payments recorded meanwhile that the workflow did not know of and
//      that cover the balance mean no send (SKIPPED_SETTLED).
//   5. The provider call; then the row is completed SENT with the provider's id.
//
// Reading a row left by an earlier attempt:
//   - PENDING without a reason: that attempt died during or after the provider call, so the
//     provider may have it. The channel resends with the SAME idempotency material
//     (email Message-ID, Twilio idempotency token, postal Idempotency-Key, outbox file),
//     which lets the provider or receiver drop the duplicate.
//   - PENDING with reason "retrying": it failed cleanly before the provider took
//     it (SMTP 4xx, HTTP 429): nothing was delivered.
//   - AMBIGUOUS: it failed in a way that may have reached the provider (timeout, 5xx);
//     the explanation is in `error`. A retry resends with the same idempotency material
//     and, once the provider answers, the row ends SENT. If retries run out, AMBIGUOUS
//     stays, which is the point: the log shows it.
//   - FAILED_PERMANENT for the same recipient: the stored failure is thrown again, no
//     provider call. A changed recipient (the customer fixed their address) is a new try.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { CommunicationStatus } from '../prisma/client';
import type { Communication, PrismaClient } from '../prisma/client';
import { ambiguityRuleOf, providerDeduplicates, type AmbiguityRule } from '../domain/delivery';
import type { Channel } from '../domain/types';
import { remindersSent, sendFailures, stepLabel } from '../observability/metrics';
import { DeliveryError } from './failures';
import { PermanentFailureTypes } from '../contracts/failures';
import { paymentIdOf } from '../contracts/ids';
import { isUniqueViolation } from '../prisma/unique-violation';

/** Error text of a row whose send was skipped because payments settled the balance. */
export const SKIPPED_SETTLED_NOTE = 'skipped: settled meanwhile';

/** Communication.reason: what the code reads back (the error text is for people). */
export const CommunicationReasons = {
  /** PENDING after a clean failure before the provider took it: nothing was delivered. */
  Retrying: 'retrying',
  /** Not sent: payments recorded meanwhile settle the balance. */
  SkippedSettled: 'skipped-settled',
} as const;

/** Message-first logger: Temporal's activity logger and `console` both fit. */
export interface ActivityLogger {
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
}

/** Logs through the running activity's logger (with its workflow/activity ids), else console. */
export const contextLogger: ActivityLogger = {
  info(message, attrs) {
    currentLogger().info(message, attrs);
  },
  warn(message, attrs) {
    currentLogger().warn(message, attrs);
  },
};

function currentLogger(): ActivityLogger {
  try {
    return Context.current().log;
  } catch {
    return console;
  }
}

export interface SendHooks {
  /**
   * Test seam: runs after the provider accepted the message and before the log row is
   * completed, i.e. exactly where a worker crash leaves an unfinished row behind.
   */
  afterDeliver?(info: { idempotencyKey: string; channel: Channel; providerId?: string }): void | Promise<void>;
}

export interface SendContext {
  prisma: PrismaClient;
  log: ActivityLogger;
  hooks?: SendHooks;
}

export interface LoggedSendSpec {
  idempotencyKey: string;
  workflowId: string;
  stepId: string;
  channel: Channel;
  invoiceNumber: string;
  currency: string;
  balanceMinor: number;
  knownPaymentIds: string[];
  templateId?: string;
  language?: string;
  /** e.g. 'smtp', 'twilio', 'twilio-fake', 'postal-api', 'outbox'. */
  provider: string;
  /** The policy's rule for this step after an ambiguous attempt; default by template. */
  onAmbiguous?: AmbiguityRule;
  /** A collector resolved an ambiguous attempt with "resend": send it again. */
  resendAmbiguous?: boolean;
}

/** What is recorded of a send: to whom, and what (rendered body and/or document). */
export interface LoggedContent {
  recipient: string;
  subject?: string;
  body?: string;
  documentRef?: string;
}

export interface AttemptInfo {
  communicationId: string;
  /** 1 for the first attempt on this key. */
  attempts: number;
  /** An earlier attempt may have reached the provider: resend with the same idempotency material. */
  resumed: boolean;
}

export interface Delivery {
  providerId?: string;
  /** Where the delivered document lives, when it differs from the prepared one. */
  documentRef?: string;
}

export interface LoggedSendSteps<C extends LoggedContent> {
  /** The recipient as recorded; throws a permanent DeliveryError when there is none or it is invalid. */
  recipient(): string;
  /** Renders what will be sent. Not called when the key is already SENT. */
  prepare(recipient: string): Promise<C>;
  /** The provider call. Throw a DeliveryError, or anything `classify` understands. */
  deliver(content: C, attempt: AttemptInfo): Promise<Delivery>;
  /** Maps a provider's own error to a DeliveryError. */
  classify(err: unknown): DeliveryError;
}

export interface LoggedSendResult {
  /** AMBIGUOUS: a friendly step already resent once after an ambiguous attempt; not sent again. */
  status: 'SENT' | 'ALREADY_SENT' | 'SKIPPED_SETTLED' | 'AMBIGUOUS';
  communicationId: string;
  provider?: string;
  providerId?: string;
  documentRef?: string;
}

export async function runLoggedSend<C extends LoggedContent>(
  ctx: SendContext,
  spec: LoggedSendSpec,
  steps: LoggedSendSteps<C>,
): Promise<LoggedSendResult> {
  const { prisma } = ctx;
  const key = spec.idempotencyKey;
  const existing = await prisma.communication.findUnique({ where: { idempotencyKey: key } });
  if (existing?.status === CommunicationStatus.SENT) {
    ctx.log.info('already sent, provider not called', { idempotencyKey: key, providerId: existing.providerId });
    return resultOf('ALREADY_SENT', existing);
  }

  let recipient: string;
  try {
    recipient = steps.recipient();
  } catch (err) {
    if (!(err instanceof DeliveryError) || err.kind !== 'permanent') throw err;
    await recordRecipientFailure(ctx, spec, existing, err);
    throw err.toFailure();
  }

  if (
    existing?.status === CommunicationStatus.FAILED_PERMANENT &&
    existing.reason !== CommunicationReasons.SkippedSettled &&
    existing.recipient === recipient
  ) {
    ctx.log.warn('failed permanently before for this recipient, provider not called', { idempotencyKey: key });
    throw storedFailure(existing);
  }

  const content = await steps.prepare(recipient);
  const begun = await beginAttempt(ctx, spec, existing, content);
  if (!begun) return runLoggedSend(ctx, spec, steps); // lost a race on the unique key: start over
  const { row, resumed } = begun;
  const attempt: AttemptInfo = { communicationId: row.id, attempts: row.attempts, resumed };

  if (await settledMeanwhile(prisma, spec)) {
    const error = resumed
      ? `${SKIPPED_SETTLED_NOTE}; an earlier attempt was interrupted and may have reached ${spec.provider}`
      : SKIPPED_SETTLED_NOTE;
    const status = resumed ? CommunicationStatus.AMBIGUOUS : CommunicationStatus.FAILED_PERMANENT;
    await prisma.communication.update({ where: { id: row.id }, data: { status, error, reason: CommunicationReasons.SkippedSettled } });
    ctx.log.info('balance settled meanwhile, not sent', { idempotencyKey: key });
    return { status: 'SKIPPED_SETTLED', communicationId: row.id, provider: spec.provider };
  }

  if (resumed && !providerDeduplicates(spec.channel)) {
    const held = await applyAmbiguityRule(ctx, spec, row);
    if (held) return held;
  }

  let delivery: Delivery;
  try {
    delivery = await steps.deliver(content, attempt);
  } catch (err) {
    const failure = err instanceof DeliveryError ? err : steps.classify(err);
    await recordDeliveryFailure(ctx, spec, row.id, failure, resumed);
    throw failure.toFailure();
  }

  await ctx.hooks?.afterDeliver?.({ idempotencyKey: key, channel: spec.channel, providerId: delivery.providerId });

  const sent = await prisma.communication.update({
    where: { id: row.id },
    data: {
      status: CommunicationStatus.SENT,
      providerId: delivery.providerId ?? null,
      documentRef: delivery.documentRef ?? content.documentRef ?? null,
      sentAt: new Date(),
      error: null,
      reason: null,
    },
  });
  remindersSent.inc({ channel: spec.channel, step: stepLabel(spec) });
  ctx.log.info('sent', {
    invoiceNumber: spec.invoiceNumber,
    stepId: spec.stepId,
    channel: spec.channel,
    idempotencyKey: key,
    provider: spec.provider,
    providerId: sent.providerId,
    attempts: sent.attempts,
  });
  return resultOf('SENT', sent);
}

function resultOf(status: 'SENT' | 'ALREADY_SENT', row: Communication): LoggedSendResult {
  return {
    status,
    communicationId: row.id,
    provider: row.provider ?? undefined,
    providerId: row.providerId ?? undefined,
    documentRef: row.documentRef ?? undefined,
  };
}

/**
 * A resumed email send: go on with the send (returns undefined) when the rule allows it,
 * else record why not and return the AMBIGUOUS result or throw AmbiguousDelivery.
 */
async function applyAmbiguityRule(ctx: SendContext, spec: LoggedSendSpec, row: Communication): Promise<LoggedSendResult | undefined> {
  const rule = ambiguityRuleOf({ templateId: spec.templateId ?? spec.stepId, onAmbiguous: spec.onAmbiguous });
  const may = `an earlier attempt may have reached ${spec.provider}, which does not drop repeats`;
  if (spec.resendAmbiguous || (rule === 'resend-once' && row.resends === 0)) {
    await ctx.prisma.communication.update({ where: { id: row.id }, data: { resends: { increment: 1 } } });
    ctx.log.warn('resending after an ambiguous attempt', { idempotencyKey: spec.idempotencyKey, rule, byCollector: !!spec.resendAmbiguous });
    return undefined;
  }
  const error =
    rule === 'hold'
      ? `held: ${may}; a formal step is never resent blindly: a collector resolves it (delivered, resend or drop)`
      : `not resent: ${may}, and it was resent once already`;
  await ctx.prisma.communication.update({ where: { id: row.id }, data: { status: CommunicationStatus.AMBIGUOUS, error } });
  sendFailures.inc({ channel: spec.channel, type: PermanentFailureTypes.AmbiguousDelivery });
  ctx.log.warn('ambiguous send not resent', { idempotencyKey: spec.idempotencyKey, rule });
  if (rule === 'resend-once') return { status: 'AMBIGUOUS', communicationId: row.id, provider: spec.provider };
  throw ApplicationFailure.create({
    type: PermanentFailureTypes.AmbiguousDelivery,
    message: error,
    nonRetryable: true,
    details: [{ communicationId: row.id }],
  });
}

/** The fields that identify a new row: its key, the send it belongs to, the invoice row when there is one. */
async function identityOf(prisma: PrismaClient, spec: LoggedSendSpec) {
  const invoice = await prisma.invoice.findUnique({ where: { number: spec.invoiceNumber }, select: { id: true } });
  return {
    idempotencyKey: spec.idempotencyKey,
    invoiceId: invoice?.id ?? null,
    invoiceNumber: spec.invoiceNumber,
    workflowId: spec.workflowId,
    stepId: spec.stepId,
    channel: spec.channel,
  };
}


/** Writes the PENDING row. Returns undefined when another attempt created it first. */
async function beginAttempt(
  ctx: SendContext,
  spec: LoggedSendSpec,
  existing: Communication | null,
  content: LoggedContent,
): Promise<{ row: Communication; resumed: boolean } | undefined> {
  const fields = {
    recipient: content.recipient,
    subject: content.subject ?? null,
    body: content.body ?? null,
    documentRef: content.documentRef ?? null,
    provider: spec.provider,
    templateId: spec.templateId ?? null,
    language: spec.language ?? null,
    status: CommunicationStatus.PENDING,
    error: null,
    reason: null,
  };
  if (existing) {
    const resumed =
      existing.status === CommunicationStatus.AMBIGUOUS ||
      (existing.status === CommunicationStatus.PENDING && existing.reason !== CommunicationReasons.Retrying);
    if (resumed) {
      ctx.log.warn('resuming a send whose earlier attempt may have reached the provider', {
        idempotencyKey: spec.idempotencyKey,
        previousStatus: existing.status,
        previousError: existing.error,
      });
    }
    const row = await ctx.prisma.communication.update({
      where: { id: existing.id },
      data: { ...fields, attempts: { increment: 1 } },
    });
    return { row, resumed };
  }
  try {
    const row = await ctx.prisma.communication.create({ data: { ...fields, ...(await identityOf(ctx.prisma, spec)) } });
    return { row, resumed: false };
  } catch (err) {
    if (isUniqueViolation(err)) return undefined;
    throw err;
  }
}

async function recordRecipientFailure(
  ctx: SendContext,
  spec: LoggedSendSpec,
  existing: Communication | null,
  failure: DeliveryError,
): Promise<void> {
  const data = {
    status: CommunicationStatus.FAILED_PERMANENT,
    error: failure.logText,
    reason: null,
    provider: spec.provider,
    templateId: spec.templateId ?? null,
    language: spec.language ?? null,
  };
  sendFailures.inc({ channel: spec.channel, type: failure.type });
  ctx.log.warn('no usable recipient', { invoiceNumber: spec.invoiceNumber, channel: spec.channel, idempotencyKey: spec.idempotencyKey, error: failure.logText });
  if (existing) {
    await ctx.prisma.communication.update({ where: { id: existing.id }, data: { ...data, attempts: { increment: 1 } } });
    return;
  }
  await ctx.prisma.communication
    .create({ data: { ...data, ...(await identityOf(ctx.prisma, spec)) } })
    .catch((err: unknown) => {
      if (!isUniqueViolation(err)) throw err;
    });
}

async function recordDeliveryFailure(
  ctx: SendContext,
  spec: LoggedSendSpec,
  id: string,
  failure: DeliveryError,
  resumed: boolean,
): Promise<void> {
  let status: CommunicationStatus;
  let error: string;
  if (failure.kind === 'permanent') {
    status = CommunicationStatus.FAILED_PERMANENT;
    error = failure.logText;
  } else if (failure.uncertain || resumed) {
    status = CommunicationStatus.AMBIGUOUS;
    error =
      `${failure.logText} — ${spec.provider} may have received it` +
      (resumed ? ' (an earlier attempt was interrupted too)' : '') +
      '; a retry resends with the same idempotency key';
  } else {
    status = CommunicationStatus.PENDING;
    error = `retrying: ${failure.logText}`;
  }
  const transcript = status === CommunicationStatus.AMBIGUOUS ? (failure.transcript ?? null) : undefined;
  const reason = status === CommunicationStatus.PENDING ? CommunicationReasons.Retrying : null;
  await ctx.prisma.communication.update({ where: { id }, data: { status, error, reason, transcript } });
  sendFailures.inc({ channel: spec.channel, type: failure.type });
  ctx.log.warn('send failed', { invoiceNumber: spec.invoiceNumber, channel: spec.channel, idempotencyKey: spec.idempotencyKey, status, error, retryAfterMs: failure.retryAfterMs });
}

/** Rebuilds the non-retryable failure recorded in a FAILED_PERMANENT row ("<Type> [code]: message"). */
function storedFailure(row: Communication): ApplicationFailure {
  const match = /^(\w+)(?: \[([^\]]*)\])?: ([\s\S]*)$/.exec(row.error ?? '');
  const type = match?.[1] ?? 'ProviderRejected';
  const message = match?.[3] ?? row.error ?? 'failed permanently';
  return ApplicationFailure.nonRetryable(`${message} (recorded earlier)`, type, {
    providerCode: match?.[2],
    communicationId: row.id,
  });
}

/**
 * True when payments of this invoice that the workflow did not count yet (by paymentId
 * `<source>:<externalId>`, or the bare externalId) cover the balance it sends about.
 */
export async function settledMeanwhile(
  prisma: PrismaClient,
  spec: Pick<LoggedSendSpec, 'invoiceNumber' | 'currency' | 'balanceMinor' | 'knownPaymentIds'>,
): Promise<boolean> {
  const payments = await prisma.payment.findMany({
    where: { invoice: { number: spec.invoiceNumber }, currency: spec.currency },
    select: { source: true, externalId: true, amountMinor: true },
  });
  const known = new Set(spec.knownPaymentIds);
  let unknownTotal = 0;
  for (const p of payments) {
    if (known.has(paymentIdOf(p.source, p.externalId)) || known.has(p.externalId)) continue;
    unknownTotal += Number(p.amountMinor);
  }
  return unknownTotal > 0 && unknownTotal >= spec.balanceMinor;
}
