import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/helpers/teardown.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // The real engine and registry: one file at a time, long timeouts, never skipped in CI.
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          setupFiles: ['test/helpers/teardown.ts'],
          testTimeout: 20 * 60_000,
          hookTimeout: 20 * 60_000,
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
