// Representations shared by the routes: decimals from minor units, dates, DTOs.
import { utcDate } from '../domain/dates';
import { minorUnits, parseDecimalToMinor } from '../domain/money';
import type { Customer, Invoice } from '../prisma/client';
import { problems } from './problem';

/** 123456 EUR → "1234.56"; 5 JPY → "5". */
export function minorToDecimal(minor: number | bigint, currency: string): string {
  const digits = minorUnits(currency);
  const n = BigInt(minor);
  const sign = n < 0n ? '-' : '';
  const abs = (n < 0n ? -n : n).toString().padStart(digits + 1, '0');
  return digits === 0 ? sign + abs : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/** Decimal string → minor units, or a 422 naming `field` (precision beyond the currency's). */
export function decimalField(value: string, currency: string, field: string, opts: { positive?: boolean } = {}): number {
  let minor: number;
  try {
    minor = parseDecimalToMinor(value, currency);
  } catch (err) {
    throw problems.field(field, (err as Error).message);
  }
  if (opts.positive && minor <= 0) throw problems.field(field, 'must be greater than zero');
  return minor;
}

/** A DATE column (read as UTC midnight) as YYYY-MM-DD. */
export const isoDay = (d: Date): string => utcDate(d);
export const dayToDate = (day: string): Date => new Date(`${day}T00:00:00.000Z`);

export type InvoiceWithCustomer = Invoice & { customer: Customer };

export function customerDto(c: Customer) {
  return {
    externalId: c.externalId,
    name: c.name,
    kind: c.kind,
    email: c.email,
    phone: c.phone,
    address:
      c.addressLines.length && c.postalCode && c.city
        ? { lines: c.addressLines, postalCode: c.postalCode, city: c.city, country: c.country }
        : null,
    country: c.country,
    language: c.language,
    timeZone: c.timeZone,
  };
}

export function invoiceDto(inv: InvoiceWithCustomer) {
  const cur = inv.currency;
  return {
    number: inv.number,
    workflowId: inv.workflowId,
    issueDate: isoDay(inv.issueDate),
    dueDate: isoDay(inv.dueDate),
    currency: cur,
    amount: minorToDecimal(inv.amountMinor, cur),
    amountMinor: Number(inv.amountMinor),
    deposit: minorToDecimal(inv.depositMinor, cur),
    depositMinor: Number(inv.depositMinor),
    balance: minorToDecimal(inv.balanceMinor, cur),
    balanceMinor: Number(inv.balanceMinor),
    paymentLink: inv.paymentLink,
    policy: { id: inv.policyId, version: inv.policyVersion },
    stage: inv.stage,
    outcome: inv.outcome,
    closedAt: inv.closedAt?.toISOString() ?? null,
    createdAt: inv.createdAt.toISOString(),
    customer: customerDto(inv.customer),
  };
}
