// The French language pack and the French text of every template. Placeholders are {name};
// the renderer (render.ts) escapes every value for HTML.
import type { LanguageTemplates } from './types';

export const fr: LanguageTemplates = {
  pack: {
    formatDate: (d) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`,
    greeting: { email: 'Bonjour {customerName},', letter: "À l'attention de {customerName}\nMadame, Monsieur," },
    signOff: {
      email: 'Cordialement,\n{creditorName}',
      letter:
        "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées.\n{creditorName}",
    },
    summary: {
      invoice: 'Facture n°{number}',
      issued: "Date d'émission : {issueDate}",
      due: "Date d'échéance : {dueDate}",
      balance: 'Montant restant dû : {balance}',
      paid: 'Montant de la facture : {invoiceTotal}',
    },
    payOnline: 'Vous pouvez régler en ligne :',
    help: 'Si vous avez rencontré des difficultés, contactez-nous{contact} : nous chercherons une solution avec vous.',
    questions: 'Pour toute question, contactez-nous{contact}.',
    contact: { email: ' par e-mail à {email}', phone: ' par téléphone au {phone}', both: ' par e-mail à {email} ou par téléphone au {phone}', none: '' },
    days: (n) => `${n} jour${n > 1 ? 's' : ''}`,
    penalties: {
      b2bIntro:
        "Conformément à l'article L441-10 du Code de commerce, des pénalités de retard sont exigibles de plein droit depuis le lendemain de la date d'échéance. Calculées au {asOf}, elles s'élèvent à {interest} :",
      b2cIntro:
        "Depuis la mise en demeure du {noticeDate}, des intérêts au taux de l'intérêt légal courent sur la somme due (articles 1231-6 et 1344-1 du Code civil). Calculés au {asOf}, ils s'élèvent à {interest} :",
      b2cFromThisNotice:
        "Conformément aux articles 1231-6 et 1344-1 du Code civil, la présente mise en demeure fait courir, à compter de sa date d'envoi et jusqu'au complet paiement, des intérêts au taux de l'intérêt légal sur la somme due.",
      line: 'du {from} au {to} ({days}) : {lineBalance} × {rate}{basis} × {dayCount}/365 = {lineInterest}',
      basis: {
        ecb: 'taux BCE du {half} : {ecb} + {spread} points',
        legal: "taux de l'intérêt légal du {half}",
        agreed: 'taux convenu',
        floor: 'taux convenu de {agreed} porté au minimum légal, 3 × {legal}',
      },
      half: (h) => `${h.endsWith('H1') ? '1er' : '2d'} semestre ${h.slice(0, 4)}`,
      provisionalMark: ', taux provisoire',
      rounding: "Chaque ligne est arrondie au centime le plus proche ; les intérêts sont la somme des lignes arrondies.",
      floor:
        "Le taux convenu étant inférieur au minimum fixé par l'article L441-10 du Code de commerce (trois fois le taux de l'intérêt légal), c'est ce minimum qui s'applique.",
      provisional:
        "Les taux marqués provisoires ne sont pas encore publiés pour le semestre concerné : le montant sera recalculé dès leur publication.",
      runningB2B: "Ces pénalités continuent de courir jusqu'au complet paiement.",
      runningB2C: "Ces intérêts continuent de courir jusqu'au complet paiement.",
      indemnity:
        "S'y ajoute l'indemnité forfaitaire pour frais de recouvrement de {indemnity} prévue à l'article D441-5 du Code de commerce.",
      total: 'Montant total réclamé : {totalClaim}.',
      b2bReminder:
        "Nous vous rappelons que tout retard de paiement rend exigibles de plein droit des pénalités de retard et l'indemnité forfaitaire pour frais de recouvrement (articles L441-10 et D441-5 du Code de commerce).",
    },
    account: {
      invoiceTotal: 'Montant de la facture : {invoiceTotal}',
      deposit: 'Acompte versé : {deposit}',
      payment: 'Règlement reçu le {date} : {amount}',
    },
    creditor: {
      identity: 'Créancier : {creditorName}{legalIdPart}.',
      bank: 'Règlement par virement : IBAN {iban}{bicPart}, en indiquant la référence de la facture n°{number}.',
    },
    letterMention: { registered: 'lettre recommandée avec accusé de réception', post: 'courrier postal' },
    instalment: '{date} : {amount}',
    sms: { pay: 'Payer : {link}', contact: 'Contact : {contact}' },
    discount:
      'Escompte pour paiement anticipé convenu avec vous : {discountPercent} si le règlement nous parvient au plus tard le {discountUntil}, soit {discountedBalance}.',
  },
  templates: {
    courtesy: {
      subject: 'Facture n°{number} : échéance le {dueDate}',
      intro: [
        'Nous vous rappelons que la facture n°{number} arrive à échéance le {dueDate}.',
        'Si le règlement est déjà programmé, merci de ne pas tenir compte de ce message.',
      ],
      discount: true,
      outro: 'questions',
      sms: '{creditorName} : la facture n°{number} de {balance} arrive à échéance le {dueDate}.',
    },
    'reminder-1': {
      subject: 'Relance de facture n°{number} – Échéance dépassée',
      intro: [
        "Sauf erreur de notre part, nous n'avons pas encore reçu le règlement de la facture n°{number}, arrivée à échéance le {dueDate}.",
        'Si votre paiement est déjà en cours, merci de ne pas tenir compte de ce message.',
      ],
      outro: 'help',
      sms: '{creditorName} : la facture n°{number} est échue depuis le {dueDate}. Reste dû : {balance}.',
    },
    'reminder-2': {
      subject: 'Deuxième relance : facture n°{number} impayée',
      intro: [
        'Malgré notre précédente relance, la facture n°{number}, arrivée à échéance le {dueDate}, reste impayée à ce jour. Vous en trouverez un extrait ci-joint.',
        'Nous vous remercions de procéder à son règlement dans les meilleurs délais. À défaut, nous serons amenés à vous adresser une mise en demeure.',
      ],
      outro: 'help',
      sms: '{creditorName} : 2e relance, la facture n°{number} reste impayée depuis le {dueDate}. Reste dû : {balance}.',
    },
    'formal-notice': {
      subject: 'Mise en demeure de payer – facture n°{number}',
      intro: [
        "Malgré nos relances, la facture n°{number} du {issueDate}, arrivée à échéance le {dueDate}, n'a pas été réglée.",
        'Par la présente, nous vous mettons en demeure de nous régler la somme de {totalClaim} dans un délai de {deadlineDays}, soit au plus tard le {deadline}.',
      ],
      account: true,
      penalties: true,
      creditorDetails: true,
      consequences: [
        "À défaut de règlement dans ce délai, nous serons contraints d'engager une procédure de recouvrement, amiable ou judiciaire, sans nouvel avis. Les frais qui en résulteront pourront être mis à votre charge.",
      ],
      consequencesB2C: [
        "À défaut de règlement dans ce délai, nous serons contraints d'engager une procédure de recouvrement, amiable ou judiciaire, sans nouvel avis.",
      ],
      letterCopy: 'Ce courrier vous est également adressé par {letterMention}.',
      outro: 'help',
      sms: '{creditorName} : mise en demeure de régler la facture n°{number}, soit {totalClaim}, au plus tard le {deadline}. Un courrier vous est adressé par {letterMention}.',
    },
    'final-notice': {
      subject: 'Dernier avis avant recouvrement – facture n°{number}',
      intro: [
        'Malgré nos relances et notre mise en demeure, la facture n°{number} du {issueDate}, arrivée à échéance le {dueDate}, reste impayée.',
      ],
      account: true,
      penalties: true,
      creditorDetails: true,
      consequences: [
        "Ceci est notre dernier avis : sans règlement de {totalClaim} au plus tard le {deadline}, votre dossier sera transmis à un organisme de recouvrement ou à notre conseil en vue d'une action en justice.",
      ],
      outro: 'help',
      sms: '{creditorName} : dernier avis avant recouvrement pour la facture n°{number} ({totalClaim}). Merci de régler au plus tard le {deadline}.',
    },
    'agency-handover': {
      subject: 'Transmission de votre dossier au recouvrement – facture n°{number}',
      intro: [
        'La facture n°{number}, arrivée à échéance le {dueDate}, restant impayée malgré nos relances, nous avons transmis votre dossier à notre partenaire de recouvrement, qui prendra contact avec vous.',
      ],
      penalties: true,
      consequences: [
        'Tout règlement que vous effectuerez sera pris en compte et viendra en déduction des sommes réclamées.',
      ],
      outro: 'questions',
      sms: '{creditorName} : la facture n°{number} ({totalClaim}) a été transmise à notre partenaire de recouvrement.',
    },
    receipt: {
      subject: 'Merci pour votre règlement – facture n°{number}',
      intro: [
        'Nous avons bien reçu le règlement de la facture n°{number} et vous en remercions. Votre compte est à jour.',
        // A reminder already in flight when the payment landed may still arrive: say so.
        'Si un rappel concernant cette facture vous est parvenu entre-temps, merci de ne pas en tenir compte.',
      ],
      summary: 'paid',
      outro: 'questions',
      sms: '{creditorName} : merci, nous avons bien reçu le règlement de la facture n°{number}.',
      smsLink: false,
    },
    'plan-confirmed': {
      subject: 'Échéancier confirmé – facture n°{number}',
      intro: [
        "Nous vous confirmons l'échéancier convenu pour le règlement de la facture n°{number}. Tant que les échéances sont respectées, vous ne recevrez plus de relance pour cette facture.",
      ],
      instalments: true,
      outro: 'questions',
      sms: '{creditorName} : votre échéancier pour la facture n°{number} ({balance}) est confirmé. Merci.',
    },
    'plan-breached': {
      subject: 'Échéance non honorée – facture n°{number}',
      intro: [
        "Une échéance du plan de paiement convenu pour la facture n°{number} n'a pas été réglée dans le délai prévu. Le plan de paiement est donc caduc et le solde est de nouveau exigible.",
      ],
      consequences: ['Sans règlement de votre part, la procédure de relance reprendra.'],
      outro: 'help',
      sms: "{creditorName} : une échéance de votre plan pour la facture n°{number} n'a pas été honorée. Reste dû : {balance}.",
    },
  },
};
