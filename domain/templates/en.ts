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
        'Since the formal notice of {noticeDate}, interest at the statutory rate has been running on the amount due (articles 1231-6 and 1344-1 of the French Civil Code). As at {asOf}, it amounts to {interest}:',
      b2cFromThisNotice:
        'Under articles 1231-6 and 1344-1 of the French Civil Code, this formal notice starts interest at the statutory rate on the amount due, from the day it is sent until payment in full.',
      line: 'from {from} to {to} ({days}): {lineBalance} × {rate}{basis} × {dayCount}/365 = {lineInterest}',
      basis: {
        ecb: 'ECB rate for the {half}: {ecb} + {spread} points',
        legal: 'statutory rate for the {half}',
        agreed: 'agreed rate',
        floor: 'agreed rate of {agreed} raised to the legal minimum, 3 × {legal}',
      },
      half: (h) => `${h.endsWith('H1') ? 'first' : 'second'} half of ${h.slice(0, 4)}`,
      provisionalMark: ', provisional rate',
      rounding: 'Each line is rounded to the nearest cent; the interest is the sum of the rounded lines.',
      floor:
        'As the agreed rate is below the minimum set by article L441-10 of the French Commercial Code (three times the statutory interest rate), that minimum applies.',
      provisional: 'Rates marked provisional are not yet published for the half-year concerned: the amount will be recalculated once they are.',
      runningB2B: 'This interest keeps running until payment in full.',
      runningB2C: 'This interest keeps running until payment in full.',
      indemnity:
        'In addition, the fixed indemnity for recovery costs of {indemnity} under article D441-5 of the Code de commerce is due.',
      total: 'Total amount claimed: {totalClaim}.',
      b2bReminder:
        'Please note that any late payment makes late-payment interest and the fixed indemnity for recovery costs due by operation of law (articles L441-10 and D441-5 of the French Commercial Code).',
    },
    account: {
      invoiceTotal: 'Invoice amount: {invoiceTotal}',
      deposit: 'Deposit paid: {deposit}',
      payment: 'Payment received on {date}: {amount}',
    },
    creditor: {
      identity: 'Creditor: {creditorName}{legalIdPart}.',
      bank: 'Payment by bank transfer: IBAN {iban}{bicPart}, quoting invoice {number}.',
    },
    letterMention: { registered: 'registered letter with acknowledgement of receipt', post: 'post' },
    instalment: '{date}: {amount}',
    sms: { pay: 'Pay: {link}', contact: 'Contact: {contact}' },
    discount: 'Early-payment discount agreed with you: {discountPercent} if payment reaches us by {discountUntil}, i.e. {discountedBalance}.',
  },
  templates: {
    courtesy: {
      subject: 'Invoice {number} falls due on {dueDate}',
      intro: [
        'This is a friendly reminder that invoice {number} falls due on {dueDate}.',
        'If payment is already scheduled, please disregard this message.',
      ],
      discount: true,
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
        'Despite our reminders, invoice {number} of {issueDate}, which fell due on {dueDate}, has not been paid.',
        'We hereby give you formal notice to pay the sum of {totalClaim} within {deadlineDays}, that is by {deadline} at the latest.',
      ],
      account: true,
      penalties: true,
      creditorDetails: true,
      consequences: [
        'Failing payment within this period, we will have to start recovery proceedings, out of court or in court, without further notice. The resulting costs may be charged to you.',
      ],
      consequencesB2C: [
        'Failing payment within this period, we will have to start recovery proceedings, out of court or in court, without further notice.',
      ],
      letterCopy: 'This letter is also sent to you by {letterMention}.',
      outro: 'help',
      sms: '{creditorName}: formal notice to pay invoice {number}, {totalClaim}, by {deadline}. A letter is on its way by {letterMention}.',
    },
    'final-notice': {
      subject: 'Final notice before collection – invoice {number}',
      intro: [
        'Despite our reminders and our formal notice, invoice {number} of {issueDate}, which fell due on {dueDate}, remains unpaid.',
      ],
      account: true,
      penalties: true,
      creditorDetails: true,
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
