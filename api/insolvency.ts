// Insolvency proceedings of a customer (sauvegarde, redressement or liquidation judiciaire).
// Recording them stops every reminder of the customer at once: individual collection actions
// must stop (Code de commerce L622-21), so each running invoice workflow is told to pause
// through the checked pause update (its answer says it took effect; a closed invoice needs
// nothing). It also produces the claim declaration to the mandataire or liquidateur
// (documents/claim-pdf.ts: principal, interest up to the judgment date computed by
// domain/penalties.ts, the €40 of a business, the supporting documents) and a task with its
// deadline, two months from the BODACC publication (R622-24).
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { pauseUpdate } from '../contracts/messages';
import type { Config } from '../config/index';
import { localDate } from '../domain/dates';
import { isPastDue } from '../domain/overdue';
import { computePenalties } from '../domain/penalties';
import { getBuiltinPolicy } from '../domain/policy';
import type { DunningPolicy } from '../domain/types';
import { renderClaimPdf, type ClaimDossier, type ClaimLine, type InsolvencyKindName } from '../documents/claim-pdf';
import { creditorOf, formatDate } from '../documents/pdf';
import { formatMoney } from '../domain/money';
import type { Customer, InsolvencyKind, InsolvencyProceeding, PrismaClient, Task } from '../prisma/client';
import type { PolicyCatalog } from '../policies/catalog';
import { recordAudit, requestActor, actorName } from './audit';
import { SENT_REMINDERS, sentReminders } from './customer-behaviour';
import { applyToInvoices, incompleteProblem, openInvoicesOf } from './customer-holds';
import { CustomerParams } from './customer-schemas';
import { postalAddressOf } from './customer-statement';
import { isoDay, minorToDecimal } from './format';
import { problems, type FieldError } from './problem';
import { NOTICE_DATED_EVENT } from './reports';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { IsoDate, PostalAddressSchema } from './schemas';
import { updateInvoice, type TemporalGateway } from './temporal';

const KINDS = ['sauvegarde', 'redressement', 'liquidation'] as const;
const KIND_TO_DB: Record<InsolvencyKindName, InsolvencyKind> = { sauvegarde: 'SAUVEGARDE', redressement: 'REDRESSEMENT', liquidation: 'LIQUIDATION' };
const KIND_WORDS: Record<InsolvencyKindName, string> = { sauvegarde: 'sauvegarde', redressement: 'redressement judiciaire', liquidation: 'liquidation judiciaire' };

export const InsolvencyRequestSchema = z
  .object({
    kind: z.enum(KINDS),
    court: z.string().trim().min(1).max(200).openapi({ example: 'Tribunal de commerce de Toulouse' }),
    judgmentDate: IsoDate.openapi({ description: 'Date of the opening judgment: interest stops on it (L622-28)' }),
    bodaccPublicationDate: IsoDate.openapi({ description: 'Publication in the BODACC: the claims are declared within two months of it (R622-24)' }),
    representative: z.object({
      role: z.enum(['mandataire', 'liquidateur']).openapi({ description: 'liquidateur for a liquidation, mandataire otherwise' }),
      name: z.string().trim().min(1).max(200),
      address: PostalAddressSchema,
    }),
  })
  .openapi('InsolvencyRequest');
type InsolvencyRequest = z.infer<typeof InsolvencyRequestSchema>;

const Money = { currency: z.string(), principal: z.string(), interest: z.string(), indemnity: z.string(), total: z.string(), totalMinor: z.number().int() };
const InsolvencySchema = z
  .object({
    customerId: z.string(),
    proceeding: z.object({
      id: z.string(),
      kind: z.enum(KINDS),
      court: z.string(),
      judgmentDate: z.string(),
      bodaccPublicationDate: z.string(),
      claimDeadline: z.string(),
      representative: z.object({ role: z.string(), name: z.string(), address: PostalAddressSchema }),
      recordedBy: z.string(),
      recordedAt: z.string(),
    }),
    holds: z.array(z.object({ invoiceNumber: z.string(), status: z.enum(['held', 'closed', 'failed']), detail: z.string().optional() })),
    claim: z.object({
      deadline: z.string(),
      lines: z.array(z.object({ invoiceNumber: z.string(), dueDate: z.string(), notYetDue: z.boolean(), interestMinor: z.number().int(), ...Money })),
      totals: z.array(z.object(Money)),
    }),
    task: z.object({ id: z.string(), kind: z.string(), title: z.string(), dueDate: z.string(), status: z.string() }).nullable(),
  })
  .openapi('Insolvency');

type Hold = { invoiceNumber: string; status: 'held' | 'closed' | 'failed'; detail?: string };

/** The last day to declare: two calendar months after the BODACC publication (end of month clamps). */
export function claimDeadlineOf(bodaccPublicationDate: string): string {
  return DateTime.fromISO(bodaccPublicationDate, { zone: 'UTC' }).plus({ months: 2 }).toISODate() as string;
}

function validate(body: InsolvencyRequest, today: string): void {
  const errors: FieldError[] = [];
  if (body.judgmentDate > today) errors.push({ field: 'judgmentDate', message: 'must not be in the future' });
  if (body.bodaccPublicationDate < body.judgmentDate) errors.push({ field: 'bodaccPublicationDate', message: 'must not be before the judgment date' });
  else if (body.bodaccPublicationDate > today) errors.push({ field: 'bodaccPublicationDate', message: 'must not be in the future' });
  const expected = body.kind === 'liquidation' ? 'liquidateur' : 'mandataire';
  if (body.representative.role !== expected) errors.push({ field: 'representative.role', message: `must be ${expected} for a ${KIND_WORDS[body.kind]}` });
  if (errors.length) throw problems.validation(errors);
}

const STEP_WORDS: Record<string, string> = {
  courtesy: 'Rappel avant échéance',
  'reminder-1': 'Relance n°1',
  'reminder-2': 'Relance n°2',
  'formal-notice': 'Mise en demeure',
  'final-notice': 'Dernier avis avant recouvrement',
};
const CHANNEL_WORDS: Record<string, string> = { email: 'courriel', letter: 'lettre', sms: 'SMS' };

/** The policy an invoice ran under, for its penalty terms: the catalogue's version, else a shipped one. */
async function policyOf(policies: PolicyCatalog | undefined, id: string, version: number): Promise<DunningPolicy | undefined> {
  const found = (await policies?.snapshot())?.find(`${id}@${version}`);
  if (found) return found;
  try {
    return getBuiltinPolicy(id);
  } catch {
    return undefined;
  }
}

/**
 * The interest of one claim line. An invoice due before the rate table starts (e.g. issued
 * with a date in 2000) has no reference rate: a 409 naming the invoice and the missing
 * half-year (the rate configuration must be completed), not a 500.
 */
function penaltiesOrConflict(number: string, input: Parameters<typeof computePenalties>[0]): ReturnType<typeof computePenalties> {
  try {
    return computePenalties(input);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('No reference rate')) throw problems.conflict(`Invoice ${number}: ${err.message}`, 'rates-missing');
    throw err;
  }
}

/** Every invoice the customer owed on the judgment date, with its interest up to that date. */
export async function claimDossierOf(
  deps: { prisma: PrismaClient; config: Config; policies?: PolicyCatalog },
  customer: Customer,
  p: InsolvencyProceeding,
  date: string,
): Promise<ClaimDossier> {
  const judgment = isoDay(p.judgmentDate);
  const invoices = await deps.prisma.invoice.findMany({
    where: {
      customerId: customer.id,
      issueDate: { lte: p.judgmentDate },
      // Not NOT { outcome in … }: SQL's NOT (NULL IN …) is NULL and would drop the open invoices.
      OR: [{ outcome: null }, { outcome: { notIn: ['cancelled', 'written-off'] } }],
    },
    include: {
      payments: { orderBy: { receivedAt: 'asc' } },
      ...SENT_REMINDERS,
      events: { where: { type: NOTICE_DATED_EVENT }, select: { data: true } },
    },
    orderBy: [{ dueDate: 'asc' }, { number: 'asc' }],
  });
  const lines: ClaimLine[] = [];
  for (const inv of invoices) {
    const payments = inv.payments.map((x) => ({ date: localDate(x.receivedAt.getTime(), customer.timeZone), amountMinor: Number(x.amountMinor) }));
    // What was owed on the judgment date: today's balance plus what was paid after it.
    const principal = Number(inv.balanceMinor) + payments.filter((x) => x.date > judgment).reduce((s, x) => s + x.amountMinor, 0);
    if (principal <= 0) continue;
    const due = isoDay(inv.dueDate);
    const policy = await policyOf(deps.policies, inv.policyId, inv.policyVersion);
    const noticeDates = inv.events.map((e) => (e.data as { date?: unknown } | null)?.date).filter((d): d is string => typeof d === 'string').sort();
    const penalties =
      policy && policy.penalties.mode !== 'none'
        ? penaltiesOrConflict(inv.number, {
            terms: policy.penalties,
            audience: customer.kind,
            currency: inv.currency,
            dueDate: due,
            asOf: judgment,
            principalMinor: Number(inv.amountMinor - inv.depositMinor),
            payments: payments.filter((x) => x.date <= judgment),
            rates: deps.config.rateTables,
            formalNoticeDate: noticeDates[0],
          })
        : undefined;
    const fr = (minor: bigint | number) => formatMoney({ amountMinor: Number(minor), currency: inv.currency }, 'fr');
    const sent = sentReminders(inv).filter((r) => localDate(r.at.getTime(), customer.timeZone) <= judgment);
    const interestMinor = penalties?.interestMinor ?? 0;
    const indemnityMinor = penalties?.indemnityMinor ?? 0;
    lines.push({
      invoiceNumber: inv.number,
      issueDate: isoDay(inv.issueDate),
      dueDate: due,
      currency: inv.currency,
      principalMinor: principal,
      interestMinor,
      indemnityMinor,
      totalMinor: principal + interestMinor + indemnityMinor,
      notYetDue: !isPastDue(due, judgment),
      penalties,
      documents: [
        `Copie de la facture n°${inv.number} du ${formatDate(isoDay(inv.issueDate), 'fr')} (${fr(inv.amountMinor)}${inv.depositMinor > 0n ? `, acompte versé ${fr(inv.depositMinor)}` : ''})`,
        ...sent.map((r) => {
          const on = formatDate(localDate(r.at.getTime(), customer.timeZone), 'fr');
          return `${STEP_WORDS[r.stepId] ?? r.stepId} du ${on} (${CHANNEL_WORDS[r.channel] ?? r.channel}${r.batched ? ', relevé groupé des factures du client' : ''})`;
        }),
        ...payments.filter((x) => x.date <= judgment).map((x) => `Règlement partiel reçu le ${formatDate(x.date, 'fr')} : ${fr(x.amountMinor)}`),
        ...(customer.kind === 'B2B' ? ['Conditions générales de vente (pénalités de retard et indemnité forfaitaire, article L441-10 du Code de commerce)'] : []),
        `Relevé de compte du débiteur au ${formatDate(judgment, 'fr')}`,
      ],
    });
  }
  const totals = new Map<string, ClaimDossier['totals'][number]>();
  for (const l of lines) {
    const t = totals.get(l.currency) ?? { currency: l.currency, principalMinor: 0, interestMinor: 0, indemnityMinor: 0, totalMinor: 0 };
    t.principalMinor += l.principalMinor;
    t.interestMinor += l.interestMinor;
    t.indemnityMinor += l.indemnityMinor;
    t.totalMinor += l.totalMinor;
    totals.set(l.currency, t);
  }
  return {
    date,
    debtor: { externalId: customer.externalId, name: customer.name, address: postalAddressOf(customer) },
    proceeding: {
      kind: p.kind.toLowerCase() as InsolvencyKindName,
      court: p.court,
      judgmentDate: judgment,
      bodaccPublicationDate: isoDay(p.bodaccPublicationDate),
      claimDeadline: isoDay(p.claimDeadline),
      representative: {
        role: p.representativeRole as 'mandataire' | 'liquidateur',
        name: p.representativeName,
        address: { lines: p.representativeAddressLines, postalCode: p.representativePostalCode, city: p.representativeCity, country: p.representativeCountry },
      },
    },
    lines,
    totals: [...totals.values()].sort((a, b) => a.currency.localeCompare(b.currency)),
  };
}

function view(customer: Customer, p: InsolvencyProceeding, dossier: ClaimDossier, task: Task | null) {
  const amounts = (x: { currency: string; principalMinor: number; interestMinor: number; indemnityMinor: number; totalMinor: number }) => ({
    currency: x.currency,
    principal: minorToDecimal(x.principalMinor, x.currency),
    interest: minorToDecimal(x.interestMinor, x.currency),
    indemnity: minorToDecimal(x.indemnityMinor, x.currency),
    total: minorToDecimal(x.totalMinor, x.currency),
    totalMinor: x.totalMinor,
  });
  return {
    customerId: customer.externalId,
    proceeding: {
      id: p.id,
      kind: dossier.proceeding.kind,
      court: p.court,
      judgmentDate: dossier.proceeding.judgmentDate,
      bodaccPublicationDate: dossier.proceeding.bodaccPublicationDate,
      claimDeadline: dossier.proceeding.claimDeadline,
      representative: dossier.proceeding.representative,
      recordedBy: p.recordedBy,
      recordedAt: p.createdAt.toISOString(),
    },
    holds: p.holds as Hold[],
    claim: {
      deadline: dossier.proceeding.claimDeadline,
      lines: dossier.lines.map((l) => ({ invoiceNumber: l.invoiceNumber, dueDate: l.dueDate, notYetDue: l.notYetDue, interestMinor: l.interestMinor, ...amounts(l) })),
      totals: dossier.totals.map(amounts),
    },
    task: task ? { id: task.id, kind: task.kind, title: task.title, dueDate: isoDay(task.dueDate), status: task.status } : null,
  };
}

/** Tells every running invoice workflow of the customer to pause; their answers, in invoice order. */
async function holdInvoices(prisma: PrismaClient, temporal: TemporalGateway, customer: Customer, reason: string): Promise<Hold[]> {
  const open = (await openInvoicesOf(prisma, customer.id)).sort((a, b) => a.invoiceNumber.localeCompare(b.invoiceNumber));
  const outcomes = await applyToInvoices(open, (inv) => updateInvoice(temporal, inv.invoiceNumber, pauseUpdate, { reason }));
  // A refusal of a bare pause can only be about the invoice's state: nothing left to stop.
  return outcomes.map((o) => ({ invoiceNumber: o.invoiceNumber, status: o.outcome === 'applied' ? 'held' : o.outcome === 'failed' ? 'failed' : 'closed', ...(o.detail ? { detail: o.detail } : {}) }));
}

export function insolvencyRouter(
  deps: { prisma: PrismaClient; temporal: TemporalGateway; config: Config; policies?: PolicyCatalog },
  registry: OpenAPIRegistry,
): Router {
  const router = Router();
  const { prisma, temporal, config } = deps;
  const tags = ['customers'];
  const path = '/v1/customers/{customerId}/insolvency';

  async function load(externalId: string) {
    const customer = await prisma.customer.findUnique({ where: { externalId } });
    if (!customer) throw problems.notFound(`Customer ${externalId}`);
    const p = await prisma.insolvencyProceeding.findFirst({ where: { customerId: customer.id }, orderBy: [{ judgmentDate: 'desc' }, { createdAt: 'desc' }], include: { tasks: true } });
    if (!p) throw problems.notFound(`Insolvency proceedings of customer ${externalId}`);
    return { customer, p };
  }

  defineRoute(router, registry, {
    method: 'post',
    path,
    operationId: 'recordInsolvency',
    role: 'collector',
    summary: 'Record insolvency proceedings: every reminder of the customer stops; the claim declaration and its deadline task are produced',
    description:
      'Each running invoice workflow of the customer is paused (reason insolvency, no end date) through the checked pause ' +
      'update; `holds` gives each answer (held, closed: nothing to stop, failed). When one failed, the answer is a 503 and ' +
      'the same request is to be repeated (it is idempotent on customer, kind and judgment date). The claim declaration ' +
      '(GET …/insolvency/claim.pdf) lists per invoice the principal owed on the judgment date, the interest up to that date ' +
      'and the €40 of a business; a task "claim-declaration" is due two months after the BODACC publication.',
    tags,
    params: CustomerParams,
    body: InsolvencyRequestSchema,
    responses: {
      201: jsonResponse('Recorded; reminders stopped', InsolvencySchema),
      200: jsonResponse('Recorded already (same kind and judgment date): updated, reminders stopped', InsolvencySchema),
      404: problemResponse('Unknown customer'),
      409: problemResponse('An invoice of the claim has no reference rate for its period (rate configuration)'),
    },
    handler: async ({ res, params, body }) => {
      const customer = await prisma.customer.findUnique({ where: { externalId: params.customerId } });
      if (!customer) throw problems.notFound(`Customer ${params.customerId}`);
      validate(body, localDate(Date.now(), customer.timeZone));
      const deadline = claimDeadlineOf(body.bodaccPublicationDate);
      const day = (d: string) => new Date(`${d}T00:00:00Z`);
      const columns = {
        court: body.court,
        bodaccPublicationDate: day(body.bodaccPublicationDate),
        claimDeadline: day(deadline),
        representativeRole: body.representative.role,
        representativeName: body.representative.name,
        representativeAddressLines: body.representative.address.lines,
        representativePostalCode: body.representative.address.postalCode,
        representativeCity: body.representative.address.city,
        representativeCountry: body.representative.address.country,
      };
      const key = { customerId: customer.id, kind: KIND_TO_DB[body.kind], judgmentDate: day(body.judgmentDate) };
      const title = `Declare the claims against ${customer.name} (${KIND_WORDS[body.kind]}) to ${body.representative.role} ${body.representative.name} by ${deadline}`;
      const { proceeding, created } = await prisma.$transaction(async (tx) => {
        const before = await tx.insolvencyProceeding.findUnique({ where: { customerId_kind_judgmentDate: key } });
        const row = before
          ? await tx.insolvencyProceeding.update({ where: { id: before.id }, data: columns })
          : await tx.insolvencyProceeding.create({ data: { ...key, ...columns, recordedBy: actorName(requestActor(res)) } });
        await tx.task.upsert({
          where: { insolvencyId_kind: { insolvencyId: row.id, kind: 'claim-declaration' } },
          create: { kind: 'claim-declaration', title, customerId: customer.id, insolvencyId: row.id, dueDate: day(deadline) },
          update: { title, dueDate: day(deadline) },
        });
        await recordAudit(tx, {
          actor: requestActor(res),
          action: 'customer.insolvency.record',
          targetType: 'customer',
          targetId: customer.externalId,
          detail: { ...body, claimDeadline: deadline, proceedingId: row.id },
        });
        return { proceeding: row, created: !before };
      });

      const reason = `insolvency: ${KIND_WORDS[body.kind]}, judgment of ${body.judgmentDate} (${body.court}); individual collection actions stop (L622-21)`;
      const holds = await holdInvoices(prisma, temporal, customer, reason);
      const saved = await prisma.insolvencyProceeding.update({ where: { id: proceeding.id }, data: { holds }, include: { tasks: true } });
      const incomplete = incompleteProblem('insolvency-hold-incomplete', holds, { holds });
      if (incomplete) throw incomplete;
      const dossier = await claimDossierOf(deps, customer, saved, localDate(Date.now(), customer.timeZone));
      res.location(`/v1/customers/${encodeURIComponent(customer.externalId)}/insolvency`);
      res.status(created ? 201 : 200).json(view(customer, saved, dossier, saved.tasks[0] ?? null));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path,
    operationId: 'getInsolvency',
    role: 'viewer',
    summary: 'The latest insolvency proceedings of the customer, the holds, the claim figures and the deadline task',
    tags,
    params: CustomerParams,
    responses: {
      200: jsonResponse('The proceedings', InsolvencySchema),
      404: problemResponse('Unknown customer, or no proceedings recorded'),
      409: problemResponse('An invoice of the claim has no reference rate for its period (rate configuration)'),
    },
    handler: async ({ res, params }) => {
      const { customer, p } = await load(params.customerId);
      res.json(view(customer, p, await claimDossierOf(deps, customer, p, localDate(Date.now(), customer.timeZone)), p.tasks[0] ?? null));
    },
  });

  defineRoute(router, registry, {
    method: 'get',
    path: `${path}/claim.pdf`,
    operationId: 'getInsolvencyClaimPdf',
    role: 'viewer',
    summary: 'The claim declaration (déclaration de créance) to the mandataire or liquidateur, as a PDF (French)',
    tags,
    params: CustomerParams,
    responses: {
      200: { description: 'PDF', content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } } },
      404: problemResponse('Unknown customer, or no proceedings recorded'),
      409: problemResponse('An invoice of the claim has no reference rate for its period (rate configuration)'),
    },
    handler: async ({ res, params }) => {
      const { customer, p } = await load(params.customerId);
      const dossier = await claimDossierOf(deps, customer, p, localDate(Date.now(), customer.timeZone));
      const pdf = await renderClaimPdf(dossier, creditorOf(config), config.CREDITOR_SIGNATORY);
      res.status(200);
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Content-Disposition', `inline; filename="claim-${customer.externalId.replace(/[^A-Za-z0-9._-]+/g, '_')}-${dossier.proceeding.judgmentDate}.pdf"`);
      res.end(pdf);
    },
  });

  return router;
}
