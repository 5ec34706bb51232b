// Sums the vitest JSON reports (test-results.json) of every package into the one plain line CI reads:
// `N passed, N failed` (`, N skipped` when some were skipped). Exits 1 when something failed or no
// report was found.
//
// What counts as failed, besides failed tests (each named on stderr):
// - a test file that failed outside its tests: it did not load (syntax or import error) or a
//   beforeAll/afterAll hook threw (the reason from `message`, or from `errors` that vitest.shared.ts adds
//   for describe blocks). It counts once, and its tests that never ran are not counted as
//   skipped;
// - an error vitest caught outside any test (`numUnhandledErrors`, added by vitest.shared.ts);
// - a package with test files but no report (its vitest crashed or never ran, e.g. its build failed),
//   or a report that cannot be read.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where test projects live, relative to the repository root: every directory under these groups... */
const GROUPS = ['packages', 'apps', 'tools'];
/** ...and these directories themselves. */
const SINGLE_PROJECTS = ['scripts'];
const TEST_FILE = /\.test\.[cm]?[jt]s$/;
const MAX_DEPTH = 8;

/** True when `dir/test` holds a test file (fixtures excluded), i.e. the project must have a report. */
function hasTestFiles(dir, depth = 0) {
  if (!existsSync(dir) || depth > MAX_DEPTH) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name === 'fixtures') continue;
      if (hasTestFiles(join(dir, entry.name), depth + 1)) return true;
    } else if (TEST_FILE.test(entry.name)) {
      return true;
    }
  }
  return false;
}

function projects(root) {
  const dirs = [];
  for (const group of GROUPS) {
    const groupDir = join(root, group);
    if (!existsSync(groupDir)) continue;
    for (const name of readdirSync(groupDir).sort()) {
      const dir = join(groupDir, name);
      if (statSync(dir).isDirectory()) dirs.push(dir);
    }
  }
  for (const name of SINGLE_PROJECTS) {
    const dir = join(root, name);
    if (existsSync(dir)) dirs.push(dir);
  }
  return dirs;
}

function oneLine(text) {
  // Vitest colours some messages; the summary is plain text on one line.
  return (
    String(text ?? '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
      .replace(/\u001b\[[0-9;]*m/g, '')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 200)
  );
}

/** Adds one report's counts to `totals`, naming every failure in `totals.problems`. */
function addReport(totals, dir, project, report) {
  for (const file of report.testResults ?? []) {
    const path = relative(dir, file.name ?? '?');
    const name = path.startsWith('..') ? (file.name ?? '?') : `${project}/${path}`;
    const tests = file.assertionResults ?? [];
    const failedTests = tests.filter((test) => test.status === 'failed');
    totals.passed += tests.filter((test) => test.status === 'passed').length;
    totals.failed += failedTests.length;
    for (const test of failedTests) {
      totals.problems.push(`${name}: ${test.fullName}: ${oneLine(test.failureMessages?.[0])}`);
    }
    const notRun = tests.filter((test) => test.status !== 'passed' && test.status !== 'failed').length;
    if (file.status === 'failed' && failedTests.length === 0) {
      totals.failed += 1;
      const why = oneLine(file.message || file.errors?.[0]) || 'no reason in the report; see the log';
      totals.problems.push(`${name}: failed outside its tests (load or beforeAll/afterAll): ${why}`);
    } else {
      totals.skipped += notRun;
    }
  }
  const unhandled = report.numUnhandledErrors ?? 0;
  if (unhandled > 0) {
    totals.failed += unhandled;
    for (const error of report.unhandledErrors ?? []) {
      totals.problems.push(`${project}: error outside any test: ${oneLine(error)}`);
    }
  }
}

/**
 * Reads every project's test-results.json under `root`.
 * @returns {{passed: number, failed: number, skipped: number, reports: number, problems: string[]}}
 */
export function summarize(root) {
  const totals = { passed: 0, failed: 0, skipped: 0, reports: 0, problems: [] };
  for (const dir of projects(root)) {
    const project = relative(root, dir);
    const file = join(dir, 'test-results.json');
    if (!existsSync(file)) {
      if (hasTestFiles(join(dir, 'test'))) {
        totals.failed += 1;
        totals.problems.push(
          `${project}: has test files but wrote no test-results.json (vitest crashed or never ran)`,
        );
      }
      continue;
    }
    let report;
    try {
      report = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      totals.failed += 1;
      totals.problems.push(`${project}: unreadable test-results.json: ${oneLine(error.message)}`);
      continue;
    }
    totals.reports++;
    addReport(totals, dir, project, report);
  }
  return totals;
}

/** The closing line: `N passed, N failed` and `, N skipped` when some were. */
export function summaryLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const totals = summarize(resolve(process.argv[2] ?? '.'));
  for (const problem of totals.problems) console.error(`FAILED ${problem}`);
  if (totals.reports === 0) console.error('sum-test-results: no test-results.json found: did the tests run?');
  console.log(summaryLine(totals));
  process.exit(totals.reports === 0 || totals.failed > 0 ? 1 : 0);
}
