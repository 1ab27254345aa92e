// `npm run setup:search-attributes` against a real Temporal dev server started WITHOUT the
// search attributes (as a fresh cluster namespace is): the first run adds them, the second
// finds them all present and changes nothing, and a namespace where one exists with another
// type gets a clear error and exit code 1, with nothing half-added.
import proto from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { locateTemporalBinary } from '../../tools/temporal-bin';
import { SEARCH_ATTRIBUTE_CLI_ARGS } from '../../contracts/search-attributes';
import { customSearchAttributes, runSetupSearchAttributes } from '../helpers/search-attributes';

const T = proto.temporal.api.enums.v1.IndexedValueType;
const WRONG_NS = 'ops-wrong-type';

let env: TestWorkflowEnvironment;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: locateTemporalBinary('cli') },
      // No searchAttributes here: the command under test registers them.
      extraArgs: ['--log-level', 'error', '--namespace', WRONG_NS],
    },
  });
});

afterAll(async () => {
  await env?.teardown();
});

const setupCommand = (namespace: string) => runSetupSearchAttributes(env.address, namespace);
const customAttributes = (namespace: string) => customSearchAttributes(env.connection, namespace);

const NAMES = SEARCH_ATTRIBUTE_CLI_ARGS.map((p) => p.split('=')[0]);

describe('setup:search-attributes on a dev server', () => {
  test('first run adds them all, second run finds them all present', async () => {
    const before = await customAttributes('default');
    for (const n of NAMES) expect(before).not.toHaveProperty(n);

    const first = await setupCommand('default');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`namespace default: added [${NAMES.join(', ')}], already present []`);

    const after = await customAttributes('default');
    expect(after).toMatchObject({
      InvoiceNumber: T.INDEXED_VALUE_TYPE_KEYWORD,
      CustomerId: T.INDEXED_VALUE_TYPE_KEYWORD,
      DunningStage: T.INDEXED_VALUE_TYPE_KEYWORD,
      AmountDue: T.INDEXED_VALUE_TYPE_DOUBLE,
      NextActionAt: T.INDEXED_VALUE_TYPE_DATETIME,
    });

    const second = await setupCommand('default');
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`namespace default: added [], already present [${NAMES.join(', ')}]`);
    expect(await customAttributes('default')).toEqual(after);

    // The ops guide's example queries are accepted by visibility on this namespace.
    for (const query of [
      'DunningStage = "formal-notice" AND AmountDue > 1000',
      'ExecutionStatus = "Running" AND NextActionAt < "2030-01-01T00:00:00Z"',
      'InvoiceNumber = "F-2026-0042"',
    ]) {
      const found = [];
      for await (const wf of env.client.workflow.list({ query })) found.push(wf);
      expect(found).toEqual([]);
    }
  });

  test('an attribute already there with another type: clear error, exit 1, nothing added', async () => {
    await env.connection.operatorService.addSearchAttributes({
      namespace: WRONG_NS,
      searchAttributes: { AmountDue: T.INDEXED_VALUE_TYPE_KEYWORD },
    });
    const res = await setupCommand(WRONG_NS);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `search attribute AmountDue exists on namespace ${WRONG_NS} with another type (INDEXED_VALUE_TYPE_KEYWORD, want INDEXED_VALUE_TYPE_DOUBLE)`,
    );
    const attrs = await customAttributes(WRONG_NS);
    expect(attrs).toEqual({ AmountDue: T.INDEXED_VALUE_TYPE_KEYWORD });
  });
});

