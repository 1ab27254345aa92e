// How the invoice workflow carries out a step: each channel's activity, the fallback when a
// channel fails for good, a held ambiguous send, the hand-off to the customer's daily batch,
// the service notices. What to note, whether to go on and which channel is next are asked of
// domain/dunning/transitions.ts; what is here is the sending and the waiting.
import { ActivityFailure, ApplicationFailure, condition, patched, workflowInfo } from '@temporalio/workflow';
import type { SendInput, SendResult } from '../activities/types';
import { PermanentFailureTypes } from '../contracts/failures';
import { customerWorkflowIdFor, sendIdempotencyKey } from '../contracts/ids';
import { addDays, localDate } from '../domain/dates';
import { consolidationOf, nextBatchAt, waitBoundMs, type BatchChannel } from '../domain/consolidation';
import { channelRouter, holidaysOf } from '../domain/dunning/next-action';
import { AMBIGUOUS_HOLD_PATCH, CALENDAR_FROM_SEND_PATCH, RATE_TABLES_PATCH } from '../domain/dunning/patches';
import { knownPaymentIds, note, nowIso, paymentLines, penaltiesNow, settled, type Notice } from '../domain/dunning/state';
import * as t from '../domain/dunning/transitions';
import type { FallbackResend } from '../domain/dunning/inbound-holds';
import { noticeDeadlineDays } from '../domain/policy-schema';
import type { Channel, PolicyStep } from '../domain/types';
import { calendar, customerActs, flushJournal, journal, publish, withHolidays, type Shell } from './dunning-effects';

function sendInput({ run }: Shell, stepId: string, templateId: string, channel: Channel, extra: Partial<SendInput> = {}): SendInput {
  const { state, invoice, tz, policy } = run;
  const asOf = localDate(run.now(), tz);
  return {
    ...extra,
    idempotencyKey: sendIdempotencyKey(workflowInfo().workflowId, stepId, channel),
    workflowId: workflowInfo().workflowId,
    stepId,
    templateId,
    channel,
    invoice,
    balanceMinor: state.balanceMinor,
    penalties: penaltiesNow(run),
    asOf,
    deadline: addDays(asOf, noticeDeadlineDays(policy)),
    payments: paymentLines(state, tz),
    knownPaymentIds: knownPaymentIds(state),
  };
}

async function sendOn(sh: Shell, channel: Channel, stepId: string, templateId: string, extra: Partial<SendInput> = {}): Promise<SendResult | { status: 'TASK' }> {
  const { email, sms, letter, agency } = sh.channels;
  const { state, invoice } = sh.run;
  switch (channel) {
    case 'email':
      return email.sendEmail(sendInput(sh, stepId, templateId, channel, extra));
    case 'sms':
      return sms.sendSms(sendInput(sh, stepId, templateId, channel, extra));
    case 'letter':
      return letter.sendLetter(sendInput(sh, stepId, templateId, channel, extra));
    case 'phone': {
      const task = await journal.createPhoneTask({
        idempotencyKey: sendIdempotencyKey(workflowInfo().workflowId, stepId, 'phone'),
        workflowId: workflowInfo().workflowId,
        stepId,
        invoice,
        balanceMinor: state.balanceMinor,
        knownPaymentIds: knownPaymentIds(state),
      });
      return { status: task?.skipped ? 'SKIPPED_SETTLED' : 'TASK' };
    }
    case 'agency': {
      const input = sendInput(sh, stepId, templateId, channel);
      const penalties = input.penalties ?? { interestMinor: 0, indemnityMinor: 0, totalMinor: 0, currency: invoice.currency, lines: [] };
      return agency.handoverToAgency({
        idempotencyKey: input.idempotencyKey,
        workflowId: input.workflowId,
        invoice,
        balanceMinor: state.balanceMinor,
        penalties,
        asOf: input.asOf,
        payments: state.payments.map((p) => ({ paymentId: p.paymentId, amountMinor: p.amountMinor, receivedAt: p.receivedAt, source: p.source })),
        knownPaymentIds: input.knownPaymentIds,
      });
    }
  }
}

/** One channel of a step, with the step's fallback when the channel fails for good. */
async function runChannel(sh: Shell, step: PolicyStep, channel: Channel, tried: Channel[] = []): Promise<void> {
  const { run } = sh;
  // The settle check sits right before each start: a payment that arrived while an
  // earlier channel was sending stops the rest.
  if (settled(run.state)) return;
  try {
    const result = await sendOn(sh, channel, step.id, step.templateId);
    note(run, 'sent', { stepId: step.id, channel, status: result.status });
    if (channel === 'letter') t.letterSent(run, step, result as SendResult);
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const type = cause instanceof ApplicationFailure ? cause.type : undefined;
    if (type === PermanentFailureTypes.AmbiguousDelivery && patched(AMBIGUOUS_HOLD_PATCH)) {
      await holdAmbiguousSend(sh, step, channel, (cause as ApplicationFailure).details?.[0] as { communicationId?: string } | undefined);
      return;
    }
    note(run, 'send-failed', { stepId: step.id, channel, type, message: (cause as Error)?.message });
    const fallback = t.fallbackAfter(step, channel, tried);
    if (fallback) {
      note(run, 'fallback', { stepId: step.id, from: channel, to: fallback });
      await runChannel(sh, step, fallback, [...tried, channel]);
    }
  }
}

/**
 * A send that may have reached a provider that cannot drop repeats, for a step never
 * resent blindly: wait for a collector (resolveAmbiguousSend), a settling payment or a
 * cancellation, at most the policy's bound; then do what was decided (by default, after
 * the bound, go on without resending: the communication stays listed as ambiguous).
 */
async function holdAmbiguousSend(sh: Shell, step: PolicyStep, channel: Channel, detail: { communicationId?: string } | undefined) {
  const { run } = sh;
  const { key, untilMs } = t.ambiguousHeld(run, step, channel, detail?.communicationId);
  publish(sh);
  if (run.pending.length > 0) await flushJournal(sh);
  await condition(() => !!run.state.ambiguous?.[key]?.resolution || settled(run.state), untilMs - Date.now());
  const resolution = t.ambiguousEnded(run, key, step, channel, settled(run.state));
  if (resolution?.action === 'resend') {
    const result = await sendOn(sh, channel, step.id, step.templateId, { resendAmbiguous: true });
    note(run, 'sent', { stepId: step.id, channel, status: result.status, resent: true });
  }
}

/** A newly confirmed table reaches this invoice at its next step (or continue-as-new). */
export async function refreshRates({ run }: Shell) {
  if (!patched(RATE_TABLES_PATCH)) return;
  const previous = run.state.rates?.version;
  run.state.rates = await calendar.rateTables();
  if (previous !== undefined && previous !== run.state.rates.version) note(run, 'rates-updated', { from: previous, to: run.state.rates.version });
}

export async function runStep(sh: Shell, step: PolicyStep) {
  const { run } = sh;
  await refreshRates(sh);
  t.stepStarted(run, step);
  const began = patched(CALENDAR_FROM_SEND_PATCH) ? Date.now() : undefined;
  let batchWaitMs = 0;
  const routeOf = channelRouter(run, step);
  await Promise.all(
    step.channels.map(async (c) => {
      // Routed as each channel starts, so any patch is asked where it always was.
      const route = routeOf(c);
      if (route.via === 'carried') return;
      if (route.via === 'alone') return runChannel(sh, step, c);
      const t0 = Date.now();
      await runConsolidated(sh, step, route.channels);
      batchWaitMs = Date.now() - t0;
    }),
  );
  // The wait for the customer's batch is planned, not late: it moves nothing.
  t.stepDone(run, step, began === undefined ? 0 : Date.now() - began - batchWaitMs);
}

/**
 * The step's email goes in the customer's daily batch: hand it to `customer-<id>` (started if
 * need be), wait for its acknowledgement and then its report, each within the policy's bound.
 * Whatever does not come in time, the invoice sends its own step and the timeline says why.
 */
async function runConsolidated(sh: Shell, step: PolicyStep, channels: BatchChannel[]) {
  const { run } = sh;
  const { state, invoice, policy, tz } = run;
  if (settled(state)) return;
  const settings = consolidationOf(policy);
  const bound = waitBoundMs(settings);
  const customerWorkflowId = customerWorkflowIdFor(invoice.customer.id);
  const country = invoice.customer.country.toUpperCase();
  const batchAt = await withHolidays(run, () => nextBatchAt({ fromMs: Date.now(), timeZone: tz, country, at: settings.at, window: policy.sendWindow, holidays: holidaysOf(run) }));
  state.batch = { stepId: step.id, batchAt, since: nowIso(run) };
  const alone = async (reason: string, only: readonly BatchChannel[] = channels) => {
    state.batch = undefined;
    await Promise.all(
      only.map((c) => {
        note(run, 'batch-bypassed', { stepId: step.id, channel: c, customerWorkflowId, reason });
        return runChannel(sh, step, c);
      }),
    );
  };
  try {
    await customerActs.queueForCustomer({
      customer: invoice.customer,
      taskQueue: workflowInfo().taskQueue,
      item: {
        invoiceNumber: invoice.number,
        workflowId: workflowInfo().workflowId,
        stepId: step.id,
        templateId: step.templateId,
        stepIndex: policy.steps.indexOf(step),
        channel: channels[0]!,
        ...(channels.length > 1 || channels[0] !== 'email' ? { channels } : {}),
        queuedAt: state.batch.since,
        batchAt,
      },
    });
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    return alone(`the hand-off failed: ${(cause as Error)?.message}`);
  }
  note(run, 'batch-queued', { stepId: step.id, channel: channels[0], ...(channels.length > 1 ? { channels } : {}), customerWorkflowId, batchAt });
  publish(sh);
  if (run.pending.length > 0) await flushJournal(sh);
  const b = () => state.batch;
  if (!(await condition(() => !!b()?.ackedAt || !!b()?.report || settled(state), bound))) {
    return alone(`the customer's workflow did not acknowledge within ${settings.waitFor}`);
  }
  if (!b()?.report && !settled(state)) {
    const remaining = Date.parse(b()!.batchAt) + bound - Date.now();
    if (remaining <= 0 || !(await condition(() => !!b()?.report || settled(state), remaining))) {
      return alone(`no report from the customer's batch of ${b()!.batchAt} within ${settings.waitFor} after it`);
    }
  }
  const { alone: reason, resend } = t.batchEnded(run, step, b()?.report, channels);
  if (reason) return alone(reason, resend);
}

/** A step's send that came back undeliverable goes again on the step's fallback channel, even though the step is done. */
export async function resendOnFallback(sh: Shell, r: FallbackResend) {
  const target = t.resendTarget(sh.run, r);
  if (target) await runChannel(sh, target.step, target.to, [r.channel]);
}

export async function sendNotice(sh: Shell, n: Notice) {
  if (!sh.run.invoice.customer.email) return;
  try {
    await sh.channels.email.sendEmail(sendInput(sh, n.stepId, n.templateId, 'email', n.plan ? { plan: n.plan } : {}));
    note(sh.run, 'notice-sent', { templateId: n.templateId });
  } catch (err) {
    note(sh.run, 'notice-failed', { templateId: n.templateId, message: (err as Error).message });
  }
}
