// Moves running invoices onto a new version of their dunning policy (docs/operations.md).
//
//   npx tsx deploy/migrate-policy.ts --policy fr-b2b-default [--file policy.json]
//        [--query '<visibility query>'] [--reason '...'] [--apply]
//
// New invoices take the policy as it is when they are issued; a running invoice keeps the
// snapshot it started with until it is migrated explicitly. This lists the running
// invoiceDunning workflows (narrowed by --query, e.g. 'DunningStage = "reminder-1"'), asks each
// for its status, and for those on the same policy id with an older version sends the
// workflow's `migratePolicy` update (validated by the workflow: steps already done stay done,
// the next step is computed from the new calendar). Without --apply it only prints the plan.
// The new policy is the shipped one of that id (domain/policy.ts) or the JSON of --file.
// Connection: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TLS / API key, as every Relance process.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/index';
import { connectClient } from '../config/temporal';
import { getBuiltinPolicy, parsePolicy } from '../domain/policy';
import { migratePolicyUpdate, statusQuery } from '../contracts/messages';

const { values } = parseArgs({
  options: {
    policy: { type: 'string' },
    file: { type: 'string' },
    query: { type: 'string' },
    reason: { type: 'string', default: 'policy version upgrade' },
    apply: { type: 'boolean', default: false },
  },
});
if (!values.policy && !values.file) {
  console.error('usage: npx tsx deploy/migrate-policy.ts --policy <id> [--file policy.json] [--query "<query>"] [--reason "..."] [--apply]');
  process.exit(2);
}
const policy = parsePolicy(values.file ? JSON.parse(readFileSync(values.file, 'utf8')) : getBuiltinPolicy(values.policy!));
const config = loadConfig();
const client = await connectClient(config);
const query = ['WorkflowType = "invoiceDunning"', 'ExecutionStatus = "Running"', values.query ? `(${values.query})` : ''].filter(Boolean).join(' AND ');
console.log(`target ${policy.id}@${policy.version}; invoices: ${query}${values.apply ? '' : '  (dry run: add --apply)'}`);

let migrated = 0;
let failed = 0;
try {
  for await (const wf of client.workflow.list({ query })) {
    const handle = client.workflow.getHandle(wf.workflowId);
    let current: { id: string; version: number };
    try {
      current = (await handle.query(statusQuery)).policy;
    } catch (err) {
      console.log(`${wf.workflowId}: status query failed (${(err as Error).message}); skipped`);
      continue;
    }
    if (current.id !== policy.id || current.version >= policy.version) continue;
    if (!values.apply) {
      console.log(`${wf.workflowId}: ${current.id}@${current.version} → ${policy.id}@${policy.version} (would migrate)`);
      continue;
    }
    try {
      const r = await handle.executeUpdate(migratePolicyUpdate, { args: [{ policy, reason: values.reason }] });
      migrated += 1;
      console.log(`${wf.workflowId}: ${r.from} → ${r.to}, next step ${r.nextStep ?? '(none)'}`);
    } catch (err) {
      failed += 1;
      console.log(`${wf.workflowId}: refused: ${(err as Error).message}`);
    }
  }
} finally {
  await client.connection.close();
}
if (values.apply) console.log(`${migrated} migrated, ${failed} refused`);
process.exitCode = failed > 0 ? 1 : 0;
