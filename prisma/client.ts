// The one way the rest of the code base gets a PrismaClient: the generated,
// Rust-free client (prisma/generated, from `npm run db:generate`) over
// `@prisma/adapter-pg`. Works against real PostgreSQL and the embedded PGlite.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

export { PrismaClient, Prisma, $Enums, CustomerKind, CommunicationStatus, ContactRole, CallOutcomeKind, InsolvencyKind } from './generated/client';
export type {
  Customer,
  Invoice,
  Payment,
  Communication,
  DunningEvent,
  WebhookDelivery,
  UnmatchedPayment,
  ApiKey,
  CustomerContact,
  Note,
  CallOutcome,
  InboundMessage,
  InboundAttachment,
  InvalidAddress,
  InsolvencyProceeding,
  Task,
} from './generated/client';

export interface CreatePrismaOptions {
  /** Pool size. Default 5 (small: many worker/API processes share one server). */
  max?: number;
}

export function createPrisma(databaseUrl: string, options: CreatePrismaOptions = {}): PrismaClient {
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: options.max ?? 5 },
    { onPoolError: () => {} /* a dropped idle connection is reconnected on next use */ },
  );
  return new PrismaClient({ adapter });
}
