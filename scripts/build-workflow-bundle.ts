// Writes the workflow bundle to a file: `npm run build:bundle [-- <path>]` (default
// .build/workflow-bundle.js). A worker given the file (WORKFLOW_BUNDLE_PATH) skips webpack,
// whose ~300 MB would otherwise stay in its RSS. worker/create-worker.ts workflowBundleFile()
// runs this in a child process when no file is configured.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workflowBundle } from '../worker/create-worker';

export const DEFAULT_BUNDLE_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.build', 'workflow-bundle.js');

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = path.resolve(process.argv[2] ?? DEFAULT_BUNDLE_PATH);
  const { code } = await workflowBundle();
  mkdirSync(path.dirname(out), { recursive: true });
  // Written aside then renamed: a worker starting meanwhile never reads half a bundle.
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, out);
  console.log(`workflow bundle: ${out} (${(code.length / 1e6).toFixed(1)} MB)`);
}
