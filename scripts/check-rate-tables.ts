// npx tsx scripts/check-rate-tables.ts [file.json] — validates a rate-table file as the
// processes do at start (config/rate-tables.ts) and prints what it covers, so a new table
// is checked before any worker restarts on it. Exit code 1 when it is invalid.
import { loadRateTables } from '../config/rate-tables';

const file = process.argv[2] ?? process.env.RATE_TABLES_FILE;
try {
  const t = loadRateTables(file);
  const span = (keys: string[]) => (keys.length ? `${keys[0]}..${keys[keys.length - 1]}` : 'nothing');
  console.log(`[rates] ${file ?? 'config/rate-tables.json (shipped)'}: valid, version ${t.version}`);
  console.log(`[rates] ecb covers ${span(Object.keys(t.ecb).sort())}; provisional: ${t.provisional.ecb.join(', ') || 'none'}`);
  console.log(`[rates] legal covers ${span(Object.keys(t.legal).sort())}; provisional: ${t.provisional.legal.join(', ') || 'none'}`);
  console.log('[rates] half-years after the last one use its rate, marked provisional');
} catch (err) {
  console.error(`[rates] ${(err as Error).message}`);
  process.exitCode = 1;
}
