// The risk class rules and their thresholds from the configuration (RISK_*).
import { describe, expect, it } from 'vitest';
import { riskThresholdsOf } from '../../../api/customer-behaviour';
import { loadConfig } from '../../../config/index';
import { daysLate } from '../../../domain/overdue';
import { nearestRank, paymentBehaviour, type BehaviourFacts } from '../../../domain/payment-behaviour';

const paid = (days: number[]): BehaviourFacts['paid'] =>
  days.map((d, i) => ({ number: `P${i}`, dueDate: '2026-01-31', paidOn: new Date(Date.UTC(2026, 0, 31 + d)).toISOString().slice(0, 10) }));
const facts = (days: number[], broken = 0): BehaviourFacts => ({ paid: paid(days), promisesMade: broken, promisesBroken: broken, plansAgreed: 0, plansBreached: 0 });
const defaults = riskThresholdsOf(loadConfig({ NODE_ENV: 'test' }));

describe('payment behaviour', () => {
  it('days late never below zero; p90 by nearest rank', () => {
    expect(daysLate('2026-03-31', '2026-03-20')).toBe(0);
    expect(daysLate('2026-03-31', '2026-04-02')).toBe(2);
    // 10 values: rank ⌈9⌉ = 9th; 11 values: rank ⌈9.9⌉ = 10th.
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(nearestRank([11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(10);
  });

  it('A, B and C with the default thresholds', () => {
    expect(defaults).toEqual({ aMaxAvgDaysLate: 5, aMaxP90DaysLate: 15, aMinPaidInvoices: 3, cMinAvgDaysLate: 30, cMinP90DaysLate: 60, cMinBroken: 2 });
    expect(paymentBehaviour(facts([0, 2, 4]), defaults).riskClass).toBe('A'); // avg 2, p90 4
    expect(paymentBehaviour(facts([0, 2]), defaults).riskClass).toBe('B'); // too little history
    expect(paymentBehaviour(facts([]), defaults)).toMatchObject({ riskClass: 'B', averageDaysLate: null, p90DaysLate: null, paidAfterStep: [] });
    expect(paymentBehaviour(facts([0, 2, 4], 1), defaults).riskClass).toBe('B'); // a broken promise
    expect(paymentBehaviour(facts([0, 2, 4], 2), defaults).riskClass).toBe('C');
    expect(paymentBehaviour(facts([0, 0, 0, 0, 0, 0, 0, 0, 0, 61]), defaults).riskClass).toBe('B'); // p90 = 0, avg 6.1
    expect(paymentBehaviour(facts([0, 0, 0, 0, 0, 0, 0, 0, 61, 61]), defaults)).toMatchObject({ riskClass: 'C', p90DaysLate: 61 });
    expect(paymentBehaviour(facts([30, 30, 30]), defaults).reasons).toEqual(['average days late 30 ≥ 30']);
  });

  it('the thresholds come from the configuration', () => {
    const strict = riskThresholdsOf(loadConfig({ NODE_ENV: 'test', RISK_C_MIN_P90_DAYS_LATE: '4', RISK_A_MIN_PAID_INVOICES: '1' }));
    expect(paymentBehaviour(facts([0, 2, 4]), strict).riskClass).toBe('C');
    expect(paymentBehaviour(facts([1]), strict).riskClass).toBe('A');
    expect(() => loadConfig({ NODE_ENV: 'test', RISK_C_MIN_BROKEN: '0' })).toThrow(/RISK_C_MIN_BROKEN/);
  });
});
