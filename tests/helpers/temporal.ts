// One place that builds Temporal test environments from the binaries the project
// installs (the SDK's own download cannot work offline).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { dataConverterFromEnv } from '../../codec/index';
import { locateTemporalBinary } from '../../tools/temporal-bin';
import { registerSearchAttributes } from '../../scripts/setup-search-attributes';
import { ALL_SEARCH_ATTRIBUTES } from '../../contracts/search-attributes';

/** `dbFilename`: persist to that SQLite file (default in memory). */
export async function createDevServerEnv(opts: { dbFilename?: string } = {}): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    // The codec on, as in production: tests prove it is transparent.
    client: { dataConverter: dataConverterFromEnv() },
    server: {
      executable: { type: 'existing-path', path: locateTemporalBinary('cli') },
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      extraArgs: ['--log-level', 'error'],
    },
  });
}

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: locateTemporalBinary('test-server') } },
    client: { dataConverter: dataConverterFromEnv() },
  });
  // The time-skipping server knows no custom search attributes until told.
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}
