// POST /v1/invoices/import: a small CSV of invoices, issued while the client waits.
// All or nothing: the whole file is decoded, parsed and validated first (api/csv-upload.ts);
// one invalid row and nothing is issued (422 listing every refused row by line and column).
// A valid file's rows are issued by issueInvoice, as POST /v1/invoices does (idempotent on
// the number: a re-upload creates nothing twice). If Temporal or the database goes down
// midway the import stops with 503 listing the rows done: re-uploading finishes it. Files
// above IMPORT_SYNC_MAX_ROWS rows go to POST /v1/imports (a background job).
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { Router } from 'express';
import { decodeCsv, IMPORT_COLUMNS, invalidRowsProblem, mapWithConcurrency, parseByteLimit, parseCsv, readCsvBody, toColumns, validateRows } from './csv-upload';
import { infrastructureFailure } from './infra-errors';
import { issueInvoice } from './invoice-service';
import type { InvoiceRouteDeps } from './invoices';
import { Problem, problems, type FieldError } from './problem';
import { defineRoute, jsonResponse, problemResponse } from './route';
import { ImportResultSchema } from './schemas';

export { IMPORT_COLUMNS, parseByteLimit } from './csv-upload';

export const CSV_FORMAT_DESCRIPTION =
  `Header row with the columns ${IMPORT_COLUMNS.join(', ')} (case-insensitive, "_" optional; ` +
  'address_line2, due_at, deposit, payment_link, policy_id, customer_email, customer_phone, language, time_zone optional). ' +
  'UTF-8 (BOM accepted) unless the Content-Type declares another charset (`text/csv; charset=iso-8859-1`); ' +
  'bytes that are not UTF-8 in an undeclared file are refused naming their lines. Separator "," or ";" (detected), ' +
  'decimal comma accepted in amounts ("1 234,56"). The whole file is validated before any invoice is issued.';

type RowResult = { line: number; number?: string; status: 'created' | 'existing' | 'error'; errors?: FieldError[] };

export function invoiceImportRoute(router: Router, deps: InvoiceRouteDeps, registry: OpenAPIRegistry): void {
  const { prisma, temporal, config, metrics, policies } = deps;
  const maxBytes = parseByteLimit(config.API_IMPORT_LIMIT);

  defineRoute(router, registry, {
    method: 'post',
    path: '/v1/invoices/import',
    operationId: 'importInvoices',
    role: 'collector',
    summary: 'Issue a small CSV of invoices, all or nothing',
    description:
      `${CSV_FORMAT_DESCRIPTION} One invalid row and nothing is issued (422 naming every line and column). ` +
      `Each row is issued like POST /v1/invoices (idempotent on the number). At most IMPORT_SYNC_MAX_ROWS (${config.IMPORT_SYNC_MAX_ROWS}) rows; ` +
      'larger files: POST /v1/imports.',
    tags: ['invoices'],
    rawBody: {
      required: true,
      content: { 'text/csv': { schema: { type: 'string', example: `${IMPORT_COLUMNS.join(',')}\n` } } },
    },
    responses: {
      200: jsonResponse('Every row issued (created, or existing with the same content)', ImportResultSchema),
      400: problemResponse('Malformed CSV (unbalanced quotes, column count, missing columns), naming the line'),
      413: problemResponse('File too large, or more rows than IMPORT_SYNC_MAX_ROWS (use POST /v1/imports)'),
      415: problemResponse('Not text/csv, or an unknown charset'),
      422: problemResponse('Invalid rows (every one, by line and column) or bytes that are not UTF-8; nothing imported'),
    },
    handler: async ({ req, res }) => {
      const bytes = await readCsvBody(req, maxBytes, config.API_IMPORT_LIMIT);
      const csv = parseCsv(decodeCsv(bytes, req.get('content-type')));
      if (csv.rows.length > config.IMPORT_SYNC_MAX_ROWS) {
        throw new Problem(413, 'Payload too large', `${csv.rows.length} rows: more than ${config.IMPORT_SYNC_MAX_ROWS}; send the file to POST /v1/imports (a background job)`);
      }
      const { valid, refused } = await validateRows(csv.rows, { prisma, config, policies });
      if (refused.length) throw invalidRowsProblem(csv.rows.length, refused);

      const results: RowResult[] = [];
      try {
        await mapWithConcurrency(valid, config.IMPORT_CONCURRENCY, async (row) => {
          try {
            const r = await issueInvoice({ prisma, temporal, config, policies }, row.request);
            if (r.created) metrics.invoicesIssued.inc({ via: 'import' });
            results.push({ line: row.line, number: row.number, status: r.created ? 'created' : 'existing' });
          } catch (err) {
            // Validated a moment ago: only a concurrent issue of the same number lands here.
            if (!(err instanceof Problem) || err.status >= 500) throw err;
            results.push({ line: row.line, number: row.number, status: 'error', errors: toColumns(err.options.errors ?? [{ field: 'number', message: err.detail ?? err.title }]) });
          }
        });
      } catch (err) {
        const infra = infrastructureFailure(err);
        if (!infra) throw err;
        const p = problems.unavailable(infra === 'temporal' ? 'Temporal' : 'The database');
        results.sort((a, b) => a.line - b.line);
        throw new Problem(503, p.title, `${p.detail} (${results.length} of ${valid.length} rows done; re-upload the file: rows are idempotent)`, {
          ...p.options,
          extra: { results },
        });
      }
      results.sort((a, b) => a.line - b.line);
      const count = (s: string) => results.filter((r) => r.status === s).length;
      res.json({
        rows: results.length,
        created: count('created'),
        existing: count('existing'),
        failed: count('error'),
        ...(csv.unknownColumns.length ? { ignoredColumns: csv.unknownColumns } : {}),
        results,
      });
    },
  });
}
