import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('the README quick start runs and prints what it says', () => {
  const example = fileURLToPath(new URL('../examples/quick-start.ts', import.meta.url));
  const output = execFileSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8' });
  expect(output).toContain('escrow open, locked 7500');
  expect(output).toContain('escrow returned');
  expect(output).toContain("alice stake: 100000, carol's delegation: 50000");
  expect(output).toMatch(/alice reputation: 0\.[6-9]\d\d/);
  expect(output).toContain('same state after replay: true');
});
