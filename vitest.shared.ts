import { defineConfig } from 'vitest/config';

/**
 * The one test setup every package shares. Besides the console reporter, each package writes
 * test-results.json, which .ci/run sums into the closing `N passed, N failed` line.
 */
export function packageTests(options: { testTimeoutMs?: number; fileParallelism?: boolean } = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
      testTimeout: options.testTimeoutMs ?? 30_000,
      hookTimeout: options.testTimeoutMs ?? 30_000,
      fileParallelism: options.fileParallelism ?? true,
      pool: 'forks',
    },
  });
}
