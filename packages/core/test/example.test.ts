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
  expect(output).toContain('{ replicas: 3 }');
  expect(output).toContain('invalid demo config: replicas: Too big: expected number to be <=16 (got 99)');
  expect(output).toContain('timer fired at 250 ms');
  expect(output).toContain('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});
