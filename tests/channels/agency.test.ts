// handoverToAgency: the dossier (invoice, balance, penalties, debtor, the invoice's full
// communication log as JSON and CSV, the letter PDFs) posted to the agency's endpoint
// (local fake, which verifies the HMAC signature) or written to the outbox folder.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHandoverToAgency, signBody } from '../../activities/agency';
import { createSendLetter } from '../../activities/letter';
import type { ActivityDeps } from '../../activities/deps';
import type { AgencyHandoverInput } from '../../activities/types';
import type { InvoiceSnapshot } from '../../domain/types';
import { startAgencyFake, verifySignature } from '../../tools/peers/agency-fake';
import type { AgencyFake } from '../../tools/peers/agency-fake';
import {
  communication,
  invoiceFixture,
  memoryLogger,
  PENALTIES,
  pdfToText,
  runActivity,
  runFailing,
  seedInvoice,
  seedPayment,
  sendInput,
  startTestDb,
  tempDir,
  testConfig,
} from './support';
import type { TestDb } from './support';

const SECRET = 'agency-test-secret-0123456789';

let db: TestDb;
let agency: AgencyFake;
let dataDir: { dir: string; remove(): Promise<void> };
let httpDeps: ActivityDeps;
let outboxDeps: ActivityDeps;

beforeAll(async () => {
  [db, agency, dataDir] = await Promise.all([startTestDb(), startAgencyFake({ port: 0, secret: SECRET }), tempDir('agency')]);
  outboxDeps = { prisma: db.prisma, config: testConfig({ DATA_DIR: dataDir.dir, AGENCY_HMAC_SECRET: SECRET }), log: memoryLogger() };
  httpDeps = { ...outboxDeps, config: testConfig({ DATA_DIR: dataDir.dir, AGENCY_HMAC_SECRET: SECRET, AGENCY_URL: agency.url }) };
});

afterAll(async () => {
  await Promise.all([agency?.stop(), db?.stop()]);
  await dataDir?.remove();
});

beforeEach(() => agency.clear());

/** An invoice with history: an email reminder in the log and a formal-notice letter in the outbox. */
async function invoiceWithHistory(): Promise<InvoiceSnapshot> {
  const invoice = invoiceFixture();
  await seedInvoice(db.prisma, invoice);
  const workflowId = `invoice-${invoice.number}`;
  await db.prisma.communication.create({
    data: {
      idempotencyKey: `${workflowId}/reminder-1/email`,
      invoiceNumber: invoice.number,
      workflowId,
      stepId: 'reminder-1',
      channel: 'email',
      recipient: invoice.customer.email,
      templateId: 'reminder-1',
      language: 'fr',
      subject: `Relance de facture n°${invoice.number} – Échéance dépassée`,
      body: 'Bonjour…',
      provider: 'smtp',
      providerId: '<abc@relance>',
      status: 'SENT',
      sentAt: new Date('2026-02-11T09:00:00Z'),
      createdAt: new Date('2026-02-11T09:00:00Z'),
    },
  });
  const letter = sendInput(invoice, 'letter', 'formal-notice', { balanceMinor: 120_000, penalties: PENALTIES });
  await runActivity(createSendLetter(outboxDeps), letter);
  return invoice;
}

function handoverInput(invoice: InvoiceSnapshot, overrides: Partial<AgencyHandoverInput> = {}): AgencyHandoverInput {
  const workflowId = `invoice-${invoice.number}`;
  return {
    idempotencyKey: `${workflowId}/agency-handover/agency`,
    workflowId,
    invoice,
    balanceMinor: 120_000,
    penalties: PENALTIES,
    asOf: '2026-04-13',
    payments: [{ paymentId: 'bank:TX-9', amountMinor: 30_000, receivedAt: '2026-01-05T10:00:00Z', source: 'bank' }],
    knownPaymentIds: ['bank:TX-9'],
    ...overrides,
  };
}

describe('agency signature', () => {
  it('is t=<unix>,v1=<hex hmac-sha256(secret, t.body)> and the fake checks it', () => {
    const header = signBody(SECRET, '{"a":1}', 1_760_000_000);
    expect(header).toMatch(/^t=1760000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, header, '{"a":1}', 1_760_000_010)).toBe(true);
    expect(verifySignature(SECRET, header, '{"a":2}', 1_760_000_010)).toBe(false);
    expect(verifySignature('another-secret-xxxxxxxx', header, '{"a":1}', 1_760_000_010)).toBe(false);
    expect(verifySignature(SECRET, header, '{"a":1}', 1_760_000_000 + 301)).toBe(false); // stale
  });
});

describe('handoverToAgency over HTTP', () => {
  it('posts the signed dossier with the log (JSON + CSV), the letter PDF and the debtor data', async () => {
    const invoice = await invoiceWithHistory();
    const input = handoverInput(invoice);

    const result = await runActivity(createHandoverToAgency(httpDeps), input);

    expect(agency.rejectedSignatures).toBe(0);
    expect(agency.received).toHaveLength(1);
    const got = agency.received[0]!;
    expect(got.idempotencyKey).toBe(input.idempotencyKey);
    expect(result).toMatchObject({ status: 'SENT', providerId: got.caseId });

    const d = got.dossier;
    expect(d.schema).toBe('relance.agency-dossier/v1');
    expect(d.invoice).toMatchObject({ number: invoice.number, amountMinor: 150_000, depositMinor: 30_000, dueDate: '2026-02-04' });
    expect(d.balance).toMatchObject({ amountMinor: 120_000, currency: 'EUR' });
    expect(d.penalties).toEqual(PENALTIES);
    expect(d.totalClaim.amountMinor).toBe(125_527);
    expect(d.debtor).toMatchObject({ id: 'C-042', name: 'Boulangerie Petit SARL', email: 'compta@boulangerie-petit.test', kind: 'B2B' });
    expect(d.payments).toEqual(input.payments);
    expect(d.creditor.name).toBe('Atelier Durand SAS');
    expect(d.communications.map((c: { channel: string; stepId: string; status: string }) => [c.channel, c.stepId, c.status])).toEqual([
      ['email', 'reminder-1', 'SENT'],
      ['letter', 'formal-notice', 'SENT'],
    ]);

    const csv = got.files.get('communications.csv')!.toString('utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    const rows = parse(csv.slice(1), { columns: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ channel: 'email', stepId: 'reminder-1', status: 'SENT', subject: `Relance de facture n°${invoice.number} – Échéance dépassée` });
    expect(rows[1]).toMatchObject({ channel: 'letter', stepId: 'formal-notice', provider: 'outbox' });

    const pdfName = `${invoice.number}-formal-notice.pdf`;
    expect(d.files.map((f: { name: string }) => f.name)).toEqual(['communications.csv', pdfName]);
    expect(await pdfToText(got.files.get(pdfName)!)).toContain('Mise en demeure de payer');

    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'SENT', channel: 'agency', provider: 'agency-api', providerId: got.caseId, recipient: agency.url });
    expect(JSON.parse(row.body!).invoice.number).toBe(invoice.number);

    expect((await runActivity(createHandoverToAgency(httpDeps), input)).status).toBe('ALREADY_SENT');
    expect(agency.received).toHaveLength(1);
  });

  it('fails for good when the agency refuses the signature (wrong secret)', async () => {
    const invoice = invoiceFixture();
    const wrong = createHandoverToAgency({ ...httpDeps, config: { ...httpDeps.config, AGENCY_HMAC_SECRET: 'not-the-agency-secret' } });
    const failure = await runFailing(wrong, handoverInput(invoice));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'ProviderRejected' });
    expect(agency.rejectedSignatures).toBe(1);
    expect(agency.received).toHaveLength(0);
  });

  it('retries a 503 honouring Retry-After', async () => {
    agency.failNext(503, undefined, { 'Retry-After': '120' });
    const failure = await runFailing(createHandoverToAgency(httpDeps), handoverInput(invoiceFixture()));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'ProviderUnavailable', nextRetryDelay: 120_000 });
  });

  it('does not hand over when payments recorded meanwhile settle the balance', async () => {
    const invoice = invoiceFixture();
    const invoiceId = await seedInvoice(db.prisma, invoice);
    await seedPayment(db.prisma, invoiceId, { source: 'stripe', externalId: 'pi_late', amountMinor: 120_000 });
    const result = await runActivity(createHandoverToAgency(httpDeps), handoverInput(invoice, { knownPaymentIds: [] }));
    expect(result.status).toBe('SKIPPED_SETTLED');
    expect(agency.received).toHaveLength(0);
  });
});

describe('handoverToAgency to the outbox (default)', () => {
  it('writes <DATA_DIR>/outbox/agency/<invoice>/ with dossier.json, communications.csv and the PDFs', async () => {
    const invoice = await invoiceWithHistory();
    const input = handoverInput(invoice);

    const result = await runActivity(createHandoverToAgency(outboxDeps), input);

    const dir = path.join(dataDir.dir, 'outbox', 'agency', invoice.number);
    expect(result).toMatchObject({ status: 'SENT', dossierRef: dir });
    expect((await readdir(dir)).sort()).toEqual(['communications.csv', 'dossier.json', `${invoice.number}-formal-notice.pdf`].sort());
    const dossier = JSON.parse(await readFile(path.join(dir, 'dossier.json'), 'utf8'));
    expect(dossier.communications).toHaveLength(2);
    expect(dossier.files[0]).toMatchObject({ name: 'communications.csv', contentType: 'text/csv; charset=utf-8' });
    expect(dossier.files[0].contentBase64).toBeUndefined();
    expect((await readdir(path.dirname(dir))).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
    expect((await runActivity(createHandoverToAgency(outboxDeps), input)).status).toBe('ALREADY_SENT');
  });
});
