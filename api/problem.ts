// Errors as application/problem+json (RFC 9457): type, title, status, detail, plus
// `errors: [{ field, message }]` naming the offending fields. Route handlers throw a
// Problem; the error handler at the end of the app turns anything thrown into one.
import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { infrastructureFailure } from './infra-errors';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Base of the `type` URIs; each problem type is documented in the OpenAPI description. */
export const PROBLEM_TYPE_BASE = 'https://relance.dev/problems/';

export interface FieldError {
  field: string;
  message: string;
}

export interface ProblemOptions {
  /** Slug appended to PROBLEM_TYPE_BASE. */
  type?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 §3.2). */
  extra?: Record<string, unknown>;
}

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly options: ProblemOptions = {},
  ) {
    super(detail ?? title);
    this.name = 'Problem';
  }

  toJSON(instance?: string): Record<string, unknown> {
    return {
      type: PROBLEM_TYPE_BASE + (this.options.type ?? slugOf(this.status)),
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(this.options.errors?.length ? { errors: this.options.errors } : {}),
      ...this.options.extra,
    };
  }
}

function slugOf(status: number): string {
  switch (status) {
    case 400: return 'bad-request';
    case 401: return 'unauthorized';
    case 403: return 'forbidden';
    case 404: return 'not-found';
    case 405: return 'method-not-allowed';
    case 409: return 'conflict';
    case 413: return 'payload-too-large';
    case 415: return 'unsupported-media-type';
    case 422: return 'validation-error';
    case 503: return 'service-unavailable';
    default: return status >= 500 ? 'internal-error' : 'error';
  }
}

export const RETRY_AFTER_SECONDS = 5;

export const problems = {
  notFound: (what: string) => new Problem(404, 'Not found', `${what} does not exist`),
  conflict: (detail: string, type = 'conflict', extra?: Record<string, unknown>) =>
    new Problem(409, 'Conflict', detail, { type, extra }),
  validation: (errors: FieldError[], detail?: string) =>
    new Problem(422, 'Validation failed', detail ?? errors.map((e) => `${e.field}: ${e.message}`).join('; '), {
      errors,
    }),
  field: (field: string, message: string) => problems.validation([{ field, message }]),
  unauthorized: (detail: string) =>
    new Problem(401, 'Unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer realm="relance"' } }),
  forbidden: (detail: string, extra?: Record<string, unknown>) => new Problem(403, 'Forbidden', detail, { extra }),
  unavailable: (what: string) =>
    new Problem(503, 'Service unavailable', `${what} is unreachable; retry later (requests are idempotent)`, {
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    }),
};

/** Zod issues → field errors, paths joined with dots ("customer.timeZone"); `prefix` for query/params. */
export function fieldErrorsOf(error: z.ZodError, prefix?: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = [prefix, path].filter(Boolean).join('.') || prefix || '(body)';
    return { field, message: issue.message };
  });
}

export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  if (res.headersSent) {
    // A streamed response failed midway: cut it so the client sees an incomplete body.
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(problem.options.headers ?? {})) res.setHeader(k, v);
  // An echoed field name or value may hold U+0000: never send it back (the document's strings exclude it).
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.toJSON(instance)).replace(/(?<!\\)\\u0000/g, '\\ufffd'));
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * The paths of the strings in a parsed JSON body that hold U+0000. PostgreSQL text and
 * jsonb cannot store that character, so such a value would fail in the database as an
 * internal error (found by the Schemathesis fuzz: a bank reference with a NUL byte → 500).
 */
export function nulCharacterPaths(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [path || '(body)'] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => nulCharacterPaths(v, path ? `${path}.${i}` : String(i)));
  if (value && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
      ...(k.includes('\u0000') ? [path ? `${path}.${k}` : k] : []),
      ...nulCharacterPaths(v, path ? `${path}.${k}` : k),
    ]);
  }
  return [];
}

/** Turns whatever was thrown into a Problem (never leaks internals for 5xx). */
export function toProblem(err: unknown): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof z.ZodError) return problems.validation(fieldErrorsOf(err));
  const bp = err as BodyParserError;
  if (bp?.type === 'entity.too.large') {
    return new Problem(413, 'Payload too large', `The request body exceeds the limit of ${bp.limit ?? '?'} bytes`);
  }
  if (bp?.type === 'entity.parse.failed') {
    return new Problem(400, 'Malformed JSON', 'The request body is not valid JSON', {
      errors: [{ field: '(body)', message: 'invalid JSON' }],
    });
  }
  if (bp?.type === 'encoding.unsupported' || bp?.type === 'charset.unsupported') {
    return new Problem(415, 'Unsupported media type', bp.message);
  }
  const infra = infrastructureFailure(err);
  if (infra) return problems.unavailable(infra === 'temporal' ? 'Temporal' : 'The database');
  if (typeof bp?.status === 'number' && bp.status >= 400 && bp.status < 500) {
    return new Problem(bp.status, bp.message || 'Bad request');
  }
  return new Problem(500, 'Internal error', 'An unexpected error occurred; it has been logged');
}

export function problemErrorHandler(log?: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const problem = toProblem(err);
    if (problem.status >= 500) {
      const reqLog = (req as { log?: Logger }).log ?? log;
      reqLog?.error({ err }, 'request failed');
    }
    sendProblem(res, problem, req.originalUrl);
  };
}
