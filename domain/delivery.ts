// What may be done after an ambiguous send: an attempt that started and never got the
// provider's answer (the worker died mid-call, or the answer timed out after the message
// was handed over). The rule is per channel, then per step:
//   - a channel whose provider takes our idempotency key (SMS, postal, agency) is retried
//     with the same key: the provider drops a repeat, so a retry is never a duplicate;
//   - email has no such key (a Message-ID is honoured by few receivers): a friendly step
//     is resent once, a formal one is never resent blindly but held for a collector.
import type { Channel } from './types';

/** `hold`: wait for a collector's resolution; `resend-once`: one resend, then leave it ambiguous. */
export type AmbiguityRule = 'hold' | 'resend-once';

/** Templates whose message has legal weight: a duplicate or a silent loss both matter. */
export const FORMAL_TEMPLATES: ReadonlySet<string> = new Set(['formal-notice', 'final-notice', 'agency-handover']);

/** True when the provider recognises a repeat of the same idempotency key and drops it. */
export function providerDeduplicates(channel: Channel): boolean {
  return channel !== 'email';
}

/** The step's rule: the policy's choice when it has one, else by the weight of its template. */
export function ambiguityRuleOf(step: { templateId: string; onAmbiguous?: AmbiguityRule }): AmbiguityRule {
  return step.onAmbiguous ?? (FORMAL_TEMPLATES.has(step.templateId) ? 'hold' : 'resend-once');
}
