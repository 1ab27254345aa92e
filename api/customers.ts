// Customers as records the credit controller keeps (issue 17): list, search, read, create
// and update; the customer's page (invoices, balance per currency, merged timeline); notes
// and call outcomes on a customer or an invoice. Every change is written to the audit log
// with the acting API key's name.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Response } from 'express';
import { Router } from 'express';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { getBuiltinPolicy } from '../domain/policy';
import type { CallOutcomeKind, ContactRole, Customer, CustomerContact, Prisma, PrismaClient } from '../prisma/client';
import type { PolicyCatalog } from '../policies/catalog';
import { customerTermsUpdate, recordPromiseToPayUpdate, type CustomerTerms } from '../contracts/messages';
import { recordAudit, requestActor, actorName } from './audit';
import { customerBehaviour } from './customer-behaviour';
import {
  CallOutcomeRequestSchema,
  CallOutcomeSchema,
  CustomerCreateSchema,
  CustomerListQuerySchema,
  CustomerListSchema,
  CustomerPageSchema,
  CustomerParams,
  CustomerRecordSchema,
  CustomerTimelineSchema,
  CustomerUpdateSchema,
  NoteRequestSchema,
  NoteSchema,
  type CustomerCreate,
  type CustomerUpdate,
} from './customer-schemas';
import { customerDto, decimalField, isoDay, minorToDecimal } from './format';
import { invoiceTimeline, type InvoiceRouteDeps } from './invoices';
import { notesAndCalls, outcomeOf } from './notes';
import { isUniqueViolation } from './infra-errors';
import { problems, type FieldError } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { NumberParams } from './schemas';
import { updateInvoice } from './temporal';

type CustomerWithContacts = Customer & { contacts: CustomerContact[] };

const ROLE_TO_DB: Record<'billing' | 'cc' | 'escalation', ContactRole> = { billing: 'BILLING', cc: 'CC', escalation: 'ESCALATION' };
const OUTCOME_TO_DB: Record<'reached' | 'no-answer' | 'promised' | 'disputed', CallOutcomeKind> = {
  reached: 'REACHED',
  'no-answer': 'NO_ANSWER',
  promised: 'PROMISED',
  disputed: 'DISPUTED',
};
const iso = (d: Date | null) => d?.toISOString() ?? null;

/** 2 % ↔ 200 basis points. */
function percentToBps(percent: string, field: string): number {
  if (!/^\d{1,2}(\.\d{1,2})?$/.test(percent)) throw problems.field(field, 'a percentage below 100 with at most two decimals');
  const [whole, frac = ''] = percent.split('.');
  const bps = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
  if (bps <= 0) throw problems.field(field, 'must be greater than zero');
  return bps;
}
export const bpsToPercent = (bps: number): string => `${Math.trunc(bps / 100)}.${String(bps % 100).padStart(2, '0')}`;

export function customerRecordDto(c: CustomerWithContacts) {
  return {
    ...customerDto(c),
    preferredChannels: c.preferredChannels,
    doNotSms: c.doNotSms,
    doNotCall: c.doNotCall,
    approvalBeforeFormalSteps: c.approvalBeforeFormalSteps,
    tags: c.tags,
    contacts: c.contacts.map((k) => ({
      id: k.id,
      role: k.role.toLowerCase() as 'billing' | 'cc' | 'escalation',
      name: k.name,
      email: k.email,
      phone: k.phone,
      language: k.language,
    })),
    agreedTerms: {
      paymentTerm:
        c.paymentTermDays == null ? null : { days: c.paymentTermDays, agreedBy: c.paymentTermAgreedBy, agreedAt: iso(c.paymentTermAgreedAt) },
      gracePeriod:
        c.gracePeriodDays == null ? null : { days: c.gracePeriodDays, agreedBy: c.gracePeriodAgreedBy, agreedAt: iso(c.gracePeriodAgreedAt) },
      policy:
        c.agreedPolicyId == null
          ? null
          : { policyId: c.agreedPolicyId, agreedBy: c.agreedPolicyAgreedBy, agreedAt: iso(c.agreedPolicyAgreedAt) },
      earlyPaymentDiscount:
        c.earlyPaymentDiscountBps == null || c.earlyPaymentDiscountDays == null
          ? null
          : {
              percent: bpsToPercent(c.earlyPaymentDiscountBps),
              withinDays: c.earlyPaymentDiscountDays,
              agreedBy: c.earlyPaymentDiscountAgreedBy,
              agreedAt: iso(c.earlyPaymentDiscountAgreedAt),
            },
    },
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

function e164(phone: string, country: string, field: string, errors: FieldError[]): string | undefined {
  const parsed = parsePhoneNumberFromString(phone, { defaultCountry: country.toUpperCase() as CountryCode });
  if (!parsed?.isValid()) {
    errors.push({ field, message: `is not a valid phone number for ${country}` });
    return undefined;
  }
  return parsed.number;
}

/**
 * The column changes of an update (or a creation), validated beyond the schema: phone
 * numbers to E.164 for the customer's country, a known agreed policy, the discount as
 * basis points; each agreed term stamped with who agreed it (default: the API key) and when.
 */
function columnsOf(body: CustomerUpdate, country: string, actor: string, now: Date, knownPolicy: (id: string) => string | undefined) {
  const errors: FieldError[] = [];
  const data: Prisma.CustomerUncheckedUpdateInput = {};
  if (body.name !== undefined) data.name = body.name;
  if (body.email !== undefined) data.email = body.email?.toLowerCase() ?? null;
  if (body.phone !== undefined) data.phone = body.phone === null ? null : (e164(body.phone, country, 'phone', errors) ?? null);
  if (body.address !== undefined) {
    data.addressLines = body.address?.lines ?? [];
    data.postalCode = body.address?.postalCode ?? null;
    data.city = body.address?.city ?? null;
  }
  if (body.language !== undefined) data.language = body.language;
  if (body.timeZone !== undefined) data.timeZone = body.timeZone;
  if (body.preferredChannels !== undefined) data.preferredChannels = [...new Set(body.preferredChannels)];
  if (body.doNotSms !== undefined) data.doNotSms = body.doNotSms;
  if (body.doNotCall !== undefined) data.doNotCall = body.doNotCall;
  if (body.approvalBeforeFormalSteps !== undefined) data.approvalBeforeFormalSteps = body.approvalBeforeFormalSteps;
  if (body.tags !== undefined) data.tags = [...new Set(body.tags)];
  const terms = body.agreedTerms;
  const by = (t: { agreedBy?: string } | null) => t?.agreedBy ?? actor;
  const at = (t: { agreedAt?: string } | null) => (t?.agreedAt ? new Date(t.agreedAt) : now);
  if (terms?.paymentTerm !== undefined) {
    const t = terms.paymentTerm;
    Object.assign(data, { paymentTermDays: t?.days ?? null, paymentTermAgreedBy: t ? by(t) : null, paymentTermAgreedAt: t ? at(t) : null });
  }
  if (terms?.gracePeriod !== undefined) {
    const t = terms.gracePeriod;
    Object.assign(data, { gracePeriodDays: t?.days ?? null, gracePeriodAgreedBy: t ? by(t) : null, gracePeriodAgreedAt: t ? at(t) : null });
  }
  if (terms?.policy !== undefined) {
    const t = terms.policy;
    if (t) {
      const unknown = knownPolicy(t.policyId);
      if (unknown) errors.push({ field: 'agreedTerms.policy.policyId', message: unknown });
    }
    Object.assign(data, { agreedPolicyId: t?.policyId ?? null, agreedPolicyAgreedBy: t ? by(t) : null, agreedPolicyAgreedAt: t ? at(t) : null });
  }
  if (terms?.earlyPaymentDiscount !== undefined) {
    const t = terms.earlyPaymentDiscount;
    let bps: number | null = null;
    if (t) {
      try {
        bps = percentToBps(t.percent, 'agreedTerms.earlyPaymentDiscount.percent');
      } catch (err) {
        errors.push(...((err as { options?: { errors?: FieldError[] } }).options?.errors ?? []));
      }
    }
    Object.assign(data, {
      earlyPaymentDiscountBps: bps,
      earlyPaymentDiscountDays: t?.withinDays ?? null,
      earlyPaymentDiscountAgreedBy: t ? by(t) : null,
      earlyPaymentDiscountAgreedAt: t ? at(t) : null,
    });
  }
  const contacts = body.contacts?.map((c, n) => ({
    role: ROLE_TO_DB[c.role],
    name: c.name ?? null,
    email: c.email?.toLowerCase() ?? null,
    phone: c.phone ? (e164(c.phone, country, `contacts.${n}.phone`, errors) ?? null) : null,
    language: c.language ?? null,
  }));
  if (errors.length) throw problems.validation(errors);
  return { data, contacts };
}

const withContacts = { contacts: { orderBy: [{ role: 'asc' as const }, { createdAt: 'asc' as const }] } };

export async function loadCustomer(prisma: PrismaClient, externalId: string): Promise<CustomerWithContacts> {
  const c = await prisma.customer.findUnique({ where: { externalId }, include: withContacts });
  if (!c) throw problems.notFound(`Customer ${externalId}`);
  return c;
}

/** Why a policy id cannot be agreed (undefined: it can): published in the catalogue, or shipped. */
async function policyChecker(policies: PolicyCatalog | undefined): Promise<(id: string) => string | undefined> {
  const snapshot = await policies?.snapshot();
  return (id) => {
    if (snapshot) return snapshot.find(id) ? undefined : `no published policy ${JSON.stringify(id)}`;
    try {
      getBuiltinPolicy(id);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
}

/** The acting API key's name: "who" of every change until staff accounts exist. */
const actingName = (res: Response) => actorName(requestActor(res));

export function customersRouter(deps: InvoiceRouteDeps, registry: OpenAPIRegistry): Router {
  const router = Router();
  const { prisma, temporal } = deps;
  const tags = ['customers'];

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/customers',
    operationId: 'listCustomers',
    role: 'viewer',
    summary: 'List or search customers (name, external id, email; tag), by name',
    tags,
    query: CustomerListQuerySchema,
    responses: { 200: jsonResponse('A page of customers', CustomerListSchema) },
    handler: async ({ res, query }) => {
      const where: Prisma.CustomerWhereInput = {
        ...(query.tag ? { tags: { has: query.tag } } : {}),
        ...(query.q
          ? {
              OR: [
                { name: { contains: query.q, mode: 'insensitive' } },
                { externalId: { contains: query.q, mode: 'insensitive' } },
                { email: { contains: query.q, mode: 'insensitive' } },
                { contacts: { some: { email: { contains: query.q, mode: 'insensitive' } } } },
              ],
            }
          : {}),
      };
      const cursorId = query.cursor;
      const rows = await prisma.customer.findMany({
        where,
        include: withContacts,
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
        take: query.limit + 1,
        ...(cursorId ? { cursor: { id: cursorId }, skip: 1 } : {}),
      });
      const page = rows.slice(0, query.limit);
      const next = rows.length > query.limit ? page[page.length - 1].id : null;
      res.json({ items: page.map(customerRecordDto), nextCursor: next });
    },
  });

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/customers',
    operationId: 'createCustomer',
    role: 'collector',
    summary: 'Create a customer record before its first invoice (contacts, agreed terms...)',
    tags,
    body: CustomerCreateSchema,
    responses: { 201: jsonResponse('Created', CustomerRecordSchema), 409: problemResponse('A customer with this externalId exists') },
    handler: async ({ res, body }) => {
      const created = await createCustomer(prisma, body, actingName(res), await policyChecker(deps.policies));
      if (body.agreedTerms?.policy) deps.policies?.invalidate();
      await recordAudit(prisma, {
        actor: requestActor(res),
        action: 'customer.create',
        targetType: 'customer',
        targetId: created.externalId,
        detail: { after: body },
      });
      res.location(`/v1/customers/${encodeURIComponent(created.externalId)}`);
      res.status(201).json(customerRecordDto(created));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/customers/{customerId}',
    operationId: 'getCustomer',
    role: 'viewer',
    summary: "The customer's page: record, contacts, agreed terms, all invoices and the balance per currency",
    tags,
    params: CustomerParams,
    responses: { 200: jsonResponse('The customer', CustomerPageSchema), 404: problemResponse('Unknown customer') },
    handler: async ({ res, params }) => {
      const c = await loadCustomer(prisma, params.customerId);
      const invoices = await prisma.invoice.findMany({ where: { customerId: c.id }, orderBy: [{ issueDate: 'desc' }, { number: 'desc' }] });
      const balances = new Map<string, { openInvoices: number; minor: bigint }>();
      for (const inv of invoices) {
        if (inv.closedAt || inv.balanceMinor <= 0n) continue;
        const b = balances.get(inv.currency) ?? { openInvoices: 0, minor: 0n };
        b.openInvoices += 1;
        b.minor += inv.balanceMinor;
        balances.set(inv.currency, b);
      }
      res.json({
        ...customerRecordDto(c),
        invoices: invoices.map((i) => ({
          number: i.number,
          issueDate: isoDay(i.issueDate),
          dueDate: isoDay(i.dueDate),
          currency: i.currency,
          amount: minorToDecimal(i.amountMinor, i.currency),
          balance: minorToDecimal(i.balanceMinor, i.currency),
          balanceMinor: Number(i.balanceMinor),
          stage: i.stage,
          outcome: i.outcome,
          closedAt: iso(i.closedAt),
        })),
        balances: [...balances.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([currency, b]) => ({ currency, openInvoices: b.openInvoices, balance: minorToDecimal(b.minor, currency), balanceMinor: Number(b.minor) })),
        riskClass: (await customerBehaviour(prisma, c, deps.config)).riskClass,
      });
    },
  });

  defineRoute(router, registry, {
    method: 'patch',
    path: '/v1/customers/{customerId}',
    operationId: 'updateCustomer',
    role: 'collector',
    summary: 'Update a customer: contacts (the whole list), preferences, tags, agreed terms',
    description:
      'Contacts are read when a message is sent, so a changed billing email reaches the next reminder of running ' +
      'invoices. Each agreed term records who agreed it (default: the API key name) and when (default: now); ' +
      'null removes a term. A changed grace period is applied to the calendar of running invoices.',
    tags,
    params: CustomerParams,
    body: CustomerUpdateSchema,
    responses: { 200: jsonResponse('The updated customer', CustomerRecordSchema), 404: problemResponse('Unknown customer') },
    handler: async ({ res, params, body }) => {
      const before = await loadCustomer(prisma, params.customerId);
      const { data, contacts } = columnsOf(body, before.country, actingName(res), new Date(), await policyChecker(deps.policies));
      const after = await prisma.$transaction(async (tx) => {
        if (contacts) {
          await tx.customerContact.deleteMany({ where: { customerId: before.id } });
          if (contacts.length) await tx.customerContact.createMany({ data: contacts.map((k) => ({ ...k, customerId: before.id })) });
        }
        const updated = await tx.customer.update({ where: { id: before.id }, data, include: withContacts });
        await recordAudit(tx, {
          actor: requestActor(res),
          action: 'customer.update',
          targetType: 'customer',
          targetId: before.externalId,
          detail: { change: body, before: customerRecordDto(before) },
        });
        return updated;
      });
      // The catalogue keeps agreed policies in its cached snapshot.
      if (body.agreedTerms?.policy !== undefined) deps.policies?.invalidate();
      if (body.agreedTerms?.gracePeriod !== undefined || body.approvalBeforeFormalSteps !== undefined) {
        await applyToRunningInvoices(after, actingName(res));
      }
      res.json(customerRecordDto(after));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: '/v1/customers/{customerId}/timeline',
    operationId: 'getCustomerTimeline',
    role: 'viewer',
    summary: "The merged timeline of every invoice of the customer, with the customer's notes and calls",
    tags,
    params: CustomerParams,
    responses: { 200: jsonResponse('The timeline', CustomerTimelineSchema), 404: problemResponse('Unknown customer') },
    handler: async ({ res, params }) => {
      const c = await loadCustomer(prisma, params.customerId);
      res.json({ customerId: c.externalId, entries: await customerTimeline(prisma, c.id) });
    },
  });

  /**
   * The grace period and the approval setting change the calendar of the customer's running
   * invoices: each gets the new values (absolute, so a repeated PATCH is harmless). The record
   * is saved first; an invoice Temporal cannot reach now makes this a 503 to repeat.
   */
  async function applyToRunningInvoices(c: Customer, actor: string) {
    const open = await prisma.invoice.findMany({ where: { customerId: c.id, closedAt: null }, select: { number: true } });
    const terms: CustomerTerms = { graceDays: c.gracePeriodDays ?? 0, approvalBeforeFormalSteps: c.approvalBeforeFormalSteps, actor };
    for (let i = 0; i < open.length; i += 8) {
      await Promise.all(
        open.slice(i, i + 8).map((inv) =>
          updateInvoice(temporal, inv.number, customerTermsUpdate, terms).catch((err: unknown) => {
            // Closed meanwhile: nothing left to move.
            if ((err as { status?: number }).status === 409) return;
            throw err;
          }),
        ),
      );
    }
  }

  // ---- notes and call outcomes, on a customer or on an invoice

  async function target(customerId: string | undefined, invoiceNumber: string | undefined) {
    if (invoiceNumber) {
      const inv = await prisma.invoice.findUnique({ where: { number: invoiceNumber }, include: { customer: true } });
      if (!inv) throw customerId ? problems.field('invoiceNumber', `invoice ${invoiceNumber} does not exist`) : problems.notFound(`Invoice ${invoiceNumber}`);
      if (customerId && inv.customer.externalId !== customerId) {
        throw problems.field('invoiceNumber', `invoice ${invoiceNumber} belongs to another customer`);
      }
      return { customer: inv.customer, invoice: inv };
    }
    const customer = await prisma.customer.findUnique({ where: { externalId: customerId! } });
    if (!customer) throw problems.notFound(`Customer ${customerId}`);
    return { customer, invoice: undefined };
  }

  const noteSpec = (where: 'customer' | 'invoice') => ({
    summary: where === 'customer' ? 'Add a note to the customer (or one of its invoices)' : 'Add a note to the invoice',
    tags: ['notes and calls'],
    body: NoteRequestSchema,
    responses: { 201: jsonResponse('The note', NoteSchema), 404: problemResponse(`Unknown ${where}`) },
  });
  const addNote = async (res: Response, customerId: string | undefined, invoiceNumber: string | undefined, text: string) => {
    const t = await target(customerId, invoiceNumber);
    const author = actingName(res);
    const note = await prisma.$transaction(async (tx) => {
      const n = await tx.note.create({ data: { customerId: t.customer.id, invoiceId: t.invoice?.id ?? null, text, author } });
      await recordAudit(tx, {
        actor: requestActor(res),
        action: 'customer.note.add',
        targetType: t.invoice ? 'invoice' : 'customer',
        targetId: t.invoice?.number ?? t.customer.externalId,
        detail: { noteId: n.id, text },
      });
      return n;
    });
    res.status(201).json({
      id: note.id,
      customerId: t.customer.externalId,
      invoiceNumber: t.invoice?.number ?? null,
      text: note.text,
      author,
      at: note.createdAt.toISOString(),
    });
  };
  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/customers/{customerId}/notes',
    operationId: 'addCustomerNote',
    role: 'collector',
    params: CustomerParams,
    ...noteSpec('customer'),
    handler: ({ res, params, body }) => addNote(res, params.customerId, body.invoiceNumber, body.text),
  });
  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/invoices/{number}/notes',
    operationId: 'addInvoiceNote',
    role: 'collector',
    params: NumberParams,
    ...noteSpec('invoice'),
    handler: ({ res, params, body }) => addNote(res, undefined, params.number, body.text),
  });

  const callSpec = (where: 'customer' | 'invoice') => ({
    summary:
      where === 'customer'
        ? 'Record a call outcome for the customer (or one of its invoices)'
        : 'Record a call outcome for the invoice: closes a phone task; "promised" with a date records the promise to pay',
    description:
      'outcome promised needs promisedDate and an invoice: the promise is recorded on the invoice workflow ' +
      '(recordPromiseToPay, reminders wait until the date + grace) before the call is written; a rejection by ' +
      'the workflow is a 422 and nothing is written. phoneTaskId closes that phone task (once: 409 after).',
    tags: ['notes and calls'],
    body: CallOutcomeRequestSchema,
    responses: {
      201: jsonResponse('The call outcome', CallOutcomeSchema),
      404: problemResponse(`Unknown ${where}`),
      409: problemResponse('The phone task is closed already, or the invoice workflow is closed'),
    },
  });
  const addCall = async (
    res: Response,
    customerId: string | undefined,
    invoiceNumber: string | undefined,
    body: ReturnType<typeof CallOutcomeRequestSchema.parse>,
  ) => {
    const t = await target(customerId, invoiceNumber);
    const errors: FieldError[] = [];
    if (body.outcome === 'promised' && !body.promisedDate) errors.push({ field: 'promisedDate', message: 'is required with outcome promised' });
    if (body.outcome === 'promised' && !t.invoice) errors.push({ field: 'invoiceNumber', message: 'is required with outcome promised' });
    if (body.outcome !== 'promised' && (body.promisedDate || body.promisedAmount)) {
      errors.push({ field: body.promisedDate ? 'promisedDate' : 'promisedAmount', message: 'only with outcome promised' });
    }
    let promisedAmountMinor: number | undefined;
    if (body.promisedAmount) {
      if (!t.invoice) errors.push({ field: 'promisedAmount', message: 'needs an invoice (its currency)' });
      else {
        try {
          promisedAmountMinor = decimalField(body.promisedAmount, t.invoice.currency, 'promisedAmount', { positive: true });
        } catch (err) {
          errors.push(...((err as { options?: { errors?: FieldError[] } }).options?.errors ?? []));
        }
      }
    }
    if (body.phoneTaskId) {
      const task = await prisma.dunningEvent.findUnique({ where: { id: body.phoneTaskId }, include: { callOutcome: { select: { id: true } } } });
      const ofCustomer = task?.invoiceId
        ? await prisma.invoice.count({ where: { id: task.invoiceId, customerId: t.customer.id, ...(t.invoice ? { id: t.invoice.id } : {}) } })
        : 0;
      if (!task || task.type !== 'phone-task' || ofCustomer === 0) {
        errors.push({ field: 'phoneTaskId', message: `is not a phone task of this ${t.invoice ? 'invoice' : 'customer'}` });
      } else if (task.callOutcome) {
        throw problems.conflict(`Phone task ${body.phoneTaskId} was closed already`, 'phone-task-closed');
      }
    }
    if (errors.length) throw problems.validation(errors);

    // The promise goes to the workflow first: its validator may refuse it (date past, a plan
    // active), and then nothing is written. The row comes after; a failure there leaves the
    // promise recorded and a 503 the client retries (the update sets the same promise again).
    let promise: { until: string } | undefined;
    if (body.outcome === 'promised' && t.invoice) {
      promise = await updateInvoice(temporal, t.invoice.number, recordPromiseToPayUpdate, {
        date: body.promisedDate!,
        note: body.text ? `call: ${body.text}` : 'call outcome',
      }).catch((err: unknown) => {
        const p = err as { status?: number; options?: { errors?: FieldError[] } };
        if (p.status === 422 && p.options?.errors) {
          p.options.errors = p.options.errors.map((e) => (e.field === 'date' ? { ...e, field: 'promisedDate' } : e));
        }
        throw err;
      });
    }
    const author = actingName(res);
    let call;
    try {
      call = await prisma.$transaction(async (tx) => {
        const row = await tx.callOutcome.create({
          data: {
            customerId: t.customer.id,
            invoiceId: t.invoice?.id ?? null,
            outcome: OUTCOME_TO_DB[body.outcome],
            text: body.text ?? null,
            promisedDate: body.promisedDate ? new Date(`${body.promisedDate.slice(0, 10)}T00:00:00Z`) : null,
            promisedAmountMinor: promisedAmountMinor === undefined ? null : BigInt(promisedAmountMinor),
            phoneTaskId: body.phoneTaskId ?? null,
            author,
          },
        });
        await recordAudit(tx, {
          actor: requestActor(res),
          action: 'customer.call.record',
          targetType: t.invoice ? 'invoice' : 'customer',
          targetId: t.invoice?.number ?? t.customer.externalId,
          detail: { callId: row.id, ...body },
        });
        return row;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw problems.conflict(`Phone task ${body.phoneTaskId} was closed already`, 'phone-task-closed');
      throw err;
    }
    res.status(201).json({
      id: call.id,
      customerId: t.customer.externalId,
      invoiceNumber: t.invoice?.number ?? null,
      outcome: outcomeOf(call.outcome),
      text: call.text,
      promisedDate: call.promisedDate ? isoDay(call.promisedDate) : null,
      promisedAmountMinor: call.promisedAmountMinor === null ? null : Number(call.promisedAmountMinor),
      phoneTaskId: call.phoneTaskId,
      author,
      at: call.createdAt.toISOString(),
      ...(promise ? { promise: { until: promise.until } } : {}),
    });
  };
  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/customers/{customerId}/calls',
    operationId: 'recordCustomerCall',
    role: 'collector',
    params: CustomerParams,
    ...callSpec('customer'),
    handler: ({ res, params, body }) => addCall(res, params.customerId, body.invoiceNumber, body),
  });
  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/invoices/{number}/calls',
    operationId: 'recordInvoiceCall',
    role: 'collector',
    params: NumberParams,
    ...callSpec('invoice'),
    handler: ({ res, params, body }) => {
      if (body.invoiceNumber && body.invoiceNumber !== params.number) throw problems.field('invoiceNumber', 'differs from the invoice in the path');
      return addCall(res, undefined, params.number, body);
    },
  });

  return router;
}

export async function createCustomer(
  prisma: PrismaClient,
  body: CustomerCreate,
  actor: string,
  knownPolicy: (id: string) => string | undefined,
): Promise<CustomerWithContacts> {
  const { externalId, kind, country, ...rest } = body;
  const { data, contacts } = columnsOf(rest, country, actor, new Date(), knownPolicy);
  try {
    return await prisma.customer.create({
      data: {
        ...(data as Prisma.CustomerUncheckedCreateInput),
        externalId,
        kind,
        country,
        name: body.name,
        ...(contacts?.length ? { contacts: { create: contacts } } : {}),
      },
      include: withContacts,
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw problems.conflict(`Customer ${externalId} exists already; update it with PATCH`, 'customer-exists');
    throw err;
  }
}

/** Every invoice's timeline of the customer and its own notes and calls, chronological. */
export async function customerTimeline(prisma: PrismaClient, customerId: string) {
  const invoices = await prisma.invoice.findMany({ where: { customerId }, select: { number: true } });
  const perInvoice = await Promise.all(invoices.map((i) => invoiceTimeline(prisma, i.number)));
  const entries = [
    ...perInvoice.flatMap((t) => t.entries.map((e) => ({ ...e, invoiceNumber: t.invoiceNumber }))),
    ...(await notesAndCalls(prisma, { customerId, invoiceId: null })),
  ];
  return entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.kind.localeCompare(b.kind)));
}
