// One place that builds Temporal test environments from the binaries the project
// installs (the SDK's own download cannot work offline).
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { locateTemporalBinary } from '../../scripts/temporal-bin';
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
  return TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: locateTemporalBinary('test-server') } },
  });
}
