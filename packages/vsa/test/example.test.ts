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
  expect(output).toContain('Hello/Earth 0.68');
  expect(output).toContain('Hello/XXXX  0.0');
  expect(output).toContain('best match is shard 42: true');
  expect(output).toMatch(/similarity 0\.[6-9]/);
  expect(output).toContain('loaded entries 100');
  expect(output).toContain('bob: ALREADY_LOCKED');
  expect(output).toContain('alice holds it: true');
  expect(output).toContain('fencing token grew: true');
});
