import type { RateTables } from '../../../domain/rates';
import type { InvoiceSnapshot, SendWindow } from '../../../domain/types';

/** Intl separates groups and currency with narrow / no-break spaces: fold them for assertions. */
export const plainSpaces = (s: string): string => s.replace(/[\u202f\u00a0]/g, ' ');

export const OFFICE: SendWindow = {
  enabled: true,
  start: '09:00',
  end: '18:00',
  businessDaysOnly: true,
  skipPublicHolidays: true,
};

export const PARIS = { timeZone: 'Europe/Paris', country: 'FR', window: OFFICE };

export function invoice(overrides: Partial<InvoiceSnapshot> = {}): InvoiceSnapshot {
  return {
    number: '1234',
    customer: {
      id: 'cust-1',
      name: 'Atelier Dupont',
      kind: 'B2B',
      email: 'compta@dupont.example',
      country: 'FR',
      language: 'fr',
      timeZone: 'Europe/Paris',
    },
    currency: 'EUR',
    amountMinor: 123456,
    depositMinor: 0,
    issueDate: '2026-02-13',
    dueDate: '2026-03-15',
    paymentLink: 'https://pay.example/i/1234',
    ...overrides,
  };
}

/** A rate-table document for tests: only the tables a case needs, nothing provisional unless said. */
export function rateTables(parts: Partial<Omit<RateTables, 'provisional'>> & { provisional?: Partial<RateTables['provisional']> } = {}): RateTables {
  return {
    version: parts.version ?? 'test',
    ecb: parts.ecb ?? {},
    legal: parts.legal ?? {},
    provisional: { ecb: parts.provisional?.ecb ?? [], legal: parts.provisional?.legal ?? [] },
  };
}
