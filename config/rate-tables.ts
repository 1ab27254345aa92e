// The reference-rate tables as data: config/rate-tables.json ships with the code, and
// RATE_TABLES_FILE may name another file of the same shape (docs/operations.md, "Updating a
// rate table"). Validated when the configuration loads, so a wrong table stops the process
// at start with the path of the bad entry instead of a wrong letter months later.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { RateTables } from '../domain/rates';
import shipped from './rate-tables.json' with { type: 'json' };

const HALF_YEAR = /^\d{4}-H[12]$/;
const HalfYear = z.string().regex(HALF_YEAR, 'must be a half-year "YYYY-H1" or "YYYY-H2"');
const Percent = z.number().finite().min(-5).max(50);

/** "2025-H2" → the next one, "2026-H1". */
function nextHalf(key: string): string {
  const year = Number(key.slice(0, 4));
  return key.endsWith('H1') ? `${year}-H2` : `${year + 1}-H1`;
}

/** Keys sorted, checked for gaps: a missing half-year would silently reuse the previous rate. */
function checkContiguous(table: Record<string, unknown>, name: string, ctx: z.RefinementCtx): void {
  const keys = Object.keys(table).sort();
  if (keys.length === 0) ctx.addIssue({ code: 'custom', path: [name], message: 'must hold at least one half-year' });
  for (let i = 1; i < keys.length; i++) {
    const expected = nextHalf(keys[i - 1] as string);
    if (keys[i] !== expected) ctx.addIssue({ code: 'custom', path: [name, expected], message: `missing between ${keys[i - 1]} and ${keys[i]}` });
  }
}

export const RateTablesSchema = z
  .object({
    $comment: z.unknown().optional(),
    version: z.string().trim().min(1),
    ecb: z.record(HalfYear, Percent),
    legal: z.record(HalfYear, z.object({ consumerCreditor: Percent, other: Percent }).strict()),
    provisional: z.object({ ecb: z.array(HalfYear).default([]), legal: z.array(HalfYear).default([]) }).strict().default({ ecb: [], legal: [] }),
  })
  .strict()
  .superRefine((t, ctx) => {
    checkContiguous(t.ecb, 'ecb', ctx);
    checkContiguous(t.legal, 'legal', ctx);
    for (const name of ['ecb', 'legal'] as const) {
      t.provisional[name].forEach((key, i) => {
        if (!Object.prototype.hasOwnProperty.call(t[name], key)) {
          ctx.addIssue({ code: 'custom', path: ['provisional', name, i], message: `${key} is not in the ${name} table` });
        }
      });
    }
  })
  .transform(
    (t): RateTables => ({
      version: t.version,
      ecb: Object.freeze({ ...t.ecb }),
      legal: Object.freeze({ ...t.legal }),
      provisional: { ecb: [...t.provisional.ecb], legal: [...t.provisional.legal] },
    }),
  );

/** Validates a rate-table document; the error names each bad entry by its path. */
export function parseRateTables(doc: unknown, source = 'rate tables'): RateTables {
  const parsed = RateTablesSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      // A bad record key: zod's own message is "Invalid key in record"; the key's is clearer.
      const message = i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message;
      return `${i.path.join('.') || '(root)'}: ${message}`;
    });
    throw new Error(`Invalid ${source}: ${issues.join('; ')}`);
  }
  return parsed.data;
}

/** The tables of `file` (JSON), or the shipped ones when no file is named. */
export function loadRateTables(file?: string): RateTables {
  if (!file) return parseRateTables(shipped, 'config/rate-tables.json');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`Cannot read the rate tables in ${file}: ${(err as Error).message}`);
  }
  return parseRateTables(doc, file);
}
