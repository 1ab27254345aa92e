// Records activities: timeline events (idempotent by eventKey, linked to the invoice row
// when there is one), the invoice mirror, the journal transaction, phone tasks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordActivities } from '../../activities/records';
import { invoiceFixture, runActivity, seedInvoice, startTestDb } from './support';
import type { TestDb } from './support';

let db: TestDb;
let records: ReturnType<typeof createRecordActivities>;

beforeAll(async () => {
  db = await startTestDb();
  records = createRecordActivities({ prisma: db.prisma });
});

afterAll(async () => {
  await db?.stop();
});

describe('records', () => {
  it('journal inserts an event once per eventKey and links the invoice row', async () => {
    const invoice = invoiceFixture();
    const invoiceId = await seedInvoice(db.prisma, invoice);
    const event = {
      workflowId: `invoice-${invoice.number}`,
      invoiceNumber: invoice.number,
      eventKey: `invoice-${invoice.number}/step/reminder-1`,
      type: 'step-run',
      at: '2026-02-11T09:00:00.000Z',
      data: { stepId: 'reminder-1', channels: ['email'] },
    };

    await runActivity(records.journal, { events: [event] });
    await runActivity(records.journal, { events: [{ ...event, data: { changed: true } }] });

    const rows = await db.prisma.dunningEvent.findMany({ where: { eventKey: event.eventKey } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ invoiceId, type: 'step-run', data: { stepId: 'reminder-1', channels: ['email'] } });
    expect(rows[0]!.at.toISOString()).toBe(event.at);
  });

  it('an event is journalled without an invoice row (invoiceId null)', async () => {
    await runActivity(records.journal, { events: [{ workflowId: 'w', invoiceNumber: 'NOPE-1', eventKey: 'w/1', type: 't', at: new Date().toISOString(), data: {} }] });
    expect(await db.prisma.dunningEvent.findUnique({ where: { eventKey: 'w/1' } })).toMatchObject({ invoiceId: null, invoiceNumber: 'NOPE-1' });
  });

  it('the journal mirrors stage, balance, outcome and closedAt; a missing row is a no-op', async () => {
    const invoice = invoiceFixture();
    await seedInvoice(db.prisma, invoice);

    await runActivity(records.journal, { events: [], state: { invoiceNumber: invoice.number, stage: 'reminder-2', balanceMinor: 80_000 } });
    let row = await db.prisma.invoice.findUniqueOrThrow({ where: { number: invoice.number } });
    expect(row).toMatchObject({ stage: 'reminder-2', balanceMinor: 80_000n, outcome: null, closedAt: null });

    await runActivity(records.journal, { events: [], state: { invoiceNumber: invoice.number, stage: 'paid', balanceMinor: 0, outcome: 'paid', closedAt: '2026-03-01T10:00:00.000Z' } });
    row = await db.prisma.invoice.findUniqueOrThrow({ where: { number: invoice.number } });
    expect(row).toMatchObject({ stage: 'paid', balanceMinor: 0n, outcome: 'paid' });
    expect(row.closedAt?.toISOString()).toBe('2026-03-01T10:00:00.000Z');

    await expect(runActivity(records.journal, { events: [], state: { invoiceNumber: 'NOPE-2', stage: 'x', balanceMinor: 1 } })).resolves.toBeUndefined();
  });

  it('journal writes events and state together and skips replayed events', async () => {
    const invoice = invoiceFixture();
    await seedInvoice(db.prisma, invoice);
    const wf = `invoice-${invoice.number}`;
    const events = [1, 2].map((i) => ({ workflowId: wf, invoiceNumber: invoice.number, eventKey: `${wf}/j/${i}`, type: 'payment', at: '2026-02-20T08:00:00.000Z', data: { i } }));
    const input = { events, state: { invoiceNumber: invoice.number, stage: 'reminder-1', balanceMinor: 50_000 } };

    await runActivity(records.journal, input);
    await runActivity(records.journal, input);

    expect(await db.prisma.dunningEvent.count({ where: { invoiceNumber: invoice.number } })).toBe(2);
    expect((await db.prisma.invoice.findUniqueOrThrow({ where: { number: invoice.number } })).balanceMinor).toBe(50_000n);
  });

  it('createPhoneTask records a phone-task event once and returns its id', async () => {
    const invoice = invoiceFixture();
    const input = { idempotencyKey: `invoice-${invoice.number}/reminder-1/phone`, workflowId: `invoice-${invoice.number}`, stepId: 'reminder-1', invoice, balanceMinor: 120_000 };

    const first = await runActivity(records.createPhoneTask, input);
    const second = await runActivity(records.createPhoneTask, input);

    expect(second.taskId).toBe(first.taskId);
    const event = await db.prisma.dunningEvent.findUniqueOrThrow({ where: { id: first.taskId } });
    expect(event).toMatchObject({ type: 'phone-task', eventKey: input.idempotencyKey });
    expect(event.data).toMatchObject({ stepId: 'reminder-1', phone: '06 12 34 56 78', balanceMinor: 120_000 });
  });
});
