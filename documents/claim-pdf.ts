// The claim declaration ("déclaration de créance", Code de commerce L622-24 and R622-23) of
// an insolvent customer as an A4 PDF, in French (it is filed with a French mandataire or
// liquidateur): the creditor's letterhead, the representative's address in the envelope
// window, the proceedings (court, judgment, BODACC publication) and the deadline, per
// invoice the principal, the interest up to the judgment date line by line with its rate
// basis, the €40 indemnity owed by a business, the supporting documents, the totals, the
// certification and a signature block.
import { formatMoney } from '../domain/money';
import { interestLineTexts } from '../domain/templates';
import type { PenaltyResult, PostalAddress } from '../domain/types';
import { A4, createA4, ensureRoom, footers, formatDate, letterhead, MARGIN, MM, namedAddressLines, pdfText, toBuffer, type Creditor, type Pdf } from './pdf';

export type InsolvencyKindName = 'sauvegarde' | 'redressement' | 'liquidation';

export interface ClaimLine {
  invoiceNumber: string;
  issueDate: string;
  dueDate: string;
  currency: string;
  /** Left to pay on the judgment date (payments received after it are not deducted). */
  principalMinor: number;
  interestMinor: number;
  indemnityMinor: number;
  totalMinor: number;
  /** Due after the judgment date: declared as a claim not yet due ("à échoir"). */
  notYetDue: boolean;
  penalties?: PenaltyResult;
  documents: string[];
}

export interface ClaimDossier {
  /** YYYY-MM-DD: the date of the document. */
  date: string;
  debtor: { externalId: string; name: string; address?: PostalAddress };
  proceeding: {
    kind: InsolvencyKindName;
    court: string;
    judgmentDate: string;
    bodaccPublicationDate: string;
    claimDeadline: string;
    representative: { role: 'mandataire' | 'liquidateur'; name: string; address: PostalAddress };
  };
  lines: ClaimLine[];
  totals: Array<{ currency: string; principalMinor: number; interestMinor: number; indemnityMinor: number; totalMinor: number }>;
}

const KIND = {
  sauvegarde: 'procédure de sauvegarde',
  redressement: 'redressement judiciaire',
  liquidation: 'liquidation judiciaire',
} as const;
const ROLE = { mandataire: 'Maître {name}, mandataire judiciaire', liquidateur: 'Maître {name}, liquidateur judiciaire' } as const;

function row(doc: Pdf, cells: string[], widths: number[], bold = false): void {
  ensureRoom(doc, 16);
  const y = doc.y;
  let x = MARGIN;
  let bottom = y;
  doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8.5);
  cells.forEach((cell, i) => {
    doc.text(pdfText(cell), x + 2, y, { width: widths[i] - 4, align: i === 0 ? 'left' : 'right' });
    bottom = Math.max(bottom, doc.y);
    x += widths[i];
  });
  doc.y = bottom + 2;
  doc.moveTo(MARGIN, doc.y).lineTo(MARGIN + widths.reduce((a, b) => a + b, 0), doc.y).strokeColor('#cccccc').lineWidth(0.5).stroke();
  doc.y += 3;
}

export async function renderClaimPdf(d: ClaimDossier, creditor: Creditor, signatory: string): Promise<Buffer> {
  const date = (iso: string) => formatDate(iso, 'fr');
  const money = (minor: number, currency: string) => formatMoney({ amountMinor: minor, currency }, 'fr');
  const p = d.proceeding;
  const title = `Déclaration de créance – ${d.debtor.name}`;
  const doc = createA4({ title, author: creditor.name, language: 'fr', date: d.date, bufferPages: true });
  const width = A4.width - 2 * MARGIN;

  letterhead(doc, creditor, 'fr');
  const representative = ROLE[p.representative.role].replace('{name}', p.representative.name);
  doc.font('Helvetica').fontSize(11).text(pdfText(namedAddressLines(representative, p.representative.address).join('\n')), 110 * MM, 50 * MM, { width: 85 * MM });
  doc.font('Helvetica').fontSize(10).text(pdfText(`Fait à ${creditor.address.city}, le ${date(d.date)}`), MARGIN, 95 * MM, { width, align: 'right' });
  if (creditor.registeredMail) doc.font('Helvetica-Bold').text('LETTRE RECOMMANDÉE AVEC ACCUSÉ DE RÉCEPTION', MARGIN, doc.y + 4, { width });

  doc.moveDown(1).font('Helvetica-Bold').fontSize(13).fillColor('#1a3c6e').text(pdfText(`Déclaration de créance`), MARGIN, doc.y, { width }).fillColor('black');
  doc.font('Helvetica').fontSize(10).moveDown(0.3);
  const debtorAddress = d.debtor.address ? ` – ${namedAddressLines(d.debtor.name, d.debtor.address).slice(1).join(', ')}` : '';
  doc.text(pdfText(`Débiteur : ${d.debtor.name}${debtorAddress} (notre référence client ${d.debtor.externalId})`), { width });
  doc.text(
    pdfText(
      `Procédure : ${KIND[p.kind]} ouverte par jugement du ${p.court} du ${date(p.judgmentDate)}, publié au BODACC le ${date(p.bodaccPublicationDate)}.`,
    ),
    { width },
  );
  doc.font('Helvetica-Bold').text(
    pdfText(`Date limite de déclaration : ${date(p.claimDeadline)} (deux mois à compter de la publication au BODACC, article R622-24 du Code de commerce).`),
    { width },
  );
  doc.moveDown(0.6).font('Helvetica').fontSize(10).text(
    pdfText(
      `Maître, nous avons l'honneur de déclarer entre vos mains, conformément aux articles L622-24 et R622-23 du Code de commerce, ` +
        `la créance que ${creditor.name} détient sur ${d.debtor.name}, à titre chirographaire, arrêtée à la date du jugement d'ouverture ` +
        `(${date(p.judgmentDate)}), qui arrête le cours des intérêts (article L622-28), pour les montants détaillés ci-dessous.`,
    ),
    MARGIN,
    doc.y,
    { width, align: 'justify' },
  );

  const widths = [46, 31, 31, 31, 31].map((w) => w * MM);
  doc.moveDown(0.6);
  row(doc, ['Facture', 'Principal', 'Intérêts', 'Indemnité', 'Total'], widths, true);
  for (const l of d.lines) row(doc, [l.invoiceNumber, money(l.principalMinor, l.currency), money(l.interestMinor, l.currency), money(l.indemnityMinor, l.currency), money(l.totalMinor, l.currency)], widths);
  for (const t of d.totals) row(doc, [`Total déclaré (${t.currency})`, money(t.principalMinor, t.currency), money(t.interestMinor, t.currency), money(t.indemnityMinor, t.currency), money(t.totalMinor, t.currency)], widths, true);

  for (const l of d.lines) {
    ensureRoom(doc, 90);
    doc.moveDown(0.6).font('Helvetica-Bold').fontSize(10).fillColor('#1a3c6e');
    doc.text(pdfText(`Facture n°${l.invoiceNumber} du ${date(l.issueDate)}, échéance ${date(l.dueDate)}`), MARGIN, doc.y, { width }).fillColor('black');
    doc.font('Helvetica').fontSize(9);
    const items = [
      `Principal restant dû au ${date(p.judgmentDate)} : ${money(l.principalMinor, l.currency)}${l.notYetDue ? ' (créance à échoir)' : ' (créance échue)'}`,
      ...(l.penalties && l.penalties.lines.length
        ? interestLineTexts(l.penalties, 'fr').map((t) => `Intérêts ${t}`)
        : [`Intérêts : néant${l.notYetDue ? " (non échue à la date du jugement d'ouverture)" : ''}`]),
      ...(l.indemnityMinor > 0 ? [`Indemnité forfaitaire pour frais de recouvrement (articles L441-10 et D441-5 du Code de commerce) : ${money(l.indemnityMinor, l.currency)}`] : []),
      `Total déclaré pour cette facture : ${money(l.totalMinor, l.currency)}`,
    ];
    doc.list(items.map(pdfText), MARGIN, doc.y + 2, { width, bulletRadius: 1.5, textIndent: 10, paragraphGap: 1 });
    doc.font('Helvetica-Oblique').fontSize(9).text('Pièces justificatives :', MARGIN, doc.y + 3, { width });
    doc.font('Helvetica').list(l.documents.map(pdfText), MARGIN, doc.y + 1, { width, bulletRadius: 1.5, textIndent: 10, paragraphGap: 1 });
  }

  ensureRoom(doc, 110);
  doc.moveDown(1).font('Helvetica').fontSize(10).text(
    pdfText(
      'Je certifie sincère et véritable la présente déclaration de créance. Les intérêts sont calculés jour par jour sur le principal ' +
        'restant dû, sur 365 jours, ligne par ligne, chaque ligne arrondie au centime.' +
        (d.lines.some((l) => l.penalties?.provisionalRates)
          ? ' Les taux marqués « taux provisoire » reprennent le dernier taux publié ; le montant sera ajusté au taux publié pour le semestre.'
          : ''),
    ),
    MARGIN,
    doc.y,
    { width, align: 'justify' },
  );
  doc.moveDown(1.5);
  const x = 110 * MM;
  doc.text(pdfText(`Pour ${creditor.name},`), x, doc.y, { width: 85 * MM });
  doc.text(pdfText(signatory), x, doc.y, { width: 85 * MM });
  doc.fontSize(8).fillColor('#888888').text('Signature', x, doc.y + 28, { width: 85 * MM }).fillColor('black');
  doc.moveTo(x, doc.y + 2).lineTo(x + 60 * MM, doc.y + 2).strokeColor('#888888').lineWidth(0.5).stroke();
  footers(doc, creditor, (i, n) => `Page ${i}/${n}`);
  return toBuffer(doc);
}
