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
  expect(output).toContain('placement: ny-1 ny-2 dub-2 dub-1 sp-1 sp-2');
  expect(output).toContain('route A 0.976');
  expect(output).toContain('route B 0.687');
  expect(output).toContain('route C 0.505');
  expect(output).toContain('detected region: us-west');
  expect(output).toContain('repair shard 0: ny-1 -> tok-1');
  expect(output).toContain('repair shard 1: ny-2 -> tok-2');
});
