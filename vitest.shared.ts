import type { SerializedError } from 'vitest';
import { defineConfig } from 'vitest/config';
import { JsonReporter, type TestModule, type TestRunEndReason } from 'vitest/node';

/**
 * Vitest's JSON report plus what it leaves out: errors thrown outside any test (an unhandled rejection,
 * a timer throwing after its test ended) and why the run ended, and per file the errors of its
 * describe blocks (a beforeAll of a describe block that threw). Errors outside tests fail the run
 * (vitest exits 1) while every test passes, so without them the `N passed, N failed` line of .ci/run
 * would read green; without the describe errors it could not say why a file failed.
 */
class JsonReportWithRunErrors extends JsonReporter {
  #unhandledErrors: string[] = [];
  #reason: TestRunEndReason | undefined;
  #fileErrors = new Map<string, string[]>();

  override async onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError> = [],
    reason?: TestRunEndReason,
  ): Promise<void> {
    this.#unhandledErrors = unhandledErrors.map(oneLine);
    this.#reason = reason;
    this.#fileErrors.clear();
    for (const module of testModules) {
      const suites = [...module.children.allSuites()];
      const errors = [...module.errors(), ...suites.flatMap((suite) => suite.errors())];
      if (errors.length > 0) this.#fileErrors.set(module.moduleId, errors.map(oneLine));
    }
    await super.onTestRunEnd(testModules);
  }

  override async writeReport(report: string): Promise<void> {
    const parsed = JSON.parse(report) as { testResults?: Array<{ name: string; errors?: string[] }> };
    for (const file of parsed.testResults ?? []) {
      const errors = this.#fileErrors.get(file.name);
      if (errors !== undefined) file.errors = errors;
    }
    const extended = {
      ...parsed,
      numUnhandledErrors: this.#unhandledErrors.length,
      unhandledErrors: this.#unhandledErrors,
      runEndReason: this.#reason ?? null,
    };
    await super.writeReport(JSON.stringify(extended));
  }
}

function oneLine(error: SerializedError): string {
  return `${error.name ?? 'Error'}: ${error.message}`;
}

/**
 * The one test setup every package shares. Besides the console reporter, each package writes
 * test-results.json, which .ci/run sums into the closing `N passed, N failed` line.
 *
 * Load: `pnpm test` runs at most one turbo task per core (`--concurrency=100%`), and each vitest uses
 * at most half the cores (at least one worker): on a 2-core machine two tasks run at once and each
 * vitest runs one test file at a time, instead of every package's tests at once. Tests must not race
 * the wall clock even so: properties are bounded by `numRuns`, and the default timeout (2 minutes) is a
 * hang detector, not a speed requirement. Tests that start processes pass their own, longer timeout and
 * remove what they started in `afterAll`/`finally`, also when they fail.
 */
export function packageTests(options: { testTimeoutMs?: number; fileParallelism?: boolean } = {}) {
  const timeoutMs = options.testTimeoutMs ?? 120_000;
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      reporters: ['default', new JsonReportWithRunErrors({ outputFile: 'test-results.json' })],
      testTimeout: timeoutMs,
      hookTimeout: timeoutMs,
      teardownTimeout: timeoutMs,
      fileParallelism: options.fileParallelism ?? true,
      maxWorkers: '50%',
      pool: 'forks',
    },
  });
}
