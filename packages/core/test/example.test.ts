import { expect } from 'vitest';
import { itRunsExample } from '../../../scripts/example-test.ts';

itRunsExample(
  'the README quick start runs under plain node and prints what it says',
  new URL('../examples/quick-start.mjs', import.meta.url),
  (output) => {
    expect(output).toContain('{ replicas: 3 }');
    expect(output).toContain('invalid demo config: replicas: Too big: expected number to be <=16 (got 99)');
    expect(output).toContain('timer fired at 250 ms');
    expect(output).toContain('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  },
);
