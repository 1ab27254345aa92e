// Handover to the collection agency: a dossier with the invoice, balance, penalties,
// payments, the debtor's data, the full communication log of the invoice (JSON and CSV,
// read from the Communication table) and the letter PDFs, sent
//   - to AGENCY_URL as JSON (files base64) with `Idempotency-Key` and
//     `X-Relance-Signature: t=<unix>,v1=<hex hmac-sha256(secret, t + "." + body)>`; or,
//     by default,
//   - to <DATA_DIR>/outbox/agency/<invoice>/ (dossier.json, communications.csv, the
//     PDFs), written atomically; an existing folder means "already handed over".
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { formatMoney } from '../domain/money';
import type { Communication } from '../prisma/client';
import type { AgencyHandoverInput, AgencyHandoverResult } from './types';
import { runLoggedSend } from './communication-log';
import type { LoggedContent } from './communication-log';
import { creditorOf, safeName, sendContext } from './deps';
import type { ActivityDeps } from './deps';
import { classifyNetworkError } from './failures';
import { postJson } from './http';
import { exists, outboxDir, writeDirAtomic } from './outbox';

export const SIGNATURE_HEADER = 'X-Relance-Signature';

/** `t=<unix>,v1=<hex>` over `t + "." + body`. */
export function signBody(secret: string, body: string, unixSeconds = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

export interface DossierFile {
  name: string;
  contentType: string;
  sha256: string;
  size: number;
  data: Buffer;
}

const CSV_COLUMNS = [
  'createdAt',
  'sentAt',
  'channel',
  'stepId',
  'templateId',
  'language',
  'recipient',
  'subject',
  'status',
  'provider',
  'providerId',
  'documentRef',
  'attempts',
  'error',
  'idempotencyKey',
] as const;

function communicationJson(c: Communication) {
  return {
    idempotencyKey: c.idempotencyKey,
    createdAt: c.createdAt.toISOString(),
    sentAt: c.sentAt?.toISOString() ?? null,
    channel: c.channel,
    stepId: c.stepId,
    templateId: c.templateId,
    language: c.language,
    recipient: c.recipient,
    subject: c.subject,
    body: c.body,
    documentRef: c.documentRef,
    status: c.status,
    provider: c.provider,
    providerId: c.providerId,
    attempts: c.attempts,
    error: c.error,
  };
}

/** UTF-8 with a byte-order mark so Excel opens accents right; one row per communication. */
export function communicationsCsv(rows: Array<ReturnType<typeof communicationJson>>): string {
  return '\uFEFF' + stringify(rows, { header: true, columns: [...CSV_COLUMNS], cast: { number: (n) => String(n) } });
}

function file(name: string, contentType: string, data: Buffer): DossierFile {
  return { name, contentType, data, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

interface AgencyContent extends LoggedContent {
  dossier: Record<string, unknown>;
  files: DossierFile[];
}

export function createHandoverToAgency(deps: ActivityDeps) {
  const ctx = sendContext(deps);
  const config = deps.config;
  const creditor = creditorOf(config);
  const agencyUrl = config.AGENCY_URL;
  const provider = agencyUrl ? 'agency-api' : 'outbox';

  /** The dossier, deterministic for a given log (it excludes the handover's own row). */
  async function buildDossier(input: AgencyHandoverInput): Promise<{ dossier: Record<string, unknown>; files: DossierFile[] }> {
    const { invoice } = input;
    const rows = await deps.prisma.communication.findMany({
      where: { invoiceNumber: invoice.number, NOT: { idempotencyKey: input.idempotencyKey } },
      orderBy: [{ createdAt: 'asc' }, { idempotencyKey: 'asc' }],
    });
    const communications = rows.map(communicationJson);
    const files = [file('communications.csv', 'text/csv; charset=utf-8', Buffer.from(communicationsCsv(communications), 'utf8'))];
    const missing: string[] = [];
    for (const row of rows) {
      if (row.channel !== 'letter' || !row.documentRef?.endsWith('.pdf')) continue;
      const name = path.basename(row.documentRef);
      if (files.some((f) => f.name === name)) continue;
      if (await exists(row.documentRef)) files.push(file(name, 'application/pdf', await readFile(row.documentRef)));
      else missing.push(row.documentRef);
    }
    const language = invoice.customer.language;
    const money = (amountMinor: number) => ({ amountMinor, currency: invoice.currency, formatted: formatMoney({ amountMinor, currency: invoice.currency }, language) });
    const dossier = {
      schema: 'relance.agency-dossier/v1',
      reference: input.idempotencyKey,
      workflowId: input.workflowId,
      asOf: input.asOf,
      creditor,
      debtor: invoice.customer,
      invoice: {
        number: invoice.number,
        issueDate: invoice.issueDate,
        dueDate: invoice.dueDate,
        currency: invoice.currency,
        amountMinor: invoice.amountMinor,
        depositMinor: invoice.depositMinor,
        paymentLink: invoice.paymentLink ?? null,
      },
      balance: money(input.balanceMinor),
      penalties: input.penalties,
      totalClaim: money(input.balanceMinor + input.penalties.totalMinor),
      payments: input.payments,
      communications,
      files: files.map(({ name, contentType, sha256, size }) => ({ name, contentType, sha256, size })),
      ...(missing.length ? { missingDocuments: missing } : {}),
    };
    return { dossier, files };
  }

  return async function handoverToAgency(input: AgencyHandoverInput): Promise<AgencyHandoverResult> {
    const { invoice } = input;
    const dir = path.join(outboxDir(config.dataDir, 'agency'), safeName(invoice.number));
    const result = await runLoggedSend<AgencyContent>(
      ctx,
      {
        idempotencyKey: input.idempotencyKey,
        workflowId: input.workflowId,
        stepId: 'agency-handover',
        channel: 'agency',
        invoiceNumber: invoice.number,
        currency: invoice.currency,
        balanceMinor: input.balanceMinor,
        knownPaymentIds: input.knownPaymentIds,
        templateId: 'agency-handover',
        language: invoice.customer.language,
        provider,
      },
      {
        recipient: () => agencyUrl ?? dir,
        async prepare(recipient) {
          const { dossier, files } = await buildDossier(input);
          return {
            recipient,
            subject: `Dossier ${invoice.number}: ${(dossier.totalClaim as { formatted: string }).formatted}`,
            body: JSON.stringify(dossier, null, 2),
            documentRef: agencyUrl ? undefined : dir,
            dossier,
            files,
          };
        },
        async deliver(content) {
          if (!agencyUrl) {
            const files = [
              { name: 'dossier.json', data: JSON.stringify(content.dossier, null, 2) },
              ...content.files.map((f) => ({ name: f.name, data: f.data })),
            ];
            // An existing folder is an earlier attempt's delivery: it stays as it is.
            await writeDirAtomic(dir, files);
            return { providerId: `outbox:${safeName(invoice.number)}` };
          }
          const body = JSON.stringify({
            ...content.dossier,
            files: content.files.map(({ name, contentType, sha256, size, data }) => ({ name, contentType, sha256, size, contentBase64: data.toString('base64') })),
          });
          const response = await postJson<{ caseId: string; status: string }>(agencyUrl, body, {
            what: 'agency',
            headers: { 'Idempotency-Key': input.idempotencyKey, [SIGNATURE_HEADER]: signBody(config.AGENCY_HMAC_SECRET, body) },
            timeoutMs: config.PROVIDER_TIMEOUT_MS,
          });
          return { providerId: response.body.caseId, documentRef: `${agencyUrl}#case=${response.body.caseId}` };
        },
        classify: (err) => classifyNetworkError(err, provider),
      },
    );
    return { status: result.status, dossierRef: result.documentRef, providerId: result.providerId };
  };
}
