import { expect } from 'vitest';
import { itRunsExample } from '../../../scripts/example-test.ts';

itRunsExample(
  'the README quick start runs under plain node and prints what it says',
  new URL('../examples/quick-start.mjs', import.meta.url),
  (output) => {
    expect(output).toContain('verified: true');
    expect(output).toContain('restored: The quick brown fox jumps over the lazy dog.');
    expect(output).toContain('TooFewShardsError: need 4 shards to reconstruct, got 3');
    expect(output).toContain('stripes: 3, decoded bytes: 10000');
    expect(output).toMatch(/choose RS\(\d+,\d+\), overhead \d\.\d\d, loss \d\.\d\de-\d+/);
  },
);
