// One place that builds Temporal test environments from the binaries the project
// installs (the SDK's own download cannot work offline).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { locateTemporalBinary } from '../../scripts/temporal-bin';
import { registerSearchAttributes } from '../../scripts/setup-search-attributes';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

export async function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: locateTemporalBinary('cli') },
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      extraArgs: ['--log-level', 'error'],
    },
  });
}

export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: locateTemporalBinary('test-server') } },
  });
  // The time-skipping server knows no custom search attributes until told.
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}
