// API keys: `Authorization: Bearer <key>`. Keys are random, shown once at creation, and
// stored as their sha256 (hex) only; `prefix` (the first characters) identifies a key
// in listings and logs without revealing it.
import { createHash, randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { PrismaClient } from '../prisma/client';
import { problems } from './problem';

export const API_KEY_PREFIX = 'rlk_';

/**
 * What a key may do, each role including the ones before it: viewer reads; collector also
 * runs every ops action (issue, pause, payments, imports); admin also manages keys,
 * policies and erasure. The same roles are meant for the cockpit's staff accounts.
 */
export const API_KEY_ROLES = ['viewer', 'collector', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

export function roleAllows(held: ApiKeyRole, required: ApiKeyRole): boolean {
  return API_KEY_ROLES.indexOf(held) >= API_KEY_ROLES.indexOf(required);
}

export function isApiKeyRole(v: string): v is ApiKeyRole {
  return (API_KEY_ROLES as readonly string[]).includes(v);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface CreatedApiKey {
  id: string;
  name: string;
  prefix: string;
  role: ApiKeyRole;
  /** The secret: shown once, never stored. */
  key: string;
}

/** Default role admin: the callers that omit it are tests, benches and the dev launcher; the CLI always names one. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(24).toString('base64url');
}

/** `key`: register a secret generated beforehand (generateApiKey); default a new one. */
export async function createApiKey(prisma: PrismaClient, name: string, role: ApiKeyRole = 'admin', key = generateApiKey()): Promise<CreatedApiKey> {
  const prefix = key.slice(0, API_KEY_PREFIX.length + 6);
  const row = await prisma.apiKey.create({ data: { name, keyHash: hashApiKey(key), prefix, role } });
  return { id: row.id, name: row.name, prefix, role, key };
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
  role: ApiKeyRole;
}

/**
 * Rejects requests without a valid, unrevoked key (401 problem). Sets res.locals.apiKey.
 *
 * A valid key is remembered for `cacheSeconds` (API_KEY_CACHE_SECONDS, default 5): the
 * look-up was one of the few database round trips of every request (bench:ingest). The
 * price is that a key revoked by another process (`relance keys revoke`) still works for
 * up to that long; 0 turns the cache off. Unknown keys are never cached.
 */
export function requireApiKey(prisma: PrismaClient, opts: { cacheSeconds?: number } = {}): RequestHandler {
  const touched = new Map<string, number>();
  const ttlMs = (opts.cacheSeconds ?? 0) * 1000;
  const known = new Map<string, { key: AuthenticatedKey; until: number }>();
  const KNOWN_MAX = 1_000;
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return next(problems.unauthorized('Send an API key as "Authorization: Bearer <key>"'));
    const keyHash = hashApiKey(match[1]);
    const cached = known.get(keyHash);
    if (cached && cached.until > Date.now()) {
      res.locals.apiKey = cached.key;
      (req as { log?: { setBindings?(b: object): void } }).log?.setBindings?.({ apiKey: cached.key.prefix });
      return next();
    }
    try {
      const row = await prisma.apiKey.findUnique({ where: { keyHash } });
      if (!row || row.revokedAt) {
        known.delete(keyHash);
        return next(problems.unauthorized('Unknown or revoked API key'));
      }
      const key: AuthenticatedKey = { id: row.id, name: row.name, prefix: row.prefix, role: row.role };
      if (ttlMs > 0) {
        if (known.size >= KNOWN_MAX) known.clear();
        known.set(keyHash, { key, until: Date.now() + ttlMs });
      }
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

/**
 * 403 unless the request's key (set by requireApiKey) holds `role` or a higher one. The
 * reason names both roles, so a caller knows which key to ask for.
 */
export function requireRole(role: ApiKeyRole): RequestHandler {
  return (_req, res, next) => {
    const key = res.locals.apiKey as AuthenticatedKey | undefined;
    if (!key) return next(problems.unauthorized('Send an API key as "Authorization: Bearer <key>"'));
    if (roleAllows(key.role, role)) return next();
    next(
      problems.forbidden(`This action needs the ${role} role; API key "${key.name}" (${key.prefix}) has the ${key.role} role`, {
        requiredRole: role,
        role: key.role,
      }),
    );
  };
}

/** The authenticated key of a request (after requireApiKey). */
export function actorOf(res: { locals: Record<string, unknown> }): AuthenticatedKey | undefined {
  return res.locals.apiKey as AuthenticatedKey | undefined;
}
