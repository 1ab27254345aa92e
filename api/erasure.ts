// Erasure of a customer's personal data (GDPR Art. 17) and the retention job.
//
// Erasure, once none of the customer's invoices is open: the customer's name becomes a
// pseudonym and every other personal value it is known by (emails, phones, address lines,
// contact names; from its record, its contacts, the invoices' workflow memos, the recipients
// its messages went to, its import rows) is replaced wherever it was written: rendered message
// bodies, subjects, transcripts, timeline events, inbound messages, audit details, webhook
// bodies, import rows, agency dossiers. Free text a person wrote (notes, call notes, replies)
// is cleared whole; letter PDFs and attachments are deleted; the closed workflows' histories
// are deleted from Temporal. Invoice numbers, amounts, dates and payments stay: the accounting
// record is kept ten years (Code de commerce L123-22).
//
// Order: read everything (memos included), then files, then Temporal, then one database
// transaction. A failure part-way is answered 5xx and a repeat finishes it: the database,
// written last, still holds every value to look for.
import { createHash } from 'node:crypto';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { z } from 'zod';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { Logger } from 'pino';
import type { Config } from '../config/index';
import { workflowIdFor } from '../contracts/ids';
import { MS_PER_DAY } from '../domain/dates';
import type { InvoiceSnapshot } from '../domain/types';
import type { Prisma, PrismaClient } from '../prisma/client';
import { recordAudit, requestActor, type AuditActor, actorName } from './audit';
import { CustomerParams } from './customer-schemas';
import type { InvoiceRouteDeps } from './invoices';
import { MEMO_KEY, WORKFLOW_TYPE, type IssueMemo } from './invoice-service';
import { problems } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { withDeadline, type TemporalGateway } from './temporal';

export const ERASED = '[erased]';
/** Keys of free text a person wrote (a reply's excerpt, a note): cleared whole, not searched. */
const FREE_TEXT_KEYS = new Set(['excerpt', 'text', 'note', 'from', 'subject']);
const EMAIL_RE = /[^\s,<>;"'()]+@[^\s,<>;"'()]+\.[A-Za-z]{2,}/g;

export interface ErasureDeps {
  prisma: PrismaClient;
  temporal: TemporalGateway;
  config: Config;
  log?: Logger;
}

export interface ErasureReport {
  customerId: string;
  pseudonym: string;
  erasedAt: string;
  kept: { invoices: number; payments: number };
  pseudonymised: Record<string, number>;
  deleted: Record<string, number>;
}

/** Replaces every known personal value in a string (case-insensitive), longest first. */
export class Scrubber {
  private readonly re?: RegExp;
  private readonly map = new Map<string, string>();

  constructor(values: Array<{ value: string | null | undefined; replacement: string }>) {
    for (const { value, replacement } of values) {
      const v = value?.trim();
      if (!v || v.length < 3 || this.map.has(v.toLowerCase())) continue;
      this.map.set(v.toLowerCase(), replacement);
    }
    const keys = [...this.map.keys()].sort((a, b) => b.length - a.length);
    if (keys.length) this.re = new RegExp(keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gi');
  }

  get values(): string[] {
    return [...this.map.keys()];
  }

  text(s: string): string;
  text(s: string | null): string | null;
  text(s: string | null): string | null {
    if (s === null || !this.re) return s;
    return s.replace(this.re, (m) => this.map.get(m.toLowerCase()) ?? ERASED);
  }

  /** A JSON value with its strings scrubbed and its free-text members cleared. */
  json(v: unknown, key?: string): unknown {
    if (typeof v === 'string') return key && FREE_TEXT_KEYS.has(key) ? ERASED : this.text(v);
    if (Array.isArray(v)) return v.map((x) => this.json(x, key));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.json(x, k)]));
    return v;
  }
}

/** The ways a phone number is written: E.164, national and international formats. */
function phoneForms(phone: string | null | undefined, country: string): string[] {
  if (!phone) return [];
  const p = parsePhoneNumberFromString(phone, { defaultCountry: country.toUpperCase() as never });
  return p ? [phone, p.number, p.formatNational(), p.formatInternational()] : [phone];
}

export async function eraseCustomerPersonalData(deps: ErasureDeps, externalId: string, actor: AuditActor): Promise<ErasureReport> {
  const { prisma, temporal, config } = deps;
  const customer = await prisma.customer.findUnique({ where: { externalId }, include: { contacts: true } });
  if (!customer) throw problems.notFound(`Customer ${externalId}`);
  const invoices = await prisma.invoice.findMany({ where: { customerId: customer.id }, select: { id: true, number: true, closedAt: true } });
  const open = invoices.filter((i) => !i.closedAt).map((i) => i.number);
  if (open.length) {
    throw problems.conflict(
      `Customer ${externalId} has open invoices (${open.join(', ')}): their dunning needs the personal data; erase once they are closed (paid, cancelled, written off)`,
      'customer-has-open-invoices',
    );
  }
  const numbers = invoices.map((i) => i.number);
  const invoiceIds = invoices.map((i) => i.id);

  // ---- what the customer is known by
  const runs = await closedRuns(temporal, numbers);
  const running = runs.filter((r) => r.running).map((r) => r.number);
  if (running.length) {
    throw problems.conflict(`The workflows of invoices ${running.join(', ')} are still running; erase once they closed`, 'customer-has-open-invoices');
  }
  const snapshots = runs.flatMap((r) => (r.snapshot ? [r.snapshot.customer] : []));
  // A batch message (issue 18) lists several invoices of the customer: it is theirs too.
  const ofInvoices = { OR: [{ invoiceNumber: { in: numbers } }, { invoices: { some: { invoiceNumber: { in: numbers } } } }] };
  const comms = await prisma.communication.findMany({ where: ofInvoices, select: { id: true, recipient: true, channel: true, documentRef: true } });
  const importRows = await prisma.importJobRow.findMany({ where: { number: { in: numbers } }, select: { jobId: true, line: true, request: true } });
  const importedCustomers = importRows.map((r) => (r.request as { customer?: Partial<InvoiceSnapshot['customer']> & { externalId?: string; address?: { lines?: string[] } } })?.customer ?? {});

  const pseudonym = `erased-${createHash('sha256').update(customer.id).digest('hex').slice(0, 10)}`;
  const emails = new Set<string>();
  const phones = new Set<string>();
  const addAddress = (lines: string[] | undefined, postalCode?: string | null, city?: string | null) => [
    ...(lines ?? []).map((l) => ({ value: l, replacement: ERASED })),
    { value: postalCode && city ? `${postalCode} ${city}` : null, replacement: ERASED },
  ];
  const people = [
    { name: customer.name, email: customer.email, phone: customer.phone, main: true },
    ...customer.contacts.map((c) => ({ name: c.name, email: c.email, phone: c.phone, main: false })),
    ...snapshots.map((s) => ({ name: s.name, email: s.email, phone: s.phone, main: true })),
    ...importedCustomers.map((s) => ({ name: s.name, email: s.email, phone: s.phone, main: true })),
  ];
  for (const p of people) {
    if (p.email) emails.add(p.email.toLowerCase());
    for (const f of phoneForms(p.phone, customer.country)) phones.add(f);
  }
  for (const c of comms) if (c.channel === 'email') for (const e of c.recipient?.match(EMAIL_RE) ?? []) emails.add(e.toLowerCase());
  const inbound = await prisma.inboundMessage.findMany({
    where: { OR: [{ invoiceNumbers: { hasSome: numbers } }, { fromAddress: { in: [...emails], mode: 'insensitive' } }] },
    select: { id: true, toAddresses: true, subject: true, bounceRecipient: true },
  });
  const scrub = new Scrubber([
    ...people.map((p) => ({ value: p.name, replacement: p.main ? pseudonym : ERASED })),
    ...[...emails].map((e) => ({ value: e, replacement: ERASED })),
    ...[...phones].map((p) => ({ value: p, replacement: ERASED })),
    ...addAddress(customer.addressLines, customer.postalCode, customer.city),
    ...snapshots.flatMap((s) => addAddress(s.address?.lines, s.address?.postalCode, s.address?.city)),
    ...importedCustomers.flatMap((s) => addAddress(s.address?.lines, s.address?.postalCode, s.address?.city)),
  ]);

  // ---- files: letters (PDF) deleted; agency dossiers scrubbed, their PDFs deleted
  let documentsDeleted = 0;
  let documentsScrubbed = 0;
  const dataDir = path.resolve(config.dataDir);
  for (const c of comms) {
    const ref = c.documentRef;
    if (!ref || !path.isAbsolute(ref) || !path.resolve(ref).startsWith(dataDir + path.sep)) continue;
    const info = await stat(ref).catch(() => undefined);
    if (!info) continue;
    const files = info.isDirectory() ? (await readdir(ref)).map((f) => path.join(ref, f)) : [ref];
    for (const f of files) {
      if (/\.(json|csv|txt)$/i.test(f)) {
        const before = await readFile(f, 'utf8');
        const after = scrub.text(before);
        if (after !== before) {
          await writeFile(f, after);
          documentsScrubbed++;
        }
      } else {
        await rm(f, { force: true });
        documentsDeleted++;
      }
    }
  }

  // ---- Temporal: the closed histories (encrypted payloads holding the snapshot) deleted
  let histories = 0;
  for (const r of runs) {
    for (const runId of r.runIds) {
      try {
        await withDeadline(temporal, () =>
          temporal.client.workflowService.deleteWorkflowExecution({
            namespace: temporal.client.options.namespace,
            workflowExecution: { workflowId: workflowIdFor(r.number), runId },
          }),
        );
        histories++;
      } catch (err) {
        if ((err as { code?: number }).code !== 5 /* NOT_FOUND */) throw err;
      }
    }
  }

  // ---- the database, in one transaction
  const erasedAt = new Date();
  const counts = await prisma.$transaction(
    async (tx) => {
      const n = { contacts: 0, notes: 0, calls: 0, communications: 0, events: 0, inboundMessages: 0, importRows: 0, webhookDeliveries: 0, auditEntries: 0 };
      await tx.customer.update({
        where: { id: customer.id },
        data: { name: pseudonym, email: null, phone: null, addressLines: [], postalCode: null, city: null, erasedAt, erasedBy: actorName(actor), holdReason: null, holdUntil: null, holdBy: null, holdSince: null },
      });
      n.contacts = (await tx.customerContact.deleteMany({ where: { customerId: customer.id } })).count;
      n.notes = (await tx.note.updateMany({ where: { customerId: customer.id }, data: { text: ERASED } })).count;
      n.calls = (await tx.callOutcome.updateMany({ where: { customerId: customer.id }, data: { text: null } })).count;
      for (const c of await tx.communication.findMany({ where: ofInvoices })) {
        await tx.communication.update({
          where: { id: c.id },
          data: {
            recipient: ['email', 'sms', 'letter', 'phone'].includes(c.channel) && c.recipient ? ERASED : scrub.text(c.recipient),
            subject: scrub.text(c.subject),
            body: scrub.text(c.body),
            transcript: scrub.text(c.transcript),
            error: scrub.text(c.error),
          },
        });
        n.communications++;
      }
      for (const e of await tx.dunningEvent.findMany({ where: { OR: [{ invoiceNumber: { in: numbers } }, { invoiceId: { in: invoiceIds } }] } })) {
        await tx.dunningEvent.update({ where: { id: e.id }, data: { data: scrub.json(e.data) as Prisma.InputJsonValue } });
        n.events++;
      }
      for (const m of inbound) {
        await tx.inboundMessage.update({
          where: { id: m.id },
          data: {
            fromAddress: ERASED,
            toAddresses: m.toAddresses.map((a) => scrub.text(a)),
            subject: scrub.text(m.subject),
            text: null,
            excerpt: ERASED,
            bounceRecipient: scrub.text(m.bounceRecipient),
          },
        });
        n.inboundMessages++;
      }
      for (const t of await tx.task.findMany({ where: { customerId: customer.id }, select: { id: true, title: true } })) {
        await tx.task.update({ where: { id: t.id }, data: { title: scrub.text(t.title) } });
      }
      const attachments = (await tx.inboundAttachment.deleteMany({ where: { inboundMessageId: { in: inbound.map((m) => m.id) } } })).count;
      const invalid = (
        await tx.invalidAddress.deleteMany({ where: { address: { in: [...emails, ...[...phones].filter((p) => p.startsWith('+') && !p.includes(' '))] } } })
      ).count;
      for (const r of importRows) {
        await tx.importJobRow.update({ where: { jobId_line: { jobId: r.jobId, line: r.line } }, data: { request: scrub.json(r.request) as Prisma.InputJsonValue } });
        n.importRows++;
      }
      const patterns = scrub.values.map((v) => `%${v.replace(/[\\%_]/g, '\\$&')}%`);
      if (patterns.length) {
        const hooks = await tx.$queryRaw<Array<{ id: string; rawBody: string }>>`
          SELECT "id"::text AS "id", "rawBody" FROM "WebhookDelivery" WHERE "rawBody" ILIKE ANY(${patterns}::text[])`;
        for (const w of hooks) {
          await tx.webhookDelivery.update({ where: { id: w.id }, data: { rawBody: scrub.text(w.rawBody) } });
          n.webhookDeliveries++;
        }
      }
      // The audit log is append-only; its trigger lets this transaction rewrite `detail` only.
      await tx.$queryRaw`SELECT set_config('relance.erasure', 'on', true)`;
      const entries = await tx.auditEntry.findMany({
        where: { OR: [{ targetType: 'customer', targetId: externalId }, { targetType: 'invoice', targetId: { in: numbers } }] },
        select: { id: true, detail: true },
      });
      for (const a of entries) {
        await tx.auditEntry.update({ where: { id: a.id }, data: { detail: scrub.json(a.detail) as Prisma.InputJsonValue } });
        n.auditEntries++;
      }
      await recordAudit(tx, {
        actor,
        action: 'customer.erase',
        targetType: 'customer',
        targetId: externalId,
        detail: { pseudonym, invoices: numbers, histories, documentsDeleted, documentsScrubbed, attachments, invalidAddresses: invalid, ...n },
      });
      return { ...n, attachments, invalid };
    },
    { timeout: 60_000 },
  );

  return {
    customerId: externalId,
    pseudonym,
    erasedAt: erasedAt.toISOString(),
    kept: { invoices: invoices.length, payments: await prisma.payment.count({ where: { invoiceId: { in: invoiceIds } } }) },
    pseudonymised: {
      communications: counts.communications,
      timelineEvents: counts.events,
      inboundMessages: counts.inboundMessages,
      notes: counts.notes,
      calls: counts.calls,
      auditEntries: counts.auditEntries,
      importRows: counts.importRows,
      webhookDeliveries: counts.webhookDeliveries,
      documents: documentsScrubbed,
    },
    deleted: {
      contacts: counts.contacts,
      attachments: counts.attachments,
      invalidAddresses: counts.invalid,
      documents: documentsDeleted,
      workflowHistories: histories,
    },
  };
}

interface RunInfo {
  number: string;
  running: boolean;
  runIds: string[];
  snapshot?: InvoiceSnapshot;
}

/** Every run of each invoice's workflow (continue-as-new chains), with the memo's snapshot. */
async function closedRuns(temporal: TemporalGateway, numbers: string[]): Promise<RunInfo[]> {
  const out: RunInfo[] = [];
  for (const number of numbers) {
    const info: RunInfo = { number, running: false, runIds: [] };
    await withDeadline(temporal, async () => {
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(number).replace(/'/g, "\\'")}'` })) {
        if (wf.type !== WORKFLOW_TYPE) continue;
        if (wf.status.name === 'RUNNING') info.running = true;
        info.runIds.push(wf.runId);
        info.snapshot ??= (wf.memo?.[MEMO_KEY] as IssueMemo | undefined)?.invoice;
      }
    });
    if (!info.snapshot) {
      // Visibility may lag or not list it: the handle's describe reads the execution itself.
      try {
        const d = await withDeadline(temporal, () => temporal.client.workflow.getHandle(workflowIdFor(number)).describe());
        info.snapshot = (d.memo?.[MEMO_KEY] as IssueMemo | undefined)?.invoice;
        if (d.status.name === 'RUNNING') info.running = true;
        if (!info.runIds.includes(d.runId)) info.runIds.push(d.runId);
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    out.push(info);
  }
  return out;
}

export interface RetentionReport {
  bodiesCleared: number;
  inboundCleared: number;
  attachmentsDeleted: number;
  historiesDeleted: number;
}

/**
 * The retention job: rendered bodies and transcripts of closed invoices' messages, and the
 * text and attachments of inbound messages, cleared RETENTION_BODIES_DAYS after they were sent
 * or received; closed workflow histories deleted RETENTION_HISTORIES_DAYS after they closed
 * (unset: the namespace retention decides). Idempotent: every API process may run it.
 */
export async function runRetention(deps: ErasureDeps, now = new Date()): Promise<RetentionReport> {
  const { prisma, temporal, config } = deps;
  const report: RetentionReport = { bodiesCleared: 0, inboundCleared: 0, attachmentsDeleted: 0, historiesDeleted: 0 };
  if (config.RETENTION_BODIES_DAYS > 0) {
    const before = new Date(now.getTime() - config.RETENTION_BODIES_DAYS * MS_PER_DAY);
    report.bodiesCleared = (
      await prisma.communication.updateMany({
        where: {
          invoice: { closedAt: { not: null } },
          OR: [{ body: { not: null } }, { transcript: { not: null } }],
          AND: [{ OR: [{ sentAt: { lt: before } }, { sentAt: null, createdAt: { lt: before } }] }],
        },
        data: { body: null, transcript: null },
      })
    ).count;
    const old = { receivedAt: { lt: before } };
    report.attachmentsDeleted = (await prisma.inboundAttachment.deleteMany({ where: { inboundMessage: old } })).count;
    report.inboundCleared = (await prisma.inboundMessage.updateMany({ where: { ...old, text: { not: null } }, data: { text: null } })).count;
  }
  if (config.RETENTION_HISTORIES_DAYS !== undefined) {
    const closedBefore = new Date(now.getTime() - config.RETENTION_HISTORIES_DAYS * MS_PER_DAY).toISOString();
    const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus != 'Running' AND CloseTime <= '${closedBefore}' AND TaskQueue = '${temporal.taskQueue}'`;
    const found: Array<{ workflowId: string; runId: string }> = [];
    await withDeadline(
      temporal,
      async () => {
        for await (const wf of temporal.client.workflow.list({ query, pageSize: 500 })) found.push({ workflowId: wf.workflowId, runId: wf.runId });
      },
      Math.max(temporal.timeoutMs * 12, 60_000),
    );
    for (const execution of found) {
      try {
        await withDeadline(temporal, () =>
          temporal.client.workflowService.deleteWorkflowExecution({ namespace: temporal.client.options.namespace, workflowExecution: execution }),
        );
        report.historiesDeleted++;
      } catch (err) {
        if ((err as { code?: number }).code !== 5) throw err;
      }
    }
  }
  deps.log?.info({ ...report }, 'retention job ran');
  return report;
}

/** Runs the retention job every RETENTION_INTERVAL_MINUTES (first run a minute after start). */
export function startRetention(deps: ErasureDeps): { stop(): void } | undefined {
  const minutes = deps.config.RETENTION_INTERVAL_MINUTES;
  if (minutes <= 0) return undefined;
  const tick = () => void runRetention(deps).catch((err: unknown) => deps.log?.warn({ err }, 'retention job failed; the next interval retries'));
  const timer = setInterval(tick, minutes * 60_000);
  timer.unref();
  const first = setTimeout(tick, 60_000);
  first.unref();
  return {
    stop() {
      clearInterval(timer);
      clearTimeout(first);
    },
  };
}

const ErasureReportSchema = z
  .object({
    customerId: z.string(),
    pseudonym: z.string().openapi({ description: "The customer's name from now on" }),
    erasedAt: z.string(),
    kept: z.object({ invoices: z.number().int(), payments: z.number().int() }).openapi({ description: 'The accounting record, kept (numbers, amounts, dates, payments)' }),
    pseudonymised: z.record(z.string(), z.number().int()),
    deleted: z.record(z.string(), z.number().int()),
  })
  .openapi('ErasureReport');

const RetentionReportSchema = z
  .object({ bodiesCleared: z.number().int(), inboundCleared: z.number().int(), attachmentsDeleted: z.number().int(), historiesDeleted: z.number().int() })
  .openapi('RetentionReport');

export function privacyRouter(deps: InvoiceRouteDeps & { log?: Logger }, registry: OpenAPIRegistry): Router {
  const router = Router();
  defineRoute(router, registry, {
    method: 'delete',
    path: '/v1/customers/{customerId}/personal-data',
    operationId: 'eraseCustomerPersonalData',
    role: 'admin',
    summary: "Erase the customer's personal data (GDPR Art. 17) once none of its invoices is open",
    description:
      'Pseudonymises the name and removes the contacts, emails, phones and addresses wherever they were written ' +
      '(record, messages and their rendered bodies, timeline, inbound messages, audit details, import rows, agency ' +
      'dossiers), clears free text (notes, replies), deletes letter PDFs, attachments and the closed workflow histories. ' +
      'Invoice numbers, amounts, dates and payments stay (accounting records, ten years). Refused (409, with the open ' +
      'invoices) while an invoice is open. Repeating it is harmless.',
    tags: ['customers'],
    params: CustomerParams,
    responses: {
      200: jsonResponse('What was erased and what was kept', ErasureReportSchema),
      404: problemResponse('Unknown customer'),
      409: problemResponse('An invoice of the customer is open'),
    },
    handler: async ({ res, params }) => {
      res.json(await eraseCustomerPersonalData(deps, params.customerId, requestActor(res)));
    },
  });
  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/retention/run',
    operationId: 'runRetention',
    role: 'admin',
    summary: 'Run the retention job now (RETENTION_BODIES_DAYS, RETENTION_HISTORIES_DAYS); it also runs every RETENTION_INTERVAL_MINUTES',
    tags: ['customers'],
    body: z.strictObject({}).openapi('RetentionRunRequest', { description: 'Nothing (the settings come from the configuration)' }),
    responses: { 200: jsonResponse('What the run cleared', RetentionReportSchema) },
    handler: async ({ res }) => {
      const report = await runRetention(deps);
      await recordAudit(deps.prisma, { actor: requestActor(res), action: 'retention.run', targetType: 'retention', targetId: 'job', detail: { ...report } });
      res.json(report);
    },
  });
  return router;
}
