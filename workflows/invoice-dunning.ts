// invoiceDunning: one durable workflow per issued invoice. It registers its message handlers
// (each applies one transition of domain/dunning/transitions.ts), then loops: ask
// domain/dunning/next-action.ts what to do next, do it (a notice, a step, a wait), and
// continue as new with the versioned state when the history grows long. Every "whether" and
// "when" is in domain/dunning/; the effects (activities, journal, search attributes) are in
// ./dunning-effects.ts and ./dunning-sends.ts.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { batchCheckUpdate, batchQueuedSignal, batchReportSignal } from '../contracts/consolidation';
import { DunningDefectType, ValidationFailureType } from '../contracts/failures';
import { localDate } from '../domain/dates';
import { checkCancel, checkOpenDispute, checkPause, checkResolveDispute, checkResume } from '../domain/message-validation';
import { calendarAction, immediateAction, nextStepDue, statusOf } from '../domain/dunning/next-action';
import { DEFECT_PATCH, HOLD_RECHECK_PATCH } from '../domain/dunning/patches';
import { createRun, currentHold, holidaysAhead, type Run } from '../domain/dunning/state';
import * as t from '../domain/dunning/transitions';
import { flushJournal, isDefect, publish, recordDefect, shellOf, withHolidays, type Shell } from './dunning-effects';
import { refreshRates, resendOnFallback, runStep, sendNotice } from './dunning-sends';
import {
  agencyOutcomeSignal,
  approveStepUpdate,
  cancelInvoiceSignal,
  cancelInvoiceUpdate,
  customerTermsUpdate,
  deliveryFailedSignal,
  formalNoticePostedSignal,
  formalNoticePostedUpdate,
  migratePolicyUpdate,
  openDisputeSignal,
  openDisputeUpdate,
  pauseSignal,
  pauseUpdate,
  paymentReceivedSignal,
  pendingPaymentSignal,
  policyQuery,
  proposeInstalmentPlanUpdate,
  recordPaymentUpdate,
  recordPromiseToPayUpdate,
  replyReadSignal,
  replyReceivedSignal,
  resolveAmbiguousSendUpdate,
  resolveDisputeSignal,
  resolveDisputeUpdate,
  resumeSignal,
  resumeUpdate,
  statusQuery,
  type InvoiceDunningInput,
  type Outcome,
} from '../contracts/messages';

export * from '../contracts/messages';

/** History length at which we continue-as-new even if the server has not suggested it. */
const HISTORY_LIMIT = 2_000;

export async function invoiceDunning(input: InvoiceDunningInput): Promise<{ outcome: Outcome; balanceMinor: number }> {
  let shell: Shell | undefined;
  try {
    return await dunning(input, (sh) => (shell = sh));
  } catch (err) {
    // A plain Error from domain code (a send window that never opens...) ends the run failed
    // and journalled, instead of a workflow task retried forever.
    if (!isDefect(err) || !patched(DEFECT_PATCH)) throw err;
    log.error('invoice workflow stopped on a defect', { error: err.message });
    await recordDefect(shell, input.invoice.number, err.message);
    throw ApplicationFailure.create({ type: DunningDefectType, message: err.message, nonRetryable: true, cause: err });
  }
}

async function dunning(input: InvoiceDunningInput, started: (sh: Shell) => void): Promise<{ outcome: Outcome; balanceMinor: number }> {
  const run = createRun(input, { now: () => Date.now(), has: patched, warn: (message, data) => log.warn(message, data) });
  const sh = shellOf(run);
  started(sh);
  const { state } = run;
  registerHandlers(run);

  if (!input.carried) {
    t.issued(run);
    await withHolidays(run, () => t.catchUpOnStart(run));
  }
  await refreshRates(sh);

  while (!state.outcome) {
    run.changed = false;
    // The holidays the next step needs are fetched before publishing (which cannot wait for them).
    if (!state.agency && !currentHold(run)) await withHolidays(run, () => nextStepDue(run));
    publish(sh);
    if (run.pending.length > 0) await flushJournal(sh);

    const now = immediateAction(run);
    if (now?.kind === 'close') {
      if (now.receipt) await sendNotice(sh, { templateId: 'receipt', stepId: 'receipt' });
      t.close(run, now.outcome);
      break;
    }
    if (now?.kind === 'notice') {
      state.notices.shift();
      await sendNotice(sh, now.notice);
      continue;
    }
    if (now?.kind === 'resend') {
      state.resends?.shift();
      await resendOnFallback(sh, now.resend);
      continue;
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > (input.continueAsNewAfterEvents ?? HISTORY_LIMIT)) {
      if (run.pending.length > 0) await flushJournal(sh);
      await condition(allHandlersFinished);
      if (patched(HOLD_RECHECK_PATCH)) state.holidays = holidaysAhead(state.holidays, Number(localDate(Date.now(), run.tz).slice(0, 4)));
      await continueAsNew<typeof invoiceDunning>({ ...input, policy: run.policy, carried: state });
    }

    const next = await withHolidays(run, () => calendarAction(run));
    if (next.kind === 'close') {
      t.close(run, next.outcome);
      break;
    }
    if (next.kind === 'exhausted') {
      t.calendarExhausted(run);
      continue;
    }
    if (next.kind === 'wait') {
      const waitMs = next.untilMs === undefined ? undefined : next.untilMs - Date.now();
      if (waitMs !== undefined && waitMs <= 0) {
        if (next.expiry) t.waitExpired(run, next.expiry, false);
        continue;
      }
      const woke = waitMs === undefined ? (await condition(() => run.changed), true) : await condition(() => run.changed, waitMs);
      if (!woke && next.expiry) t.waitExpired(run, next.expiry, run.changed);
      continue;
    }
    const waitMs = Date.parse(next.at) - Date.now();
    if (waitMs > 0 && (await condition(() => run.changed, waitMs))) continue;
    if (run.changed || t.skippedAsMoot(run, next.step)) continue;
    if (t.approvalNeeded(run, next.step)) continue;
    await runStep(sh, next.step);
  }

  publish(sh);
  if (run.pending.length > 0) await flushJournal(sh);
  await condition(allHandlersFinished);
  return { outcome: state.outcome as Outcome, balanceMinor: state.balanceMinor };
}

/** An update validator: a Refusal from the domain becomes the ValidationError the API maps to 422, naming the field. */
function refusing<A>(validate: (a: A) => void) {
  return (a: A) => {
    try {
      validate(a);
    } catch (err) {
      if (!(err instanceof t.Refusal)) throw err;
      throw ApplicationFailure.create({ type: ValidationFailureType, message: err.message, details: [{ field: err.field, message: err.reason }], nonRetryable: true });
    }
  };
}

/** Set before the first await: each handler applies one transition (which marks the state changed). */
function registerHandlers(run: Run) {
  const { state } = run;
  const check = <A>(validate: (run: Run, a: A) => void) => refusing((a: A) => validate(run, a));
  setHandler(paymentReceivedSignal, (p) => t.paymentSignal(run, p));
  setHandler(recordPaymentUpdate, (p) => t.recordPayment(run, p), { validator: refusing(t.validatePayment(run)) });
  // What comes back from the debtor (domain/dunning/inbound-holds.ts).
  setHandler(replyReceivedSignal, (r) => t.replyReceived(run, r));
  setHandler(replyReadSignal, (r) => t.replyRead(run, r));
  setHandler(pendingPaymentSignal, (p) => t.pendingPayment(run, p));
  setHandler(deliveryFailedSignal, (d) => t.deliveryFailed(run, d));

  setHandler(proposeInstalmentPlanUpdate, (p) => t.proposePlan(run, p), { validator: check(t.validatePlan) });
  setHandler(recordPromiseToPayUpdate, (p) => t.promiseToPay(run, p), { validator: check(t.validatePromise) });

  // Ops actions: one transition each, behind a signal (webhooks, running senders) that records a
  // wrong input as refused, and an update whose validator refuses it before anything is recorded.
  const pauseCheck = (p: unknown) => checkPause(p, run.tz, run.now());
  setHandler(openDisputeSignal, t.checkedSignal(run, 'openDispute', checkOpenDispute, t.openDispute));
  setHandler(resolveDisputeSignal, t.checkedSignal(run, 'resolveDispute', checkResolveDispute, t.resolveDispute));
  setHandler(pauseSignal, t.checkedSignal(run, 'pause', pauseCheck, t.pause));
  setHandler(resumeSignal, t.checkedSignal(run, 'resume', checkResume, t.resume));
  setHandler(cancelInvoiceSignal, t.checkedSignal(run, 'cancelInvoice', checkCancel, t.cancel));
  setHandler(openDisputeUpdate, (d) => (t.openDispute(run, d), { disputed: !!state.dispute }), { validator: refusing(t.validatorOf(run, checkOpenDispute)) });
  setHandler(resolveDisputeUpdate, (r) => (t.resolveDispute(run, r), { balanceMinor: state.balanceMinor }), { validator: refusing(t.validatorOf(run, checkResolveDispute)) });
  setHandler(pauseUpdate, (p) => (t.pause(run, p), { until: state.pause?.until }), { validator: refusing(t.validatorOf(run, pauseCheck)) });
  setHandler(resumeUpdate, (r) => (t.resume(run, r), { resumed: !state.pause }), { validator: refusing(t.validatorOf(run, checkResume)) });
  setHandler(cancelInvoiceUpdate, (c) => (t.cancel(run, c), { cancelled: true }), { validator: refusing(t.validatorOf(run, checkCancel)) });
  setHandler(resolveAmbiguousSendUpdate, (r) => t.resolveAmbiguous(run, r), { validator: check(t.validateResolveAmbiguous) });

  setHandler(formalNoticePostedSignal, (p) => t.noticePostedSignal(run, p));
  setHandler(formalNoticePostedUpdate, (p) => t.noticePosted(run, p), { validator: check(t.validateNoticePosted) });
  setHandler(agencyOutcomeSignal, (o) => t.agencyOutcome(run, o));
  setHandler(migratePolicyUpdate, (m) => t.migratePolicy(run, m), { validator: check(t.validateMigratePolicy) });
  setHandler(approveStepUpdate, (a) => t.approveStep(run, a), { validator: check(t.validateApproveStep) });
  setHandler(customerTermsUpdate, (c) => t.customerTerms(run, c), { validator: check(t.validateCustomerTerms) });

  // The customer's batch (issue 18).
  setHandler(batchQueuedSignal, (q) => t.batchQueued(run, q));
  setHandler(batchReportSignal, (r) => t.batchReport(run, r));
  setHandler(batchCheckUpdate, (c) => t.batchCheck(run, c));

  setHandler(statusQuery, () => statusOf(run, workflowInfo().workflowId));
  setHandler(policyQuery, () => run.policy);
}
