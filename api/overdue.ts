// "Overdue" (domain/overdue.ts, its one definition) as database queries, for the invoice
// list filter and the reports. The rule compares each due date with today in the invoice's
// customer's time zone: the database gives the distinct zones, domain/overdue.ts gives each
// zone's today (luxon, the code the workflow runs), and the query compares due dates with
// those dates. PostgreSQL's own time-zone tables are not asked: they could disagree with
// the workflow's. tests/db/overdue-agrees.test.ts checks the queries against isOverdue.
import { Prisma, type PrismaClient } from '../prisma/client';
import { todaysOfZones } from '../domain/overdue';
import { dayToDate } from './format';

/** Each customer time zone's today at one instant, grouped by date (at most three groups). */
export type CustomerTodays = Array<{ today: string; timeZones: string[] }>;

export async function customerTodays(prisma: PrismaClient, nowMs: number): Promise<CustomerTodays> {
  const rows = await prisma.customer.findMany({ distinct: ['timeZone'], select: { timeZone: true } });
  return todaysOfZones(
    rows.map((r) => r.timeZone),
    nowMs,
  );
}

const OPEN: Prisma.InvoiceWhereInput = { closedAt: null, balanceMinor: { gt: 0 } };

/** Open invoices whose due date is before their customer's today. */
export function overdueWhere(todays: CustomerTodays): Prisma.InvoiceWhereInput {
  // OR of nothing (no customers yet) matches nothing.
  return { ...OPEN, OR: todays.map((g) => ({ dueDate: { lt: dayToDate(g.today) }, customer: { timeZone: { in: g.timeZones } } })) };
}

/** The complement of overdueWhere: closed, settled, or not past due on the customer's today. */
export function notOverdueWhere(todays: CustomerTodays): Prisma.InvoiceWhereInput {
  return {
    OR: [
      { closedAt: { not: null } },
      { balanceMinor: { lte: 0 } },
      ...todays.map((g) => ({ dueDate: { gte: dayToDate(g.today) }, customer: { timeZone: { in: g.timeZones } } })),
    ],
  };
}

/** SQL: the invoice `i` is open. */
export const OPEN_SQL = Prisma.sql`i."closedAt" IS NULL AND i."balanceMinor" > 0`;

/**
 * SQL joining invoice `i` to its customer's today, as `t."today"`:
 * `JOIN "Customer" c … JOIN (VALUES (zone, today), …) t …`. Needs at least one group.
 */
export function joinCustomerToday(todays: CustomerTodays): Prisma.Sql {
  const pairs = todays.flatMap((g) => g.timeZones.map((tz) => Prisma.sql`(${tz}, ${dayToDate(g.today)}::date)`));
  return Prisma.sql`JOIN "Customer" c ON c."id" = i."customerId" JOIN (VALUES ${Prisma.join(pairs)}) AS t("timeZone", "today") ON t."timeZone" = c."timeZone"`;
}

/** SQL: whole days invoice `i` is past due on the date expression `asOf` (domain/overdue.ts daysLate). */
export function daysLateSql(asOf: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`GREATEST(${asOf} - i."dueDate", 0)`;
}
