// Who a message goes to, read from the customer's record when it is sent (not from the
// workflow's input): an address changed while an invoice runs reaches its next reminder,
// and the contacts' data need not travel through Temporal. Billing contacts are the
// recipients, CC contacts are copied on emails; without contacts, the record's own email
// and phone; without a record (an invoice whose row is not written yet), the snapshot.
import { addDays } from '../domain/dates';
import type { PrismaClient } from '../prisma/client';
import type { InvoiceSnapshot, Language } from '../domain/types';
import type { EarlyPaymentDiscount } from '../domain/templates';
import type { SendInput } from './types';

export interface ResolvedContacts {
  /** The send input with the customer as the record says now (name, email, phone, address, language). */
  input: SendInput;
  /** Email recipients: the billing contacts' addresses, or the customer's email. */
  emailTo: string[];
  /** Copied on every reminder email. */
  emailCc: string[];
  /** The number an SMS or a call goes to. */
  phone?: string;
  doNotSms: boolean;
  doNotCall: boolean;
  /** The agreed early-payment discount, printed in the courtesy message while it applies. */
  earlyPaymentDiscount?: EarlyPaymentDiscount;
}

const uniq = (xs: Array<string | null | undefined>) => [...new Set(xs.map((x) => x?.trim()).filter((x): x is string => !!x))];

export async function resolveContacts(prisma: PrismaClient, input: SendInput): Promise<ResolvedContacts> {
  const snap = input.invoice.customer;
  const record = await prisma.customer.findUnique({
    where: { externalId: snap.id },
    include: { contacts: { orderBy: { createdAt: 'asc' } } },
  });
  if (!record) {
    return { input, emailTo: uniq([snap.email]), emailCc: [], phone: snap.phone, doNotSms: false, doNotCall: false };
  }
  const billing = record.contacts.filter((c) => c.role === 'BILLING');
  const emailTo = uniq(billing.some((c) => c.email) ? billing.map((c) => c.email) : [record.email]);
  const emailCc = uniq(record.contacts.filter((c) => c.role === 'CC').map((c) => c.email)).filter((e) => !emailTo.includes(e));
  const phone = uniq([...billing.map((c) => c.phone), record.phone])[0];
  const language = (billing.find((c) => c.language)?.language ?? record.language) as Language;
  const address =
    record.addressLines.length && record.postalCode && record.city
      ? { lines: record.addressLines, postalCode: record.postalCode, city: record.city, country: record.country }
      : snap.address;
  const customer: InvoiceSnapshot['customer'] = {
    ...snap,
    name: record.name,
    email: emailTo[0],
    phone,
    address,
    language: language === 'fr' || language === 'en' ? language : snap.language,
  };
  const discount =
    record.earlyPaymentDiscountBps != null && record.earlyPaymentDiscountDays != null
      ? { bps: record.earlyPaymentDiscountBps, until: addDays(input.invoice.issueDate, record.earlyPaymentDiscountDays) }
      : undefined;
  return {
    input: { ...input, invoice: { ...input.invoice, customer } },
    emailTo,
    emailCc,
    phone,
    doNotSms: record.doNotSms,
    doNotCall: record.doNotCall,
    earlyPaymentDiscount: discount,
  };
}
