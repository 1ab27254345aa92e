// Tells "a dependency is down" (→ 503 + Retry-After) from a genuine error.
import { ServiceError } from '@temporalio/client';
import { causeChain, isUniqueViolation } from '../prisma/unique-violation';

/** gRPC status codes meaning "could not reach / answer in time". */
const GRPC_UNREACHABLE = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);
/** Prisma codes for an unreachable or overloaded database. */
const PRISMA_UNREACHABLE = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
const NODE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
const DB_MESSAGE =
  /Can't reach database|Connection terminated|connection (is )?(closed|terminated)|ECONNREFUSED|ECONNRESET|timeout exceeded when trying to connect|Client has encountered a connection error|server closed the connection/i;

/** node-postgres's messages for a lost or unobtainable connection (matched whole). */
const PG_CONNECTION_MESSAGE =
  /^(Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable|timeout exceeded when trying to connect|Client was closed and is not queryable)$/;

export function infrastructureFailure(err: unknown): 'temporal' | 'database' | undefined {
  const links = causeChain(err);
  for (const e of links) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: string }).name ?? '';
    if (e instanceof ServiceError || name === 'ServiceError') {
      const grpc = links.map((l) => (l as { code?: unknown }).code).find((c) => typeof c === 'number');
      if (grpc === undefined || GRPC_UNREACHABLE.has(grpc as number)) return 'temporal';
    }
    if (typeof code === 'number' && GRPC_UNREACHABLE.has(code) && 'metadata' in (e as object)) return 'temporal';
    if (name === 'PrismaClientInitializationError') return 'database';
    if (typeof code === 'string' && PRISMA_UNREACHABLE.has(code)) return 'database';
    if (typeof code === 'string' && (NODE_NET_CODES.has(code) || code.startsWith('08') || code === '57P01')) {
      return 'database';
    }
    if (name.startsWith('Prisma') || name === 'DriverAdapterError') {
      if (DB_MESSAGE.test(String((e as Error).message))) return 'database';
    }
    // node-postgres's own errors reach us unwrapped when a pooled connection dies under an
    // interactive transaction (Prisma's startTransaction): a plain Error, no code.
    if (PG_CONNECTION_MESSAGE.test(String((e as Error).message))) return 'database';
  }
  return undefined;
}

export { isUniqueViolation };
