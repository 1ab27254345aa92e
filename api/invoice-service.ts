// Issuing an invoice: record it and start its dunning workflow, idempotently and never
// half-done.
//
// Mechanism: START-FIRST WITH A DETERMINISTIC WORKFLOW ID, THEN THE ROW.
//  1. Validate and normalise the request into the invoice snapshot; hash it (requestHash).
//  2. Look the invoice up (by Idempotency-Key, then by number): same hash → the earlier
//     result is returned (200, Idempotent-Replayed: true); another hash → 409. Nothing has
//     been written yet, so a database outage here is a clean 503.
//  3. Start `invoiceDunning` with id `invoice-<number>` (workflowIdConflictPolicy FAIL,
//     reuse policy REJECT_DUPLICATE). The workflow input carries the full snapshot, and the
//     memo `relance` carries { requestHash, idempotencyKey, invoice, policyId, policyVersion }.
//     If a workflow with that id exists already, its memo hash decides: same content → we
//     join it (the USE_EXISTING behaviour), other content → 409. Temporal down → 503 and
//     nothing written anywhere.
//  4. Upsert the customer and insert the invoice row in one transaction.
// The only partial state possible is "workflow started, row missing" (database down or the
// process killed between 3 and 4). It heals itself: the client's retry (a 503 told it to)
// joins the running workflow and writes the row; and `reconcileInvoices` (run periodically
// by the server and by `relance reconcile`) lists running workflows and recreates missing
// rows from their memo. A row never exists without its workflow, because the row is
// written only after the start succeeded.
import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import type { Config } from '../config/index';
import { TaskQueues } from '../activities/types';
import { minorUnits } from '../domain/money';
import { getBuiltinPolicy } from '../domain/policy';
import { anchorInstant, calendarHolidays } from '../domain/schedule';
import type { DunningPolicy, InvoiceSnapshot } from '../domain/types';
import type { PrismaClient } from '../prisma/client';
import { CustomerIdKey, DunningStageKey, AmountDueKey, InvoiceNumberKey } from '../workflows/search-attributes';
import { workflowIdFor, type InvoiceDunningInput } from '../workflows/messages';
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
}

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

function resolvePolicy(req: IssueInvoiceRequest, config: Config): DunningPolicy {
  const id = req.policyId ?? (req.customer.kind === 'B2C' ? config.DEFAULT_B2C_POLICY_ID : config.DEFAULT_POLICY_ID);
  try {
    return getBuiltinPolicy(id);
  } catch (err) {
    throw problems.field('policyId', (err as Error).message);
  }
}

/** Business validation beyond the schema; returns the snapshot and its policy. */
export function normaliseIssueRequest(req: IssueInvoiceRequest, config: Config): IssueMemo & { policy: DunningPolicy } {
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
  const policy = collect(() => resolvePolicy(req, config));
  if (amountMinor !== undefined && depositMinor !== undefined && depositMinor > amountMinor) {
    errors.push({ field: 'deposit', message: 'must not exceed the amount' });
  }
  if (req.dueDate < req.issueDate) errors.push({ field: 'dueDate', message: 'must not be before issueDate' });
  const c = req.customer;
  let phone: string | undefined;
  if (c.phone) {
    const parsed = parsePhoneNumberFromString(c.phone, { defaultCountry: c.country as CountryCode });
    if (!parsed?.isValid()) errors.push({ field: 'customer.phone', message: `is not a valid phone number for ${c.country}` });
    else phone = parsed.number;
  }
  if (errors.length || !policy || amountMinor === undefined || depositMinor === undefined) throw problems.validation(errors);

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
  const { prisma } = deps;
  if (memo.idempotencyKey) {
    const byKey = await prisma.invoice.findUnique({ where: { idempotencyKey: memo.idempotencyKey }, include: { customer: true } });
    if (byKey) {
      if (byKey.number !== memo.invoice.number || byKey.requestHash !== memo.requestHash) {
        throw problems.conflict('This Idempotency-Key was used for a different request', 'idempotency-key-reused');
      }
      return { created: false, invoice: byKey };
    }
  }
  const byNumber = await prisma.invoice.findUnique({ where: { number: memo.invoice.number }, include: { customer: true } });
  if (byNumber) {
    if (byNumber.requestHash !== memo.requestHash) throw conflictWith(memo.invoice.number);
    return { created: false, invoice: byNumber };
  }
  return undefined;
}

function staticSummary(inv: InvoiceSnapshot): string {
  return `Invoice ${inv.number} · customer ${inv.customer.id} · ${minorToDecimal(inv.amountMinor - inv.depositMinor, inv.currency)} ${inv.currency}`;
}

/** Starts the workflow, or joins an existing one started for the same content (409 otherwise). */
export async function startInvoiceWorkflow(
  deps: Pick<IssueDeps, 'temporal' | 'config'>,
  memo: IssueMemo & { policy: DunningPolicy },
): Promise<{ started: boolean }> {
  const { temporal: t } = deps;
  const { policy, ...memoValue } = memo;
  const workflowId = workflowIdFor(memo.invoice.number);
  const input: InvoiceDunningInput = {
    invoice: memo.invoice,
    policy,
    creditor: { name: deps.config.creditor.name },
    holidays: calendarHolidays({ policy, anchor: anchorInstant(memo.invoice), timeZone: memo.invoice.customer.timeZone, country: memo.invoice.customer.country }),
  };
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

/** Customer upsert + invoice insert, one transaction. */
export async function writeInvoiceRow(prisma: PrismaClient, memo: IssueMemo): Promise<InvoiceWithCustomer> {
  const inv = memo.invoice;
  const c = inv.customer;
  const details = {
    name: c.name,
    kind: c.kind,
    email: c.email ?? null,
    phone: c.phone ?? null,
    addressLines: c.address?.lines ?? [],
    postalCode: c.address?.postalCode ?? null,
    city: c.address?.city ?? null,
    country: c.country,
    language: c.language,
    timeZone: c.timeZone,
  };
  const attempt = () =>
    prisma.$transaction(async (tx) => {
      // A known customer (same external id) is reused; its contact details follow the latest invoice.
      const customer = await tx.customer.upsert({
        where: { externalId: c.id },
        create: { externalId: c.id, ...details },
        update: details,
      });
      // The customer row is the one just upserted: no second read for `include`.
      const invoice = await tx.invoice.create({
        data: {
          number: inv.number,
          customerId: customer.id,
          issueDate: dayToDate(inv.issueDate),
          dueDate: dayToDate(inv.dueDate),
          amountMinor: BigInt(inv.amountMinor),
          depositMinor: BigInt(inv.depositMinor),
          balanceMinor: BigInt(inv.amountMinor - inv.depositMinor),
          currency: inv.currency,
          paymentLink: inv.paymentLink ?? null,
          policyId: memo.policyId,
          policyVersion: memo.policyVersion,
          workflowId: workflowIdFor(inv.number),
          requestHash: memo.requestHash,
          idempotencyKey: memo.idempotencyKey ?? null,
        },
      });
      return { ...invoice, customer };
    });
  try {
    return await attempt();
  } catch (err) {
    // Two first invoices of one new customer at once: the loser's upsert hits the unique
    // external id; once more finds the customer. An invoice-number race is the caller's.
    if (!isUniqueViolation(err)) throw err;
    const exists = await prisma.invoice.findUnique({ where: { number: inv.number }, select: { id: true } });
    if (exists) throw err;
    return attempt();
  }
}

export async function issueInvoice(deps: IssueDeps, req: IssueInvoiceRequest, idempotencyKey?: string): Promise<IssueResult> {
  const normalised = normaliseIssueRequest(req, deps.config);
  const memo = { ...normalised, idempotencyKey };
  const before = await findExisting(deps, memo);
  if (before) return before;
  await startInvoiceWorkflow(deps, memo);
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
 */
export async function reconcileInvoices(deps: Pick<IssueDeps, 'prisma' | 'temporal'>): Promise<ReconcileResult> {
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
  const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`;
  await withDeadline(
    t,
    async () => {
      for await (const wf of t.client.workflow.list({ query, pageSize: 200 })) {
        if (!wf.taskQueue.endsWith(TaskQueues.workflow)) continue;
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
