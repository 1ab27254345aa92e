import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Workflow bundling and real servers are slow to start; tests set their own longer timeouts.
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: files that start Temporal servers must not all run at once.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
    setupFiles: ['tests/setup.ts'],
  },
});
