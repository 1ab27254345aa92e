// API keys: `Authorization: Bearer <key>`. Keys are random, shown once at creation, and
// stored as their sha256 (hex) only; `prefix` (the first characters) identifies a key
// in listings and logs without revealing it.
import { createHash, randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { PrismaClient } from '../prisma/client';
import { problems } from './problem';

export const API_KEY_PREFIX = 'rlk_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface CreatedApiKey {
  id: string;
  name: string;
  prefix: string;
  /** The secret: shown once, never stored. */
  key: string;
}

export async function createApiKey(prisma: PrismaClient, name: string): Promise<CreatedApiKey> {
  const key = API_KEY_PREFIX + randomBytes(24).toString('base64url');
  const prefix = key.slice(0, API_KEY_PREFIX.length + 6);
  const row = await prisma.apiKey.create({ data: { name, keyHash: hashApiKey(key), prefix } });
  return { id: row.id, name: row.name, prefix, key };
}

export async function revokeApiKey(prisma: PrismaClient, idOrPrefix: string): Promise<number> {
  const isUuid = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
  const { count } = await prisma.apiKey.updateMany({
    where: { revokedAt: null, ...(isUuid ? { id: idOrPrefix } : { prefix: idOrPrefix }) },
    data: { revokedAt: new Date() },
  });
  return count;
}

export interface AuthenticatedKey {
  id: string;
  name: string;
  prefix: string;
}

/** Rejects requests without a valid, unrevoked key (401 problem). Sets res.locals.apiKey. */
export function requireApiKey(prisma: PrismaClient): RequestHandler {
  const touched = new Map<string, number>();
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return next(problems.unauthorized('Send an API key as "Authorization: Bearer <key>"'));
    try {
      const row = await prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(match[1]) } });
      if (!row || row.revokedAt) return next(problems.unauthorized('Unknown or revoked API key'));
      const key: AuthenticatedKey = { id: row.id, name: row.name, prefix: row.prefix };
      res.locals.apiKey = key;
      (req as { log?: { setBindings?(b: object): void } }).log?.setBindings?.({ apiKey: row.prefix });
      // lastUsedAt at most once a minute per key, off the request path.
      const now = Date.now();
      if ((touched.get(row.id) ?? 0) < now - 60_000) {
        touched.set(row.id, now);
        prisma.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } }).catch(() => {});
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}
