// Whole lifecycles on a real Temporal dev server with second-scale policies: real
// timers, real task queues, real search attributes. Channel activities are doubles here
// (the channels have their own tests against real peers). With RECORD_HISTORIES=1 the
// runs are written to tests/replay/histories/ for the replay tests.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { DEMO_SECONDS } from '../../domain/policy';
import type { DunningPolicy } from '../../domain/types';
import { workflowIdFor } from '../../contracts/ids';
import { migratePolicyUpdate, paymentReceivedSignal, statusQuery } from '../../contracts/messages';
import { recordHistory } from '../helpers/histories';
import { createDevServerEnv } from '../helpers/temporal';
import { dunningInput, invoiceDunning, invoiceFixture, makeDoubles, startTestWorker, uniqueQueue, useTestEnv } from '../workflow/harness';

/** The demo calendar squeezed to one second per step, agency listening 3 s. */
const FAST: DunningPolicy = {
  ...DEMO_SECONDS,
  id: 'e2e-fast',
  steps: DEMO_SECONDS.steps.map((s, i) => ({ ...s, offset: i === 0 ? '-PT1S' : `PT${i}S` })),
  agencyListenFor: 'PT3S',
};

let env: TestWorkflowEnvironment;
useTestEnv((e) => (env = e), createDevServerEnv);

const record = (name: string, workflowId: string) => recordHistory(env.client, name, workflowId);

describe('invoiceDunning on the real dev server (second-scale policy)', () => {
  it('runs the full escalation to the agency and closes after the listening period', async () => {
    const taskQueue = uniqueQueue('e2e');
    const doubles = makeDoubles();
    const worker = await startTestWorker(env, taskQueue, doubles.activities);
    try {
      const invoice = invoiceFixture({ dueDate: new Date().toISOString().slice(0, 10), dueAt: new Date(Date.now() + 2_000).toISOString() });
      const handle = await env.client.workflow.start(invoiceDunning, {
        taskQueue,
        workflowId: workflowIdFor(invoice.number),
        args: [dunningInput(invoice, FAST)],
        staticSummary: `Invoice ${invoice.number}`,
      });
      const started = Date.now();
      // Ops can search by stage while it runs.
      await expect.poll(async () => (await handle.query(statusQuery)).stage, { timeout: 10_000, interval: 250 }).toBe('reminder-2');
      const result = await handle.result();
      expect(result).toEqual({ outcome: 'agency-closed', balanceMinor: 100_000 });
      const order = [...new Set(doubles.sent.map((s) => s.stepId))];
      expect(order).toEqual(FAST.steps.map((s) => s.id));
      // Second-scale calendar: handover ~1+5 s after the due instant, then 3 s listening.
      expect(Date.now() - started).toBeGreaterThan(7_000);
      expect(Date.now() - started).toBeLessThan(30_000);
      const desc = await handle.describe();
      expect(desc.searchAttributes.DunningStage).toEqual(['agency-closed']);
      expect(desc.searchAttributes.InvoiceNumber).toEqual([invoice.number]);
      const history = await handle.fetchHistory();
      expect(history.events?.length ?? 0).toBeLessThanOrEqual(150);
      await record('full-escalation', handle.workflowId);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('stops at the payment: paid after the first reminder, receipt sent, nothing after', async () => {
    const taskQueue = uniqueQueue('e2e');
    const doubles = makeDoubles();
    const worker = await startTestWorker(env, taskQueue, doubles.activities);
    try {
      const invoice = invoiceFixture({ dueDate: new Date().toISOString().slice(0, 10), dueAt: new Date(Date.now() + 2_000).toISOString() });
      const policy = { ...FAST, steps: FAST.steps.map((s, i) => ({ ...s, offset: i === 0 ? '-PT1S' : `PT${i * 3}S` })) };
      const handle = await env.client.workflow.start(invoiceDunning, { taskQueue, workflowId: workflowIdFor(invoice.number), args: [dunningInput(invoice, policy)] });
      await expect.poll(() => doubles.sent.map((s) => s.stepId).includes('reminder-1'), { timeout: 15_000, interval: 100 }).toBe(true);
      await handle.signal(paymentReceivedSignal, { paymentId: 'bank:1', amountMinor: 100_000, currency: 'EUR', receivedAt: new Date().toISOString(), source: 'bank' });
      expect(await handle.result()).toEqual({ outcome: 'paid', balanceMinor: 0 });
      await new Promise((r) => setTimeout(r, 3_500)); // past reminder-2's instant
      expect(doubles.sent.map((s) => `${s.stepId}/${s.channel}`)).toEqual(['courtesy/email', 'reminder-1/email', 'receipt/email']);
      await record('paid-after-reminder-1', handle.workflowId);
    } finally {
      await worker.stop();
    }
  }, 60_000);

  it('migrates a running invoice to a new policy version on request, keeping what was done', async () => {
    const taskQueue = uniqueQueue('e2e');
    const doubles = makeDoubles();
    const worker = await startTestWorker(env, taskQueue, doubles.activities);
    try {
      const invoice = invoiceFixture({ dueDate: new Date().toISOString().slice(0, 10), dueAt: new Date(Date.now() + 60_000).toISOString() });
      const v1 = { ...FAST, steps: FAST.steps.map((s, i) => ({ ...s, offset: i === 0 ? '-PT50S' : `PT${i * 60}S` })) };
      const handle = await env.client.workflow.start(invoiceDunning, { taskQueue, workflowId: workflowIdFor(invoice.number), args: [dunningInput(invoice, v1)] });
      await expect.poll(async () => (await handle.query(statusQuery)).completedSteps, { timeout: 20_000, interval: 100 }).toEqual(['courtesy']);
      const bad = await handle.executeUpdate(migratePolicyUpdate, { args: [{ policy: { ...v1, steps: [] } }] }).catch((e: Error) => e);
      expect(String((bad as Error & { cause?: Error }).cause?.message)).toMatch(/policy\.steps/);
      const v2 = { ...v1, version: 2, steps: v1.steps.filter((s) => s.id !== 'reminder-1').map((s) => (s.id === 'reminder-2' ? { ...s, offset: '-PT45S' } : s)) };
      const res = await handle.executeUpdate(migratePolicyUpdate, { args: [{ policy: v2, reason: 'calendar v2' }] });
      expect(res).toEqual({ from: 'e2e-fast@1', to: 'e2e-fast@2', nextStep: 'reminder-2' });
      // The activity runs before the workflow records the step done: wait on the workflow's own state.
      await expect.poll(async () => (await handle.query(statusQuery)).completedSteps, { timeout: 15_000, interval: 100 }).toEqual(['courtesy', 'reminder-2']);
      const st = await handle.query(statusQuery);
      expect(st.policy).toEqual({ id: 'e2e-fast', version: 2 });
      expect([...new Set(doubles.sent.map((s) => s.stepId))]).toEqual(['courtesy', 'reminder-2']);
      await record('migrate-policy', handle.workflowId);
      await handle.terminate('test over');
    } finally {
      await worker.stop();
    }
  }, 60_000);
});
