// With RECORD_HISTORIES=1, tests write the histories of their runs to
// tests/replay/histories/<release>/ for the replay tests (proto3 JSON, the format
// `temporal workflow show --output json` writes). <release> is the package's
// major.minor: histories recorded under one release stay, the next release records beside them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
export const HISTORY_RELEASE = `v${version.split('.').slice(0, 2).join('.')}`;
const HISTORIES = path.join(root, 'tests', 'replay', 'histories', HISTORY_RELEASE);

/** Records the run `runId` of `workflowId` (default: the latest run). */
export async function recordHistory(client: Client, name: string, workflowId: string, runId?: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  mkdirSync(HISTORIES, { recursive: true });
  writeFileSync(path.join(HISTORIES, `${name}.json`), JSON.stringify(history, null, 1));
}
