// Rules that were once written twice (issue 12) each have one home; this fails when a
// second one appears in the code that ships (tests and fixtures may spell values out).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '../../..');
const SHIPPED = ['activities', 'api', 'config', 'contracts', 'documents', 'domain', 'policies', 'prisma', 'worker', 'workflows', 'tools', 'scripts', 'observability', 'codec'];

function sources(): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'generated' && e.name !== 'node_modules') walk(p);
      } else if (e.name.endsWith('.ts')) out.push({ file: relative(ROOT, p), text: readFileSync(p, 'utf8') });
    }
  };
  for (const d of SHIPPED) walk(join(ROOT, d));
  return out;
}

/** Files of the shipped code whose text matches `re`. */
function homesOf(re: RegExp): string[] {
  return sources()
    .filter((s) => re.test(s.text))
    .map((s) => s.file)
    .sort();
}

describe('one home per rule', () => {
  it('a currency\'s minor digits: domain/money.ts minorUnits only', () => {
    expect(homesOf(/resolvedOptions\(\)\s*\.maximumFractionDigits/)).toEqual(['domain/money.ts']);
    expect(homesOf(/function minorDigits\b/)).toEqual([]);
  });

  it('the formal-notice deadline: DEFAULT_NOTICE_DEADLINE_DAYS, never a literal number of days', () => {
    expect(homesOf(/DEFAULT_NOTICE_DEADLINE_DAYS = \d+/)).toEqual(['domain/policy-schema.ts']);
    expect(homesOf(/\bdeadline:\s*(addDays|addLocalDays)\([^)]*,\s*\d+\s*\)/)).toEqual([]);
  });

  it('the next step: domain/dunning/next-action.ts firstOpenStep/nextStep only, no twin in workflows/', () => {
    expect(homesOf(/\.steps\.find\(\s*\(?\w+\)?\s*=>\s*!/)).toEqual(['domain/dunning/next-action.ts']);
    expect(homesOf(/(function|const|let)\s+\w*[Nn]ext\w*Step\w*\b/).filter((f) => f.startsWith('workflows/'))).toEqual([]);
    expect(homesOf(/export function nextStep\b/)).toEqual(['domain/dunning/next-action.ts', 'domain/schedule.ts']);
    expect(readFileSync(join(ROOT, 'domain/schedule.ts'), 'utf8')).toMatch(/return dunningNextStep\(/);
  });

  it('unique-violation detection (P2002 and raw 23505): prisma/unique-violation.ts only', () => {
    expect(homesOf(/['"](P2002|23505)['"]/)).toEqual(['prisma/unique-violation.ts']);
  });

  it('the creditor of a message: documents/pdf.ts creditorOf only', () => {
    expect(homesOf(/legalId:\s*\w+\.CREDITOR_LEGAL_ID/)).toEqual(['documents/pdf.ts']);
  });

  it('local dates and day arithmetic: domain/dates.ts only', () => {
    expect(homesOf(/\bfunction (localDate|toLocalDate|addLocalDays|addDays\w*|daysBetween|epochDay|isCalendarDate|utcDate|todayUtc)\b/)).toEqual(['domain/dates.ts']);
    expect(homesOf(/\b(const|let) (localDate|toLocalDate|addLocalDays|addDays\w*|daysBetween|dayOf|isCalendarDate|todayUtc)\s*=/)).toEqual([]);
    // The UTC date of an instant by slicing its ISO form, and a day counted in milliseconds.
    expect(homesOf(/toISOString\(\)\.slice\(0,\s*10\)/)).toEqual(['domain/dates.ts']);
    expect(homesOf(/\b86_?400_?000\b|\b864e5\b|24\s*\*\s*60\s*\*\s*60\s*\*\s*1000|86_?400\s*\*\s*1000/)).toEqual(['domain/dates.ts']);
    // luxon dates: the local date of an instant (dates.ts), the business-day walks of the send
    // window and the daily batch, and the insolvency's two months; any other is a new twin.
    expect(homesOf(/\.toISODate\(\)/)).toEqual(['api/insolvency.ts', 'domain/consolidation.ts', 'domain/dates.ts', 'domain/send-window.ts']);
    // isoDay reads DATE columns; an instant (a send, a payment, a note) gets the customer's local date.
    expect(homesOf(/isoDay\([^)]*\.(createdAt|sentAt|receivedAt|closedAt|updatedAt|doneAt|resolvedAt)\b/)).toEqual([]);
    // Nor a second door to them: callers import from dates.ts and overdue.ts themselves.
    expect(homesOf(/export\s*\{[^}]*\b(localDate|addDays|addLocalDays|daysBetween|daysLate|isOverdue)\b[^}]*\}\s*from/)).toEqual([]);
  });

  it('"overdue": domain/overdue.ts (open, and due before today in the customer\'s zone), which api/overdue.ts turns into queries', () => {
    expect(homesOf(/\bfunction (daysLate|isOverdue|isPastDue|customerToday)\b/)).toEqual(['domain/overdue.ts']);
    expect(homesOf(/Math\.max\(\s*0,\s*daysBetween\(/)).toEqual(['domain/overdue.ts']);
    // A due date compared with a date: a Prisma filter, SQL, or TypeScript.
    expect(homesOf(/\bdueDate:\s*\{\s*(lt|lte|gt|gte)\b/)).toEqual(['api/overdue.ts']);
    expect(homesOf(/"dueDate"\s*(<|>)|-\s*(\w+\.)?"dueDate"/)).toEqual(['api/overdue.ts']);
    expect(homesOf(/\b(due|dueDate)\s*(<|>)=?\s*[\w.]*\b(today|asOf|judgment|now)\b|\b(today|asOf|judgment)\s*(<|>)=?\s*[\w.]*\b(due|dueDate)\b/)).toEqual([]);
  });

  it('the message vocabularies: contracts/messages.ts, which the API schemas and the validators import', () => {
    const vocabularies = [
      /\[\s*'creditor',\s*'credit-note'\s*\]/,
      /\[\s*'credit-note',\s*'write-off'/,
      /\[\s*'in-progress',\s*'recovered'/,
      /\[\s*'delivered',\s*'resend'/,
      /\[\s*'approve',\s*'skip'/,
    ];
    for (const v of vocabularies) expect(homesOf(v), String(v)).toEqual(['contracts/messages.ts']);
    // The channels an ambiguous send can be on: the contract's list, in the type and the validator.
    expect(homesOf(/\bchannel: 'email' \| 'sms' \| 'letter' \| 'agency'|oneOf\([^)]*\[\s*'email'/)).toEqual([]);
  });

  it('the search attributes: contracts/search-attributes.ts', () => {
    expect(homesOf(/defineSearchAttributeKey\(/)).toEqual(['contracts/search-attributes.ts']);
    expect(homesOf(/['"](InvoiceNumber|CustomerId|DunningStage|AmountDue|NextActionAt)['"]/)).toEqual(['contracts/search-attributes.ts']);
  });

  it('the workflow input: domain/schedule.ts dunningInputFor, which the API and the workflow test harness both call', () => {
    expect(homesOf(/holidays:\s*calendarHolidays\(/)).toEqual([]);
    expect(readFileSync(join(ROOT, 'api/invoice-service.ts'), 'utf8')).toMatch(/dunningInputFor\(/);
    expect(readFileSync(join(ROOT, 'tests/workflow/harness.ts'), 'utf8')).toMatch(/return dunningInputFor\(invoice, policy, extra\)/);
  });
});
