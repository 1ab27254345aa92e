// Request and response shapes of the customer records (issue 17): contacts with roles,
// preferences, tags, agreed terms (each with who agreed and when), notes and call outcomes.
import { z } from 'zod';
import { NON_BLANK, CountryCode, CustomerSchema, DateOrInstant, Decimal, Email, InvoiceNumber, IsoInstant, MinorUnits, PostalAddressSchema, TimeZone } from './schemas';

export const CustomerParams = z.object({
  customerId: z.string().trim().min(1).max(100).openapi({ pattern: NON_BLANK }).openapi({ description: "The billing system's customer id (externalId)" }),
});

export const ContactRoleSchema = z.enum(['billing', 'cc', 'escalation']).openapi({
  description: 'billing: reminders are sent to them; cc: copied on every reminder email; escalation: formal steps and account manager',
});

export const ContactInputSchema = z
  .object({
    role: ContactRoleSchema,
    name: z.string().trim().min(1).max(200).openapi({ pattern: NON_BLANK }).optional(),
    email: Email.max(254).optional(),
    phone: z.string().trim().min(4).max(32).optional().openapi({ example: '+33612345678' }),
    language: z.enum(['fr', 'en']).optional(),
  })
  .refine((c) => c.email || c.phone, { message: 'a contact needs an email or a phone', path: ['email'] })
  // The refinement above, said in the document.
  .openapi('ContactInput', { anyOf: [{ required: ['email'] }, { required: ['phone'] }] });

const ChannelPreference = z.enum(['email', 'sms', 'letter', 'phone']);
const TAG_RE = /^[\p{L}\p{N} _.:/-]+$/u;
// The document gets the pattern's source: zod-to-openapi would append the regex flags ("/u").
const Tag = z.string().trim().min(1).max(64).regex(TAG_RE, 'letters, digits, space and _ . : / - only').openapi({ pattern: TAG_RE.source });
/** A registered component that may be null: anyOf [$ref, null] (`.nullable()` on it gives allOf [$ref, {type: [object, null]}], which null fails). */
const NullableAddress = z.union([PostalAddressSchema, z.null()]);

/** Who agreed (default: the API key's name) and when (default: now). */
const Agreement = {
  agreedBy: z.string().trim().min(1).max(200).openapi({ pattern: NON_BLANK }).optional(),
  agreedAt: IsoInstant.optional(),
};

export const AgreedTermsInputSchema = z
  .object({
    paymentTerm: z
      .object({ days: z.number().int().min(0).max(365), ...Agreement })
      .nullable()
      .optional()
      .openapi({ description: 'Days from the issue date to the due date of an invoice issued without one; null removes it' }),
    gracePeriod: z
      .object({ days: z.number().int().min(0).max(180), ...Agreement })
      .nullable()
      .optional()
      .openapi({ description: "Days the dunning calendar of the customer's invoices is pushed back; null removes it" }),
    policy: z
      .object({ policyId: z.string().trim().min(1).max(100).openapi({ pattern: NON_BLANK }), ...Agreement })
      .nullable()
      .optional()
      .openapi({ description: "Dunning policy of the customer's invoices when the invoice names none; null removes it" }),
    earlyPaymentDiscount: z
      .object({
        percent: z
          .string()
          // Above 0 and below 100, at most two decimals (what percentToBps takes), said as one pattern.
          .regex(/^(?:(?:[1-9]|0[1-9]|[1-9]\d)(?:\.\d{1,2})?|0{1,2}\.(?:[1-9]\d?|0[1-9]))$/, 'a percentage above 0 and below 100 with at most two decimals')
          .openapi({ description: 'e.g. "2" or "1.5" (%), at most two decimals' }),
        withinDays: z.number().int().min(1).max(365).openapi({ description: 'Paid within this many days of the issue date' }),
        ...Agreement,
      })
      .nullable()
      .optional()
      .openapi({ description: 'Printed in the courtesy message; null removes it' }),
  })
  .openapi('AgreedTermsInput');

const customerFields = {
  name: z.string().trim().min(1).max(200).openapi({ pattern: NON_BLANK }),
  email: Email.nullable(),
  phone: z.string().trim().min(4).max(32).nullable(),
  address: NullableAddress,
  language: z.enum(['fr', 'en']),
  timeZone: TimeZone,
  preferredChannels: z.array(ChannelPreference).max(4),
  doNotSms: z.boolean(),
  doNotCall: z.boolean(),
  approvalBeforeFormalSteps: z.boolean().openapi({
    description: "Formal steps (formal and final notices, agency handover) of the customer's invoices wait for a collector's approval (GET /v1/approvals)",
  }),
  tags: z.array(Tag).max(50),
  contacts: z.array(ContactInputSchema).max(50).openapi({ description: 'Replaces the whole list' }),
  agreedTerms: AgreedTermsInputSchema,
};

export const CustomerUpdateSchema = z.strictObject(customerFields).partial().openapi('CustomerUpdate');
export type CustomerUpdate = z.infer<typeof CustomerUpdateSchema>;

export const CustomerCreateSchema = z
  .strictObject({
    externalId: z.string().trim().min(1).max(100).openapi({ pattern: NON_BLANK }),
    kind: z.enum(['B2B', 'B2C']),
    country: CountryCode,
    ...customerFields,
  })
  .partial()
  .required({ externalId: true, name: true, kind: true, country: true })
  .openapi('CustomerCreate');
export type CustomerCreate = z.infer<typeof CustomerCreateSchema>;

const Agreed = { agreedBy: z.string().nullable(), agreedAt: z.string().nullable() };
export const CustomerRecordSchema = z
  .object({
    // The invoice's Customer fields, in their order; the record's address is the shared component or null.
    ...CustomerSchema.shape,
    address: NullableAddress,
    preferredChannels: z.array(z.string()),
    doNotSms: z.boolean(),
    doNotCall: z.boolean(),
    approvalBeforeFormalSteps: z.boolean(),
    tags: z.array(z.string()),
    contacts: z.array(
      z.object({
        id: z.string(),
        role: ContactRoleSchema,
        name: z.string().nullable(),
        email: z.string().nullable(),
        phone: z.string().nullable(),
        language: z.string().nullable(),
      }),
    ),
    agreedTerms: z.object({
      paymentTerm: z.object({ days: z.number().int(), ...Agreed }).nullable(),
      gracePeriod: z.object({ days: z.number().int(), ...Agreed }).nullable(),
      policy: z.object({ policyId: z.string(), ...Agreed }).nullable(),
      earlyPaymentDiscount: z.object({ percent: z.string(), withinDays: z.number().int(), ...Agreed }).nullable(),
    }),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('CustomerRecord');

export const CustomerListQuerySchema = z.object({
  q: z.string().trim().min(1).max(200).openapi({ pattern: NON_BLANK }).optional().openapi({ description: 'Part of the name, external id or an email address' }),
  tag: Tag.optional().openapi({ description: 'Only customers with this tag' }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.uuid().optional().openapi({ description: 'nextCursor of the previous page (an unknown one gives an empty page)' }),
});

export const CustomerListSchema = z
  .object({ items: z.array(CustomerRecordSchema), nextCursor: z.string().nullable() })
  .openapi('CustomerList');

export const CustomerPageSchema = CustomerRecordSchema.extend({
  invoices: z.array(
    z.object({
      number: z.string(),
      issueDate: z.string(),
      dueDate: z.string(),
      currency: z.string(),
      amount: z.string(),
      balance: z.string(),
      balanceMinor: MinorUnits,
      stage: z.string(),
      outcome: z.string().nullable(),
      closedAt: z.string().nullable(),
    }),
  ),
  balances: z.array(z.object({ currency: z.string(), openInvoices: z.number().int(), balance: z.string(), balanceMinor: MinorUnits })),
  riskClass: z.enum(['A', 'B', 'C']).openapi({ description: 'From the payment behaviour (GET …/behaviour gives the figures and reasons)' }),
}).openapi('CustomerPage');

export const NoteRequestSchema = z
  .object({
    text: z.string().trim().min(1).max(5000).openapi({ pattern: NON_BLANK }),
    invoiceNumber: InvoiceNumber.optional().openapi({ description: 'On the customer page: attach the note to one of its invoices' }),
  })
  .openapi('NoteRequest');

export const CallOutcomeRequestSchema = z
  .object({
    outcome: z.enum(['reached', 'no-answer', 'promised', 'disputed']),
    text: z.string().trim().min(1).max(5000).openapi({ pattern: NON_BLANK }).optional(),
    invoiceNumber: InvoiceNumber.optional().openapi({ description: 'On the customer page: the invoice the call was about' }),
    promisedDate: DateOrInstant.optional().openapi({ description: 'Required with outcome promised: recorded as a promise to pay' }),
    promisedAmount: Decimal.optional(),
    phoneTaskId: z.uuid().optional().openapi({ description: 'The phone task (timeline event) this call closes' }),
  })
  .openapi('CallOutcomeRequest');

export const NoteSchema = z
  .object({ id: z.string(), customerId: z.string(), invoiceNumber: z.string().nullable(), text: z.string(), author: z.string(), at: z.string() })
  .openapi('Note');

export const CallOutcomeSchema = z
  .object({
    id: z.string(),
    customerId: z.string(),
    invoiceNumber: z.string().nullable(),
    outcome: z.string(),
    text: z.string().nullable(),
    promisedDate: z.string().nullable(),
    promisedAmountMinor: MinorUnits.nullable(),
    phoneTaskId: z.string().nullable(),
    author: z.string(),
    at: z.string(),
    promise: z.object({ until: z.string() }).optional().openapi({ description: "The workflow's answer to the promise to pay" }),
  })
  .openapi('CallOutcome');

export const CustomerTimelineSchema = z
  .object({
    customerId: z.string(),
    entries: z.array(
      z.object({
        at: z.string(),
        kind: z.enum(['event', 'communication', 'action', 'note', 'call']).openapi({ description: "action: a staff action from the audit log (the invoices' timelines merged)" }),
        type: z.string(),
        invoiceNumber: z.string().nullable(),
        detail: z.record(z.string(), z.unknown()),
      }),
    ),
  })
  .openapi('CustomerTimeline');
