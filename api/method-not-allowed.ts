// 405 Method Not Allowed with an `Allow` header for a known path asked with a method it
// does not serve (TRACE, PUT, DELETE on /v1/invoices...), instead of a 404 that says the
// path does not exist (RFC 9110 §15.5.6). The known paths and their methods are the
// operations of the OpenAPI registry, which every route is declared through (api/route.ts).
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { RequestHandler } from 'express';
import { Problem } from './problem';

interface KnownPath {
  pattern: RegExp;
  /** Path parameters in the template: the most literal match is the path asked for. */
  params: number;
  allow: string[];
}

function knownPaths(registry: OpenAPIRegistry): KnownPath[] {
  const byPath = new Map<string, Set<string>>();
  for (const def of registry.definitions) {
    if (def.type !== 'route') continue;
    const methods = byPath.get(def.route.path) ?? new Set<string>();
    methods.add(def.route.method.toUpperCase());
    if (def.route.method === 'get') methods.add('HEAD');
    byPath.set(def.route.path, methods);
  }
  return [...byPath]
    .map(([template, methods]) => ({
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}/?$`),
      params: (template.match(/\{/g) ?? []).length,
      allow: [...methods, 'OPTIONS'].sort(),
    }))
    .sort((a, b) => a.params - b.params);
}

/**
 * 405 + Allow for a method the path does not serve, and OPTIONS answered with the methods
 * the document gives that path (/v1/invoices/import is its own path, not an invoice number).
 */
export function methodNotAllowed(registry: OpenAPIRegistry): RequestHandler {
  let paths: KnownPath[] | undefined;
  return (req, res, next) => {
    paths ??= knownPaths(registry); // read at the first request: every route is declared by then
    const known = paths.find((p) => p.pattern.test(req.path));
    if (!known) return next();
    const allow = known.allow.join(', ');
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', allow);
      res.status(204).end();
      return;
    }
    if (known.allow.includes(req.method)) return next();
    next(new Problem(405, 'Method not allowed', `${req.method} is not served on ${req.path}; allowed: ${allow}`, { headers: { Allow: allow } }));
  };
}
