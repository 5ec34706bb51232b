/**
 * What the packages' example tests share: a README example run by a child node, as a user would run
 * it, and its output handed to the package's own checks.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';

/**
 * A child node is slow on a busy machine, so a generous limit (the child is killed if it hangs),
 * and the test's own limit a little longer.
 */
const childMs = 150_000;
const testMs = childMs + 30_000;

/** A test named `name` that runs `example` (a file URL) under plain node and checks its output. */
export function itRunsExample(name: string, example: URL, check: (output: string) => void): void {
  it(name, { timeout: testMs }, () => {
    const output = execFileSync(process.execPath, [fileURLToPath(example)], {
      encoding: 'utf8',
      timeout: childMs,
    });
    check(output);
  });
}
