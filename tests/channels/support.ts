// Shared by the channel tests: a throwaway embedded database, a configuration pointed
// at the local peers, invoice fixtures, and running an activity the way a worker would
// (MockActivityEnvironment), capturing the failure it throws.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PDFParse } from 'pdf-parse';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from '@temporalio/common';
import { loadConfig } from '../../config/index';
import type { Config } from '../../config/index';
import { createPrisma } from '../../prisma/client';
import type { PrismaClient } from '../../prisma/client';
import { startEmbeddedPostgres } from '../../tools/db/embedded';
import { applyMigrations } from '../../tools/db/migrate';
import type { InvoiceSnapshot, PenaltyResult } from '../../domain/types';
import type { SendInput } from '../../activities/types';
import type { ActivityLogger } from '../../activities/communication-log';
import { MM } from '../../activities/pdf';

const execFileAsync = promisify(execFile);

export interface TestDb {
  prisma: PrismaClient;
  url: string;
  stop(): Promise<void>;
}

export async function startTestDb(): Promise<TestDb> {
  const pg = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
  await applyMigrations({ databaseUrl: pg.url });
  const prisma = createPrisma(pg.url);
  return {
    prisma,
    url: pg.url,
    async stop() {
      await prisma.$disconnect();
      await pg.stop();
    },
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `relance-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    MAIL_FROM: 'Relance Démo <relance@example.test>',
    MAIL_REPLY_TO: 'recouvrement@example.test',
    CREDITOR_NAME: 'Atelier Durand SAS',
    CREDITOR_EMAIL: 'compta@atelier-durand.test',
    CREDITOR_PHONE: '+33 1 23 45 67 89',
    CREDITOR_ADDRESS: '12 rue de la Paix|75002|Paris|FR',
    CREDITOR_LEGAL_ID: 'SIRET 123 456 789 00012',
    CREDITOR_SIGNATORY: 'Claire Martin, responsable recouvrement',
    PROVIDER_TIMEOUT_MS: '3000',
    ...env,
  });
}

/** Quiet logger that keeps lines for assertions. */
export function memoryLogger(): ActivityLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
  };
}

let invoiceSeq = 0;

export function invoiceFixture(overrides: Partial<InvoiceSnapshot> = {}, customer: Partial<InvoiceSnapshot['customer']> = {}): InvoiceSnapshot {
  invoiceSeq += 1;
  const number = overrides.number ?? `F-2026-${String(invoiceSeq).padStart(4, '0')}`;
  return {
    number,
    currency: 'EUR',
    amountMinor: 150_000,
    depositMinor: 30_000,
    issueDate: '2026-01-05',
    dueDate: '2026-02-04',
    paymentLink: `https://pay.example.test/i/${number}`,
    ...overrides,
    customer: {
      id: 'C-042',
      name: 'Boulangerie Petit SARL',
      kind: 'B2B',
      email: 'compta@boulangerie-petit.test',
      phone: '06 12 34 56 78',
      address: { lines: ['Boulangerie Petit SARL', '3 avenue des Tilleuls'], postalCode: '69003', city: 'Lyon', country: 'FR' },
      country: 'FR',
      language: 'fr',
      timeZone: 'Europe/Paris',
      ...customer,
    },
  };
}

export const PENALTIES: PenaltyResult = {
  currency: 'EUR',
  interestMinor: 1_527,
  indemnityMinor: 4_000,
  totalMinor: 5_527,
  lines: [
    { from: '2026-02-05', to: '2026-03-06', days: 30, balanceMinor: 120_000, ratePercent: 12.15, interestMinor: 1_198 },
    { from: '2026-03-07', to: '2026-03-14', days: 8, balanceMinor: 120_000, ratePercent: 12.5, interestMinor: 329 },
  ],
};

export function sendInput(
  invoice: InvoiceSnapshot,
  channel: SendInput['channel'],
  stepId: string,
  overrides: Partial<SendInput> = {},
): SendInput {
  const workflowId = `invoice-${invoice.number}`;
  return {
    idempotencyKey: `${workflowId}/${stepId}/${channel}`,
    workflowId,
    stepId,
    templateId: stepId,
    channel,
    invoice,
    balanceMinor: invoice.amountMinor - invoice.depositMinor,
    asOf: '2026-03-14',
    knownPaymentIds: [],
    ...overrides,
  };
}

const silent = () => {};
/** The worker's own "activity failed" lines would drown the test output. */
const silentLogger: Logger = { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: silent };

/** Runs an activity function in a mocked activity context, as a worker would. */
export function runActivity<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment({ attempt: 1 }, { logger: silentLogger }).run(fn, ...args);
}

/** Runs an activity that must fail; returns the ApplicationFailure it threw. */
export async function runFailing<A extends unknown[]>(fn: (...args: A) => Promise<unknown>, ...args: A): Promise<ApplicationFailure> {
  try {
    await runActivity(fn, ...args);
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the activity to fail');
}

/** Inserts the Customer and Invoice rows of a snapshot (for invoiceId links and payments). */
export async function seedInvoice(prisma: PrismaClient, invoice: InvoiceSnapshot): Promise<string> {
  const c = invoice.customer;
  const customer = await prisma.customer.upsert({
    where: { externalId: c.id },
    update: {},
    create: {
      externalId: c.id,
      name: c.name,
      kind: c.kind,
      email: c.email,
      phone: c.phone,
      addressLines: c.address?.lines ?? [],
      postalCode: c.address?.postalCode,
      city: c.address?.city,
      country: c.country,
      language: c.language,
      timeZone: c.timeZone,
    },
  });
  const row = await prisma.invoice.create({
    data: {
      number: invoice.number,
      customerId: customer.id,
      issueDate: new Date(`${invoice.issueDate}T00:00:00Z`),
      dueDate: new Date(`${invoice.dueDate}T00:00:00Z`),
      amountMinor: BigInt(invoice.amountMinor),
      depositMinor: BigInt(invoice.depositMinor),
      currency: invoice.currency,
      paymentLink: invoice.paymentLink,
      policyId: 'fr-b2b-default',
      policyVersion: 1,
      workflowId: `invoice-${invoice.number}`,
      requestHash: 'test',
      balanceMinor: BigInt(invoice.amountMinor - invoice.depositMinor),
    },
  });
  return row.id;
}

export async function seedPayment(
  prisma: PrismaClient,
  invoiceId: string,
  payment: { source: string; externalId: string; amountMinor: number },
): Promise<void> {
  await prisma.payment.create({
    data: {
      invoiceId,
      source: payment.source,
      externalId: payment.externalId,
      amountMinor: BigInt(payment.amountMinor),
      currency: 'EUR',
      receivedAt: new Date('2026-03-13T10:00:00Z'),
    },
  });
}

export async function communication(prisma: PrismaClient, idempotencyKey: string) {
  return prisma.communication.findUniqueOrThrow({ where: { idempotencyKey } });
}

/** The text of a PDF (pdf-parse), with the no-break spaces of French amounts as plain spaces. */
export async function pdfToText(pdf: Buffer): Promise<string> {
  const parser = new PDFParse({ data: new Uint8Array(pdf) });
  try {
    const { text } = await parser.getText();
    return text.replace(/[\u00a0\u202f]/g, ' ');
  } finally {
    await parser.destroy();
  }
}

/** Text items of page `n` with their position in mm from the top-left corner (pdfjs, which pdf-parse is built on). */
export async function textPositions(pdf: Buffer, n = 1): Promise<Array<{ str: string; xMm: number; yTopMm: number }>> {
  const doc = await getDocument({ data: new Uint8Array(pdf), verbosity: 0 }).promise;
  try {
    const page = await doc.getPage(n);
    const height = page.view[3]!;
    const content = await page.getTextContent();
    return content.items
      .filter((i): i is Extract<typeof i, { str: string }> => 'str' in i && i.str.trim() !== '')
      .map((i) => ({ str: i.str, xMm: (i.transform[4] as number) / MM, yTopMm: (height - (i.transform[5] as number)) / MM }));
  } finally {
    await doc.destroy();
  }
}

/**
 * Renders page 1 of a PDF to test-results/<name>-1.png with pdftoppm (poppler-utils), for
 * a human to look at. Returns the PNG path, or undefined (with a log line) when
 * pdftoppm is not installed.
 */
export async function renderFirstPagePng(pdf: Buffer, name: string): Promise<string | undefined> {
  const out = path.resolve('test-results');
  await mkdir(out, { recursive: true });
  const pdfPath = path.join(out, `${name}.pdf`);
  await writeFile(pdfPath, pdf);
  try {
    await execFileAsync('pdftoppm', ['-png', '-r', '72', '-f', '1', '-l', '1', pdfPath, path.join(out, name)]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      console.log(`pdftoppm not found (install poppler-utils): skipping the PNG of ${name}`);
      return undefined;
    }
    throw err;
  }
  const candidates = (await readdir(out)).filter((f) => f.startsWith(`${name}-`) && f.endsWith('.png'));
  return candidates.length ? path.join(out, candidates.sort()[0]!) : undefined;
}
