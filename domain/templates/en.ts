// The English language pack and the English text of every template. Placeholders are {name};
// the renderer (render.ts) escapes every value for HTML.
import type { LanguageTemplates } from './types';

const EN_MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
] as const;

export const en: LanguageTemplates = {
  pack: {
    formatDate: (d) => `${Number(d.slice(8, 10))} ${EN_MONTHS[Number(d.slice(5, 7)) - 1]} ${d.slice(0, 4)}`,
    greeting: { email: 'Dear {customerName},', letter: 'Dear {customerName},' },
    signOff: { email: 'Kind regards,\n{creditorName}', letter: 'Yours sincerely,\n{creditorName}' },
    summary: {
      invoice: 'Invoice {number}',
      issued: 'Issue date: {issueDate}',
      due: 'Due date: {dueDate}',
      balance: 'Amount outstanding: {balance}',
      paid: 'Invoice amount: {invoiceTotal}',
    },
    payOnline: 'You can pay online:',
    help: 'If you have run into any difficulty, please contact us{contact} and we will look for a solution with you.',
    questions: 'If you have any questions, please contact us{contact}.',
    contact: { email: ' at {email}', phone: ' on {phone}', both: ' at {email} or on {phone}', none: '' },
    days: (n) => `${n} day${n > 1 ? 's' : ''}`,
    penalties: {
      b2bIntro:
        'Under article L441-10 of the French Commercial Code (Code de commerce), late-payment interest is due by operation of law from the day after the due date. As at {asOf}, it amounts to {interest}:',
      b2cIntro:
        'Late-payment interest at the statutory rate (article 1231-6 of the French Civil Code) applies to the amount due. As at {asOf}, it amounts to {interest}:',
      line: 'from {from} to {to} ({days}): {lineBalance} × {rate} × {dayCount}/365 = {lineInterest}',
      indemnity:
        'In addition, the fixed indemnity for recovery costs of {indemnity} under article D441-5 of the Code de commerce is due.',
      total: 'Total amount claimed: {totalClaim}.',
      b2bReminder:
        'Please note that any late payment makes late-payment interest and the fixed indemnity for recovery costs due by operation of law (articles L441-10 and D441-5 of the French Commercial Code).',
    },
    instalment: '{date}: {amount}',
    sms: { pay: 'Pay: {link}', contact: 'Contact: {contact}' },
  },
  templates: {
    courtesy: {
      subject: 'Invoice {number} falls due on {dueDate}',
      intro: [
        'This is a friendly reminder that invoice {number} falls due on {dueDate}.',
        'If payment is already scheduled, please disregard this message.',
      ],
      outro: 'questions',
      sms: '{creditorName}: invoice {number} for {balance} falls due on {dueDate}.',
    },
    'reminder-1': {
      subject: 'Reminder: invoice {number} is overdue',
      intro: [
        'According to our records, we have not yet received payment of invoice {number}, which fell due on {dueDate}.',
        'If your payment is already on its way, please disregard this message.',
      ],
      outro: 'help',
      sms: '{creditorName}: invoice {number} has been overdue since {dueDate}. Outstanding: {balance}.',
    },
    'reminder-2': {
      subject: 'Second reminder: invoice {number} remains unpaid',
      intro: [
        'Despite our previous reminder, invoice {number}, which fell due on {dueDate}, remains unpaid. Please find an extract of the invoice attached.',
        'We kindly ask you to settle it without delay. Otherwise we will have to send you a formal notice.',
      ],
      outro: 'help',
      sms: '{creditorName}: second reminder, invoice {number} has been unpaid since {dueDate}. Outstanding: {balance}.',
    },
    'formal-notice': {
      subject: 'Formal notice to pay – invoice {number}',
      intro: [
        'Despite our reminders, invoice {number}, which fell due on {dueDate}, has not been paid.',
        'We hereby give you formal notice to pay the sum of {totalClaim} within eight days, that is by {deadline} at the latest.',
      ],
      penalties: true,
      consequences: [
        'Failing payment within this period, we will have to start recovery proceedings, out of court or in court, without further notice. The resulting costs may be charged to you.',
      ],
      outro: 'help',
      sms: '{creditorName}: formal notice to pay invoice {number}, {totalClaim}, by {deadline}. A registered letter is on its way.',
    },
    'final-notice': {
      subject: 'Final notice before collection – invoice {number}',
      intro: [
        'Despite our reminders and our formal notice, invoice {number}, which fell due on {dueDate}, remains unpaid.',
      ],
      penalties: true,
      consequences: [
        'This is our final notice: unless {totalClaim} is paid by {deadline}, your file will be passed to a collection agency or to our lawyer with a view to legal action.',
      ],
      outro: 'help',
      sms: '{creditorName}: final notice before collection for invoice {number} ({totalClaim}). Please pay by {deadline}.',
    },
    'agency-handover': {
      subject: 'Your file has been passed to our collection agency – invoice {number}',
      intro: [
        'As invoice {number}, which fell due on {dueDate}, remains unpaid despite our reminders, we have passed your file to our collection partner, who will contact you.',
      ],
      penalties: true,
      consequences: ['Any payment you make will be taken into account and deducted from the amounts claimed.'],
      outro: 'questions',
      sms: '{creditorName}: invoice {number} ({totalClaim}) has been passed to our collection partner.',
    },
    receipt: {
      subject: 'Thank you for your payment – invoice {number}',
      intro: [
        'We have received payment of invoice {number}, thank you. Your account is up to date.',
        'If a reminder about this invoice reached you in the meantime, please disregard it.',
      ],
      summary: 'paid',
      outro: 'questions',
      sms: '{creditorName}: thank you, we have received payment of invoice {number}.',
      smsLink: false,
    },
    'plan-confirmed': {
      subject: 'Payment plan confirmed – invoice {number}',
      intro: [
        'We confirm the payment plan agreed for invoice {number}. As long as the instalments are met, you will receive no further reminders for this invoice.',
      ],
      instalments: true,
      outro: 'questions',
      sms: '{creditorName}: your payment plan for invoice {number} ({balance}) is confirmed. Thank you.',
    },
    'plan-breached': {
      subject: 'Missed instalment – invoice {number}',
      intro: [
        'An instalment of the payment plan agreed for invoice {number} was not paid on time. The plan has therefore lapsed and the balance is due again.',
      ],
      consequences: ['Without payment, the reminder procedure will resume.'],
      outro: 'help',
      sms: '{creditorName}: an instalment of your plan for invoice {number} was missed. Outstanding: {balance}.',
    },
  },
};
