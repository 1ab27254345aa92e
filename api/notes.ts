// Notes and call outcomes staff record on a customer or an invoice, as timeline entries
// (the invoice's timeline, the customer's merged one, the tracking sheet).
import type { CallOutcomeKind, PrismaClient } from '../prisma/client';
import { isoDay } from './format';

/** REACHED → reached, NO_ANSWER → no-answer. */
export const outcomeOf = (o: CallOutcomeKind) => o.toLowerCase().replace('_', '-');

/** Notes and calls as timeline entries, the phone tasks they close marked closed. */
export async function notesAndCalls(prisma: PrismaClient, where: { customerId?: string; invoiceId?: string | null }) {
  const [notes, calls] = await Promise.all([
    prisma.note.findMany({ where, include: { invoice: { select: { number: true } } }, orderBy: { createdAt: 'asc' } }),
    prisma.callOutcome.findMany({ where, include: { invoice: { select: { number: true } } }, orderBy: { createdAt: 'asc' } }),
  ]);
  return [
    ...notes.map((n) => ({
      at: n.createdAt.toISOString(),
      kind: 'note' as const,
      type: 'note',
      invoiceNumber: n.invoice?.number ?? null,
      detail: { id: n.id, text: n.text, author: n.author } as Record<string, unknown>,
    })),
    ...calls.map((c) => ({
      at: c.createdAt.toISOString(),
      kind: 'call' as const,
      type: `call.${outcomeOf(c.outcome)}`,
      invoiceNumber: c.invoice?.number ?? null,
      detail: {
        id: c.id,
        outcome: outcomeOf(c.outcome),
        text: c.text,
        promisedDate: c.promisedDate ? isoDay(c.promisedDate) : null,
        promisedAmountMinor: c.promisedAmountMinor === null ? null : Number(c.promisedAmountMinor),
        phoneTaskId: c.phoneTaskId,
        author: c.author,
      } as Record<string, unknown>,
    })),
  ];
}
