// Request and response schemas of the HTTP API (zod), the source of both validation
// and the OpenAPI document (zod-to-openapi).
//
// Money in request bodies is a decimal string in the invoice's currency ("1234.56";
// at most as many decimals as the currency has: EUR 2, JPY 0) — never a float. Responses
// carry both the decimal string and the integer minor units (`amountMinor`). Webhook
// bodies use integer minor units, as payment providers do.
import { extendZodWithOpenApi, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { AgencyOutcomeStatusSchema, CancelReasonSchema, DisputeOutcomeSchema } from '../contracts/message-schemas';
import { isCalendarDate } from '../domain/dates';

extendZodWithOpenApi(z);

// ---------------------------------------------------------------- primitives

export const INVOICE_NUMBER_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

// Building an Intl.DateTimeFormat costs ~0.3 ms: memoise the verdict per zone string
// (bounded, so junk input cannot grow it without limit). See docs/benchmarks.md.
const zoneVerdicts = new Map<string, boolean>();
export function isIanaTimeZone(zone: string): boolean {
  const known = zoneVerdicts.get(zone);
  if (known !== undefined) return known;
  let ok: boolean;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    ok = zone.includes('/') || zone === 'UTC';
  } catch {
    ok = false;
  }
  if (zoneVerdicts.size < 2_000) zoneVerdicts.set(zone, ok);
  return ok;
}

// Enumerated in the document, so a client (or a fuzzer) knows the codes the API accepts.
const currencies = Intl.supportedValuesOf('currency') as [string, ...string[]];

/** A trimmed string of at least one character, said in the document: something else than blanks (and no NUL). */
export const NON_BLANK = '^[^\\u0000]*[^\\u0000\\s][^\\u0000]*$';

export const InvoiceNumber = z
  .string()
  .regex(INVOICE_NUMBER_RE, 'must be 1-64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit')
  .openapi({ example: 'F-2026-0042' });
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine(isCalendarDate, 'is not a calendar date')
  .openapi({ format: 'date', example: '2026-03-31' });
export const IsoInstant = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 instant with offset, e.g. 2026-03-31T10:00:00Z' })
  .openapi({ format: 'date-time' });
export const DateOrInstant = z
  .union([IsoDate, IsoInstant])
  .openapi({ description: 'YYYY-MM-DD (end of that day in the customer time zone) or an ISO instant' });
// At most 11 digits before the point: the amount in minor units (up to 4 decimals) stays a
// safe integer, so a number the document allows is never "too large" (a 422 it did not state).
const WHOLE = '\\d{1,11}';
// Above zero without lookaheads: the first non-zero digit at each of the 11 places.
const NON_ZERO_WHOLE = Array.from({ length: 11 }, (_, k) => `0{${k}}[1-9]\\d{0,${10 - k}}`).join('|');
export const Decimal = z
  .string()
  .regex(new RegExp(`^${WHOLE}(\\.\\d+)?$`), 'must be a non-negative decimal string such as "1234.56", at most 11 digits before the point')
  .openapi({ example: '1200.00', description: 'Decimal string in the invoice currency' });
/** A Decimal above zero (amounts to pay); the pattern says so in the document. */
export const PositiveDecimal = z
  .string()
  .regex(new RegExp(`^(?:(?:${NON_ZERO_WHOLE})(?:\\.\\d+)?|${WHOLE}\\.\\d*[1-9]\\d*)$`), 'must be a decimal string above zero such as "1234.56", at most 11 digits before the point')
  .openapi({ example: '1200.00', description: 'Decimal string above zero in the invoice currency' });
export const Currency = z
  .enum(currencies, { error: 'must be an ISO 4217 currency code in capitals, e.g. EUR' })
  .openapi({ example: 'EUR' });
export const CountryCode = z
  .string()
  .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code, e.g. FR')
  .openapi({ example: 'FR' });
// The canonical IANA zones this runtime knows, enumerated in the document (aliases such as
// Asia/Calcutta are not accepted: use the canonical name, Asia/Kolkata).
const timeZones = ['UTC', ...Intl.supportedValuesOf('timeZone').filter(isIanaTimeZone)] as [string, ...string[]];
export const TimeZone = z
  .enum(timeZones, { error: 'must be a canonical IANA time zone, e.g. Europe/Paris' })
  .openapi({ example: 'Europe/Paris' });
// zod's own check, stated as a pattern (the "email" format alone admits addresses it refuses).
export const Email = z.email().openapi({ pattern: z.regexes.email.source });
export const MinorUnits = z.number().int().openapi({ description: 'Integer amount in minor units (cents)' });

// ---------------------------------------------------------------- invoices

export const PostalAddressSchema = z
  .object({
    lines: z.array(z.string().trim().min(1).max(200).openapi({ pattern: NON_BLANK })).min(1).max(4),
    postalCode: z.string().trim().min(1).max(16).openapi({ pattern: NON_BLANK }),
    city: z.string().trim().min(1).max(100).openapi({ pattern: NON_BLANK }),
    country: CountryCode,
  })
  .openapi('PostalAddress');

export const CustomerInputSchema = z
  .object({
    externalId: z.string().trim().min(1).max(100).openapi({ pattern: NON_BLANK }).openapi({ description: "The billing system's customer id" }),
    name: z.string().trim().min(1).max(200).openapi({ pattern: NON_BLANK }),
    kind: z.enum(['B2B', 'B2C']),
    email: Email.optional(),
    phone: z.string().trim().min(4).max(32).optional().openapi({ example: '+33612345678' }),
    address: PostalAddressSchema.optional(),
    country: CountryCode,
    language: z.enum(['fr', 'en']).default('fr'),
    timeZone: TimeZone.default('Europe/Paris'),
  })
  .openapi('CustomerInput');

export const IssueInvoiceRequestSchema = z
  .object({
    number: InvoiceNumber,
    issueDate: IsoDate,
    dueDate: IsoDate.optional().openapi({ description: "Default: issueDate + the customer's agreed payment term (422 without one)" }),
    dueAt: IsoInstant.optional().openapi({
      description: 'Exact instant the invoice falls due; anchors second-scale demo policies',
    }),
    amount: PositiveDecimal.openapi({ description: 'Total incl. tax, decimal string' }),
    deposit: Decimal.default('0').openapi({ description: 'Deposit already paid, decimal string' }),
    currency: Currency,
    paymentLink: z.url().optional(),
    // Policies are data (the catalog can change at run time): an unknown id is a 422 the
    // document cannot enumerate ahead of time.
    policyId: z.string().min(1).max(100).optional().openapi({ description: 'Dunning policy id (GET /v1/policies); default policy otherwise' }),
    customer: CustomerInputSchema,
  })
  .openapi('IssueInvoiceRequest');
export type IssueInvoiceRequest = z.infer<typeof IssueInvoiceRequestSchema>;

export const CustomerSchema = z
  .object({
    externalId: z.string(),
    name: z.string(),
    kind: z.enum(['B2B', 'B2C']),
    email: z.string().nullable(),
    phone: z.string().nullable(),
    // Not PostalAddressSchema.nullable(): that would make the registered input component nullable too.
    address: z.object({ lines: z.array(z.string()), postalCode: z.string(), city: z.string(), country: z.string() }).nullable(),
    country: z.string(),
    language: z.string(),
    timeZone: z.string(),
  })
  .openapi('Customer');

export const InvoiceSchema = z
  .object({
    number: z.string(),
    workflowId: z.string(),
    issueDate: z.string(),
    dueDate: z.string(),
    currency: z.string(),
    amount: z.string(),
    amountMinor: MinorUnits,
    deposit: z.string(),
    depositMinor: MinorUnits,
    balance: z.string(),
    balanceMinor: MinorUnits,
    paymentLink: z.string().nullable(),
    policy: z.object({ id: z.string(), version: z.number().int() }),
    stage: z.string(),
    outcome: z.string().nullable(),
    closedAt: z.string().nullable(),
    createdAt: z.string(),
    customer: CustomerSchema,
  })
  .openapi('Invoice');

export const DunningStatusSchema = z
  .looseObject({
    invoiceNumber: z.string(),
    workflowId: z.string(),
    stage: z.string(),
    balanceMinor: MinorUnits,
    currency: z.string(),
    nextAction: z.object({ stepId: z.string(), channels: z.array(z.string()), at: z.string() }).optional(),
    completedSteps: z.array(z.string()),
    outcome: z.string().optional(),
    penalties: z
      .looseObject({
        interestMinor: MinorUnits,
        indemnityMinor: MinorUnits,
        totalMinor: MinorUnits,
        provisionalRates: z.boolean().optional().openapi({ description: 'True when a rate used is not yet published (provisional): the figure will change' }),
        formalNoticeDate: z.string().optional().openapi({ description: 'Consumers: the date of the formal notice from which legal interest runs' }),
      })
      .optional()
      .openapi({ description: 'Late-payment interest and indemnity as of today, line by line (each with its rate basis)' }),
  })
  .openapi('DunningStatus', { description: 'Live state answered by the workflow `status` query' });

export const InvoiceDetailSchema = InvoiceSchema.extend({
  live: DunningStatusSchema.nullable(),
  liveError: z.string().optional().openapi({ description: 'Why the live status is missing (Temporal unreachable...)' }),
}).openapi('InvoiceDetail');

export const InvoiceListQuerySchema = z.object({
  stage: z.string().min(1).max(64).optional(),
  customer: z.string().min(1).max(100).optional().openapi({ description: 'Customer external id' }),
  overdue: z.enum(['true', 'false']).optional().openapi({ description: "true: open and due before today in the customer's time zone; false: not overdue" }),
  limit: z.coerce.number().int().min(1).max(100).default(25),
  cursor: z.uuid().optional().openapi({ description: 'nextCursor of the previous page (an unknown one gives an empty page)' }),
});

export const InvoiceListSchema = z
  .object({ items: z.array(InvoiceSchema), nextCursor: z.string().nullable() })
  .openapi('InvoiceList');

export const NumberParams = z.object({ number: InvoiceNumber });

export const TimelineEntrySchema = z
  .object({
    at: z.string(),
    kind: z.enum(['event', 'communication', 'action', 'note', 'call']).openapi({ description: 'action: a staff action from the audit log, with its actor; note, call: recorded by staff' }),
    type: z.string(),
    detail: z.record(z.string(), z.unknown()),
  })
  .openapi('TimelineEntry');
export const TimelineSchema = z
  .object({ invoiceNumber: z.string(), entries: z.array(TimelineEntrySchema) })
  .openapi('Timeline');

export const ImportRowResultSchema = z.object({
  line: z.number().int(),
  number: z.string().optional(),
  status: z.enum(['created', 'existing', 'error']),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
export const ImportResultSchema = z
  .object({
    rows: z.number().int(),
    created: z.number().int(),
    existing: z.number().int(),
    failed: z.number().int(),
    ignoredColumns: z.array(z.string()).optional().openapi({ description: 'Header columns that are not invoice columns' }),
    results: z.array(ImportRowResultSchema),
  })
  .openapi('ImportResult');

export const PreviewParams = z.object({ number: InvoiceNumber, step: z.string().min(1).max(64) });
export const PreviewQuery = z.object({
  lang: z.enum(['fr', 'en']).optional().openapi({ description: "Defaults to the customer's language" }),
  channel: z.enum(['email', 'sms', 'letter']).optional().openapi({ description: "Defaults to the step's first channel" }),
});
export const PreviewSchema = z
  .object({
    invoiceNumber: z.string(),
    step: z.string(),
    channel: z.string(),
    language: z.string(),
    templateId: z.string(),
    balanceMinor: MinorUnits,
    asOf: z.string(),
    provisionalRates: z.boolean().openapi({ description: 'True when the penalties shown use a rate not yet published' }),
    subject: z.string(),
    text: z.string(),
    html: z.string(),
  })
  .openapi('ReminderPreview');

// ---------------------------------------------------------------- ops actions

export const ManualPaymentRequestSchema = z
  .object({
    amount: PositiveDecimal,
    currency: Currency.optional().openapi({ description: 'Defaults to the invoice currency; must match it' }),
    receivedAt: IsoInstant.optional(),
    reference: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: 'Bank reference; makes the call idempotent (payment id manual:<reference>)' }),
  })
  .openapi('ManualPaymentRequest');

export const PaymentResultSchema = z
  .object({
    paymentId: z.string(),
    status: z.enum(['matched', 'unmatched', 'duplicate']),
    invoiceNumber: z.string().nullable(),
    amountMinor: MinorUnits,
    currency: z.string(),
    signalled: z.boolean().openapi({ description: 'Whether the workflow took the payment signal (false once closed)' }),
    unmatchedId: z.string().optional(),
    reason: z.string().optional(),
  })
  .openapi('PaymentResult');

export const InstalmentPlanRequestSchema = z
  .object({
    instalments: z
      .array(z.object({ due: DateOrInstant, amount: PositiveDecimal }))
      .min(1)
      .max(60),
    note: z.string().max(500).optional(),
  })
  .openapi('InstalmentPlanRequest');

export const PromiseToPayRequestSchema = z
  .object({ date: DateOrInstant, note: z.string().max(500).optional() })
  .openapi('PromiseToPayRequest');
export const OpenDisputeRequestSchema = z
  .object({ reason: z.string().trim().min(1).max(500).openapi({ pattern: NON_BLANK }) })
  .openapi('OpenDisputeRequest');
export const ResolveDisputeRequestSchema = z
  .object({
    outcome: DisputeOutcomeSchema,
    creditNote: PositiveDecimal.optional().openapi({ description: 'Credit note amount (outcome credit-note)' }),
    note: z.string().max(500).optional(),
  })
  .openapi('ResolveDisputeRequest');
export const PauseRequestSchema = z
  .object({ reason: z.string().trim().min(1).max(500).openapi({ pattern: NON_BLANK }), until: DateOrInstant.optional() })
  .openapi('PauseRequest');
export const NoticePostedRequestSchema = z
  .object({
    postedOn: IsoDate.openapi({ description: "The day the formal-notice letter (an outbox draft) was posted, the customer's local date: a consumer's legal interest runs from it" }),
    note: z.string().max(500).optional(),
  })
  .openapi('NoticePostedRequest');
export const ResumeRequestSchema = z.object({ note: z.string().max(500).optional() }).openapi('ResumeRequest');
export const CancelRequestSchema = z
  .object({ reason: CancelReasonSchema, note: z.string().max(500).optional() })
  .openapi('CancelRequest');
export const AgencyOutcomeRequestSchema = z
  .object({
    status: AgencyOutcomeStatusSchema,
    amountRecovered: Decimal.optional(),
    note: z.string().max(500).optional(),
  })
  .openapi('AgencyOutcomeRequest');

export const PendingPaymentRequestSchema = z
  .object({
    reference: z.string().trim().min(1).max(200).openapi({ pattern: NON_BLANK }).openapi({ description: 'The transfer or debit reference; a payment with this reference as its external id ends the hold', example: 'VIR-2026-0042' }),
    status: z.enum(['pending', 'failed']).default('pending').openapi({ description: 'pending: reminders hold; failed: the hold ends' }),
    amount: Decimal.optional(),
    expiresAt: DateOrInstant.optional().openapi({ description: "When the hold ends without news (capped by the policy's pendingPaymentMax, default 10 days)" }),
    note: z.string().max(500).optional(),
  })
  .openapi('PendingPaymentRequest');

export const AcceptedSchema = z
  .object({ accepted: z.literal(true), invoiceNumber: z.string(), action: z.string() })
  .openapi('Accepted');
export const UpdateResultSchema = z
  .object({ invoiceNumber: z.string(), action: z.string(), result: z.unknown() })
  .openapi('UpdateResult');

// ---------------------------------------------------------------- webhooks and unmatched payments

export const GenericWebhookSchema = z
  .object({
    eventId: z.string().min(1).max(200),
    invoiceNumber: z.string().min(1).max(64),
    paymentId: z.string().min(1).max(200),
    amountMinor: z.number().int().positive(),
    currency: z.string().regex(/^[A-Za-z]{3}$/),
    receivedAt: IsoInstant,
  })
  .openapi('PaymentWebhook');

export const WebhookAckSchema = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean(),
    status: z.string(),
    payment: PaymentResultSchema.optional(),
  })
  .openapi('WebhookAck');

export const UnmatchedPaymentSchema = z
  .object({
    id: z.string(),
    source: z.string(),
    externalId: z.string(),
    invoiceNumber: z.string().nullable(),
    amountMinor: MinorUnits,
    currency: z.string(),
    receivedAt: z.string(),
    reason: z.string(),
    assignedTo: z.string().nullable(),
    assignedAt: z.string().nullable(),
  })
  .openapi('UnmatchedPayment');
export const UnmatchedListQuery = z.object({
  status: z.enum(['open', 'assigned', 'all']).default('open'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const UnmatchedListSchema = z.object({ items: z.array(UnmatchedPaymentSchema) }).openapi('UnmatchedPaymentList');
export const AssignRequestSchema = z.object({ invoiceNumber: InvoiceNumber }).openapi('AssignUnmatchedPayment');
export const IdParams = z.object({ id: z.uuid() });

// ---------------------------------------------------------------- reports

export const AgingQuery = z.object({ asOf: IsoDate.optional().openapi({ description: "Default: today in each customer's time zone" }) });
const AgingBuckets = z.object({
  notDue: MinorUnits,
  days1to30: MinorUnits,
  days31to60: MinorUnits,
  days61to90: MinorUnits,
  over90: MinorUnits,
  total: MinorUnits,
});
export const AgingReportSchema = z
  .object({
    asOf: z.string().nullable().openapi({ description: "The date asked for; null: today in each customer's time zone" }),
    currencies: z.array(AgingBuckets.extend({ currency: z.string(), invoices: z.number().int() })),
  })
  .openapi('AgingReport');

export const DsoQuery = z.object({ from: IsoDate, to: IsoDate });
export const DsoReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    days: z.number().int(),
    currencies: z.array(
      z.object({
        currency: z.string(),
        creditSalesMinor: MinorUnits,
        receivablesMinor: MinorUnits,
        dso: z.number().nullable(),
      }),
    ),
    method: z.string(),
  })
  .openapi('DsoReport');
export const TrackingSheetQuery = z.object({
  locale: z.enum(['en', 'fr']).default('en').openapi({
    description: 'en: comma-separated, decimal point; fr: semicolon-separated, decimal comma, French headers',
  }),
});

// ---------------------------------------------------------------- health

export const HealthSchema = z.object({ status: z.enum(['ok', 'unavailable']) }).openapi('Health');
export const ReadySchema = z
  .object({
    status: z.enum(['ok', 'unavailable']),
    checks: z.object({ database: z.string(), temporal: z.string() }),
  })
  .openapi('Readiness');

// ---------------------------------------------------------------- problems

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' });

/** A registry per app, with the shared components. */
export function createRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'API key created with `npm run relance -- api-key create <name> --role <viewer|collector|admin>`; each operation names the least role it needs (x-relance-role)',
  });
  registry.register('Problem', ProblemSchema);
  return registry;
}
