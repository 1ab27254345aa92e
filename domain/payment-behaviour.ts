// A customer's payment behaviour from its own history, and the risk class the policy rules
// read. Pure: the API gathers the facts (api/customer-behaviour.ts), this turns them into
// figures; docs/operations.md ("Payment behaviour and risk class") states the same rules.
//
// - Days late of a paid invoice = local date of the payment that settled it − due date,
//   never below 0 (paid early or on time = 0).
// - p90 by the nearest-rank method: the value at rank ⌈0.9 × n⌉ of the sorted list (no
//   interpolation: it is always a figure some invoice actually had).
// - "Paid after step": the last reminder sent before the settling payment ("none" when it
//   was paid before any reminder); shares are of the paid invoices, rounded to 0.1 %.
// - Risk class: C when broken promises + breached plans reach `cMinBroken`, or (with at
//   least one paid invoice) the average reaches `cMinAvgDaysLate` or the p90 reaches
//   `cMinP90DaysLate`; A when at least `aMinPaidInvoices` invoices were paid, none of them
//   made C, the average is at most `aMaxAvgDaysLate`, the p90 at most `aMaxP90DaysLate`,
//   and no promise or plan was broken; B otherwise (including too little history).
import { daysLate } from './overdue';

export const RISK_CLASSES = ['A', 'B', 'C'] as const;
export type RiskClass = (typeof RISK_CLASSES)[number];

export interface RiskThresholds {
  aMaxAvgDaysLate: number;
  aMaxP90DaysLate: number;
  aMinPaidInvoices: number;
  cMinAvgDaysLate: number;
  cMinP90DaysLate: number;
  cMinBroken: number;
}

export interface PaidInvoiceFact {
  number: string;
  /** YYYY-MM-DD */
  dueDate: string;
  /** YYYY-MM-DD, the customer's local date of the settling payment. */
  paidOn: string;
  /** The step of the last reminder sent before the settling payment; undefined: none. */
  lastStepBefore?: string;
}

export interface BehaviourFacts {
  paid: PaidInvoiceFact[];
  promisesMade: number;
  promisesBroken: number;
  plansAgreed: number;
  plansBreached: number;
}

export interface PaymentBehaviour {
  paidInvoices: number;
  averageDaysLate: number | null;
  p90DaysLate: number | null;
  /** Per step (or "none"), how many paid invoices were settled after it was the last reminder. */
  paidAfterStep: Array<{ step: string; invoices: number; sharePercent: number }>;
  promises: { made: number; broken: number };
  plans: { agreed: number; breached: number };
  riskClass: RiskClass;
  /** Why this class, in words, against the thresholds. */
  reasons: string[];
  thresholds: RiskThresholds;
}

/** Nearest-rank percentile of a non-empty list. */
export function nearestRank(values: readonly number[], percentile: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)];
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export function paymentBehaviour(facts: BehaviourFacts, t: RiskThresholds): PaymentBehaviour {
  const late = facts.paid.map((p) => daysLate(p.dueDate, p.paidOn));
  const n = late.length;
  const average = n ? round1(late.reduce((s, d) => s + d, 0) / n) : null;
  const p90 = n ? nearestRank(late, 90) : null;

  const byStep = new Map<string, number>();
  for (const p of facts.paid) byStep.set(p.lastStepBefore ?? 'none', (byStep.get(p.lastStepBefore ?? 'none') ?? 0) + 1);
  const paidAfterStep = [...byStep.entries()]
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .map(([step, invoices]) => ({ step, invoices, sharePercent: round1((invoices / n) * 100) }));

  const broken = facts.promisesBroken + facts.plansBreached;
  const reasons: string[] = [];
  let riskClass: RiskClass;
  if (broken >= t.cMinBroken) reasons.push(`${broken} broken promise(s) or breached plan(s) ≥ ${t.cMinBroken}`);
  if (average !== null && average >= t.cMinAvgDaysLate) reasons.push(`average days late ${average} ≥ ${t.cMinAvgDaysLate}`);
  if (p90 !== null && p90 >= t.cMinP90DaysLate) reasons.push(`p90 days late ${p90} ≥ ${t.cMinP90DaysLate}`);
  if (reasons.length) riskClass = 'C';
  else if (n >= t.aMinPaidInvoices && average! <= t.aMaxAvgDaysLate && p90! <= t.aMaxP90DaysLate && broken === 0) {
    riskClass = 'A';
    reasons.push(`${n} paid invoices, average ${average} ≤ ${t.aMaxAvgDaysLate}, p90 ${p90} ≤ ${t.aMaxP90DaysLate}, nothing broken`);
  } else {
    riskClass = 'B';
    if (n < t.aMinPaidInvoices) reasons.push(`${n} paid invoice(s): fewer than ${t.aMinPaidInvoices} to rate A`);
    if (average !== null && average > t.aMaxAvgDaysLate) reasons.push(`average days late ${average} > ${t.aMaxAvgDaysLate}`);
    if (p90 !== null && p90 > t.aMaxP90DaysLate) reasons.push(`p90 days late ${p90} > ${t.aMaxP90DaysLate}`);
    if (broken > 0) reasons.push(`${broken} broken promise(s) or breached plan(s)`);
  }
  return {
    paidInvoices: n,
    averageDaysLate: average,
    p90DaysLate: p90,
    paidAfterStep,
    promises: { made: facts.promisesMade, broken: facts.promisesBroken },
    plans: { agreed: facts.plansAgreed, breached: facts.plansBreached },
    riskClass,
    reasons,
    thresholds: t,
  };
}
