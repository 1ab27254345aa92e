// One declaration per endpoint: the express route and its OpenAPI operation come from
// the same object, so the document covers every route by construction. Params, query
// and body are validated with their zod schemas (422 problem naming the fields).
import type { OpenAPIRegistry, ResponseConfig, RouteConfig, ZodRequestBody } from '@asteasolutions/zod-to-openapi';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { API_KEY_ROLES, requireRole, type ApiKeyRole } from './auth';
import { fieldErrorsOf, nulCharacterPaths, PROBLEM_CONTENT_TYPE, problems, type FieldError } from './problem';
import { ProblemSchema } from './schemas';

type AnyObject = z.ZodType<Record<string, unknown>>;

export interface RouteSpec<P extends AnyObject, Q extends AnyObject, B extends z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI template, e.g. /v1/invoices/{number}. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Document the bearer API key requirement (enforcement is the router's middleware). Default true. */
  auth?: boolean;
  /**
   * The least role an API key needs (viewer < collector < admin): enforced here (403 with
   * the reason) and documented in the operation. Required whenever `auth` is on.
   */
  role?: ApiKeyRole;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The JSON body as the document states it, when `body` is a looser parse and the handler
   * validates the rest itself (policy documents: their errors name paths as policy files do).
   */
  bodyDocument?: z.ZodType;
  /** Document a non-JSON body (CSV, raw webhook) instead of `body`. */
  rawBody?: ZodRequestBody;
  headers?: z.ZodObject;
  responses: Record<string, ResponseConfig>;
  handler: (ctx: {
    req: Request;
    res: Response;
    params: z.infer<P>;
    query: z.infer<Q>;
    body: z.infer<B>;
  }) => Promise<unknown>;
}

export const problemResponse = (description: string): ResponseConfig => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
});
export const jsonResponse = (description: string, schema: z.ZodType): ResponseConfig => ({
  description,
  content: { 'application/json': { schema } },
});

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, prefix: string, errors: FieldError[]) {
  if (!schema) return undefined;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  errors.push(...fieldErrorsOf(r.error, prefix || undefined));
  return undefined;
}

/**
 * The document says what api/route.ts enforces on every string it parses: no U+0000
 * (PostgreSQL cannot store it). Added as a pattern to each string schema that has no
 * pattern, format or enum of its own (those exclude it already), and to a record's keys.
 */
export function forbidNulInStrings<T>(node: T): T {
  if (Array.isArray(node)) node.forEach(forbidNulInStrings);
  else if (node && typeof node === 'object') {
    const schema = node as Record<string, unknown>;
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (types.includes('string') && !('pattern' in schema) && !('format' in schema) && !('enum' in schema) && !('const' in schema)) {
      schema.pattern = '^[^\\u0000]*$';
    }
    // A record's keys are strings too, and zod-to-openapi drops their schema: say it here.
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object' && !('propertyNames' in schema)) {
      schema.propertyNames = { type: 'string' };
    }
    Object.values(schema).forEach(forbidNulInStrings);
  }
  return node;
}

// Required unless an absent body is valid (it is parsed as {}): the document says which.
const jsonBody = (schema: z.ZodType): ZodRequestBody => ({ required: !schema.safeParse({}).success, content: { 'application/json': { schema } } });

export function defineRoute<P extends AnyObject, Q extends AnyObject, B extends z.ZodType>(
  router: Router,
  registry: OpenAPIRegistry,
  spec: RouteSpec<P, Q, B>,
): void {
  const auth = spec.auth ?? true;
  if (auth && !spec.role) throw new Error(`route ${spec.operationId}: an authenticated route names its role (viewer, collector or admin)`);
  const role = auth ? spec.role : undefined;
  const accepted = role ? API_KEY_ROLES.slice(API_KEY_ROLES.indexOf(role)) : [];
  const responses: RouteConfig['responses'] = { ...spec.responses };
  if (auth) responses['401'] ??= problemResponse('Missing, unknown or revoked API key');
  if (role) responses['403'] ??= problemResponse(`The API key's role is below ${role}`);
  if (spec.params || spec.query || spec.body) responses['422'] ??= problemResponse('Validation failed');
  if (spec.body || spec.rawBody) responses['413'] ??= problemResponse('Request body too large');
  responses['503'] ??= problemResponse('Database or Temporal unreachable (Retry-After)');
  responses.default ??= problemResponse('Error');

  registry.registerPath({
    method: spec.method,
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    description: role
      ? [spec.description, `**Role:** ${accepted.join(' or ')} (an API key with a lower role gets 403).`].filter(Boolean).join('\n\n')
      : spec.description,
    tags: spec.tags,
    // OpenAPI 3.1 lets a non-OAuth requirement list role names: the least role it needs.
    security: auth ? [{ apiKey: role ? [role] : [] }] : [],
    ...(role ? { 'x-relance-role': role } : {}),
    request: {
      params: spec.params as never,
      query: spec.query as never,
      headers: spec.headers,
      body: spec.rawBody ?? (spec.body ? jsonBody(spec.bodyDocument ?? spec.body) : undefined),
    },
    responses,
  });

  const expressPath = spec.path.replace(/\{(\w+)\}/g, ':$1');
  const handlers = role ? [requireRole(role)] : [];
  router[spec.method](expressPath, ...handlers, async (req, res, next) => {
    try {
      const errors: FieldError[] = [];
      const params = parse(spec.params, req.params, '', errors);
      const query = parse(spec.query, req.query, 'query', errors);
      errors.push(...nulCharacterPaths(query).map((f) => ({ field: `query.${f}`, message: 'must not contain the NUL character (U+0000)' })));
      const body = parse(spec.body, req.body, '', errors);
      // PostgreSQL cannot store U+0000. Checked on the parsed body: a member the schema does
      // not know is dropped, not refused (the document allows additional properties).
      errors.push(...nulCharacterPaths(body).map((field) => ({ field, message: 'must not contain the NUL character (U+0000)' })));
      if (errors.length) throw problems.validation(errors);
      await spec.handler({ req, res, params: params as never, query: query as never, body: body as never });
    } catch (err) {
      next(err);
    }
  });
}
