// Shared PDF plumbing for the documents Relance sends or hands out (invoice extract,
// formal-notice letter, statement of account, claim declaration): an A4 pdfkit document with deterministic metadata (the same input gives the
// same bytes, so a resent document is the same document), the creditor's letterhead,
// text safe for the standard fonts, and the rendered bytes.
import PDFDocument from 'pdfkit';
import type { Config } from '../config/index';
import type { Language, PostalAddress } from '../domain/types';

export type Pdf = InstanceType<typeof PDFDocument>;

/** 1 mm in PDF points. */
export const MM = 72 / 25.4;
export const A4 = { width: 595.28, height: 841.89 };
export const MARGIN = 20 * MM;

export interface Creditor {
  name: string;
  email?: string;
  phone?: string;
  address: PostalAddress;
  /** SIRET / company registration shown under the letterhead. */
  legalId?: string;
  /** Legal form and share capital, in the footer (e.g. "SAS au capital de 50 000 €"). */
  shareCapital?: string;
  /** PNG or JPEG drawn at the top right of the letterhead. */
  logoFile?: string;
  /** Bank details printed on formal notices besides the payment link. */
  iban?: string;
  bic?: string;
  /**
   * True when letters go through a registered-mail provider (POSTAL_API_URL): only then do
   * texts say "lettre recommandée avec accusé de réception"; otherwise a letter is a draft
   * in the outbox, posted by hand.
   */
  registeredMail?: boolean;
}

/** The creditor of the configuration, as documents print it. */
export function creditorOf(config: Pick<Config, 'creditor' | 'CREDITOR_LEGAL_ID' | 'POSTAL_API_URL'>): Creditor {
  return { ...config.creditor, legalId: config.CREDITOR_LEGAL_ID, registeredMail: Boolean(config.POSTAL_API_URL) };
}

export function createA4(meta: {
  title: string;
  subject?: string;
  author: string;
  language: Language;
  date: string;
  /** Keep pages open to write on them at the end (page numbers). */
  bufferPages?: boolean;
}): Pdf {
  const created = new Date(`${meta.date}T00:00:00Z`);
  return new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    lang: meta.language === 'fr' ? 'fr-FR' : 'en-GB',
    displayTitle: true,
    bufferPages: meta.bufferPages ?? false,
    info: {
      Title: pdfText(meta.title),
      ...(meta.subject ? { Subject: pdfText(meta.subject) } : {}),
      Author: pdfText(meta.author),
      Creator: 'Relance',
      Producer: 'Relance (pdfkit)',
      CreationDate: created,
      ModDate: created,
    },
  });
}

/**
 * The standard PDF fonts speak WinAnsi: Intl's narrow no-break space (U+202F, in French
 * amounts) and other unusual spaces become a no-break space; other characters outside
 * WinAnsi become "?" rather than garbage.
 */
export function pdfText(s: string): string {
  return s
    .replace(/[\u202F\u2007\u2009]/g, '\u00A0')
    .replace(/[\u2010\u2011]/g, '-')
    .replace(/[^\n\t\u0020-\u007E\u00A0-\u00FF\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192\u02C6\u02DC\u2013\u2014\u2018\u2019\u201A\u201C\u201D\u201E\u2020\u2021\u2022\u2026\u2030\u2039\u203A\u20AC\u2122]/g, '?');
}

export function toBuffer(doc: Pdf): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
    doc.end();
  });
}

export function addressLines(a: PostalAddress): string[] {
  const country = a.country && a.country !== 'FR' ? [countryName(a.country)] : [];
  return [...a.lines.filter(Boolean), `${a.postalCode} ${a.city}`.trim(), ...country];
}

/** The name, then the address, without repeating the name when the address starts with it. */
export function namedAddressLines(name: string, address: PostalAddress | undefined): string[] {
  const lines = address ? addressLines(address) : [];
  return lines[0]?.trim() === name.trim() ? lines : [name, ...lines];
}

function countryName(code: string): string {
  try {
    return (new Intl.DisplayNames(['fr'], { type: 'region' }).of(code) ?? code).toUpperCase();
  } catch {
    return code;
  }
}

/** "05/03/2026" (fr) or "5 March 2026" (en). */
export function formatDate(isoDate: string, language: Language): string {
  const d = new Date(`${isoDate.slice(0, 10)}T00:00:00Z`);
  return new Intl.DateTimeFormat(language === 'fr' ? 'fr-FR' : 'en-GB', {
    day: language === 'fr' ? '2-digit' : 'numeric',
    month: language === 'fr' ? '2-digit' : 'long',
    year: 'numeric',
    timeZone: 'UTC',
  }).format(d);
}

/** Creditor block at the top left: name in bold, address, contact, legal id. Returns the y below it. */
export function letterhead(doc: Pdf, creditor: Creditor, language: Language): number {
  const x = MARGIN;
  // Top right, above the address window (which starts at 50 mm): at most 45 × 22 mm.
  if (creditor.logoFile) doc.image(creditor.logoFile, A4.width - MARGIN - 45 * MM, MARGIN, { fit: [45 * MM, 22 * MM], align: 'right' });
  doc.font('Helvetica-Bold').fontSize(14).fillColor('#1a3c6e').text(pdfText(creditor.name), x, MARGIN, { width: 85 * MM });
  doc.font('Helvetica').fontSize(9).fillColor('#333333');
  const lines = [...addressLines(creditor.address)];
  if (creditor.phone) lines.push(`${language === 'fr' ? 'Tél.' : 'Tel.'} ${creditor.phone}`);
  if (creditor.email) lines.push(creditor.email);
  if (creditor.legalId) lines.push(creditor.legalId);
  doc.text(pdfText(lines.join('\n')), x, doc.y + 2, { width: 85 * MM });
  doc.fillColor('black');
  return doc.y;
}

/**
 * The footer a French business letter carries (Code de commerce R123-237): name, legal form
 * and share capital, registration; then the registered address and the page number.
 */
export function footerLines(creditor: Creditor, page: string): [string, string] {
  const address = [...addressLines(creditor.address)].join(', ');
  return [[creditor.name, creditor.shareCapital, creditor.legalId].filter(Boolean).join(' · '), [address, page].filter(Boolean).join(' · ')];
}

/** footerLines at the foot of every page (pages buffered). */
export function footers(doc: Pdf, creditor: Creditor, page: (i: number, n: number) => string): void {
  const range = doc.bufferedPageRange();
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const lines = footerLines(creditor, page(i + 1, range.count));
    // Writing below the bottom margin must not add a page: lift the margin while writing.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    lines.forEach((line, n) =>
      doc.font('Helvetica').fontSize(7.5).fillColor('#777777').text(pdfText(line), MARGIN, A4.height - 14 * MM + n * 9.5, {
        width: A4.width - 2 * MARGIN,
        align: 'center',
        lineBreak: false,
      }),
    );
    doc.page.margins.bottom = bottom;
  }
  doc.fillColor('black');
}

/** A new page when fewer than `points` remain above the bottom margin. */
export function ensureRoom(doc: Pdf, points: number): void {
  if (doc.y + points > A4.height - MARGIN) doc.addPage();
}
