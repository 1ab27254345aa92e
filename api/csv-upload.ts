// A CSV of invoices, from the uploaded bytes to rows ready to issue. Shared by the
// synchronous import (POST /v1/invoices/import) and import jobs (POST /v1/imports): both
// read the whole file, decode it in its declared charset (strict UTF-8 when none is
// declared: a Latin-1 file is refused naming its lines, never stored garbled), parse it
// (",", or ";" as a French spreadsheet writes it, detected from the header; BOM accepted;
// decimal commas in amounts), and validate EVERY row (schema, business rules, numbers
// repeated in the file, numbers already issued with other content) before any invoice
// starts. Rows are then issued by the same issueInvoice as POST /v1/invoices.
import type { Request } from 'express';
import { CsvError, parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import type { Config } from '../config/index';
import type { PrismaClient } from '../prisma/client';
import { findInvoiceRows, normaliseIssueRequest, policyResolverFor } from './invoice-service';
import type { PolicyCatalog } from '../policies/catalog';
import { fieldErrorsOf, nulCharacterPaths, Problem, type FieldError } from './problem';
import { IssueInvoiceRequestSchema, type IssueInvoiceRequest } from './schemas';

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
export const REQUIRED_COLUMNS: readonly Column[] = [
  'number',
  'issue_date',
  'due_date',
  'amount',
  'currency',
  'customer_id',
  'customer_name',
  'customer_kind',
  'customer_country',
];

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

export const toColumns = (errors: FieldError[]): FieldError[] =>
  errors.map((e) => ({ field: FIELD_TO_COLUMN[e.field] ?? e.field, message: e.message }));

/**
 * "1 234,56", "1.234,56" and "1234,56" (a French spreadsheet's decimal comma, with its
 * thousands separators) → "1234.56". Anything else is left for the schema to judge.
 */
export function normaliseDecimal(value: string): string {
  if (!value.includes(',')) return value;
  let v = value.replace(/[\s\u00a0\u202f]/g, '');
  if (/^\d{1,3}(\.\d{3})+,\d+$/.test(v)) v = v.replace(/\./g, '');
  return /^\d+,\d+$/.test(v) ? v.replace(',', '.') : value;
}

function rowToRequest(row: Partial<Record<Column, string>>): unknown {
  const v = (c: Column) => (row[c] === undefined || row[c] === '' ? undefined : row[c]);
  const dec = (c: Column) => {
    const x = v(c);
    return x === undefined ? undefined : normaliseDecimal(x);
  };
  const lines = [v('address_line1'), v('address_line2')].filter((l): l is string => !!l);
  return {
    number: v('number'),
    issueDate: v('issue_date'),
    dueDate: v('due_date'),
    dueAt: v('due_at'),
    amount: dec('amount'),
    deposit: dec('deposit'),
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

export function parseByteLimit(limit: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!m) throw new Error(`invalid size ${limit}`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.floor(Number(m[1]) * unit);
}

/** The whole request body, refused with 415 unless text/csv and 413 past `maxBytes`. */
export async function readCsvBody(req: Request, maxBytes: number, limitText: string): Promise<Buffer> {
  if (!req.is('text/csv')) {
    req.resume();
    throw new Problem(415, 'Unsupported media type', 'Send the invoices as text/csv');
  }
  const tooLarge = () => new Problem(413, 'Payload too large', `The CSV exceeds ${limitText}`);
  if (Number(req.get('content-length') ?? 0) > maxBytes) {
    req.resume();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The charset parameter of a Content-Type, lower-cased, if any. */
export function declaredCharset(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return m?.[1]?.toLowerCase();
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Bytes → text. A declared charset is honoured (iconv-lite knows ISO-8859-x, Windows-125x
 * and the rest); without one the file must be UTF-8, and the lines holding bytes that are
 * not are named (a Latin-1 "é" is one byte 0xE9, invalid on its own in UTF-8).
 */
export function decodeCsv(bytes: Buffer, contentType: string | undefined): string {
  const charset = declaredCharset(contentType);
  if (charset && !/^utf-?8$/.test(charset)) {
    if (!iconv.encodingExists(charset)) {
      throw new Problem(415, 'Unsupported media type', `Unknown charset "${charset}"; use utf-8, iso-8859-1 or windows-1252`);
    }
    return iconv.decode(bytes, charset); // strips a BOM of that encoding
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    const lines: number[] = [];
    let start = 0;
    for (let line = 1; start <= bytes.length; line++) {
      const end = bytes.indexOf(0x0a, start);
      const slice = bytes.subarray(start, end === -1 ? bytes.length : end);
      try {
        strictUtf8.decode(slice);
      } catch {
        lines.push(line);
      }
      if (end === -1) break;
      start = end + 1;
    }
    const shown = lines.slice(0, 20);
    throw new Problem(
      422,
      'Invalid UTF-8',
      `The file is not valid UTF-8 (line${lines.length > 1 ? 's' : ''} ${shown.join(', ')}${lines.length > shown.length ? ', …' : ''}); ` +
        'nothing was imported. Save it as UTF-8, or declare its charset: Content-Type: text/csv; charset=iso-8859-1 (or windows-1252)',
      {
        type: 'invalid-encoding',
        errors: shown.map((l) => ({ field: `line ${l}`, message: 'holds bytes that are not UTF-8' })),
      },
    );
  }
}

/** The separator of the header line: ";" when it has more of them than "," outside quotes. */
export function detectDelimiter(text: string): ',' | ';' {
  let commas = 0;
  let semis = 0;
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && ch === ',') commas++;
    else if (!quoted && ch === ';') semis++;
  }
  return semis > commas ? ';' : ',';
}

export interface CsvRow {
  line: number;
  record: Partial<Record<Column, string>>;
}

export interface ParsedCsv {
  delimiter: ',' | ';';
  unknownColumns: string[];
  rows: CsvRow[];
}

/** Text → rows; a malformed file (quotes, column count, missing columns) is a 400 naming the line. */
export function parseCsv(text: string, delimiter?: ',' | ';'): ParsedCsv {
  const sep = delimiter ?? detectDelimiter(text.replace(/^\ufeff/, ''));
  let header: string[] = [];
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parse(text, {
      bom: true,
      trim: true,
      skip_empty_lines: true,
      info: true,
      delimiter: sep,
      columns: (h: string[]) => {
        header = h;
        return h.map((x) => HEADER_LOOKUP.get(normaliseHeader(x)) ?? x);
      },
    }) as typeof records;
  } catch (err) {
    const csvErr = err as { code?: string; message?: string; lines?: number };
    // Not every csv-parse code has the CSV_ prefix (INVALID_OPENING_QUOTE has not).
    if (err instanceof CsvError || (typeof csvErr.code === 'string' && csvErr.code.startsWith('CSV_'))) {
      throw new Problem(400, 'Malformed CSV', `${csvErr.message ?? 'malformed'}; nothing was imported`, {
        errors: [{ field: `line ${csvErr.lines ?? '?'}`, message: csvErr.message ?? 'malformed' }],
      });
    }
    throw err;
  }
  const known = new Set(header.map((h) => HEADER_LOOKUP.get(normaliseHeader(h))).filter(Boolean));
  const missing = REQUIRED_COLUMNS.filter((c) => !known.has(c));
  if (missing.length) {
    throw new Problem(400, 'Malformed CSV', `The header row lacks the column(s) ${missing.join(', ')} (separator "${sep}"); nothing was imported`, {
      errors: missing.map((c) => ({ field: 'line 1', message: `missing column ${c}` })),
    });
  }
  return {
    delimiter: sep,
    unknownColumns: header.filter((h) => !HEADER_LOOKUP.has(normaliseHeader(h))),
    rows: records.map(({ record, info }) => ({ line: info.lines, record })),
  };
}

export interface RefusedRow {
  line: number;
  number?: string;
  errors: FieldError[];
}

export interface ValidRow {
  line: number;
  number: string;
  request: IssueInvoiceRequest;
}

/**
 * Every row through the checks POST /v1/invoices makes before it starts anything
 * (schema, normaliseIssueRequest, conflicts with issued invoices), plus numbers repeated
 * in the file with other content. Nothing is written.
 */
export async function validateRows(
  rows: CsvRow[],
  deps: { prisma: PrismaClient; config: Config; policies?: PolicyCatalog },
): Promise<{ valid: ValidRow[]; refused: RefusedRow[] }> {
  const refused: RefusedRow[] = [];
  const candidates: Array<ValidRow & { hash: string }> = [];
  const seen = new Map<string, { line: number; hash: string }>();
  for (const { line, record } of rows) {
    const number = typeof record.number === 'string' && record.number ? record.number.replace(/\u0000/g, '') : undefined;
    // The database cannot store U+0000: refused here, before any workflow starts.
    const nul = nulCharacterPaths(record);
    if (nul.length) {
      refused.push({ line, number, errors: nul.map((field) => ({ field, message: 'must not contain the NUL character (U+0000)' })) });
      continue;
    }
    const parsed = IssueInvoiceRequestSchema.safeParse(rowToRequest(record));
    if (!parsed.success) {
      refused.push({ line, number, errors: toColumns(fieldErrorsOf(parsed.error)) });
      continue;
    }
    let hash: string;
    try {
      // The policy the row will be issued with (assignment rules): it is part of the hash.
      hash = normaliseIssueRequest(parsed.data, deps.config, await policyResolverFor(deps, parsed.data)).requestHash;
    } catch (err) {
      if (!(err instanceof Problem) || err.status >= 500) throw err;
      refused.push({ line, number, errors: toColumns(err.options.errors ?? [{ field: '(row)', message: err.detail ?? err.title }]) });
      continue;
    }
    const earlier = seen.get(parsed.data.number);
    if (earlier) {
      // The same row twice is harmless (issued once); the same number with other content is not.
      if (earlier.hash !== hash) {
        refused.push({ line, number, errors: [{ field: 'number', message: `already on line ${earlier.line} with different content` }] });
      }
      continue;
    }
    seen.set(parsed.data.number, { line, hash });
    candidates.push({ line, number: parsed.data.number, request: parsed.data, hash });
  }
  const valid: ValidRow[] = [];
  for (let i = 0; i < candidates.length; i += 1000) {
    const chunk = candidates.slice(i, i + 1000);
    const found = await findInvoiceRows(deps.prisma, chunk.map((c) => ({ number: c.number })));
    chunk.forEach((c, j) => {
      const issued = found[j]!.find((r) => r.number === c.number);
      if (issued && issued.requestHash !== c.hash) {
        refused.push({ line: c.line, number: c.number, errors: [{ field: 'number', message: 'was already issued with different content' }] });
      } else valid.push({ line: c.line, number: c.number, request: c.request });
    });
  }
  refused.sort((a, b) => a.line - b.line);
  return { valid, refused };
}

/** The 422 for a file with invalid rows: every refused row, by line and column; nothing imported. */
export function invalidRowsProblem(total: number, refused: RefusedRow[]): Problem {
  return new Problem(
    422,
    'Validation failed',
    `${refused.length} of ${total} rows are invalid; nothing was imported (fix them and upload the whole file again)`,
    {
      errors: refused.flatMap((r) => r.errors.map((e) => ({ field: `line ${r.line}: ${e.field}`, message: e.message }))),
      extra: { results: refused.map((r) => ({ line: r.line, ...(r.number ? { number: r.number } : {}), status: 'error', errors: r.errors })) },
    },
  );
}

/** Runs fn over items with at most `limit` at a time; results in input order. */
export async function mapWithConcurrency<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failed !== undefined) throw failed;
  return out;
}
