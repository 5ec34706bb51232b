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
  expect(output).toContain('200 text/plain; version=0.0.4; charset=utf-8');
  expect(output).toContain('trinity_nodes 6');
  expect(output).toContain('trinity_tx_committed_total 1');
  expect(output).toContain('trinity_route_decisions_total{locality="local"} 1');
  expect(output).toContain('convention problems: 0');
  expect(output).toContain('other paths: 404');
});
