// Determinism guard: histories recorded from real runs (tests/e2e/lifecycle.test.ts and
// tests/workflow/invoice-dunning.test.ts with RECORD_HISTORIES=1) must replay against today's workflow code. A change to running
// workflow logic must go behind patched(); the second test shows what happens otherwise.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { workflowBundle } from '../../worker/create-worker';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'histories');
const histories = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  // proto3 JSON → History (fromObject reads enum names and string longs as written).
  .map((f) => ({ name: f, history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))) }));

describe('replay of stored histories', () => {
  it('has recorded histories to replay', () => {
    expect(histories.map((h) => h.name).sort()).toEqual(['christmas-holidays.json', 'full-escalation.json', 'paid-after-reminder-1.json']);
  });

  it.each(histories)('$name replays against the current workflow code', async ({ history }) => {
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history);
  }, 120_000);

  it('an incompatible change (a new timer, not behind patched()) fails the replay', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: path.join(here, 'incompatible', 'workflows.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    const full = histories.find((h) => h.name === 'full-escalation.json')!;
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, full.history)).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
