// Preview of a policy version (a draft before publishing, or any version): the whole
// calendar for one invoice, each step's date in the customer's time zone, and every
// message rendered as it would go out on that day (its saved template, else the built-in
// pack), with the late-payment penalties as they would stand then.
import { DateTime } from 'luxon';
import { computePenalties } from '../domain/penalties';
import { anchorInstant, stepInstant } from '../domain/schedule';
import { addDays, localDate } from '../domain/dates';
import { isPastDue } from '../domain/overdue';
import { DEFAULT_DEADLINE_DAYS, renderMessage, type RenderedMessage, type TemplateChannel } from '../domain/templates';
import type { RateTables } from '../domain/rates';
import type { DunningPolicy, InvoiceSnapshot, PenaltyResult } from '../domain/types';
import type { ScopeArgs } from './templates';
import { renderTemplate } from './templates';
import type { TemplateRecord } from './store';

export interface PreviewMessage extends Partial<RenderedMessage> {
  channel: TemplateChannel;
  language: string;
  /** template: the policy's own; built-in: the shipped pack. */
  source: 'template' | 'built-in';
  error?: string;
}

export interface PreviewStep {
  stepId: string;
  offset: string;
  channels: string[];
  /** When the step fires, in the customer's time zone (ISO-8601 with offset). */
  at: string;
  localDate: string;
  messages: PreviewMessage[];
}

export function previewPolicy(args: {
  policy: DunningPolicy;
  templates: TemplateRecord[];
  invoice: InvoiceSnapshot;
  creditor: ScopeArgs['creditor'];
  rates: RateTables;
}): { timeZone: string; anchor: string; steps: PreviewStep[] } {
  const { policy, invoice } = args;
  const tz = invoice.customer.timeZone;
  const language = invoice.customer.language;
  const anchor = anchorInstant(invoice);
  const balanceMinor = invoice.amountMinor - invoice.depositMinor;
  const saved = new Map(args.templates.map((t) => [`${t.step}/${t.channel}/${t.language}`, t]));
  const steps = policy.steps.map((step): PreviewStep => {
    const at = stepInstant({ anchor, offset: step.offset, timeZone: tz, country: invoice.customer.country, window: policy.sendWindow });
    const asOf = localDate(at, tz);
    let penalties: PenaltyResult | undefined;
    if (policy.penalties.mode !== 'none' && isPastDue(invoice.dueDate, asOf)) {
      try {
        penalties = computePenalties({
          terms: policy.penalties,
          audience: policy.audience,
          currency: invoice.currency,
          dueDate: invoice.dueDate,
          asOf,
          principalMinor: balanceMinor,
          payments: [],
          rates: args.rates,
        });
      } catch {
        penalties = undefined;
      }
    }
    const channels = step.channels.filter((c): c is TemplateChannel => c === 'email' || c === 'sms' || c === 'letter');
    const messages = channels.map((channel): PreviewMessage => {
      const renderArgs: ScopeArgs = {
        step: step.id,
        templateId: step.templateId,
        channel,
        language,
        invoice,
        balanceMinor,
        penalties,
        asOf,
        deadline: addDays(asOf, DEFAULT_DEADLINE_DAYS),
        creditor: args.creditor,
        penaltyMode: policy.penalties.mode,
        spreadPoints: policy.penalties.spreadPoints,
      };
      const own = saved.get(`${step.id}/${channel}/${language}`);
      try {
        const rendered = own ? renderTemplate(own, renderArgs) : renderMessage(renderArgs);
        return { channel, language, source: own ? 'template' : 'built-in', ...rendered };
      } catch (err) {
        return { channel, language, source: own ? 'template' : 'built-in', error: (err as Error).message };
      }
    });
    return {
      stepId: step.id,
      offset: step.offset,
      channels: step.channels,
      at: DateTime.fromISO(at, { zone: tz }).toISO() ?? at,
      localDate: asOf,
      messages,
    };
  });
  return { timeZone: tz, anchor, steps };
}
