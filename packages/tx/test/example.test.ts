import { expect } from 'vitest';
import { itRunsExample } from '../../../scripts/example-test.ts';

itRunsExample(
  'the README quick start runs under plain node and prints what it says',
  new URL('../examples/quick-start.mjs', import.meta.url),
  (output) => {
    expect(output).toContain('transaction committed');
    expect(output).toContain('shards committed: 2');
    expect(output).toMatch(/committed: 1,/);
    expect(output).toMatch(/commitAcks: 2,/);
  },
);
