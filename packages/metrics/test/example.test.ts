import { expect } from 'vitest';
import { itRunsExample } from '../../../scripts/example-test.ts';

itRunsExample(
  'the README quick start runs under plain node and prints what it says',
  new URL('../examples/quick-start.mjs', import.meta.url),
  (output) => {
    expect(output).toContain('200 text/plain; version=0.0.4; charset=utf-8');
    expect(output).toContain('trinity_nodes 6');
    expect(output).toContain('trinity_tx_committed_total 1');
    expect(output).toContain('trinity_route_decisions_total{locality="local"} 1');
    expect(output).toContain('convention problems: 0');
    expect(output).toContain('other paths: 404');
  },
);
