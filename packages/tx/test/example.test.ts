import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('the README quick start runs under plain node and prints what it says', () => {
  const example = fileURLToPath(new URL('../examples/quick-start.mjs', import.meta.url));
  const output = execFileSync(process.execPath, [example], { encoding: 'utf8' });
  expect(output).toContain('transaction committed');
  expect(output).toContain('shards committed: 2');
  expect(output).toMatch(/committed: 1,/);
  expect(output).toMatch(/commitAcks: 2,/);
});
