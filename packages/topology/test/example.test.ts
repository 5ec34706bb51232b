import { expect } from 'vitest';
import { itRunsExample } from '../../../scripts/example-test.ts';

itRunsExample(
  'the README quick start runs under plain node and prints what it says',
  new URL('../examples/quick-start.mjs', import.meta.url),
  (output) => {
    expect(output).toContain('placement: ny-1 ny-2 dub-2 dub-1 sp-1 sp-2');
    expect(output).toContain('route A 0.976');
    expect(output).toContain('route B 0.687');
    expect(output).toContain('route C 0.505');
    expect(output).toContain('detected region: us-west');
    expect(output).toContain('repair shard 0: ny-1 -> tok-2');
    expect(output).toContain('repair shard 1: ny-2 -> tok-1');
  },
);
