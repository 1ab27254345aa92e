// Records the workflow keeps in the database (its journal, the source for reports):
// timeline events, the invoice's current stage and balance, and phone tasks for ops.
// One implementation of the writes, journal.ts (events + invoice mirror in one
// transaction, idempotent by eventKey); these are its one-at-a-time forms.
import type { PrismaClient } from '../prisma/client';
import { createJournalActivities } from './journal';
import type { JournalActivities, RecordActivities, RecordEventInput, SyncInvoiceStateInput } from './types';

export function createRecordActivities(deps: { prisma: PrismaClient }): RecordActivities & JournalActivities {
  const journal = createJournalActivities(deps.prisma);
  return {
    ...journal,
    /** Inserts a DunningEvent unless its eventKey exists; linked to the invoice row when there is one. */
    async recordEvent(input: RecordEventInput): Promise<void> {
      await journal.journal({ events: [input] });
    },
    /** Mirrors the workflow state on the invoice row, if the row exists. */
    async syncInvoiceState(input: SyncInvoiceStateInput): Promise<void> {
      await journal.journal({ events: [], state: input });
    },
  };
}
