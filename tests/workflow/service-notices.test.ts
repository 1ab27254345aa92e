// Service notices (plan confirmed, plan breached) through the production path: the
// workflow under time skipping, the real email activity (communication log in PGlite,
// rendering, nodemailer) and a real SMTP server, the mail sink, reading what arrived.
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendEmail } from '../../activities/email';
import { workflowIdFor } from '../../contracts/ids';
import { proposeInstalmentPlanUpdate, statusQuery } from '../../contracts/messages';
import { FR_B2B_DEFAULT } from '../../domain/policy';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { memoryLogger, seedInvoice, startTestDb, testConfig, type TestDb } from '../channels/support';
import { cleanup, dunningInput, invoiceDunning, invoiceFixture, makeDoubles, parisDatePlus, startTestWorker, uniqueQueue, useTestEnv } from './harness';

let env: TestWorkflowEnvironment;
let db: TestDb;
let sink: MailSink;

useTestEnv((e) => (env = e));
beforeAll(async () => {
  [db, sink] = await Promise.all([startTestDb(), startMailSink({ smtpPort: 0, webPort: 0 })]);
}, 180_000);

afterAll(async () => {
  await Promise.all([sink?.stop(), db?.stop()]);
});

/** Doubles for every activity but email, which is the real one against the sink. */
function activities() {
  const deps = { prisma: db.prisma, config: testConfig({ SMTP_PORT: String(sink.smtpPort) }), log: memoryLogger() };
  return { ...makeDoubles().activities, sendEmail: createSendEmail(deps) };
}

async function startInvoice(taskQueue: string) {
  const now = await env.currentTimeMs();
  const invoice = invoiceFixture({ dueDate: parisDatePlus(now, 10) });
  await seedInvoice(db.prisma, invoice);
  const handle = await env.client.workflow.start(invoiceDunning, {
    taskQueue,
    workflowId: workflowIdFor(invoice.number),
    args: [dunningInput(invoice, FR_B2B_DEFAULT)],
  });
  return { handle, invoice, now };
}

/** Mails to the invoice's customer about it, polled in real time (activities run in real time). */
async function mailsAbout(number: string, count: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const mails = sink.messages().filter((m) => m.subject?.includes(number));
    if (mails.length >= count || Date.now() > deadline) return mails;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const frDate = (d: string) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;
const instalmentLine = (d: string, euros: string) => new RegExp(`${frDate(d).replace(/\//g, '\\/')} : ${euros}[\\s\\u202f\\u00a0]€`);

describe('plan-confirmed email', () => {
  it('lists the instalments agreed', async () => {
    const taskQueue = uniqueQueue('notices');
    const worker = await startTestWorker(env, taskQueue, activities());
    const { handle, invoice, now } = await startInvoice(taskQueue);
    try {
      const first = parisDatePlus(now, 20);
      const second = parisDatePlus(now, 50);
      await handle.executeUpdate(proposeInstalmentPlanUpdate, {
        args: [{ instalments: [{ due: first, amountMinor: 40_000 }, { due: second, amountMinor: 60_000 }] }],
      });
      const [mail, ...others] = await mailsAbout(invoice.number, 1);
      expect(others).toHaveLength(0);
      expect(mail!.subject).toBe(`Échéancier confirmé – facture n°${invoice.number}`);
      expect(mail!.text).toMatch(instalmentLine(first, '400,00'));
      expect(mail!.text).toMatch(instalmentLine(second, '600,00'));
    } finally {
      await cleanup(handle, worker);
    }
  });

  it('two plan updates in one activation: each is confirmed, the second with its own instalments', async () => {
    const taskQueue = uniqueQueue('notices');
    // No sticky queue: a workflow task must not wait for the stopped worker's cache.
    let worker = await startTestWorker(env, taskQueue, activities(), { maxCachedWorkflows: 0 });
    const { handle, invoice, now } = await startInvoice(taskQueue);
    try {
      // Waiting for the courtesy step: then both updates reach the next workflow task together.
      expect((await handle.query(statusQuery)).nextAction?.stepId).toBe('courtesy');
      await worker.stop();
      const a = parisDatePlus(now, 20);
      const b = parisDatePlus(now, 30);
      const updates = [
        handle.executeUpdate(proposeInstalmentPlanUpdate, { args: [{ instalments: [{ due: a, amountMinor: 100_000 }] }] }),
        handle.executeUpdate(proposeInstalmentPlanUpdate, { args: [{ instalments: [{ due: a, amountMinor: 50_000 }, { due: b, amountMinor: 50_000 }] }] }),
      ];
      // Both admitted by the server before a worker polls again.
      await new Promise((r) => setTimeout(r, 1_500));
      worker = await startTestWorker(env, taskQueue, activities());
      await Promise.all(updates);

      const mails = await mailsAbout(invoice.number, 2);
      expect(mails.map((m) => m.subject)).toEqual([`Échéancier confirmé – facture n°${invoice.number}`, `Échéancier confirmé – facture n°${invoice.number}`]);
      // Each confirmation lists its own plan (the sink's order is not asserted).
      const firstPlan = mails.filter((m) => instalmentLine(a, '1[\\s\\u202f\\u00a0]000,00').test(m.text ?? ''));
      const secondPlan = mails.filter((m) => instalmentLine(a, '500,00').test(m.text ?? '') && instalmentLine(b, '500,00').test(m.text ?? ''));
      expect([firstPlan.length, secondPlan.length]).toEqual([1, 1]);
      const rows = await db.prisma.communication.findMany({ where: { invoiceNumber: invoice.number }, orderBy: { createdAt: 'asc' } });
      expect(rows.map((r) => r.status)).toEqual(['SENT', 'SENT']);
      expect(new Set(rows.map((r) => r.idempotencyKey)).size).toBe(2);
    } finally {
      await cleanup(handle, worker);
    }
  });
});
