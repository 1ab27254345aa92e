// The pure decisions of a customer's conversation (issue 18), without a server.
import { describe, expect, it } from 'vitest';
import {
  batchTemplate,
  batchTotals,
  consolidates,
  consolidationOf,
  dueForBatch,
  nextBatchAt,
  nextWake,
  selectBatch,
  type BatchLine,
  type QueuedStep,
} from '../../../domain/consolidation';
import { daysLate } from '../../../domain/overdue';
import { getBuiltinPolicy, parsePolicy } from '../../../domain/policy';
import { publicHolidays } from '../../../domain/schedule';
import { renderBatchMessage, renderBatchSms } from '../../../domain/templates/batch';
import { SMS_MAX_LENGTH } from '../../../domain/templates/render';

// Version 1: the published calendar that does not say `consolidate` (version 2 says friendly).
const policy = getBuiltinPolicy('fr-b2b-default', 1);
const window = policy.sendWindow;
const paris = (iso: string) => new Date(iso).toLocaleString('sv-SE', { timeZone: 'Europe/Paris' });
const at = (fromIso: string, batch = '09:30') =>
  paris(nextBatchAt({ fromMs: Date.parse(fromIso), timeZone: 'Europe/Paris', country: 'FR', at: batch, window, holidays: publicHolidays }));

const item = (n: number, batchAt: string, templateId = 'reminder-1'): QueuedStep => ({
  invoiceNumber: `F-${n}`,
  workflowId: `invoice-F-${n}`,
  stepId: templateId,
  templateId,
  stepIndex: 1,
  channel: 'email',
  queuedAt: batchAt,
  batchAt,
});
const line = (n: number, over: Partial<BatchLine> = {}): BatchLine => ({
  invoiceNumber: `F-${n}`,
  stepId: 'reminder-1',
  templateId: 'reminder-1',
  stepIndex: 1,
  currency: 'EUR',
  issueDate: '2026-11-01',
  dueDate: '2026-12-01',
  amountMinor: 120_000,
  balanceMinor: 100_000,
  daysLate: 7,
  penaltiesMinor: 4_300,
  paymentLink: 'https://pay.example.test/c/42',
  knownPaymentIds: [],
  ...over,
});

describe('which steps a batch takes', () => {
  it('only the email of friendly steps, only when the policy says friendly (absent = off)', () => {
    const reminder = policy.steps.find((s) => s.id === 'reminder-1')!;
    const formal = policy.steps.find((s) => s.id === 'formal-notice')!;
    expect(consolidationOf(policy)).toEqual({ mode: 'off', at: '09:30', waitFor: 'PT1H' });
    expect(consolidates(policy, reminder, 'email')).toBe(false);
    const on = { ...policy, consolidate: 'friendly' as const };
    expect(consolidates(on, reminder, 'email')).toBe(true);
    expect(consolidates(on, reminder, 'phone')).toBe(false);
    // A formal step is never hidden in a friendly email, whatever its channel.
    expect(consolidates(on, formal, 'email')).toBe(false);
    expect(consolidates(on, { templateId: 'reminder-2', channels: ['email', 'letter'] }, 'email')).toBe(false);
  });

  it('the policy fields are validated', () => {
    expect(parsePolicy({ ...policy, consolidate: 'friendly', consolidateAt: '10:15', consolidateWaitFor: 'PT30M' }).consolidateAt).toBe('10:15');
    expect(() => parsePolicy({ ...policy, consolidate: 'daily' })).toThrow(/consolidate must be /);
    expect(() => parsePolicy({ ...policy, consolidateAt: '9h30' })).toThrow(/consolidateAt must be a local time/);
    expect(() => parsePolicy({ ...policy, consolidateWaitFor: '-PT1H' })).toThrow(/consolidateWaitFor must not be negative/);
  });
});

describe('when the batch goes', () => {
  it('the same business day at the batch time when the step falls due before it, else the next business day', () => {
    // Tuesday 1 December 2026, 09:00 Paris (08:00Z): the same day's 09:30.
    expect(at('2026-12-01T08:00:00Z')).toBe('2026-12-01 09:30:00');
    // 10:00 Paris: the next day's.
    expect(at('2026-12-01T09:00:00Z')).toBe('2026-12-02 09:30:00');
    // Friday after the batch: Monday (weekend skipped).
    expect(at('2026-12-04T10:00:00Z')).toBe('2026-12-07 09:30:00');
    // Christmas Eve after the batch: not the 25th (public holiday), not the weekend: Monday 28.
    expect(at('2026-12-24T10:00:00Z')).toBe('2026-12-28 09:30:00');
    expect(at('2026-12-01T08:00:00Z', '14:00')).toBe('2026-12-01 14:00:00');
  });

  it('the earliest pending batch wakes the workflow; only the steps whose batch time came go', () => {
    const a = item(1, '2026-12-01T08:30:00.000Z');
    const b = item(2, '2026-12-02T08:30:00.000Z');
    expect(nextWake([b, a])).toBe(a.batchAt);
    expect(nextWake([])).toBeUndefined();
    expect(dueForBatch([a, b], Date.parse('2026-12-01T08:30:00Z'))).toEqual({ due: [a], later: [b] });
  });
});

describe('what the batch lists', () => {
  it('the invoices still due, by number; the others with their reason; the template of the most advanced step', () => {
    const items = [item(3, 'x'), item(1, 'x'), item(2, 'x', 'reminder-2'), item(4, 'x')];
    const { lines, dropped } = selectBatch(items, [
      { due: true, line: line(3) },
      { due: true, line: line(1, { templateId: 'courtesy', stepIndex: 0 }) },
      { due: true, line: line(2, { templateId: 'reminder-2', stepIndex: 2 }) },
      { due: false, reason: 'paid' },
    ]);
    expect(lines.map((l) => l.invoiceNumber)).toEqual(['F-1', 'F-2', 'F-3']);
    expect(dropped).toEqual([{ item: items[3], reason: 'paid' }]);
    expect(batchTemplate(lines)).toBe('reminder-2');
    expect(batchTemplate([line(1, { templateId: 'courtesy' })])).toBe('courtesy');
    expect(batchTotals(lines)).toEqual([{ currency: 'EUR', balanceMinor: 300_000, penaltiesMinor: 12_900 }]);
    expect(daysLate('2026-12-01', '2026-12-08')).toBe(7);
    expect(daysLate('2026-12-01', '2026-11-28')).toBe(0);
  });

  it('renders one message: each invoice with its dates, amount, balance, days late and penalties; the total; one link', () => {
    const m = renderBatchMessage({
      templateId: 'reminder-1',
      language: 'en',
      customerName: 'Martin SARL',
      lines: [line(1), line(2, { balanceMinor: 50_000, penaltiesMinor: 0, daysLate: 1 })],
      asOf: '2026-12-08',
      creditor: { name: 'Atelier Durand', email: 'compta@durand.test' },
      paymentLink: 'https://pay.example.test/c/42',
    });
    expect(m.subject).toBe('Atelier Durand – Reminder: 2 overdue invoices');
    expect(m.text).toContain('Invoice F-1 of 01/11/2026, due 01/12/2026: amount €1,200.00, balance €1,000.00, 7 days late, penalties €43.00');
    expect(m.text).toContain('Invoice F-2 of 01/11/2026, due 01/12/2026: amount €1,200.00, balance €500.00, 1 day late');
    expect(m.text).toContain('Total balance due: €1,500.00');
    expect(m.text.match(/https:\/\/pay\.example\.test\/c\/42/g)).toHaveLength(1);
    expect(m.html).toContain('<a href="https://pay.example.test/c/42">');
  });
  it('the batch SMS: the count, the total, the oldest due date and the link whole, within two segments however many invoices', () => {
    const sms = renderBatchSms({ templateId: 'reminder-1', language: 'en', lines: [line(1), line(2, { balanceMinor: 50_000, dueDate: '2026-11-20' })], asOf: '2026-12-08', creditor: { name: 'Atelier Durand' }, paymentLink: 'https://pay.example.test/c/42' });
    expect(sms).toBe('Atelier Durand: 2 unpaid invoices (oldest due 20/11/2026), total balance €1,500.00. Pay: https://pay.example.test/c/42');
    // A long creditor name and a long link: the sentence gives way, never the link.
    const link = `https://pay.example.test/${'x'.repeat(120)}`;
    const long = renderBatchSms({ templateId: 'reminder-2', language: 'fr', lines: Array.from({ length: 40 }, (_, i) => line(i)), asOf: '2026-12-08', creditor: { name: 'Ateliers '.repeat(20) }, paymentLink: link });
    expect(long.length).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    expect(long.endsWith(`Payer : ${link}`)).toBe(true);
    expect(() => renderBatchSms({ templateId: 'reminder-1', language: 'fr', lines: [], asOf: '2026-12-08', creditor: { name: 'x' } })).toThrow(/empty/);
  });
});
