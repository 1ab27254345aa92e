// "Overdue" has one definition (domain/overdue.ts isOverdue, what the workflow follows); the
// invoice list filter and the aging report ask the database through api/overdue.ts. Seeded
// invoices due around midnight in far time zones, at instants where those zones' dates
// differ from UTC's: the queries must pick exactly the invoices the definition picks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, utcDate } from '../../domain/dates';
import { customerToday, daysLate, isOverdue } from '../../domain/overdue';
import { customerTodays, notOverdueWhere, overdueWhere } from '../../api/overdue';
import { agingReport } from '../../api/reports';
import { createPrisma, type PrismaClient } from '../../prisma/client';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../tools/db/embedded';
import { applyMigrations } from '../../tools/db/migrate';

const ZONES = ['Pacific/Kiritimati', 'Asia/Tokyo', 'Europe/Paris', 'UTC', 'America/Los_Angeles', 'Pacific/Pago_Pago'];
// 01:00 UTC: Los Angeles and Pago Pago are still on the day before. 10:30 UTC: Kiritimati is
// on the day after while Pago Pago is still on the day before (three dates at once).
const INSTANTS = ['2026-12-03T01:00:00Z', '2026-12-03T10:30:00Z', '2026-12-03T23:59:00Z'].map((s) => Date.parse(s));

interface Seeded {
  number: string;
  timeZone: string;
  dueDate: string;
  closed: boolean;
  balanceMinor: number;
}

let pg: EmbeddedPostgres;
let prisma: PrismaClient;
const seeded: Seeded[] = [];

beforeAll(async () => {
  pg = await startEmbeddedPostgres({ dataDir: 'memory', port: 0 });
  await applyMigrations({ databaseUrl: pg.url });
  // PGlite is one session: a pool of one (see tests/api/harness.ts).
  prisma = createPrisma(pg.url, { max: 1 });
  let n = 0;
  for (const timeZone of ZONES) {
    const customer = await prisma.customer.create({
      data: { externalId: `C-${timeZone}`, name: timeZone, kind: 'B2B', addressLines: [], country: 'FR', timeZone },
    });
    // Due from two days before to two days after 2026-12-03, open, closed or settled.
    const rows = [];
    for (let d = -2; d <= 2; d += 1) {
      for (const [closed, balanceMinor] of [[false, 1000], [true, 1000], [false, 0]] as const) {
        const s: Seeded = { number: `INV-${(n += 1)}`, timeZone, dueDate: addDays('2026-12-03', d), closed, balanceMinor };
        seeded.push(s);
        rows.push({
          number: s.number,
          customerId: customer.id,
          issueDate: new Date(`${addDays(s.dueDate, -30)}T00:00:00Z`),
          dueDate: new Date(`${s.dueDate}T00:00:00Z`),
          amountMinor: 1000n,
          balanceMinor: BigInt(balanceMinor),
          currency: 'EUR',
          policyId: 'fr-b2b-default',
          policyVersion: 1,
          workflowId: `invoice-${s.number}`,
          requestHash: 'h',
          closedAt: closed ? new Date('2026-12-01T00:00:00Z') : null,
          outcome: closed ? 'paid' : null,
        });
      }
    }
    await prisma.invoice.createMany({ data: rows });
  }
}, 120_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await pg?.stop();
});

const expected = (nowMs: number) =>
  seeded
    .filter((s) => isOverdue(s, customerToday(nowMs, s.timeZone)))
    .map((s) => s.number)
    .sort();

const numbers = (rows: Array<{ number: string }>) => rows.map((r) => r.number).sort();

describe('overdue: the database queries agree with domain/overdue.ts', () => {
  it.each(INSTANTS.map((ms) => [new Date(ms).toISOString(), ms]))('the list filter at %s', async (_label, nowMs) => {
    const todays = await customerTodays(prisma, nowMs);
    const overdue = numbers(await prisma.invoice.findMany({ where: overdueWhere(todays), select: { number: true } }));
    const notOverdue = numbers(await prisma.invoice.findMany({ where: notOverdueWhere(todays), select: { number: true } }));
    expect(overdue).toEqual(expected(nowMs));
    expect(overdue.length).toBeGreaterThan(0);
    // The two filters split the invoices with nothing left out and nothing twice.
    expect([...overdue, ...notOverdue].sort()).toEqual(seeded.map((s) => s.number).sort());
    expect(overdue.filter((x) => notOverdue.includes(x))).toEqual([]);
  });

  it('an invoice due "today" in Los Angeles at 01:00 UTC is not overdue there, though the UTC date is past it', async () => {
    const nowMs = INSTANTS[0];
    const la = seeded.find((s) => s.timeZone === 'America/Los_Angeles' && s.dueDate === '2026-12-02' && !s.closed && s.balanceMinor > 0)!;
    expect(utcDate(nowMs)).toBe('2026-12-03');
    expect(isOverdue(la, customerToday(nowMs, la.timeZone))).toBe(false);
    const overdue = numbers(await prisma.invoice.findMany({ where: overdueWhere(await customerTodays(prisma, nowMs)), select: { number: true } }));
    expect(overdue).not.toContain(la.number);
  });

  it.each(INSTANTS.map((ms) => [new Date(ms).toISOString(), ms]))('the aging report on each customer\'s today at %s', async (_label, nowMs) => {
    const report = await agingReport(prisma, undefined, nowMs);
    const open = seeded.filter((s) => !s.closed && s.balanceMinor > 0);
    const notDue = open.filter((s) => daysLate(s.dueDate, customerToday(nowMs, s.timeZone)) === 0);
    const late = open.filter((s) => daysLate(s.dueDate, customerToday(nowMs, s.timeZone)) > 0);
    expect(late.map((s) => s.number).sort()).toEqual(expected(nowMs));
    expect(report).toEqual({
      asOf: null,
      currencies: [
        { currency: 'EUR', invoices: open.length, notDue: notDue.length * 1000, days1to30: late.length * 1000, days31to60: 0, days61to90: 0, over90: 0, total: open.length * 1000 },
      ],
    });
  });

  it('the aging report on a date asked for uses that date for every customer', async () => {
    const report = await agingReport(prisma, "2026-12-03");
    const open = seeded.filter((s) => !s.closed && s.balanceMinor > 0);
    const late = open.filter((s) => daysLate(s.dueDate, '2026-12-03') > 0);
    expect(report.currencies[0]).toMatchObject({ invoices: open.length, days1to30: late.length * 1000 });
    expect(report.asOf).toBe('2026-12-03');
  });
});
