import { describe, expect, it } from 'vitest';
import { computePenalties } from '../../../domain/penalties';
import { BUILTIN_POLICIES } from '../../../domain/policy';
import {
  escapeHtml,
  hasTemplate,
  renderMessage,
  SMS_MAX_LENGTH,
  TEMPLATE_CHANNELS,
  TEMPLATE_IDS,
  TEMPLATE_LANGUAGES,
  type RenderArgs,
} from '../../../domain/templates';
import type { Language } from '../../../domain/types';
import { invoice, plainSpaces, rateTables } from './helpers';

const creditor = { name: 'Relance SA', email: 'compta@relance.example', phone: '+33 1 23 45 67 89' };

function render(overrides: Partial<RenderArgs> = {}) {
  return renderMessage({
    templateId: 'reminder-1',
    channel: 'email',
    language: 'fr',
    invoice: invoice(),
    balanceMinor: 123456,
    asOf: '2026-03-22',
    creditor,
    ...overrides,
  });
}

const formalPenalties = computePenalties({
  terms: { mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 },
  audience: 'B2B',
  currency: 'EUR',
  dueDate: '2026-03-15',
  asOf: '2026-04-14',
  principalMinor: 123456,
  payments: [],
  rates: rateTables({ ecb: { '2026-H1': 2.15 } }),
});

describe('subjects', () => {
  it.each<[string, Language, string]>([
    ['reminder-1', 'fr', 'Relance de facture n°1234 – Échéance dépassée'],
    ['reminder-1', 'en', 'Reminder: invoice 1234 is overdue'],
    ['courtesy', 'fr', 'Facture n°1234 : échéance le 15/03/2026'],
    ['courtesy', 'en', 'Invoice 1234 falls due on 15 March 2026'],
    ['formal-notice', 'fr', 'Mise en demeure de payer – facture n°1234'],
    ['formal-notice', 'en', 'Formal notice to pay – invoice 1234'],
    ['receipt', 'en', 'Thank you for your payment – invoice 1234'],
  ])('%s/%s', (templateId, language, subject) => {
    expect(render({ templateId, language }).subject).toBe(subject);
  });

  it('SMS has an empty subject', () => {
    expect(render({ channel: 'sms' }).subject).toBe('');
  });
});

describe('body', () => {
  it('greets the customer by name and lists invoice number, dates and the balance', () => {
    const { text } = render();
    expect(text.startsWith('Bonjour Atelier Dupont,')).toBe(true);
    expect(plainSpaces(text)).toContain('- Facture n°1234\n- Date d\'émission : 13/02/2026\n- Date d\'échéance : 15/03/2026\n- Montant restant dû : 1 234,56 €');
    expect(text).toContain('Si vous avez rencontré des difficultés, contactez-nous par e-mail à compta@relance.example ou par téléphone au +33 1 23 45 67 89');
    expect(text).toContain('https://pay.example/i/1234');
  });

  it('English dates and amounts', () => {
    const { text } = render({ language: 'en' });
    expect(text).toContain('Dear Atelier Dupont,');
    expect(text).toContain('- Issue date: 13 February 2026\n- Due date: 15 March 2026\n- Amount outstanding: €1,234.56');
  });

  it('shows the remaining balance after a partial payment, not the invoice total', () => {
    const text = plainSpaces(render({ balanceMinor: 100000 }).text);
    expect(text).toContain('Montant restant dû : 1 000,00 €');
    expect(text).not.toContain('1 234,56');
    expect(render({ balanceMinor: 100000, language: 'en', channel: 'sms' }).text).toContain('€1,000.00');
  });

  it('no consequences before the formal step; consequences from it on', () => {
    expect(render({ templateId: 'reminder-1' }).text).not.toMatch(/procédure de recouvrement/);
    expect(render({ templateId: 'formal-notice' }).text).toMatch(/procédure de recouvrement/);
    expect(render({ templateId: 'final-notice', language: 'en' }).text).toMatch(/final notice/);
  });

  it('receipt shows the invoice amount and no payment link', () => {
    const { text } = render({ templateId: 'receipt', balanceMinor: 0 });
    expect(plainSpaces(text)).toContain('Montant de la facture : 1 234,56 €');
    expect(text).not.toContain('https://pay.example');
    expect(render({ templateId: 'receipt', channel: 'sms' }).text).not.toContain('https://pay.example');
    // A reminder already in flight when the payment landed is answered here.
    expect(text).toContain('Si un rappel concernant cette facture vous est parvenu entre-temps');
    expect(render({ templateId: 'receipt', language: 'en' }).text).toContain('please disregard it');
  });

  it('plan-confirmed lists the instalments', () => {
    const { text } = render({
      templateId: 'plan-confirmed',
      language: 'en',
      plan: { instalments: [{ dueDate: '2026-04-01', amountMinor: 61728 }, { dueDate: '2026-05-01', amountMinor: 61728 }] },
    });
    expect(text).toContain('- 1 April 2026: €617.28\n- 1 May 2026: €617.28');
  });

  it('omits the contact phrase when the creditor has none', () => {
    const { text } = render({ creditor: { name: 'Relance SA' }, language: 'en' });
    expect(text).toContain('please contact us and we will look for a solution');
  });
});

describe('formal notice letter', () => {
  const letter = (language: Language, kind: 'B2B' | 'B2C', withPenalties = true, extra: Partial<RenderArgs> = {}) => {
    const base = invoice();
    return plainSpaces(
      renderMessage({
        templateId: 'formal-notice',
        channel: 'letter',
        language,
        invoice: { ...base, customer: { ...base.customer, kind } },
        balanceMinor: 123456,
        penalties: withPenalties ? formalPenalties : undefined,
        asOf: '2026-04-14',
        creditor,
        ...extra,
      }).text,
    );
  };

  it('B2B fr: interest computation with its basis, rounding, running, €40 (D441-5), L441-10, deadline, consequences', () => {
    // 1 234,56 € × 12,15 % × 30 / 365: 123,456 × 0.1215 × 30 / 365 = 449,997.12 / 365 = 1,232.87 → 12,33 €
    expect(formalPenalties.interestMinor).toBe(1233);
    const text = letter('fr', 'B2B');
    expect(text.startsWith("À l'attention de Atelier Dupont\nMadame, Monsieur,")).toBe(true);
    expect(text).toContain("article L441-10 du Code de commerce");
    expect(text).toContain('- du 16/03/2026 au 14/04/2026 (30 jours) : 1 234,56 € × 12,15 % (taux BCE du 1er semestre 2026 : 2,15 % + 10 points) × 30/365 = 12,33 €');
    expect(text).toContain('Chaque ligne est arrondie au centime le plus proche');
    expect(text).toContain("Ces pénalités continuent de courir jusqu'au complet paiement.");
    expect(text).toContain("indemnité forfaitaire pour frais de recouvrement de 40,00 € prévue à l'article D441-5");
    // total claimed = 1 234,56 + 12,33 + 40,00
    expect(text).toContain('Montant total réclamé : 1 286,89 €.');
    expect(text).toContain('la somme de 1 286,89 € dans un délai de 8 jours, soit au plus tard le 22/04/2026');
    expect(text).toContain('la facture n°1234 du 13/02/2026');
    expect(text).toContain('Les frais qui en résulteront pourront être mis à votre charge.');
    expect(text).not.toContain('provisoire');
    expect(text).toMatch(/salutations distinguées\.\nRelance SA$/);
  });

  it('B2B en cites the same articles and the same basis', () => {
    const text = letter('en', 'B2B');
    expect(text).toContain('article L441-10');
    expect(text).toContain('article D441-5');
    expect(text).toContain('within 8 days, that is by 22 April 2026 at the latest');
    expect(text).toContain('from 16 March 2026 to 14 April 2026 (30 days): €1,234.56 × 12.15% (ECB rate for the first half of 2026: 2.15% + 10 points) × 30/365 = €12.33');
    expect(text).toContain('This interest keeps running until payment in full.');
    expect(text).toContain('Each line is rounded to the nearest cent');
  });

  it('B2B without figures still reminds the law', () => {
    const text = letter('fr', 'B2B', false);
    expect(text).toContain('articles L441-10 et D441-5 du Code de commerce');
    expect(text).not.toContain('40,00');
  });

  it('lists the original amount, the deposit and each payment before the balance; the deadline comes from the caller (the policy)', () => {
    // €1,234.56 invoice, €200.00 deposit, €300.00 paid on 20 March: €734.56 left.
    const base = invoice({ depositMinor: 20000 });
    const text = plainSpaces(
      renderMessage({
        templateId: 'formal-notice',
        channel: 'letter',
        language: 'fr',
        invoice: base,
        balanceMinor: 73456,
        asOf: '2026-04-14',
        deadline: '2026-04-29',
        creditor,
        payments: [{ date: '2026-03-20', amountMinor: 30000 }],
      }).text,
    );
    expect(text).toContain('- Montant de la facture : 1 234,56 €\n- Acompte versé : 200,00 €\n- Règlement reçu le 20/03/2026 : 300,00 €\n- Montant restant dû : 734,56 €');
    expect(text).toContain('dans un délai de 15 jours, soit au plus tard le 29/04/2026');
  });

  it("names the creditor (SIREN/SIRET) and gives IBAN/BIC besides the link; without an IBAN, no bank line", () => {
    const full = { ...creditor, legalId: 'SIRET 123 456 789 00012', iban: 'FR7630006000011234567890189', bic: 'AGRIFRPP' };
    const fr = letter('fr', 'B2B', true, { creditor: full });
    expect(fr).toContain('Créancier : Relance SA, SIRET 123 456 789 00012.');
    expect(fr).toContain('Règlement par virement : IBAN FR7630006000011234567890189 – BIC AGRIFRPP');
    expect(fr).toContain('https://pay.example/i/1234');
    const en = letter('en', 'B2B', true, { creditor: full });
    expect(en).toContain('Creditor: Relance SA, SIRET 123 456 789 00012.');
    expect(en).toContain('Payment by bank transfer: IBAN FR7630006000011234567890189 – BIC AGRIFRPP');
    expect(letter('fr', 'B2B')).not.toContain('IBAN');
  });

  it('case 3 (issue 15): a rate raised to the legal floor says so', () => {
    // agreed 5 % < 3 × 2,62 % (legal rate 2026-H1) = 7,86 % → raised to 7,86 % (L441-10):
    // 123,456 × 0.0786 × 30 / 365 = 291,109.25 / 365 = 797.56 → 7,98 €
    const raised = computePenalties({
      terms: { mode: 'commercial', spreadPoints: 10, agreedRatePercent: 5, fixedIndemnityMinor: 4000 },
      audience: 'B2B',
      currency: 'EUR',
      dueDate: '2026-03-15',
      asOf: '2026-04-14',
      principalMinor: 123456,
      payments: [],
      rates: rateTables({ legal: { '2026-H1': { consumerCreditor: 6.67, other: 2.62 } } }),
    });
    expect(raised.interestMinor).toBe(798);
    const text = letter('fr', 'B2B', true, { penalties: raised });
    expect(text).toContain('× 7,86 % (taux convenu de 5,00 % porté au minimum légal, 3 × 2,62 %) × 30/365 = 7,98 €');
    expect(text).toContain("Le taux convenu étant inférieur au minimum fixé par l'article L441-10 du Code de commerce");
    expect(letter('en', 'B2B', true, { penalties: raised })).toContain('(agreed rate of 5.00% raised to the legal minimum, 3 × 2.62%)');
  });

  it('case 4 (issue 15): a provisional rate is printed as such', () => {
    const provisional = computePenalties({
      terms: { mode: 'commercial', spreadPoints: 10, fixedIndemnityMinor: 4000 },
      audience: 'B2B',
      currency: 'EUR',
      dueDate: '2026-03-15',
      asOf: '2026-04-14',
      principalMinor: 123456,
      payments: [],
      rates: rateTables({ ecb: { '2026-H1': 2.15 }, provisional: { ecb: ['2026-H1'] } }),
    });
    const fr = letter('fr', 'B2B', true, { penalties: provisional });
    expect(fr).toContain('(taux BCE du 1er semestre 2026 : 2,15 % + 10 points, taux provisoire)');
    expect(fr).toContain('Les taux marqués provisoires ne sont pas encore publiés');
    const en = letter('en', 'B2B', true, { penalties: provisional });
    expect(en).toContain('+ 10 points, provisional rate)');
    expect(en).toContain('Rates marked provisional are not yet published');
  });

  it('B2C after the notice: legal interest from its date, with the basis; no €40, no Code de commerce, no recovery costs', () => {
    // Notice dated 15/03/2026, as of 14/04/2026: 30 days at 2,62 % (legal rate 2026-H1, "autres cas"):
    // 123,456 × 0.0262 × 30 / 365 = 97,036.42 / 365 = 265.85 → 2,66 €
    const b2c = computePenalties({
      terms: { mode: 'legal', spreadPoints: 0, fixedIndemnityMinor: 0 },
      audience: 'B2C',
      currency: 'EUR',
      dueDate: '2026-03-15',
      asOf: '2026-04-14',
      principalMinor: 123456,
      payments: [],
      rates: rateTables({ legal: { '2026-H1': { consumerCreditor: 6.67, other: 2.62 } } }),
      formalNoticeDate: '2026-03-15',
    });
    expect(b2c.interestMinor).toBe(266);
    const text = letter('fr', 'B2C', true, { penalties: b2c });
    expect(text).toContain('Depuis la mise en demeure du 15/03/2026');
    expect(text).toContain("× 2,62 % (taux de l'intérêt légal du 1er semestre 2026) × 30/365 = 2,66 €");
    expect(text).toContain("Ces intérêts continuent de courir jusqu'au complet paiement.");
    expect(text).toContain('1231-6');
    expect(text).not.toContain('D441-5');
    expect(text).not.toContain('L441-10');
    expect(text).not.toContain('40,00');
    expect(text).not.toMatch(/frais/i);
  });

  it('B2C formal notice before its date: it starts the interest, claims no figure and no costs (fr and en)', () => {
    const fr = letter('fr', 'B2C', false);
    expect(fr).toContain('la présente mise en demeure fait courir, à compter de sa date d\'envoi et jusqu\'au complet paiement, des intérêts au taux de l\'intérêt légal');
    expect(fr).not.toMatch(/frais|D441-5|40,00/);
    const en = letter('en', 'B2C', false);
    expect(en).toContain('this formal notice starts interest at the statutory rate on the amount due, from the day it is sent until payment in full');
    expect(en).not.toMatch(/costs|D441-5|€40/);
  });

  it('case 7 (issue 15): "lettre recommandée" only when a registered-mail provider sends it', () => {
    const email = (registeredMail: boolean, language: Language = 'fr') =>
      plainSpaces(render({ templateId: 'formal-notice', channel: 'email', language, registeredMail }).text);
    const sms = (registeredMail: boolean) => render({ templateId: 'formal-notice', channel: 'sms', registeredMail }).text;
    expect(email(true)).toContain('Ce courrier vous est également adressé par lettre recommandée avec accusé de réception.');
    expect(email(false)).toContain('Ce courrier vous est également adressé par courrier postal.');
    expect(email(false)).not.toMatch(/recommand/i);
    expect(email(false, 'en')).not.toMatch(/registered/i);
    expect(sms(false)).not.toMatch(/recommand/i);
    expect(sms(true)).toContain('lettre recommandée');
    // The letter body itself never claims it: the PDF header does, when it is true (activities/letter-pdf.ts).
    expect(letter('fr', 'B2B', true, { registeredMail: false })).not.toMatch(/recommand/i);
  });

  it('an explicit deadline wins over asOf + 8 days', () => {
    const text = plainSpaces(
      render({ templateId: 'formal-notice', channel: 'letter', asOf: '2026-04-14', deadline: '2026-04-30' }).text,
    );
    expect(text).toContain('au plus tard le 30/04/2026');
  });
});

describe('HTML', () => {
  const nasty = '<script>alert("x")</script> & Fils';

  it('escapes every interpolated value', () => {
    const base = invoice();
    const { html, text } = render({
      invoice: { ...base, number: '12<34', customer: { ...base.customer, name: nasty } },
      creditor: { name: 'O\'Brien & <Co>' },
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Fils');
    expect(html).toContain('12&lt;34');
    expect(html).toContain('O&#39;Brien &amp; &lt;Co&gt;');
    expect(text).toContain(nasty); // the text part stays raw
  });

  it('links only http(s) payment links', () => {
    expect(render().html).toContain('<a href="https://pay.example/i/1234">');
    const evil = render({ invoice: invoice({ paymentLink: 'javascript:alert(1)' }) }).html;
    expect(evil).not.toContain('<a ');
    expect(evil).toContain('javascript:alert(1)');
  });

  it('escapeHtml', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('SMS', () => {
  it('is short and carries the amount and the link', () => {
    const { text, html } = render({ channel: 'sms' });
    expect(plainSpaces(text)).toBe(
      'Relance SA : la facture n°1234 est échue depuis le 15/03/2026. Reste dû : 1 234,56 €. Payer : https://pay.example/i/1234 Contact : +33 1 23 45 67 89',
    );
    expect(html).toBe('');
  });

  it('stays within 320 characters with long names and links, keeping the link', () => {
    const link = `https://pay.example/i/${'x'.repeat(150)}`;
    const { text } = render({
      channel: 'sms',
      templateId: 'formal-notice',
      invoice: invoice({ paymentLink: link }),
      creditor: { ...creditor, name: 'Société Anonyme de Recouvrement et de Gestion '.repeat(3) },
    });
    expect(text.length).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    expect(text.endsWith(link)).toBe(true);
  });
});

describe('coverage and errors', () => {
  it('every step template of the shipped policies exists', () => {
    for (const policy of Object.values(BUILTIN_POLICIES)) {
      for (const step of policy.steps) expect(hasTemplate(step.templateId), step.templateId).toBe(true);
    }
    for (const extra of ['receipt', 'plan-confirmed', 'plan-breached']) expect(hasTemplate(extra)).toBe(true);
    expect(hasTemplate('nope')).toBe(false);
  });

  const combos = TEMPLATE_IDS.flatMap((id) =>
    TEMPLATE_LANGUAGES.flatMap((language) => TEMPLATE_CHANNELS.map((channel) => [id, language, channel] as const)),
  );

  it.each(combos)('%s × %s × %s renders', (templateId, language, channel) => {
    const m = renderMessage({
      templateId,
      channel,
      language,
      invoice: invoice(),
      balanceMinor: 100000,
      penalties: formalPenalties,
      asOf: '2026-04-14',
      creditor,
      plan: { instalments: [{ dueDate: '2026-05-01', amountMinor: 100000 }] },
    });
    expect(m.text.length).toBeGreaterThan(20);
    expect(m.text).toContain('1234');
    expect(m.text).not.toMatch(/\{\w+\}/);
    if (channel === 'sms') {
      expect(m.subject).toBe('');
      expect(m.text.length).toBeLessThanOrEqual(SMS_MAX_LENGTH);
    } else {
      expect(m.subject).toContain('1234');
      expect(m.html).toContain('<p>');
      expect(m.text).toContain('Atelier Dupont');
    }
  });

  it('names unknown templates, languages and channels', () => {
    expect(() => render({ templateId: 'nope' })).toThrow(/Unknown template "nope"/);
    expect(() => render({ language: 'de' as Language })).toThrow(/language "de"/);
    expect(() => render({ channel: 'fax' as 'email' })).toThrow(/channel "fax"/);
  });
});
