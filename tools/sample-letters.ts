// The four sample formal notices (fr and en, B2B and B2C) whose first pages are committed
// under docs/letters/ so a reader sees what Relance posts. tests/channels/letter.test.ts
// checks their text; `npx tsx tools/sample-letters.ts` re-renders the PNGs (pdftoppm).
//
// Figures (shipped rate table, 2026-H1 confirmed): €1,500.00 invoice of 5 Jan 2026, €300.00
// deposit, due 4 Feb 2026, €200.00 paid on 20 Feb 2026, letter dated 14 Mar 2026.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../config/index';
import { computePenalties } from '../domain/penalties';
import { getBuiltinPolicy, noticeDeadlineDays } from '../domain/policy';
import { addDays } from '../domain/dates';
import type { Audience, InvoiceSnapshot, Language } from '../domain/types';
import { creditorOf } from '../activities/deps';
import { renderLetterPdf, type LetterInput } from '../activities/letter-pdf';

export const SAMPLE_ENV = {
  CREDITOR_NAME: 'Atelier Durand SAS',
  CREDITOR_EMAIL: 'compta@atelier-durand.test',
  CREDITOR_PHONE: '+33 1 23 45 67 89',
  CREDITOR_ADDRESS: '12 rue de la Paix|75002|Paris|FR',
  CREDITOR_LEGAL_ID: 'SIRET 123 456 789 00012',
  CREDITOR_SHARE_CAPITAL: 'SAS au capital de 50 000 €',
  CREDITOR_LOGO_FILE: 'docs/assets/sample-logo.png',
  CREDITOR_SIGNATORY: 'Claire Martin, responsable recouvrement',
  CREDITOR_IBAN: 'FR76 3000 6000 0112 3456 7890 189',
  CREDITOR_BIC: 'AGRIFRPP',
};

export interface SampleLetter {
  name: string;
  language: Language;
  kind: Audience;
  registered: boolean;
  input: LetterInput;
}

/** B2B letters go by a registered-mail provider; B2C ones are outbox drafts posted by hand. */
export function sampleLetters(): SampleLetter[] {
  const asOf = '2026-03-14';
  const out: SampleLetter[] = [];
  for (const kind of ['B2B', 'B2C'] as const) {
    for (const language of ['fr', 'en'] as const) {
      const registered = kind === 'B2B';
      const config = loadConfig({ ...SAMPLE_ENV, ...(registered ? { POSTAL_API_URL: 'https://postal.example.test' } : {}) });
      const policy = getBuiltinPolicy(kind === 'B2B' ? 'fr-b2b-default' : 'fr-b2c-default');
      const invoice: InvoiceSnapshot = {
        number: `F-2026-0042-${kind}-${language}`.toUpperCase(),
        currency: 'EUR',
        amountMinor: 150_000,
        depositMinor: 30_000,
        issueDate: '2026-01-05',
        dueDate: '2026-02-04',
        paymentLink: 'https://pay.example.test/i/F-2026-0042',
        customer: {
          id: 'C-042',
          name: kind === 'B2B' ? 'Boulangerie Petit SARL' : 'Jeanne Martin',
          kind,
          email: 'client@example.test',
          address: { lines: [kind === 'B2B' ? '3 avenue des Tilleuls' : '8 rue des Écoles'], postalCode: '69003', city: 'Lyon', country: 'FR' },
          country: 'FR',
          language,
          timeZone: 'Europe/Paris',
        },
      };
      const payments = [{ date: '2026-02-20', amountMinor: 20_000 }];
      const penalties = computePenalties({
        terms: policy.penalties,
        audience: kind,
        currency: 'EUR',
        dueDate: invoice.dueDate,
        asOf,
        principalMinor: invoice.amountMinor - invoice.depositMinor,
        payments,
        rates: config.rateTables,
        // A consumer's letter is the notice itself: no date yet, so no interest yet.
      });
      out.push({
        name: `formal-notice-${language}-${kind.toLowerCase()}`,
        language,
        kind,
        registered,
        input: {
          templateId: 'formal-notice',
          invoice,
          balanceMinor: 100_000,
          penalties,
          asOf,
          deadline: addDays(asOf, noticeDeadlineDays({ ...policy, noticeDeadlineDays: 15 })),
          payments,
          creditor: creditorOf(config),
          signatory: config.CREDITOR_SIGNATORY,
          reference: `invoice-${invoice.number}/formal-notice/letter`,
        },
      });
    }
  }
  return out;
}

/** Renders page 1 of each sample to docs/letters/<name>.png (72 dpi). */
async function main(): Promise<void> {
  const outDir = path.resolve('docs', 'letters');
  const work = mkdtempSync(path.join(tmpdir(), 'letters-'));
  try {
    for (const sample of sampleLetters()) {
      const { pdf } = await renderLetterPdf(sample.input);
      const pdfPath = path.join(work, `${sample.name}.pdf`);
      writeFileSync(pdfPath, pdf);
      execFileSync('pdftoppm', ['-png', '-r', '72', '-f', '1', '-l', '1', '-singlefile', pdfPath, path.join(work, sample.name)]);
      renameSync(path.join(work, `${sample.name}.png`), path.join(outDir, `${sample.name}.png`));
      console.log(`docs/letters/${sample.name}.png`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
