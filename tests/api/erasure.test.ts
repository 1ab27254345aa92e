// Erasure of a customer's personal data (GDPR Art. 17) and the retention job, over HTTP against
// the real database, a Temporal dev server and the real email, letter and agency activities
// (SMTP sink, outbox on disk): refused while an invoice is open (naming it) and below the admin
// role; then the name is a pseudonym and no email, phone, name or address line is left in any
// table of the database, in the letters and dossiers on disk, or in the API's answers; the
// closed workflows' histories are gone from Temporal; numbers, amounts, dates and payments stay.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandoverToAgency } from '../../activities/agency';
import { createSendEmail } from '../../activities/email';
import { createSendLetter } from '../../activities/letter';
import { createApiKey } from '../../api/auth';
import { workflowIdFor } from '../../contracts/ids';
import { startMailSink, type MailSink } from '../../tools/peers/mail-sink';
import { daysFromToday, eventually, invoiceRequest, startApiHarness, type ApiHarness } from './harness';

const quiet = { info: () => {}, warn: () => {} };
let h: ApiHarness;
let sink: MailSink;
let dataDir: string;
let collectorKey: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'relance-erasure-'));
  sink = await startMailSink({ smtpPort: 0, webPort: 0 });
  h = await startApiHarness({
    config: { SMTP_PORT: String(sink.smtpPort), DATA_DIR: dataDir, RETENTION_HISTORIES_DAYS: '0' },
    channels: (prisma, config) => ({
      sendEmail: createSendEmail({ prisma, config, log: quiet }),
      sendLetter: createSendLetter({ prisma, config, log: quiet }),
      handoverToAgency: createHandoverToAgency({ prisma, config, log: quiet }),
    }),
  });
  collectorKey = (await createApiKey(h.prisma, 'collector-key', 'collector')).key;
}, 120_000);
afterAll(async () => {
  await h?.close();
  await sink?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const describeGone = async (number: string) =>
  h.client.workflow
    .getHandle(workflowIdFor(number))
    .describe()
    .then(
      () => false,
      (err: unknown) => err instanceof WorkflowNotFoundError,
    );

/** Every row of every table of the database, as text. */
async function wholeDatabase(): Promise<string> {
  const tables = await h.prisma.$queryRaw<Array<{ name: string }>>`
    SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
  let all = '';
  for (const { name } of tables) {
    const rows = await h.prisma.$queryRawUnsafe<Array<{ row: string }>>(`SELECT to_jsonb(t)::text AS row FROM "${name}" t`);
    all += rows.map((r) => r.row).join('\n');
  }
  return all;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('DELETE /v1/customers/{id}/personal-data', () => {
  it('refused while an invoice is open and below admin; then no personal value is left anywhere, the accounting record stays', async () => {
    const id = `C20-${Date.now().toString(36)}`;
    const name = `Lemaire Quincaillerie ${id}`;
    const personal = [name, 'paul.lemaire@quincaillerie.example', 'compta.lemaire@quincaillerie.example', 'Jeanne Lemaire', '+33612345670', '06 12 34 56 70', '12 impasse des Ormes'];
    const created = await h.request('POST', '/v1/customers', {
      body: {
        externalId: id,
        name,
        kind: 'B2B',
        country: 'FR',
        email: 'paul.lemaire@quincaillerie.example',
        phone: '+33612345670',
        address: { lines: ['12 impasse des Ormes'], postalCode: '69003', city: 'Lyon', country: 'FR' },
        contacts: [{ role: 'billing', name: 'Jeanne Lemaire', email: 'compta.lemaire@quincaillerie.example' }],
      },
    });
    expect(created.status, created.text).toBe(201);
    const customer = { externalId: id, name, email: 'paul.lemaire@quincaillerie.example', phone: '+33612345670', address: { lines: ['12 impasse des Ormes'], postalCode: '69003', city: 'Lyon', country: 'FR' } };
    // demo-seconds, issued late: the latest past step runs at once. A: the formal notice (letter + email); B: the agency handover.
    const a = invoiceRequest({ policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(Date.now() - 16_000).toISOString() }, customer);
    const b = invoiceRequest({ policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(Date.now() - 26_000).toISOString() }, customer);
    for (const body of [a, b]) expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const sentOf = async (number: string, channel: string) =>
      (await h.prisma.communication.findFirst({ where: { invoiceNumber: number, channel, status: 'SENT' } })) ?? undefined;
    const letter = await eventually(() => sentOf(a.number, 'letter'), 30_000, 'the formal notice letter');
    await eventually(() => sentOf(a.number, 'email'), 30_000, 'the formal notice email');
    const dossier = await eventually(() => sentOf(b.number, 'agency'), 30_000, 'the agency dossier');
    expect((await stat(letter.documentRef!)).isFile()).toBe(true);
    expect(await readFile(path.join(dossier.documentRef!, 'dossier.json'), 'utf8')).toContain(name);
    expect((await h.request('POST', `/v1/invoices/${a.number}/notes`, { body: { text: `Spoke with Jeanne Lemaire on 06 12 34 56 70` } })).status).toBe(201);

    const refused = await h.request('DELETE', `/v1/customers/${id}/personal-data`);
    expect(refused.status).toBe(409);
    expect(refused.json.detail).toContain(a.number);
    expect(refused.json.detail).toContain(b.number);
    const byCollector = await fetch(`${h.baseUrl}/v1/customers/${id}/personal-data`, { method: 'DELETE', headers: { authorization: `Bearer ${collectorKey}` } });
    expect(byCollector.status).toBe(403);

    // Close both: A paid in full (a receipt goes out), B recovered by the agency.
    expect((await h.request('POST', `/v1/invoices/${a.number}/payments`, { body: { amount: '1000.00', reference: `VIR-${id}` } })).status).toBe(201);
    expect((await h.request('POST', `/v1/invoices/${b.number}/agency-outcome`, { body: { status: 'recovered', amountRecovered: '1000.00' } })).status).toBe(202);
    await eventually(async () => (await h.prisma.invoice.count({ where: { number: { in: [a.number, b.number] }, closedAt: { not: null } } })) === 2, 30_000, 'both invoices closed');
    await eventually(async () => (await h.prisma.communication.count({ where: { invoiceNumber: a.number, stepId: 'receipt' } })) > 0, 30_000, 'the receipt');
    for (const number of [a.number, b.number]) {
      await eventually(async () => (await h.client.workflow.getHandle(workflowIdFor(number)).describe()).status.name === 'COMPLETED', 30_000, 'the workflow closed');
    }
    expect(await wholeDatabase()).toContain('compta.lemaire@quincaillerie.example');

    // A customer-level pause (free text on the record) ends with the erasure.
    expect((await h.request('POST', `/v1/customers/${id}/pause`, { body: { reason: 'rachat en cours' } })).status).toBe(200);
    const erased = await h.request('DELETE', `/v1/customers/${id}/personal-data`);
    expect(erased.status, erased.text).toBe(200);
    expect(await h.prisma.customer.findUnique({ where: { externalId: id }, select: { holdReason: true, holdBy: true } })).toEqual({ holdReason: null, holdBy: null });
    expect(erased.json).toMatchObject({ customerId: id, kept: { invoices: 2, payments: 1 }, deleted: { contacts: 1, workflowHistories: 2 } });
    expect(erased.json.pseudonym).toMatch(/^erased-[0-9a-f]{10}$/);
    expect(erased.json.deleted.documents).toBe(1); // A's letter (B went to the agency without one)
    expect(erased.json.pseudonymised.documents).toBeGreaterThanOrEqual(1); // B's dossier.json
    expect(erased.json.pseudonymised.communications).toBeGreaterThanOrEqual(4);

    // Nothing personal left: the whole database, the files on disk, the API's answers.
    const db = await wholeDatabase();
    for (const value of personal) expect(db.toLowerCase(), value).not.toContain(value.toLowerCase());
    for (const f of await filesUnder(dataDir)) {
      expect(f.endsWith('.pdf'), f).toBe(false);
      const text = await readFile(f, 'utf8');
      for (const value of personal) expect(text, `${f}: ${value}`).not.toContain(value);
    }
    const page = await h.request('GET', `/v1/customers/${id}`);
    expect(page.json).toMatchObject({ name: erased.json.pseudonym, email: null, phone: null, address: null, contacts: [] });
    expect(page.json.invoices.map((i: { number: string; amount: string; dueDate: string }) => `${i.number} ${i.amount} ${i.dueDate}`).sort()).toEqual(
      [a.number, b.number].map((nb) => `${nb} 1200.00 ${daysFromToday(0)}`).sort(),
    );
    const answers = [
      page.text,
      (await h.request('GET', `/v1/customers/${id}/timeline`)).text,
      (await h.request('GET', `/v1/invoices/${a.number}/timeline`)).text,
      (await h.request('GET', `/v1/invoices/${a.number}`)).text,
      (await h.request('GET', `/v1/audit?targetType=customer&targetId=${id}`)).text,
    ];
    for (const text of answers) for (const value of personal) expect(text, value).not.toContain(value);
    expect(answers[2]).toContain('payment-received');
    expect(await h.prisma.payment.count({ where: { invoice: { number: a.number } } })).toBe(1);
    // Temporal deletes a history asynchronously after the request (slowly on a loaded machine).
    await eventually(() => describeGone(a.number), 60_000, 'the history of A deleted');
    await eventually(() => describeGone(b.number), 60_000, 'the history of B deleted');
    const audit = await h.request('GET', '/v1/audit?action=customer.erase');
    expect(audit.json.items.find((e: { targetId: string }) => e.targetId === id)).toMatchObject({ actor: 'api-tests' });

    // Repeating it is harmless.
    const again = await h.request('DELETE', `/v1/customers/${id}/personal-data`);
    expect(again.status).toBe(200);
    expect(again.json.pseudonym).toBe(erased.json.pseudonym);
    expect((await h.request('DELETE', '/v1/customers/nobody-here/personal-data')).status).toBe(404);
  }, 150_000);
});

describe('retention job', () => {
  it('clears the rendered bodies of messages older than RETENTION_BODIES_DAYS and deletes closed histories (RETENTION_HISTORIES_DAYS=0); admin only', async () => {
    const body = invoiceRequest({ policyId: 'demo-seconds', dueDate: daysFromToday(0), dueAt: new Date(Date.now() - 6_000).toISOString() }, { externalId: `C20r-${Date.now().toString(36)}` });
    expect((await h.request('POST', '/v1/invoices', { body })).status).toBe(201);
    const mail = await eventually(
      async () => (await h.prisma.communication.findFirst({ where: { invoiceNumber: body.number, channel: 'email', status: 'SENT' } })) ?? undefined,
      30_000,
      'a reminder',
    );
    expect(mail.body).toBeTruthy();
    expect((await h.request('POST', `/v1/invoices/${body.number}/payments`, { body: { amount: '1000.00' } })).status).toBe(201);
    await eventually(async () => (await h.client.workflow.getHandle(workflowIdFor(body.number)).describe()).status.name === 'COMPLETED', 30_000, 'closed');
    await eventually(async () => (await h.prisma.invoice.findUnique({ where: { number: body.number } }))?.closedAt, 15_000, 'the row closed');

    const forbidden = await fetch(`${h.baseUrl}/v1/retention/run`, { method: 'POST', headers: { authorization: `Bearer ${collectorKey}` } });
    expect(forbidden.status).toBe(403);
    // A young body stays.
    expect((await h.request('POST', '/v1/retention/run')).status).toBe(200);
    expect((await h.prisma.communication.findUnique({ where: { id: mail.id } }))?.body).toBeTruthy();
    // Sent 400 days ago (the default retention is 365 days): cleared.
    await h.prisma.communication.updateMany({ where: { invoiceNumber: body.number }, data: { sentAt: new Date(Date.now() - 400 * 86_400_000) } });
    const run = await h.request('POST', '/v1/retention/run');
    expect(run.status).toBe(200);
    expect(run.json.bodiesCleared).toBeGreaterThanOrEqual(1);
    expect((await h.prisma.communication.findUnique({ where: { id: mail.id } }))?.body).toBeNull();
    // Visibility lists a closed run shortly after it closed, and Temporal deletes asynchronously: the next runs finish it.
    await eventually(
      async () => {
        await h.request('POST', '/v1/retention/run');
        return describeGone(body.number);
      },
      60_000,
      'the closed history deleted',
    );
  }, 90_000);
});
