// `npm run setup:search-attributes` against a real Temporal cluster's frontend (scripts/cluster.ts:
// the server built from the Go module proxy, PostgreSQL persistence and SQL visibility, each
// service its own process), on a namespace registered fresh, as an operator does on a new
// cluster: the first run adds them, the second finds them present, SQL visibility then
// answers the ops guide's queries on a workflow carrying them, and a namespace holding one
// with another type gets the clear error and exit code 1.
// Needs the server build (`npm run temporal:server`, about 2–3 minutes once; .ci/run does it):
// without it the file is skipped, with that reason in its title.
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type Cluster } from '../../scripts/cluster';
import { findTemporalServer } from '../../scripts/temporal-server';
import { AmountDueKey, DunningStageKey, InvoiceNumberKey, NextActionAtKey, CustomerIdKey, SEARCH_ATTRIBUTE_CLI_ARGS } from '../../contracts/search-attributes';
import { eventually } from '../api/harness';
import { customSearchAttributes, runSetupSearchAttributes } from '../helpers/search-attributes';

const T = proto.temporal.api.enums.v1.IndexedValueType;
const NAMES = SEARCH_ATTRIBUTE_CLI_ARGS.map((p) => p.split('=')[0]);
const NS = 'relance-ops';
const WRONG_NS = 'relance-ops-wrong';
const tools = findTemporalServer();

let cluster: Cluster;
let connection: Connection;

const setupCommand = (namespace: string) => runSetupSearchAttributes(cluster.frontendAddress, namespace);
const customAttributes = (namespace: string) => customSearchAttributes(connection, namespace);

describe.skipIf(!tools)(`setup:search-attributes on a Temporal cluster${tools ? '' : ' (skipped: no Temporal server build, `npm run temporal:server`)'}`, () => {
  beforeAll(async () => {
    cluster = await startCluster({ relance: false, log: () => {} });
    connection = await Connection.connect({ address: cluster.frontendAddress });
    for (const namespace of [NS, WRONG_NS]) {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    }
    // The frontend learns of new namespaces from its registry refresh.
    await eventually(async () => (await connection.workflowService.describeNamespace({ namespace: WRONG_NS })) && true, 60_000, 'namespaces registered');
  }, 240_000);

  afterAll(async () => {
    await connection?.close().catch(() => {});
    await cluster?.stop();
  }, 60_000);

  test('first run adds them all on a fresh namespace, the second finds them present; SQL visibility answers queries on them', async () => {
    expect(Object.keys(await customAttributes(NS)).filter((n) => NAMES.includes(n))).toEqual([]);

    const first = await setupCommand(NS);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`namespace ${NS}: added [${NAMES.join(', ')}], already present []`);
    const after = await customAttributes(NS);
    expect(after).toMatchObject({
      InvoiceNumber: T.INDEXED_VALUE_TYPE_KEYWORD,
      CustomerId: T.INDEXED_VALUE_TYPE_KEYWORD,
      DunningStage: T.INDEXED_VALUE_TYPE_KEYWORD,
      AmountDue: T.INDEXED_VALUE_TYPE_DOUBLE,
      NextActionAt: T.INDEXED_VALUE_TYPE_DATETIME,
    });

    const second = await setupCommand(NS);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`namespace ${NS}: added [], already present [${NAMES.join(', ')}]`);
    expect(await customAttributes(NS)).toEqual(after);

    // A workflow carrying them (no worker needed: it only has to be recorded) is found by
    // the ops guide's queries through the cluster's SQL visibility.
    const client = new Client({ connection, namespace: NS });
    const number = `F-CLUSTER-${Date.now()}`;
    const handle = await eventually(
      () =>
        client.workflow.start('invoiceDunning', {
          taskQueue: 'cluster-ops-test',
          workflowId: `invoice-${number}`,
          typedSearchAttributes: [
            { key: InvoiceNumberKey, value: number },
            { key: CustomerIdKey, value: 'CUST-OPS' },
            { key: DunningStageKey, value: 'formal-notice' },
            { key: AmountDueKey, value: 1250.5 },
            { key: NextActionAtKey, value: new Date('2029-06-01T09:00:00Z') },
          ],
        }),
      60_000,
      'a workflow started with the search attributes',
    );
    try {
      for (const query of [
        `InvoiceNumber = "${number}"`,
        `DunningStage = "formal-notice" AND AmountDue > 1000 AND CustomerId = "CUST-OPS"`,
        'ExecutionStatus = "Running" AND NextActionAt < "2030-01-01T00:00:00Z" AND NextActionAt > "2029-01-01T00:00:00Z"',
      ]) {
        const ids = await eventually(
          async () => {
            const found: string[] = [];
            for await (const wf of client.workflow.list({ query })) found.push(wf.workflowId);
            return found.length > 0 && found;
          },
          30_000,
          `visibility answering ${query}`,
        );
        expect(ids, query).toEqual([handle.workflowId]);
      }
      const none: string[] = [];
      for await (const wf of client.workflow.list({ query: 'AmountDue > 5000' })) none.push(wf.workflowId);
      expect(none).toEqual([]);
    } finally {
      await handle.terminate('test over');
    }
  }, 180_000);

  test('an attribute already there with another type: clear error, exit 1, nothing added', async () => {
    await connection.operatorService.addSearchAttributes({ namespace: WRONG_NS, searchAttributes: { AmountDue: T.INDEXED_VALUE_TYPE_KEYWORD } });
    const res = await setupCommand(WRONG_NS);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `search attribute AmountDue exists on namespace ${WRONG_NS} with another type (INDEXED_VALUE_TYPE_KEYWORD, want INDEXED_VALUE_TYPE_DOUBLE)`,
    );
    expect(Object.keys(await customAttributes(WRONG_NS)).filter((n) => NAMES.includes(n))).toEqual(['AmountDue']);
  }, 90_000);
});
