// Determinism guard: histories recorded from real runs (tests/e2e/lifecycle.test.ts,
// tests/workflow/invoice-dunning.test.ts and tests/workflow/customer-conversation.test.ts with RECORD_HISTORIES=1), one folder per release
// (histories/v0.1/...), must all replay against today's workflow code. A change to running
// workflow logic must go behind patched(); the last test shows what happens otherwise.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeterminismViolationError } from '@temporalio/workflow';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { dataConverterFromEnv } from '../../codec/index';
import { workflowBundle } from '../../worker/create-worker';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, 'histories');
const histories = readdirSync(dir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.json'))
  .sort()
  // proto3 JSON → History (fromObject reads enum names and string longs as written).
  .map((f) => ({ name: f, history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(path.join(dir, f), 'utf8'))) }));

describe('replay of stored histories', () => {
  it('has a recorded history for every scenario that matters', () => {
    const v01 = histories.filter((h) => h.name.startsWith(`v0.1${path.sep}`)).map((h) => path.basename(h.name, '.json'));
    expect(v01).toEqual(
      expect.arrayContaining([
        'paid-before-due',
        'paid-after-reminder-1',
        'partial-payment-duplicate-signal',
        'plan-met',
        'plan-breached',
        'plan-rejected',
        'promise-kept',
        'promise-broken',
        'dispute-resolved-creditor',
        'dispute-credit-note',
        'pause-resume-and-expiry',
        'agency-handover-then-paid',
        'agency-listening-closed',
        'agency-recovered',
        'fallback-email-to-letter',
        'continue-as-new-run-1',
        'continue-as-new',
        'migrate-policy',
        'christmas-holidays',
        'holidays-unavailable',
        'imported-late',
        'full-escalation',
        'customer-conversation',
        'customer-conversation-continued-run-1',
        'customer-conversation-continued',
        'invoice-batched-reminder',
        'invoice-batch-bypassed',
      ]),
    );
  });

  it.each(histories)('$name replays against the current workflow code', async ({ history }) => {
    // With the codec: histories recorded with it on (encrypted payloads) replay too.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: dataConverterFromEnv() }, history);
  }, 120_000);

  it('an incompatible change (a new timer, not behind patched()) fails the replay', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: path.join(here, 'incompatible', 'workflows.ts'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } });
    const full = histories.find((h) => h.name === path.join('v0.1', 'full-escalation.json'))!;
    await expect(Worker.runReplayHistory({ workflowBundle: bundle }, full.history)).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
