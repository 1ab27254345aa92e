// Compiles the API and the worker to plain JavaScript for the image: `npm run build:dist`
// writes dist/api.mjs and dist/worker.mjs (our TypeScript bundled by esbuild, npm packages
// left as imports of node_modules). Running them needs no tsx: its loader costs a worker
// ~35 MB of RSS (the loader thread and esbuild's JavaScript; docs/benchmarks.md, sleeping
// invoices), and the code no longer compiles at every start.
//
// The output directory must be a direct child of the project root: modules locate files
// from import.meta.url (worker/create-worker.ts: the repository root is one level up),
// which in a bundle is the bundle's own file.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = path.join(PROJECT_ROOT, 'dist');
export const DIST_ENTRIES: Readonly<Record<string, string>> = { api: 'api/server.ts', worker: 'worker/main.ts' };

/** Bundles `entries` (output name → source, relative to the root) into `outdir` as <name>.mjs; returns the files written. */
export async function buildDist(opts: { outdir?: string; entries?: Readonly<Record<string, string>> } = {}): Promise<string[]> {
  const outdir = path.resolve(opts.outdir ?? DIST_DIR);
  if (path.dirname(outdir) !== PROJECT_ROOT) throw new Error(`buildDist: ${outdir} must be a direct child of ${PROJECT_ROOT}`);
  const entries = opts.entries ?? DIST_ENTRIES;
  await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: Object.fromEntries(Object.entries(entries).map(([name, src]) => [name, path.join(PROJECT_ROOT, src)])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    // Dynamic imports become chunks of their own: a worker with only the workflows role
    // (worker/main.ts) never loads the channel modules' packages (pdfkit, Twilio, nodemailer).
    splitting: true,
    chunkNames: '[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return Object.keys(entries).map((name) => path.join(outdir, `${name}.mjs`));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = await buildDist({ outdir: process.argv[2] });
  console.log(`built ${files.map((f) => path.relative(PROJECT_ROOT, f)).join(', ')}`);
}
