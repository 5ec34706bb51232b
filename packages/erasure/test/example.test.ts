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
  expect(output).toContain('verified: true');
  expect(output).toContain('restored: The quick brown fox jumps over the lazy dog.');
  expect(output).toContain('TooFewShardsError: need 4 shards to reconstruct, got 3');
  expect(output).toContain('stripes: 3, decoded bytes: 10000');
  expect(output).toMatch(/choose RS\(\d+,\d+\), overhead \d\.\d\d, loss \d\.\d\de-\d+/);
});
