import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// A child node runs the example: slow on a busy machine, so a generous limit (the child is killed if it
// hangs), and the test's own limit a little longer.
const timeout = 150_000;

it('the README quick start runs under plain node and prints what it says', {
  timeout: timeout + 30_000,
}, () => {
  const example = fileURLToPath(new URL('../examples/quick-start.mjs', import.meta.url));
  const output = execFileSync(process.execPath, [example], { encoding: 'utf8', timeout });
  // Fixed keys, fixed clock: the whole output is known.
  expect(output).toBe(
    [
      'escrow open, locked 7500',
      'escrow returned',
      "alice stake: 100000, carol's delegation: 50000",
      'alice reputation: 0.605',
      'same state after replay: true',
      '',
    ].join('\n'),
  );
});
