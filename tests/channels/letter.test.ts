// sendLetter: the formal-notice PDF (content read back with pdf-parse, address position
// checked against the DL envelope window, page 1 rendered to test-results/), delivered to
// the outbox by default or to the postal provider's API (local fake) with an
// Idempotency-Key and a tracking number back.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSendLetter, letterFileName } from '../../activities/letter';
import { renderLetterPdf } from '../../activities/letter-pdf';
import { creditorOf } from '../../activities/deps';
import type { ActivityDeps } from '../../activities/deps';
import { startPostalFake } from '../../tools/peers/postal-fake';
import type { PostalFake } from '../../tools/peers/postal-fake';
import { sampleLetters } from '../../tools/sample-letters';
import {
  communication,
  invoiceFixture,
  memoryLogger,
  PENALTIES,
  pdfToText,
  renderFirstPagePng,
  runActivity,
  runFailing,
  seedInvoice,
  sendInput,
  startTestDb,
  tempDir,
  testConfig,
  textPositions,
} from './support';
import type { TestDb } from './support';

let db: TestDb;
let postal: PostalFake;
let dataDir: { dir: string; remove(): Promise<void> };
let outboxDeps: ActivityDeps;
let apiDeps: ActivityDeps;

beforeAll(async () => {
  [db, postal, dataDir] = await Promise.all([startTestDb(), startPostalFake({ port: 0, apiKey: 'postal-test-key' }), tempDir('letters')]);
  outboxDeps = { prisma: db.prisma, config: testConfig({ DATA_DIR: dataDir.dir }), log: memoryLogger() };
  apiDeps = {
    prisma: db.prisma,
    config: testConfig({ DATA_DIR: dataDir.dir, POSTAL_API_URL: postal.url, POSTAL_API_KEY: 'postal-test-key' }),
    log: memoryLogger(),
  };
});

afterAll(async () => {
  await Promise.all([postal?.stop(), db?.stop()]);
  await dataDir?.remove();
});

beforeEach(() => postal.clear());

const formalNotice = (invoice = invoiceFixture()) =>
  sendInput(invoice, 'letter', 'formal-notice', { balanceMinor: 120_000, penalties: PENALTIES, deadline: '2026-03-22' });

describe('the formal-notice letter PDF', () => {
  it('holds the letterhead, registered-mail mention (postal provider), subject, references, balance, interest lines, €40, deadline, legal mentions and signature', async () => {
    const input = formalNotice(invoiceFixture({ number: 'F-2026-0100' }));
    const { pdf } = await renderLetterPdf({
      templateId: input.templateId,
      invoice: input.invoice,
      balanceMinor: input.balanceMinor,
      penalties: input.penalties,
      asOf: input.asOf,
      deadline: input.deadline,
      // A registered-mail provider sends it: only then does the letter say so.
      creditor: creditorOf(apiDeps.config),
      signatory: apiDeps.config.CREDITOR_SIGNATORY,
      reference: input.idempotencyKey,
    });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const text = (await pdfToText(pdf)).replace(/[ \t]+/g, ' ');

    for (const expected of [
      'Atelier Durand SAS',
      '12 rue de la Paix',
      'SIRET 123 456 789 00012',
      'LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION',
      'Fait à Paris, le 14/03/2026',
      'Objet : Mise en demeure de payer – facture n°F-2026-0100',
      'Nos références : facture n°F-2026-0100',
      'Vos références : client C-042',
      'Boulangerie Petit SARL',
      '3 avenue des Tilleuls',
      '69003 Lyon',
      'Montant restant dû : 1 200,00 €',
      '1 200,00 € × 12,15 % × 30/365 = 11,98 €',
      '1 200,00 € × 12,50 % × 8/365 = 3,29 €',
      "l'indemnité forfaitaire pour frais de recouvrement de 40,00 €",
      'au plus tard le 22/03/2026',
      'Total à régler 1 255,27 €',
      'L441-10',
      'D441-5',
      'article 1344 du Code civil',
      'Claire Martin, responsable recouvrement',
      'Page 1/',
    ]) {
      expect(text, expected).toContain(expected);
    }

    // The address sits in the window of a DL envelope: ~110 mm from the left, ~45-50 mm from the top.
    const positions = await textPositions(pdf);
    const street = positions.find((p) => p.str.includes('3 avenue des Tilleuls'))!;
    expect(street.xMm).toBeGreaterThan(105);
    expect(street.xMm).toBeLessThan(115);
    const name = positions.find((p) => p.str.includes('Boulangerie Petit SARL'))!;
    expect(name.yTopMm).toBeGreaterThan(45);
    expect(name.yTopMm).toBeLessThan(60);
    expect(street.yTopMm).toBeLessThan(90);

    const png = await renderFirstPagePng(pdf, 'letter-formal-notice-fr');
    // Unconditional: CI installs poppler-utils (.ci/run); a missing pdftoppm must fail, not pass silently.
    expect(png, 'pdftoppm rendered the first page').toBeDefined();
    expect((await readFile(png!)).subarray(1, 4).toString()).toBe('PNG');
  });

  it('is deterministic (a resend is the same document) and speaks English to a B2C customer without the €40', async () => {
    const invoice = invoiceFixture({}, { language: 'en', kind: 'B2C', name: 'Jane Doe', address: { lines: ['8 Baker Street'], postalCode: 'NW1 6XE', city: 'London', country: 'GB' } });
    const penalties = { ...PENALTIES, indemnityMinor: 0, totalMinor: PENALTIES.interestMinor };
    const args = {
      templateId: 'formal-notice',
      invoice,
      balanceMinor: 120_000,
      penalties,
      asOf: '2026-03-14',
      creditor: creditorOf(outboxDeps.config),
      signatory: 'Claire Martin',
      reference: 'ref',
    };
    const [a, b] = await Promise.all([renderLetterPdf(args), renderLetterPdf(args)]);
    expect(a.pdf.equals(b.pdf)).toBe(true);

    const text = (await pdfToText(a.pdf)).replace(/[ \t]+/g, ' ');
    // An outbox letter is a draft posted by hand: it must not claim registered mail.
    expect(text).not.toMatch(/REGISTERED|registered/);
    expect(text).toContain(`Subject: Formal notice to pay – invoice ${invoice.number}`);
    expect(text).toContain('ROYAUME-UNI'); // foreign country line of the address
    expect(text).toContain('1231-6');
    expect(text).not.toContain('D441-5');
    expect(text).not.toContain('Fixed indemnity');
    expect(text).toContain('€1,215.27');
    await renderFirstPagePng(a.pdf, 'letter-formal-notice-en-b2c');
  });
});

describe('sendLetter to the outbox (default)', () => {
  it('writes <DATA_DIR>/outbox/letters/<invoice>-<step>.pdf atomically and logs it', async () => {
    const sendLetter = createSendLetter(outboxDeps);
    const input = formalNotice();

    const result = await runActivity(sendLetter, input);

    const file = path.join(dataDir.dir, 'outbox', 'letters', letterFileName(input.invoice.number, 'formal-notice'));
    // A draft to post by hand: not registered, no dispatch date (a collector records the posting date).
    expect(result).toMatchObject({ status: 'SENT', provider: 'outbox', documentRef: file, letter: { registered: false } });
    expect(result.letter?.dispatchedAt).toBeUndefined();
    const pdf = await readFile(file);
    expect(await pdfToText(pdf)).toContain('Mise en demeure de payer');
    expect(await pdfToText(pdf)).not.toMatch(/RECOMMANDÉE|recommandée/);
    const leftovers = (await readdir(path.dirname(file))).filter((f) => f.startsWith('.tmp-'));
    expect(leftovers).toEqual([]);

    const row = await communication(db.prisma, input.idempotencyKey);
    expect(row).toMatchObject({ status: 'SENT', channel: 'letter', documentRef: file, provider: 'outbox' });
    expect(row.recipient).toBe('Boulangerie Petit SARL, 3 avenue des Tilleuls, 69003 Lyon');
    expect(row.subject).toContain('Mise en demeure de payer');
    expect(row.body).toContain('au plus tard le 22/03/2026');

    expect((await runActivity(sendLetter, input)).status).toBe('ALREADY_SENT');
  });

  it("lists the customer's other open invoices as a statement of account, with their total; the letter stays this invoice's", async () => {
    const customer = { id: `C-STMT-${Math.random().toString(36).slice(2, 7)}` };
    const notice = invoiceFixture({}, customer);
    const overdue = invoiceFixture({ issueDate: '2025-12-21', dueDate: '2026-01-20' }, customer);
    const notYetDue = invoiceFixture({ issueDate: '2026-02-18', dueDate: '2026-03-20' }, customer);
    const paid = invoiceFixture({}, customer);
    const issuedLater = invoiceFixture({ issueDate: '2026-03-20', dueDate: '2026-04-19' }, customer);
    const otherCustomer = invoiceFixture({}, { id: `${customer.id}-other` });
    for (const inv of [notice, overdue, notYetDue, paid, issuedLater, otherCustomer]) await seedInvoice(db.prisma, inv);
    await db.prisma.invoice.update({ where: { number: paid.number }, data: { balanceMinor: 0n, closedAt: new Date('2026-03-01T10:00:00Z'), outcome: 'paid' } });

    const input = formalNotice(notice);
    await runActivity(createSendLetter(outboxDeps), input);
    const pdf = await readFile(path.join(dataDir.dir, 'outbox', 'letters', letterFileName(notice.number, 'formal-notice')));
    const text = (await pdfToText(pdf)).replace(/[\u00a0\u202f]/g, ' ');

    // The demand is this invoice's: its own account first, as before.
    expect(text).toContain(`Solde restant dû sur la facture n°${notice.number}`);
    expect(text).toContain('Relevé de compte : vos autres factures restant dues');
    const section = text.slice(text.indexOf('Relevé de compte : vos autres factures restant dues'));
    // The others on the letter's date (14/03/2026), oldest due first: number, due date, days late, balance.
    expect(section).toMatch(new RegExp(`Facture n°${overdue.number}, échéance 20/01/2026, 53 jours de retard\\s*1 200,00 €`));
    expect(section).toMatch(new RegExp(`Facture n°${notYetDue.number}, échéance 20/03/2026, non échue\\s*1 200,00 €`));
    expect(section.indexOf(overdue.number)).toBeLessThan(section.indexOf(notYetDue.number));
    // Not listed: the paid one, one issued after the letter's date, another customer's, this one.
    for (const n of [paid.number, issuedLater.number, otherCustomer.number, notice.number]) expect(section).not.toContain(n);
    expect(section).toMatch(/Total de vos autres factures restant dues\s*2 400,00 €/);
    // This invoice's total (1 200,00 € + 15,27 € interest + 40,00 €) and the others'.
    expect(section).toMatch(/Total de votre compte, cette facture comprise\s*3 655,27 €/);
  });

  it('fails permanently without a postal address', async () => {
    const input = formalNotice(invoiceFixture({}, { address: undefined }));
    expect(await runFailing(createSendLetter(outboxDeps), input)).toMatchObject({ nonRetryable: true, type: 'NoRecipient' });
  });
});

describe('sendLetter through the postal API', () => {
  it('posts the PDF with the Idempotency-Key and API key, and records the tracking number', async () => {
    const input = formalNotice();

    const result = await runActivity(createSendLetter(apiDeps), input);

    expect(postal.letters).toHaveLength(1);
    const letter = postal.letters[0]!;
    expect(letter.idempotencyKey).toBe(input.idempotencyKey);
    expect(letter.service).toBe('registered_ar');
    expect(letter.recipient).toMatchObject({ name: 'Boulangerie Petit SARL', postalCode: '69003', city: 'Lyon' });
    expect(letter.trackingNumber).toMatch(/^1A\d{11}$/);
    expect(result).toMatchObject({ status: 'SENT', provider: 'postal-api', providerId: letter.trackingNumber, letter: { registered: true } });
    // The provider's dispatch date (the date of a consumer's notice) is the instant it took the letter.
    const row = await communication(db.prisma, input.idempotencyKey);
    expect(result.letter?.dispatchedAt).toBe(row.sentAt?.toISOString());
    expect(await pdfToText(letter.document.bytes)).toContain('LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION');
    // The archived copy (for the record and the agency dossier) is the document the provider got.
    const archived = await readFile(result.documentRef!);
    expect(createHash('sha256').update(archived).digest('hex')).toBe(letter.document.sha256);
    expect(await communication(db.prisma, input.idempotencyKey)).toMatchObject({ status: 'SENT', providerId: letter.trackingNumber });
  });

  it('maps 422 invalid_address to InvalidRecipient, 429 to a retry after Retry-After, 500 to AMBIGUOUS', async () => {
    const sendLetter = createSendLetter(apiDeps);
    const badAddress = formalNotice(invoiceFixture({}, { address: { lines: ['Nulle part'], postalCode: '00000', city: 'Ailleurs', country: 'FR' } }));
    expect(await runFailing(sendLetter, badAddress)).toMatchObject({ nonRetryable: true, type: 'InvalidRecipient' });
    expect((await communication(db.prisma, badAddress.idempotencyKey)).error).toMatch(/^InvalidRecipient \[invalid_address\]/);

    const limited = formalNotice();
    postal.failNext(429, undefined, { 'Retry-After': '30' });
    const failure = await runFailing(sendLetter, limited);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'ProviderRateLimited', nextRetryDelay: 30_000 });

    const down = formalNotice();
    postal.failNext(503);
    expect(await runFailing(sendLetter, down)).toMatchObject({ nonRetryable: false, type: 'ProviderUnavailable' });
    expect((await communication(db.prisma, down.idempotencyKey)).status).toBe('AMBIGUOUS');
    expect((await runActivity(sendLetter, down)).status).toBe('SENT');
    expect(postal.letters).toHaveLength(1);
  });

  it('refuses a wrong API key for good', async () => {
    const wrong = createSendLetter({ ...apiDeps, config: { ...apiDeps.config, POSTAL_API_KEY: 'nope' } });
    expect(await runFailing(wrong, formalNotice())).toMatchObject({ nonRetryable: true, type: 'ProviderRejected' });
  });
});

describe('the four formal notices (fr and en, B2B and B2C), as their PDF reads (issue 15)', () => {
  // tools/sample-letters.ts holds the inputs; its PNGs of page 1 are committed under docs/letters/.
  // €1,500.00 invoice of 5 Jan 2026, €300.00 deposit, due 4 Feb 2026, €200.00 paid 20 Feb 2026,
  // letter dated 14 Mar 2026, a 15-day deadline (29 Mar 2026), IBAN and BIC configured.
  // B2B (shipped table, ECB 2026-H1 2.15 % + 10 = 12.15 %, the payment day counts as late):
  //   5 Feb..20 Feb = 16 days on 1,200.00: 120,000 × 0.1215 × 16 / 365 = 233,280 / 365 = 639.12 → €6.39
  //   21 Feb..14 Mar = 22 days on 1,000.00: 100,000 × 0.1215 × 22 / 365 = 267,300 / 365 = 732.33 → €7.32
  //   interest €13.71 + €40 indemnity; claimed 1,000.00 + 13.71 + 40 = €1,053.71.
  // B2C: the letter is the notice itself, not dated yet: no interest, no €40; claimed €1,000.00.
  const samples = sampleLetters();
  const read = async (name: string) => {
    const sample = samples.find((s) => s.name === name)!;
    const { pdf } = await renderLetterPdf(sample.input);
    await renderFirstPagePng(pdf, `letter-${name}`);
    // One line: the PDF wraps sentences anywhere; Intl's narrow spaces folded.
    return (await pdfToText(pdf)).replace(/[\u202f\u00a0]/g, ' ').replace(/\s+/g, ' ');
  };

  it('fr B2B (registered mail): basis of each rate, rounding, running interest, account with payments, deadline, SIRET, IBAN/BIC', async () => {
    const text = await read('formal-notice-fr-b2b');
    for (const expected of [
      'LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION',
      'la facture n°F-2026-0042-B2B-FR du 05/01/2026',
      'la somme de 1 053,71 € dans un délai de 15 jours, soit au plus tard le 29/03/2026',
      'Montant de la facture : 1 500,00 €',
      'Acompte versé : 300,00 €',
      'Règlement reçu le 20/02/2026 : 200,00 €',
      'Montant restant dû : 1 000,00 €',
      'du 05/02/2026 au 20/02/2026 (16 jours) : 1 200,00 € × 12,15 % (taux BCE du 1er semestre 2026 : 2,15 % + 10 points) × 16/365 = 6,39 €',
      'du 21/02/2026 au 14/03/2026 (22 jours) : 1 000,00 € × 12,15 % (taux BCE du 1er semestre 2026 : 2,15 % + 10 points) × 22/365 = 7,32 €',
      'Chaque ligne est arrondie au centime le plus proche',
      "Ces pénalités continuent de courir jusqu'au complet paiement.",
      'D441-5',
      'Montant total réclamé : 1 053,71 €.',
      'Créancier : Atelier Durand SAS, SIRET 123 456 789 00012.',
      'IBAN FR7630006000011234567890189 – BIC AGRIFRPP',
      'https://pay.example.test/i/F-2026-0042',
      'Les frais qui en résulteront pourront être mis à votre charge.',
    ]) {
      expect(text, expected).toContain(expected);
    }
    expect(text).not.toContain('provisoire');
  });

  it('carries the creditor logo and the footer of a French business letter (name, legal form and share capital, SIRET, address, page)', async () => {
    const sample = samples.find((s) => s.name === 'formal-notice-fr-b2b')!;
    expect(sample.input.creditor.logoFile, 'the sample creditor has a logo').toMatch(/sample-logo\.png$/);
    const { pdf } = await renderLetterPdf(sample.input);
    const text = (await pdfToText(pdf)).replace(/[\u202f\u00a0]/g, ' ').replace(/\s+/g, ' ');
    expect(text).toContain('Atelier Durand SAS · SAS au capital de 50 000 € · SIRET 123 456 789 00012');
    expect(text).toContain('12 rue de la Paix, 75002 Paris · Page 1/');
    // The logo is an image XObject in the file; without CREDITOR_LOGO_FILE there is none.
    expect(pdf.toString('latin1')).toMatch(/\/Subtype \/Image/);
    const { logoFile: _none, ...plain } = sample.input.creditor;
    const without = await renderLetterPdf({ ...sample.input, creditor: plain });
    expect(without.pdf.toString('latin1')).not.toMatch(/\/Subtype \/Image/);
  });

  it('en B2B (registered mail): the same mentions in English', async () => {
    const text = await read('formal-notice-en-b2b');
    for (const expected of [
      'REGISTERED LETTER WITH ACKNOWLEDGEMENT OF RECEIPT',
      'the sum of €1,053.71 within 15 days, that is by 29 March 2026 at the latest',
      'Invoice amount: €1,500.00',
      'Payment received on 20 February 2026: €200.00',
      'from 5 February 2026 to 20 February 2026 (16 days): €1,200.00 × 12.15% (ECB rate for the first half of 2026: 2.15% + 10 points) × 16/365 = €6.39',
      'from 21 February 2026 to 14 March 2026 (22 days): €1,000.00 × 12.15% (ECB rate for the first half of 2026: 2.15% + 10 points) × 22/365 = €7.32',
      'This interest keeps running until payment in full.',
      'Creditor: Atelier Durand SAS, SIRET 123 456 789 00012.',
      'IBAN FR7630006000011234567890189 – BIC AGRIFRPP',
    ]) {
      expect(text, expected).toContain(expected);
    }
  });

  it('fr B2C (outbox draft): starts legal interest from its sending, no €40, no costs claimed, no registered-mail claim', async () => {
    const text = await read('formal-notice-fr-b2c');
    for (const expected of [
      'la somme de 1 000,00 € dans un délai de 15 jours',
      'Règlement reçu le 20/02/2026 : 200,00 €',
      "la présente mise en demeure fait courir, à compter de sa date d'envoi et jusqu'au complet paiement, des intérêts au taux de l'intérêt légal",
      '1231-6',
      'L111-8',
      'IBAN FR7630006000011234567890189',
      'Créancier : Atelier Durand SAS, SIRET 123 456 789 00012.',
    ]) {
      expect(text, expected).toContain(expected);
    }
    expect(text).not.toMatch(/RECOMMANDÉE|recommandée/);
    expect(text).not.toContain('D441-5');
    expect(text).not.toContain('40,00 €');
    expect(text).not.toContain('pourront être mis à votre charge');
  });

  it('en B2C (outbox draft): the same in English', async () => {
    const text = await read('formal-notice-en-b2c');
    expect(text).toContain('this formal notice starts interest at the statutory rate on the amount due, from the day it is sent until payment in full');
    expect(text).toContain('the sum of €1,000.00 within 15 days');
    expect(text).toContain('L111-8');
    expect(text).not.toMatch(/REGISTERED|registered letter/);
    expect(text).not.toContain('may be charged to you');
    expect(text).not.toContain('€40');
  });
});

