// What every activity implementation is built from: the database, the configuration,
// a logger and (tests only) hooks into the send sequence.
import type { Config } from '../config/index';
import type { PrismaClient } from '../prisma/client';
import type { EarlyPaymentDiscount, RenderedMessage, TemplateChannel } from '../domain/templates';
import { renderWithOverrides, templateOverrides, type TemplateOverrides } from '../policies/overrides';
import type { InvoiceSnapshot } from '../domain/types';
import { contextLogger } from './communication-log';
import type { ActivityLogger, LoggedSendSpec, SendContext, SendHooks } from './communication-log';
import { permanent } from './failures';
import type { Creditor } from './pdf';
import { PermanentFailureTypes } from '../contracts/failures';
import type { SendInput } from './types';

export interface ActivityDeps {
  prisma: PrismaClient;
  config: Config;
  /** Defaults to the running activity's logger (console outside an activity). */
  log?: ActivityLogger;
  hooks?: SendHooks;
  /** Templates saved for policies (default: read from `prisma`). */
  templates?: TemplateOverrides;
}

export function sendContext(deps: ActivityDeps): SendContext {
  return { prisma: deps.prisma, log: deps.log ?? contextLogger, hooks: deps.hooks };
}

export { creditorOf } from './pdf';

/** A file-name-safe form of an invoice number or step id. */
export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
}

/** The customer's postal address, or a permanent NoRecipient failure. */
export function postalAddressOf(invoice: InvoiceSnapshot) {
  const address = invoice.customer.address;
  if (!address || address.lines.filter((l) => l.trim()).length === 0 || !address.city) {
    throw permanent(PermanentFailureTypes.NoRecipient, `customer ${invoice.customer.id} has no postal address`);
  }
  return address;
}

/** The communication-log spec of a send on `channel` (the activity's own, whatever input.channel says). */
export function specOf(input: SendInput, channel: LoggedSendSpec['channel'], provider: string): LoggedSendSpec {
  return {
    idempotencyKey: input.idempotencyKey,
    workflowId: input.workflowId,
    stepId: input.stepId,
    channel,
    invoiceNumber: input.invoice.number,
    currency: input.invoice.currency,
    balanceMinor: input.balanceMinor,
    knownPaymentIds: input.knownPaymentIds,
    templateId: input.templateId,
    language: input.invoice.customer.language,
    provider,
    onAmbiguous: input.onAmbiguous,
    resendAmbiguous: input.resendAmbiguous,
  };
}

/** The templates saved for policies that the activities of `deps` render with. */
export function overridesOf(deps: ActivityDeps): TemplateOverrides {
  return deps.templates ?? templateOverrides(deps.prisma);
}

/**
 * The message of a send for one channel, in the customer's language: the template saved
 * for the invoice's policy version, step, channel and language, else the built-in pack.
 */
export function renderFor(
  channel: TemplateChannel,
  send: Pick<SendInput, 'templateId' | 'stepId' | 'invoice' | 'balanceMinor' | 'penalties' | 'asOf' | 'deadline' | 'payments' | 'plan'>,
  creditor: Creditor,
  overrides?: TemplateOverrides,
  extra: { earlyPaymentDiscount?: EarlyPaymentDiscount } = {},
): Promise<RenderedMessage> {
  return renderWithOverrides(overrides, {
    step: send.stepId,
    templateId: send.templateId,
    channel,
    language: send.invoice.customer.language,
    invoice: send.invoice,
    balanceMinor: send.balanceMinor,
    penalties: send.penalties,
    asOf: send.asOf,
    creditor,
    deadline: send.deadline,
    payments: send.payments,
    plan: send.plan,
    registeredMail: creditor.registeredMail ?? false,
    earlyPaymentDiscount: extra.earlyPaymentDiscount,
  });
}
