// Records the workflow keeps in the database (its journal, the source for reports):
// timeline events and the invoice's current stage and balance (journal.ts: one
// transaction, idempotent by eventKey), and phone tasks for ops.
import type { PrismaClient } from '../prisma/client';
import { createJournalActivities } from './journal';
import type { JournalActivities, RecordActivities } from './types';

export function createRecordActivities(deps: { prisma: PrismaClient }): RecordActivities & JournalActivities {
  return createJournalActivities(deps.prisma);
}
