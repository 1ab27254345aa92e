// With RECORD_HISTORIES=1, tests write the histories of their runs to tests/replay/histories/
// for the replay tests (proto3 JSON, the format `temporal workflow show --output json` writes).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';

const HISTORIES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'replay', 'histories');

export async function recordHistory(client: Client, name: string, workflowId: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  mkdirSync(HISTORIES, { recursive: true });
  writeFileSync(path.join(HISTORIES, `${name}.json`), JSON.stringify(history, null, 1));
}
