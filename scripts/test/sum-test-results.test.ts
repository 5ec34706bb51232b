import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize, summaryLine } from '../sum-test-results.mjs';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** A minimal vitest JSON report with one file holding the given tests. */
function report(fileStatus: string, tests: Array<[string, string]>, extra: object = {}): string {
  return JSON.stringify({
    testResults: [
      {
        name: '/elsewhere/test/a.test.ts',
        status: fileStatus,
        message: fileStatus === 'failed' ? 'boom' : '',
        assertionResults: tests.map(([title, status]) => ({
          title,
          fullName: title,
          status,
          failureMessages: status === 'failed' ? ['expected 1 to be 2'] : [],
        })),
      },
    ],
    ...extra,
  });
}

describe('summarize on hand-written reports', () => {
  const roots: string[] = [];
  const tree = (files: Record<string, string>): string => {
    const root = mkdtempSync(join(tmpdir(), 'trinity-sum-'));
    roots.push(root);
    for (const [path, text] of Object.entries(files)) write(root, path, text);
    return root;
  };
  afterAll(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('adds passed, failed and skipped tests across packages and apps', () => {
    const root = tree({
      'packages/a/test-results.json': report('failed', [
        ['p1', 'passed'],
        ['f1', 'failed'],
        ['s1', 'skipped'],
      ]),
      'apps/b/test-results.json': report('passed', [
        ['p2', 'passed'],
        ['t1', 'todo'],
      ]),
    });
    const totals = summarize(root);
    expect([totals.passed, totals.failed, totals.skipped, totals.reports]).toEqual([2, 1, 2, 2]);
    expect(totals.problems).toEqual(['/elsewhere/test/a.test.ts: f1: expected 1 to be 2']);
    expect(summaryLine(totals)).toBe('2 passed, 1 failed, 2 skipped');
  });

  it('counts a file that failed outside its tests once, and its tests that never ran not as skipped', () => {
    const root = tree({
      'packages/a/test-results.json': report('failed', [
        ['a', 'skipped'],
        ['b', 'skipped'],
      ]),
    });
    const totals = summarize(root);
    expect(summaryLine(totals)).toBe('0 passed, 1 failed');
    expect(totals.problems[0]).toMatch(/a\.test\.ts: failed outside its tests .*: boom$/);
  });

  it('counts errors outside any test, missing reports and unreadable reports as failures', () => {
    const root = tree({
      'packages/unhandled/test-results.json': report('passed', [['p', 'passed']], {
        numUnhandledErrors: 1,
        unhandledErrors: ['Error: late'],
      }),
      'packages/crashed/test/deep/x.test.ts': '',
      'packages/broken/test-results.json': '{"testResults": [',
      'packages/no-tests/test/fixtures/not-a.test.ts': '',
      'packages/no-tests/src/index.ts': '',
    });
    const totals = summarize(root);
    expect(summaryLine(totals)).toBe('1 passed, 3 failed');
    expect(totals.problems).toEqual([
      expect.stringMatching(/^packages\/broken: unreadable test-results\.json: /),
      'packages/crashed: has test files but wrote no test-results.json (vitest crashed or never ran)',
      'packages/unhandled: error outside any test: Error: late',
    ]);
  });

  it('finds no report in an empty tree', () => {
    const totals = summarize(tree({ 'packages/a/src/index.ts': '' }));
    expect(totals.reports).toBe(0);
    expect(summaryLine(totals)).toBe('0 passed, 0 failed');
  });
});

/**
 * End to end: real vitest runs, with this repository's shared config, on a package whose files fail in
 * every way that is not a failed assertion. These are exactly the files the old summary counted as
 * skipped or not at all.
 */
describe('summarize on real vitest reports', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'trinity-sum-e2e-'));
    const shared = join(repoRoot, 'vitest.shared.ts');
    write(
      root,
      'packages/probe/vitest.config.ts',
      `import { packageTests } from ${JSON.stringify(shared)};\nexport default packageTests();\n`,
    );
    const files: Record<string, string> = {
      'pass.test.ts': "it('passes', () => { expect(1).toBe(1); });\nit.skip('is skipped', () => {});\n",
      'fail.test.ts': "it('fails', () => { expect(1).toBe(2); });\n",
      'syntax.test.ts': "it('never parsed', () => {\n",
      'import.test.ts':
        "import { nothing } from './missing.ts';\nit('never loaded', () => { expect(nothing).toBe(1); });\n",
      'setup.test.ts':
        "beforeAll(() => { throw new Error('setup failed'); });\nit('a', () => {});\nit('b', () => {});\n",
      'cleanup.test.ts': "afterAll(() => { throw new Error('cleanup failed'); });\nit('runs', () => {});\n",
      'nested.test.ts':
        "describe('block', () => {\n  beforeAll(() => { throw new Error('block setup failed'); });\n  it('never runs', () => {});\n});\n" +
        "it('runs', () => {});\n",
      'late.test.ts':
        "it('throws later', () => { setTimeout(() => { throw new Error('late'); }, 1); });\n" +
        "it('waits', async () => { await new Promise((r) => setTimeout(r, 50)); });\n",
    };
    for (const [name, text] of Object.entries(files)) write(root, `packages/probe/test/${name}`, text);
    write(root, 'packages/crashed/test/a.test.ts', '');
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('counts load, setup, cleanup and unhandled errors as failed, and a missing report too', async () => {
    // The nested vitest must not believe it runs inside this one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
    const failed = await run(process.execPath, [vitest, 'run', '--globals'], {
      cwd: join(root, 'packages/probe'),
      env,
      timeout: 240_000,
    }).then(
      () => false,
      (error: { code?: unknown }) => error.code === 1,
    );
    expect(failed).toBe(true);

    const totals = summarize(root);
    expect(summaryLine(totals)).toBe('5 passed, 8 failed, 1 skipped');
    const problems = totals.problems.join('\n');
    expect(problems).toContain('packages/crashed: has test files but wrote no test-results.json');
    expect(problems).toContain('packages/probe/test/fail.test.ts: fails: AssertionError');
    for (const [file, why] of [
      ['syntax', 'PARSE_ERROR'],
      ['import', 'missing.ts'],
      ['setup', 'setup failed'],
      ['cleanup', 'cleanup failed'],
      ['nested', 'Error: block setup failed'],
    ]) {
      expect(problems).toMatch(
        new RegExp(`packages/probe/test/${file}\\.test\\.ts: failed outside its tests .*${why}`),
      );
    }
    expect(problems).toContain('packages/probe: error outside any test: Error: late');
  }, 300_000);
});
