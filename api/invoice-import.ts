// POST /v1/invoices/import: many invoices as CSV (text/csv), streamed through csv-parse;
// each row is issued like POST /v1/invoices (same validation, idempotent on the number),
// one after the other. Invalid rows are reported with their line number and the column
// at fault; valid rows are imported. If Temporal or the database goes down midway the
// import stops with 503 (the rows done so far are listed): re-uploading is safe.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { CsvError, parse } from 'csv-parse';
import { Router } from 'express';
import { z } from 'zod';
import { infrastructureFailure } from './infra-errors';
import { issueInvoice } from './invoice-service';
import type { InvoiceRouteDeps } from './invoices';
import { fieldErrorsOf, nulCharacterPaths, Problem, problems, type FieldError } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { ImportResultSchema, IssueInvoiceRequestSchema } from './schemas';

/** CSV columns (header names are matched case-insensitively, ignoring spaces, "_" and "-"). */
export const IMPORT_COLUMNS = [
  'number',
  'issue_date',
  'due_date',
  'due_at',
  'amount',
  'deposit',
  'currency',
  'payment_link',
  'policy_id',
  'customer_id',
  'customer_name',
  'customer_kind',
  'customer_email',
  'customer_phone',
  'address_line1',
  'address_line2',
  'postal_code',
  'city',
  'customer_country',
  'language',
  'time_zone',
] as const;
type Column = (typeof IMPORT_COLUMNS)[number];

/** Body field → CSV column, to name the column in row errors. */
const FIELD_TO_COLUMN: Record<string, Column> = {
  number: 'number',
  issueDate: 'issue_date',
  dueDate: 'due_date',
  dueAt: 'due_at',
  amount: 'amount',
  deposit: 'deposit',
  currency: 'currency',
  paymentLink: 'payment_link',
  policyId: 'policy_id',
  'customer.externalId': 'customer_id',
  'customer.name': 'customer_name',
  'customer.kind': 'customer_kind',
  'customer.email': 'customer_email',
  'customer.phone': 'customer_phone',
  'customer.address.lines': 'address_line1',
  'customer.address.lines.0': 'address_line1',
  'customer.address.lines.1': 'address_line2',
  'customer.address.postalCode': 'postal_code',
  'customer.address.city': 'city',
  'customer.address.country': 'customer_country',
  'customer.country': 'customer_country',
  'customer.language': 'language',
  'customer.timeZone': 'time_zone',
};
const normaliseHeader = (h: string) => h.toLowerCase().replace(/[\s_-]/g, '');
const HEADER_LOOKUP = new Map(IMPORT_COLUMNS.map((c) => [normaliseHeader(c), c]));

function rowToRequest(row: Partial<Record<Column, string>>): unknown {
  const v = (c: Column) => (row[c] === undefined || row[c] === '' ? undefined : row[c]);
  const lines = [v('address_line1'), v('address_line2')].filter((l): l is string => !!l);
  return {
    number: v('number'),
    issueDate: v('issue_date'),
    dueDate: v('due_date'),
    dueAt: v('due_at'),
    amount: v('amount'),
    deposit: v('deposit'),
    currency: v('currency'),
    paymentLink: v('payment_link'),
    policyId: v('policy_id'),
    customer: {
      externalId: v('customer_id'),
      name: v('customer_name'),
      kind: v('customer_kind')?.toUpperCase(),
      email: v('customer_email'),
      phone: v('customer_phone'),
      address:
        lines.length || v('postal_code') || v('city')
          ? { lines, postalCode: v('postal_code'), city: v('city'), country: v('customer_country') }
          : undefined,
      country: v('customer_country'),
      language: v('language'),
      timeZone: v('time_zone'),
    },
  };
}

const toColumns = (errors: FieldError[]): FieldError[] =>
  errors.map((e) => ({ field: FIELD_TO_COLUMN[e.field] ?? e.field, message: e.message }));

export function parseByteLimit(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!m) throw new Error(`invalid size ${limit}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

export function invoiceImportRoute(router: Router, deps: InvoiceRouteDeps, registry: OpenAPIRegistry): void {
  const { prisma, temporal, config, metrics } = deps;
  const maxBytes = parseByteLimit(config.API_IMPORT_LIMIT);

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/invoices/import',
    operationId: 'importInvoices',
    summary: 'Issue many invoices from a CSV upload (streamed)',
    description:
      `Header row with the columns ${IMPORT_COLUMNS.join(', ')} (case-insensitive, "_" optional; ` +
      'address_line2, due_at, deposit, payment_link, policy_id, customer_email, customer_phone optional). ' +
      'Each row is issued like POST /v1/invoices (idempotent on the number). Rows with errors are reported ' +
      'with their line number and column; the other rows are imported. UTF-8, with or without BOM; `?delimiter=;` for semicolon-separated files.',
    tags: ['invoices'],
    query: z.object({
      delimiter: z.enum([',', ';']).default(',').openapi({ description: 'Field separator (";" for French Excel exports)' }),
    }),
    rawBody: {
      required: true,
      content: { 'text/csv': { schema: { type: 'string', example: `${IMPORT_COLUMNS.join(',')}\n` } } },
    },
    responses: {
      200: jsonResponse('Per-row results', ImportResultSchema),
      400: problemResponse('Malformed CSV (unbalanced quotes, missing header)'),
      415: problemResponse('Not text/csv'),
    },
    handler: async ({ req, res, query }) => {
      if (!req.is('text/csv')) throw new Problem(415, 'Unsupported media type', 'Send the invoices as text/csv');
      const declared = Number(req.get('content-length') ?? 0);
      if (declared > maxBytes) throw new Problem(413, 'Payload too large', `The CSV exceeds ${config.API_IMPORT_LIMIT}`);
      let received = 0;
      let tooLarge = false;
      let unknownColumns: string[] = [];
      const parser = parse({
        bom: true,
        trim: true,
        skip_empty_lines: true,
        info: true,
        delimiter: query.delimiter,
        columns: (header: string[]) => {
          unknownColumns = header.filter((h) => !HEADER_LOOKUP.has(normaliseHeader(h)));
          return header.map((h) => HEADER_LOOKUP.get(normaliseHeader(h)) ?? h);
        },
      });
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes && !tooLarge) {
          tooLarge = true;
          req.unpipe(parser);
          parser.destroy(new Problem(413, 'Payload too large', `The CSV exceeds ${config.API_IMPORT_LIMIT}`));
        }
      });
      req.pipe(parser);

      const results: Array<{ line: number; number?: string; status: 'created' | 'existing' | 'error'; errors?: FieldError[] }> = [];
      try {
        for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
          const line = info.lines;
          const number = typeof record.number === 'string' && record.number ? record.number : undefined;
          // The database cannot store U+0000: refused here, before any workflow starts.
          const nul = nulCharacterPaths(record);
          if (nul.length) {
            results.push({ line, number: number?.replace(/\u0000/g, ''), status: 'error', errors: nul.map((field) => ({ field, message: 'must not contain the NUL character (U+0000)' })) });
            continue;
          }
          const parsed = IssueInvoiceRequestSchema.safeParse(rowToRequest(record));
          if (!parsed.success) {
            results.push({ line, number, status: 'error', errors: toColumns(fieldErrorsOf(parsed.error)) });
            continue;
          }
          try {
            const r = await issueInvoice({ prisma, temporal, config }, parsed.data);
            if (r.created) metrics.invoicesIssued.inc({ via: 'import' });
            results.push({ line, number, status: r.created ? 'created' : 'existing' });
          } catch (err) {
            if (err instanceof Problem && err.status < 500) {
              results.push({ line, number, status: 'error', errors: toColumns(err.options.errors ?? [{ field: '(row)', message: err.detail ?? err.title }]) });
              continue;
            }
            if (infrastructureFailure(err)) {
              const p = problems.unavailable(infrastructureFailure(err) === 'temporal' ? 'Temporal' : 'The database');
              throw new Problem(503, p.title, `${p.detail} (stopped at line ${line}; re-upload the file: rows are idempotent)`, {
                ...p.options,
                extra: { results },
              });
            }
            throw err;
          }
        }
      } catch (err) {
        req.unpipe(parser);
        req.resume();
        if (err instanceof Problem) throw err;
        const csvErr = err as { code?: string; message?: string; lines?: number };
        // Not every csv-parse code has the CSV_ prefix (INVALID_OPENING_QUOTE has not).
        if (err instanceof CsvError || (typeof csvErr.code === 'string' && csvErr.code.startsWith('CSV_'))) {
          throw new Problem(400, 'Malformed CSV', csvErr.message, {
            errors: [{ field: `line ${csvErr.lines ?? '?'}`, message: csvErr.message ?? 'malformed' }],
          });
        }
        throw err;
      }
      const count = (s: string) => results.filter((r) => r.status === s).length;
      res.json({
        rows: results.length,
        created: count('created'),
        existing: count('existing'),
        failed: count('error'),
        ...(unknownColumns.length ? { ignoredColumns: unknownColumns } : {}),
        results,
      });
    },
  });
}
