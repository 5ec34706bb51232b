import { expect } from 'vitest';
import { itRunsExample } from '../../../scripts/example-test.ts';

itRunsExample(
  'the README quick start runs under plain node and prints what it says',
  new URL('../examples/quick-start.mjs', import.meta.url),
  (output) => {
    expect(output).toContain('Hello/Earth 0.68');
    expect(output).toContain('Hello/XXXX  0.0');
    expect(output).toContain('best match is shard 42: true');
    expect(output).toMatch(/similarity 0\.[6-9]/);
    expect(output).toContain('loaded entries 100');
    expect(output).toContain('bob: ALREADY_LOCKED');
    expect(output).toContain('alice holds it: true');
    expect(output).toContain('fencing token grew: true');
  },
);
