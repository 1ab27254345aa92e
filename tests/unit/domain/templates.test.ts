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
  const letter = (language: Language, kind: 'B2B' | 'B2C', withPenalties = true) => {
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
      }).text,
    );
  };

  it('B2B fr: interest computation, €40 (D441-5), L441-10, 8-day deadline, consequences', () => {
    // 1 234,56 € × 12,15 % × 30 / 365: 123,456 × 0.1215 × 30 / 365 = 449,997.12 / 365 = 1,232.87 → 12,33 €
    expect(formalPenalties.interestMinor).toBe(1233);
    const text = letter('fr', 'B2B');
    expect(text.startsWith("À l'attention de Atelier Dupont\nMadame, Monsieur,")).toBe(true);
    expect(text).toContain("article L441-10 du Code de commerce");
    expect(text).toContain('- du 16/03/2026 au 14/04/2026 (30 jours) : 1 234,56 € × 12,15 % × 30/365 = 12,33 €');
    expect(text).toContain("indemnité forfaitaire pour frais de recouvrement de 40,00 € prévue à l'article D441-5");
    // total claimed = 1 234,56 + 12,33 + 40,00
    expect(text).toContain('Montant total réclamé : 1 286,89 €.');
    expect(text).toContain('la somme de 1 286,89 € dans un délai de huit jours, soit au plus tard le 22/04/2026');
    expect(text).toContain('sans nouvel avis');
    expect(text).toMatch(/salutations distinguées\.\nRelance SA$/);
  });

  it('B2B en cites the same articles', () => {
    const text = letter('en', 'B2B');
    expect(text).toContain('article L441-10');
    expect(text).toContain('article D441-5');
    expect(text).toContain('by 22 April 2026 at the latest');
    expect(text).toContain('from 16 March 2026 to 14 April 2026 (30 days): €1,234.56 × 12.15% × 30/365 = €12.33');
  });

  it('B2B without figures still reminds the law', () => {
    const text = letter('fr', 'B2B', false);
    expect(text).toContain('articles L441-10 et D441-5 du Code de commerce');
    expect(text).not.toContain('40,00');
  });

  it('B2C: legal interest, no €40, no Code de commerce', () => {
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
    const base = invoice();
    const text = plainSpaces(
      renderMessage({
        templateId: 'formal-notice',
        channel: 'letter',
        language: 'fr',
        invoice: { ...base, customer: { ...base.customer, kind: 'B2C' } },
        balanceMinor: 123456,
        penalties: b2c,
        asOf: '2026-04-14',
        creditor,
      }).text,
    );
    expect(text).toContain('1231-6 du Code civil');
    expect(text).not.toContain('D441-5');
    expect(text).not.toContain('L441-10');
    expect(text).not.toContain('40,00');
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
