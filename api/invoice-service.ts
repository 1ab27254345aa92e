// Issuing an invoice: record it and start its dunning workflow, idempotently and never
// half-done.
//
// Mechanism: START-FIRST WITH A DETERMINISTIC WORKFLOW ID, THEN THE ROW.
//  1. Validate and normalise the request into the invoice snapshot; hash it (requestHash).
//  2. Look the invoice up (by Idempotency-Key, then by number; one query): same hash → the earlier
//     result is returned (200, Idempotent-Replayed: true); another hash → 409. Nothing has
//     been written yet, so a database outage here is a clean 503.
//  3. Start `invoiceDunning` with id `invoice-<number>` (workflowIdConflictPolicy FAIL,
//     reuse policy REJECT_DUPLICATE). The workflow input carries the full snapshot, and the
//     memo `relance` carries { requestHash, idempotencyKey, invoice, policyId, policyVersion }.
//     If a workflow with that id exists already, its memo hash decides: same content → we
//     join it (the USE_EXISTING behaviour), other content → 409. Temporal down → 503 and
//     nothing written anywhere.
//  4. Upsert the customer and insert the invoice row in one SQL statement.
// The only partial state possible is "workflow started, row missing" (database down or the
// process killed between 3 and 4). It heals itself: the client's retry (a 503 told it to)
// joins the running workflow and writes the row; and `reconcileInvoices` (run periodically
// by the server and by `relance reconcile`) lists running workflows and recreates missing
// rows from their memo. A row never exists without its workflow, because the row is
// written only after the start succeeded.
import { createHash, randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Config } from '../config/index';
import { minorUnits } from '../domain/money';
import { getBuiltinPolicy, policyAudienceMismatch } from '../domain/policy';
import { parseDecimalToMinor } from '../domain/money';
import { ResolveError, type PolicyCatalog, type PolicySnapshot, type Resolution } from '../policies/catalog';
import { resolveDeadline } from '../domain/clock';
import { addDays } from '../domain/dates';
import { dunningInputFor } from '../domain/schedule';
import type { DunningPolicy, InvoiceSnapshot } from '../domain/types';
import type { PrismaClient } from '../prisma/client';
import { CustomerIdKey, DunningStageKey, AmountDueKey, InvoiceNumberKey } from '../contracts/search-attributes';
import { workflowIdFor } from '../contracts/ids';
import type { CustomerTerms, InvoiceDunningInput, Pause } from '../contracts/messages';
import type { RiskClass } from '../domain/payment-behaviour';
import { riskClassOf } from './customer-behaviour';
import { dayToDate, decimalField, minorToDecimal, type InvoiceWithCustomer } from './format';
import { isUniqueViolation } from './infra-errors';
import { problems, type FieldError, Problem } from './problem';
import type { IssueInvoiceRequest } from './schemas';
import { withDeadline, type TemporalGateway } from './temporal';

export const WORKFLOW_TYPE = 'invoiceDunning';
export const MEMO_KEY = 'relance';

export interface IssueMemo {
  requestHash: string;
  idempotencyKey?: string;
  invoice: InvoiceSnapshot;
  policyId: string;
  policyVersion: number;
}

export interface IssueDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
  /** Published policies and assignment rules; without it, the shipped policies by id. */
  policies?: PolicyCatalog;
}

/** Picks the policy of an issue request; throws a Problem naming the field. */
export type PolicyResolver = (req: IssueInvoiceRequest) => DunningPolicy;

/** JSON with sorted keys and no undefined members: the same content always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The assignment rules of a catalogue snapshot (policies/catalog.ts) as a resolver. */
export function resolverOf(snapshot: PolicySnapshot, customer?: { policyId?: string; tags?: string[]; riskClass?: RiskClass }): PolicyResolver {
  return (req) => {
    let resolution: Resolution;
    try {
      resolution = snapshot.resolve({
        policyId: req.policyId,
        customerPolicyId: customer?.policyId,
        audience: req.customer.kind,
        country: req.customer.country,
        currency: req.currency,
        amountMinor: amountOrNaN(req.amount, req.currency),
        tags: customer?.tags,
        riskClass: customer?.riskClass,
      });
    } catch (err) {
      if (err instanceof ResolveError) throw problems.field(err.field, err.message);
      throw err;
    }
    const mismatch = policyAudienceMismatch(resolution.policy, req.customer.kind);
    if (mismatch) throw problems.field(resolution.chosenBy.kind === 'invoice' ? 'policyId' : 'customer.kind', mismatch);
    return resolution.policy;
  };
}

/**
 * The assignment rules for one request (undefined without a catalogue: the shipped policies
 * by id). Only a tag rule needs the customer's row, and only when nothing before it decides;
 * a risk-class rule needs the customer's history (a customer not on record yet has no class:
 * such a rule does not match it).
 */
export async function policyResolverFor(
  deps: { prisma: PrismaClient; policies?: PolicyCatalog; config?: Config },
  req: IssueInvoiceRequest,
): Promise<PolicyResolver | undefined> {
  if (!deps.policies) return undefined;
  const snapshot = await deps.policies.snapshot();
  const agreed = snapshot.agreedPolicies.get(req.customer.externalId);
  const rulesDecide = !req.policyId && !agreed;
  const tags =
    rulesDecide && snapshot.usesTags
      ? ((await deps.prisma.customer.findUnique({ where: { externalId: req.customer.externalId }, select: { tags: true } }))?.tags ?? [])
      : undefined;
  const riskClass = rulesDecide && snapshot.usesRiskClass && deps.config ? await riskClassOf(deps.prisma, req.customer.externalId, deps.config) : undefined;
  return resolverOf(snapshot, { policyId: agreed, tags, riskClass });
}

/** A malformed amount is reported by the amount check; to the rules it matches no range. */
function amountOrNaN(amount: string, currency: string): number {
  try {
    return parseDecimalToMinor(amount, currency);
  } catch {
    return Number.NaN;
  }
}

function resolvePolicy(req: IssueInvoiceRequest, config: Config): DunningPolicy {
  const id = req.policyId ?? (req.customer.kind === 'B2C' ? config.DEFAULT_B2C_POLICY_ID : config.DEFAULT_POLICY_ID);
  let policy: DunningPolicy;
  try {
    policy = getBuiltinPolicy(id);
  } catch (err) {
    throw problems.field('policyId', (err as Error).message);
  }
  const mismatch = policyAudienceMismatch(policy, req.customer.kind);
  if (mismatch) throw problems.field(req.policyId ? 'policyId' : 'customer.kind', mismatch);
  return policy;
}

/** Business validation beyond the schema; returns the snapshot and its policy. */
export function normaliseIssueRequest(req: IssueInvoiceRequest, config: Config, resolver?: PolicyResolver): IssueMemo & { policy: DunningPolicy } {
  const errors: FieldError[] = [];
  const collect = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof Problem && err.options.errors) errors.push(...err.options.errors);
      else throw err;
      return undefined;
    }
  };
  const amountMinor = collect(() => decimalField(req.amount, req.currency, 'amount', { positive: true }));
  const depositMinor = collect(() => decimalField(req.deposit, req.currency, 'deposit'));
  const policy = collect(() => (resolver ? resolver(req) : resolvePolicy(req, config)));
  if (amountMinor !== undefined && depositMinor !== undefined && depositMinor > amountMinor) {
    errors.push({ field: 'deposit', message: 'must not exceed the amount' });
  }
  if (!req.dueDate) errors.push({ field: 'dueDate', message: 'is required (the customer has no agreed payment term)' });
  else if (req.dueDate < req.issueDate) errors.push({ field: 'dueDate', message: 'must not be before issueDate' });
  const c = req.customer;
  let phone: string | undefined;
  if (c.phone) {
    const parsed = parsePhoneNumberFromString(c.phone, { defaultCountry: c.country as CountryCode });
    if (!parsed?.isValid()) errors.push({ field: 'customer.phone', message: `is not a valid phone number for ${c.country}` });
    else phone = parsed.number;
  }
  if (errors.length || !policy || amountMinor === undefined || depositMinor === undefined || !req.dueDate) throw problems.validation(errors);

  const invoice: InvoiceSnapshot = {
    number: req.number,
    customer: {
      id: c.externalId,
      name: c.name,
      kind: c.kind,
      email: c.email?.toLowerCase(),
      phone,
      address: c.address,
      country: c.country,
      language: c.language,
      timeZone: c.timeZone,
    },
    currency: req.currency,
    amountMinor,
    depositMinor,
    issueDate: req.issueDate,
    dueDate: req.dueDate,
    dueAt: req.dueAt ? new Date(req.dueAt).toISOString() : undefined,
    paymentLink: req.paymentLink,
  };
  const stripped = JSON.parse(JSON.stringify(invoice)) as InvoiceSnapshot;
  const requestHash = createHash('sha256')
    .update(canonicalJson({ invoice: stripped, policyId: policy.id }))
    .digest('hex');
  return { requestHash, invoice: stripped, policyId: policy.id, policyVersion: policy.version, policy };
}

export interface IssueResult {
  created: boolean;
  invoice: InvoiceWithCustomer;
}

function conflictWith(number: string): Problem {
  return problems.conflict(
    `Invoice ${number} was already issued with different content; issue a credit note or use another number`,
    'invoice-conflict',
  );
}

async function findExisting(deps: IssueDeps, memo: IssueMemo): Promise<IssueResult | undefined> {
  const [rows] = await findInvoiceRows(deps.prisma, [{ number: memo.invoice.number, key: memo.idempotencyKey }]);
  if (memo.idempotencyKey) {
    const byKey = rows.find((r) => r.idempotencyKey === memo.idempotencyKey);
    if (byKey) {
      if (byKey.number !== memo.invoice.number || byKey.requestHash !== memo.requestHash) {
        throw problems.conflict('This Idempotency-Key was used for a different request', 'idempotency-key-reused');
      }
      return { created: false, invoice: byKey };
    }
  }
  const byNumber = rows.find((r) => r.number === memo.invoice.number);
  if (byNumber) {
    if (byNumber.requestHash !== memo.requestHash) throw conflictWith(memo.invoice.number);
    return { created: false, invoice: byNumber };
  }
  return undefined;
}

/** One invoice's look-up: the rows holding this number or this Idempotency-Key. */
export interface InvoiceLookup {
  number: string;
  key?: string;
}

/**
 * The invoices (with their customer) holding each look-up's number or Idempotency-Key: 0, 1
 * or 2 rows per look-up, all in one round trip. It was up to two Prisma `findUnique` calls
 * per request (by key, then by number), each through Prisma's query compiler.
 * tests/api/invoice-row.test.ts compares it with Prisma's own read.
 */
export async function findInvoiceRows(prisma: PrismaClient, lookups: InvoiceLookup[]): Promise<InvoiceWithCustomer[][]> {
  const numbers = lookups.map((q) => q.number);
  const keys = lookups.flatMap((q) => (q.key === undefined ? [] : [q.key]));
  const rows = await prisma.$queryRaw<Array<{ invoice: RawRow; customer: RawRow }>>`
    SELECT to_jsonb(i) || jsonb_build_object('amountMinor', i."amountMinor"::text, 'depositMinor', i."depositMinor"::text,
                                             'balanceMinor', i."balanceMinor"::text) AS invoice,
           to_jsonb(c) AS customer
    FROM "Invoice" i JOIN "Customer" c ON c."id" = i."customerId"
    WHERE i."number" = ANY(${numbers}::text[]) OR i."idempotencyKey" = ANY(${keys}::text[])`;
  const all = rows.map((row) => ({ ...invoiceFromRow(row.invoice), customer: customerFromRow(row.customer) }));
  return lookups.map((q) => all.filter((r) => r.number === q.number || (q.key !== undefined && r.idempotencyKey === q.key)));
}

function staticSummary(inv: InvoiceSnapshot): string {
  return `Invoice ${inv.number} · customer ${inv.customer.id} · ${minorToDecimal(inv.amountMinor - inv.depositMinor, inv.currency)} ${inv.currency}`;
}

/** Starts the workflow, or joins an existing one started for the same content (409 otherwise). */
export async function startInvoiceWorkflow(
  deps: Pick<IssueDeps, 'temporal' | 'config'>,
  memo: IssueMemo & { policy: DunningPolicy },
  customerTerms?: CustomerTerms,
  customerHold?: Pause,
): Promise<{ started: boolean }> {
  const { temporal: t } = deps;
  const { policy, ...memoValue } = memo;
  const workflowId = workflowIdFor(memo.invoice.number);
  const input: InvoiceDunningInput = dunningInputFor(memo.invoice, policy, {
    ...(customerTerms ? { customerTerms } : {}),
    ...(customerHold ? { customerHold } : {}),
  });
  try {
    await withDeadline(t, () =>
      t.client.workflow.start(WORKFLOW_TYPE, {
        workflowId,
        taskQueue: t.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { [MEMO_KEY]: memoValue },
        typedSearchAttributes: [
          { key: InvoiceNumberKey, value: memo.invoice.number },
          { key: CustomerIdKey, value: memo.invoice.customer.id },
          { key: DunningStageKey, value: 'issued' },
          { key: AmountDueKey, value: (memo.invoice.amountMinor - memo.invoice.depositMinor) / 10 ** minorUnits(memo.invoice.currency) },
        ],
        staticSummary: staticSummary(memo.invoice),
        staticDetails: `Policy ${policy.id} v${policy.version}; due ${memo.invoice.dueDate}. Timeline: GET /v1/invoices/${memo.invoice.number}/timeline`,
      }),
    );
    return { started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const desc = await withDeadline(t, () => t.client.workflow.getHandle(workflowId).describe());
    const existing = desc.memo?.[MEMO_KEY] as IssueMemo | undefined;
    if (!existing || existing.requestHash !== memo.requestHash) throw conflictWith(memo.invoice.number);
    return { started: false };
  }
}

/**
 * Customer upsert + invoice insert in one SQL statement (atomic on its own). It was an
 * interactive transaction of four round trips through Prisma's query compiler, the largest
 * cost of POST /v1/invoices after Temporal (bench:ingest). A concurrent first invoice of the
 * same new customer waits on the customer row's ON CONFLICT instead of failing.
 */
export async function writeInvoiceRow(prisma: PrismaClient, memo: IssueMemo): Promise<InvoiceWithCustomer> {
  const inv = memo.invoice;
  const c = inv.customer;
  const rows = await prisma.$queryRaw<Array<{ invoice: RawRow; customer: RawRow }>>`
    WITH c AS (
      INSERT INTO "Customer" ("id", "externalId", "name", "kind", "email", "phone", "addressLines", "postalCode", "city", "country", "language", "timeZone", "updatedAt")
      VALUES (${randomUUID()}::uuid, ${c.id}, ${c.name}, ${c.kind}::"CustomerKind", ${c.email ?? null}, ${c.phone ?? null},
              ${c.address?.lines ?? []}::text[], ${c.address?.postalCode ?? null}, ${c.address?.city ?? null}, ${c.country},
              ${c.language}, ${c.timeZone}, now())
      ON CONFLICT ("externalId") DO UPDATE SET
        "name" = EXCLUDED."name", "kind" = EXCLUDED."kind", "email" = EXCLUDED."email", "phone" = EXCLUDED."phone",
        "addressLines" = EXCLUDED."addressLines", "postalCode" = EXCLUDED."postalCode", "city" = EXCLUDED."city",
        "country" = EXCLUDED."country", "language" = EXCLUDED."language", "timeZone" = EXCLUDED."timeZone", "updatedAt" = now()
      RETURNING *
    ), i AS (
      INSERT INTO "Invoice" ("id", "number", "customerId", "issueDate", "dueDate", "amountMinor", "depositMinor", "balanceMinor",
                             "currency", "paymentLink", "policyId", "policyVersion", "workflowId", "requestHash", "idempotencyKey", "updatedAt")
      SELECT ${randomUUID()}::uuid, ${inv.number}, c."id", ${inv.issueDate}::date, ${inv.dueDate}::date,
             ${BigInt(inv.amountMinor)}, ${BigInt(inv.depositMinor)}, ${BigInt(inv.amountMinor - inv.depositMinor)},
             ${inv.currency}, ${inv.paymentLink ?? null}, ${memo.policyId}, ${memo.policyVersion}::int, ${workflowIdFor(inv.number)},
             ${memo.requestHash}, ${memo.idempotencyKey ?? null}, now()
      FROM c
      RETURNING *
    )
    SELECT to_jsonb(i) || jsonb_build_object('amountMinor', i."amountMinor"::text, 'depositMinor', i."depositMinor"::text,
                                             'balanceMinor', i."balanceMinor"::text) AS invoice,
           to_jsonb(c) AS customer
    FROM i, c`;
  const row = rows[0];
  if (!row) throw new Error(`invoice ${inv.number}: the insert returned no row`);
  return { ...invoiceFromRow(row.invoice), customer: customerFromRow(row.customer) };
}

type RawRow = Record<string, unknown>;
const str = (v: unknown) => v as string;
const optStr = (v: unknown) => (v ?? null) as string | null;
const instant = (v: unknown) => new Date(v as string);
const optInstant = (v: unknown) => (v == null ? null : instant(v));
const optInt = (v: unknown) => (v == null ? null : Number(v));
/** DATE columns come back as "YYYY-MM-DD"; Prisma's own reads give UTC midnight. */
const day = (v: unknown) => dayToDate(v as string);

function invoiceFromRow(r: RawRow): Omit<InvoiceWithCustomer, 'customer'> {
  return {
    id: str(r.id),
    number: str(r.number),
    customerId: str(r.customerId),
    issueDate: day(r.issueDate),
    dueDate: day(r.dueDate),
    amountMinor: BigInt(str(r.amountMinor)),
    depositMinor: BigInt(str(r.depositMinor)),
    currency: str(r.currency),
    paymentLink: optStr(r.paymentLink),
    policyId: str(r.policyId),
    policyVersion: Number(r.policyVersion),
    workflowId: str(r.workflowId),
    requestHash: str(r.requestHash),
    idempotencyKey: optStr(r.idempotencyKey),
    stage: str(r.stage),
    balanceMinor: BigInt(str(r.balanceMinor)),
    closedAt: r.closedAt ? instant(r.closedAt) : null,
    outcome: optStr(r.outcome),
    createdAt: instant(r.createdAt),
    updatedAt: instant(r.updatedAt),
  };
}

function customerFromRow(r: RawRow): InvoiceWithCustomer['customer'] {
  return {
    id: str(r.id),
    externalId: str(r.externalId),
    name: str(r.name),
    kind: r.kind as InvoiceWithCustomer['customer']['kind'],
    email: optStr(r.email),
    phone: optStr(r.phone),
    addressLines: (r.addressLines ?? []) as string[],
    postalCode: optStr(r.postalCode),
    city: optStr(r.city),
    country: str(r.country),
    language: str(r.language),
    timeZone: str(r.timeZone),
    preferredChannels: (r.preferredChannels ?? []) as string[],
    doNotSms: Boolean(r.doNotSms),
    doNotCall: Boolean(r.doNotCall),
    erasedAt: optInstant(r.erasedAt),
    erasedBy: optStr(r.erasedBy),
    approvalBeforeFormalSteps: Boolean(r.approvalBeforeFormalSteps),
    tags: (r.tags ?? []) as string[],
    paymentTermDays: optInt(r.paymentTermDays),
    paymentTermAgreedBy: optStr(r.paymentTermAgreedBy),
    paymentTermAgreedAt: optInstant(r.paymentTermAgreedAt),
    gracePeriodDays: optInt(r.gracePeriodDays),
    gracePeriodAgreedBy: optStr(r.gracePeriodAgreedBy),
    gracePeriodAgreedAt: optInstant(r.gracePeriodAgreedAt),
    agreedPolicyId: optStr(r.agreedPolicyId),
    agreedPolicyAgreedBy: optStr(r.agreedPolicyAgreedBy),
    agreedPolicyAgreedAt: optInstant(r.agreedPolicyAgreedAt),
    earlyPaymentDiscountBps: optInt(r.earlyPaymentDiscountBps),
    earlyPaymentDiscountDays: optInt(r.earlyPaymentDiscountDays),
    earlyPaymentDiscountAgreedBy: optStr(r.earlyPaymentDiscountAgreedBy),
    earlyPaymentDiscountAgreedAt: optInstant(r.earlyPaymentDiscountAgreedAt),
    holdReason: optStr(r.holdReason),
    holdUntil: optStr(r.holdUntil),
    holdBy: optStr(r.holdBy),
    holdSince: optInstant(r.holdSince),
    createdAt: instant(r.createdAt),
    updatedAt: instant(r.updatedAt),
  };
}

/**
 * What the customer's record agreed fills what the invoice leaves out: the due date from
 * the agreed payment term, the policy from the agreed policy (before the default). One
 * indexed read, skipped when the invoice names both.
 */
export async function withAgreedTerms(
  prisma: PrismaClient,
  req: IssueInvoiceRequest,
  fill: { policy: boolean } = { policy: true },
): Promise<IssueInvoiceRequest> {
  if (req.dueDate && (req.policyId || !fill.policy)) return req;
  const c = await prisma.customer.findUnique({
    where: { externalId: req.customer.externalId },
    select: { paymentTermDays: true, agreedPolicyId: true },
  });
  if (!c) return req;
  const dueDate =
    req.dueDate ?? (c.paymentTermDays == null ? undefined : addDays(req.issueDate, c.paymentTermDays));
  return { ...req, dueDate, policyId: req.policyId ?? (fill.policy ? (c.agreedPolicyId ?? undefined) : undefined) };
}

/**
 * The customer's grace period and approval setting, for the workflow's input (running
 * invoices get changes through the customerTerms update); undefined when there are none.
 */
export async function customerTermsOf(prisma: PrismaClient, externalId: string): Promise<CustomerTerms | undefined> {
  const c = await prisma.customer.findUnique({ where: { externalId }, select: { gracePeriodDays: true, approvalBeforeFormalSteps: true } });
  if (!c || (!c.gracePeriodDays && !c.approvalBeforeFormalSteps)) return undefined;
  return { graceDays: c.gracePeriodDays ?? 0, approvalBeforeFormalSteps: c.approvalBeforeFormalSteps };
}

/**
 * The customer's pause (POST /v1/customers/{id}/pause) when it holds now: an invoice issued
 * during it starts paused. One that ended (its until passed) is ignored.
 */
export async function customerHoldOf(prisma: PrismaClient, externalId: string): Promise<Pause | undefined> {
  const c = await prisma.customer.findUnique({ where: { externalId }, select: { holdReason: true, holdUntil: true, timeZone: true } });
  if (!c?.holdReason) return undefined;
  if (c.holdUntil) {
    const end = resolveDeadline(c.holdUntil, c.timeZone);
    if (!end || Date.parse(end) <= Date.now()) return undefined;
    return { reason: c.holdReason, until: c.holdUntil };
  }
  return { reason: c.holdReason };
}

export async function issueInvoice(deps: IssueDeps, req: IssueInvoiceRequest, idempotencyKey?: string): Promise<IssueResult> {
  // The agreed payment term fills a missing due date; the agreed policy goes through the
  // catalogue's resolver when there is one (it knows agreed policies), else fills policyId.
  const [withTerms, terms, hold] = await Promise.all([
    withAgreedTerms(deps.prisma, req, { policy: !deps.policies }),
    customerTermsOf(deps.prisma, req.customer.externalId),
    customerHoldOf(deps.prisma, req.customer.externalId),
  ]);
  // The catalogue answers from memory in the common case (no database round trip).
  const resolver = await policyResolverFor(deps, withTerms);
  const normalised = normaliseIssueRequest(withTerms, deps.config, resolver);
  const memo = { ...normalised, idempotencyKey };
  const before = await findExisting(deps, memo);
  if (before) return before;
  await startInvoiceWorkflow(deps, memo, terms, hold);
  try {
    return { created: true, invoice: await writeInvoiceRow(deps.prisma, memo) };
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // A concurrent request (or the reconciler) wrote it first: same content → same result.
    const after = await findExisting(deps, memo);
    if (after) return after;
    throw err;
  }
}

export interface ReconcileResult {
  scanned: number;
  recreated: string[];
}

/**
 * Finds running invoiceDunning workflows without an invoice row and recreates the row
 * from the workflow's memo. Safe to run at any time and concurrently with the API.
 * `startedAfter` bounds the scan to workflows started since then (api/reconciler.ts);
 * without it, every running invoice of the task queue is checked (`relance reconcile`).
 */
export async function reconcileInvoices(
  deps: Pick<IssueDeps, 'prisma' | 'temporal'>,
  opts: { startedAfter?: Date } = {},
): Promise<ReconcileResult> {
  const { prisma, temporal: t } = deps;
  const result: ReconcileResult = { scanned: 0, recreated: [] };
  const batch: IssueMemo[] = [];
  const flush = async () => {
    const numbers = batch.map((m) => m.invoice.number);
    const present = new Set(
      (await prisma.invoice.findMany({ where: { number: { in: numbers } }, select: { number: true } })).map((r) => r.number),
    );
    for (const memo of batch) {
      if (present.has(memo.invoice.number)) continue;
      try {
        await writeInvoiceRow(prisma, memo);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // The API wrote it meanwhile, or the idempotency key is held by another invoice.
        const exists = await prisma.invoice.findUnique({ where: { number: memo.invoice.number }, select: { id: true } });
        if (exists) continue;
        await writeInvoiceRow(prisma, { ...memo, idempotencyKey: undefined });
      }
      result.recreated.push(memo.invoice.number);
    }
    batch.length = 0;
  };
  // Only what can lack a row: this deployment's running invoices, started in the window.
  // The server filters (TaskQueue and StartTime are built-in search attributes), so a
  // run costs what it finds, not every workflow of the namespace.
  const window = opts.startedAfter ? ` AND StartTime >= '${opts.startedAfter.toISOString()}'` : '';
  const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${t.taskQueue}'${window}`;
  await withDeadline(
    t,
    async () => {
      for await (const wf of t.client.workflow.list({ query, pageSize: 200 })) {
        result.scanned++;
        const memo = wf.memo?.[MEMO_KEY] as IssueMemo | undefined;
        if (!memo?.invoice?.number) continue;
        batch.push(memo);
        if (batch.length >= 100) await flush();
      }
      if (batch.length) await flush();
    },
    Math.max(t.timeoutMs * 12, 60_000),
  );
  return result;
}
