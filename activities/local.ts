// The activities of the workflow task queue (run as local activities: the journal, phone
// tasks, public holidays, rate tables). Kept apart from index.ts so that a worker process with only the
// `workflows` role (WORKER_ROLES) never loads the channel modules: pdfkit and its fonts,
// Twilio and nodemailer are ~75 MB of RSS it would hold for nothing (docs/benchmarks.md).
import type { Config } from '../config/index';
import type { PrismaClient } from '../prisma/client';
import { createCalendarActivities } from './calendar';
import { createRecordActivities } from './records';
import type { CalendarActivities, JournalActivities, RecordActivities } from './types';

export function createLocalActivities(deps: { prisma: PrismaClient; config?: Config }): RecordActivities & JournalActivities & CalendarActivities {
  return { ...createRecordActivities(deps), ...createCalendarActivities(deps.config?.rateTables) };
}
