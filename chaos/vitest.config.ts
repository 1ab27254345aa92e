// `npm run chaos*`: the fault tests of tests/faults at chaos scale (FAULT_SCALE=chaos:
// more kills, invoices, replays and fuzz examples, real Temporal timeouts), one file at a
// time, with long timeouts. Too slow for CI; see docs/guarantees.md for what each proves.
// Any FAULT_* variable set in the environment wins (e.g. FAULT_SEED to replay a run).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = (name: string, value: string) => ({ [name]: process.env[name] ?? value });

export default defineConfig({
  root,
  test: {
    include: ['tests/faults/**/*.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    maxWorkers: 1,
    reporters: ['default'],
    setupFiles: ['tests/setup.ts'],
    env: {
      ...env('FAULT_SCALE', 'chaos'),
      // kill -9 of the whole worker (workflow queue too), and Temporal's own 2-minute
      // startToCloseTimeout instead of the test's stand-in.
      ...env('FAULT_KILL_ALL_QUEUES', '1'),
      ...env('FAULT_REAL_TIMEOUTS', '1'),
    },
  },
});
