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

  it('the workflow input: domain/schedule.ts dunningInputFor, which the API and the workflow test harness both call', () => {
    expect(homesOf(/holidays:\s*calendarHolidays\(/)).toEqual([]);
    expect(readFileSync(join(ROOT, 'api/invoice-service.ts'), 'utf8')).toMatch(/dunningInputFor\(/);
    expect(readFileSync(join(ROOT, 'tests/workflow/harness.ts'), 'utf8')).toMatch(/return dunningInputFor\(invoice, policy, extra\)/);
  });
});
