import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { itRunsExample } from '../../../scripts/example-test.ts';

itRunsExample(
  'the README quick start runs under plain node and prints what it says',
  new URL('../examples/quick-start.mjs', import.meta.url),
  (output) => {
    expect(output).toContain('stored aa96ba99d73c12b8e1e890897dd1f7cbea8532d3b0c4718d70443dcf046ea686');
    expect(output).toContain('read back: hello, shard');
    expect(output).toContain('committed 1 shard; stats: 2 shards');
    expect(output).toMatch(/object id [0-9a-f]{64} round trip ok: true/);
    expect(output).toContain('repair: rebuild shard 1 on node-d');
  },
);

it('the README trust example runs and prints what it says', () => {
  const example = fileURLToPath(new URL('../examples/trust.ts', import.meta.url));
  const output = execFileSync(process.execPath, ['--import', 'tsx', example], { encoding: 'utf8' });
  expect(output).toContain(
    'object 87bfeffb7e687807dbd01b919ca35e9144a11c0db1db60e78970092c70156aeb signed: true',
  );
  expect(output).toContain('store authorized: true');
  expect(output).toContain('receipt counts: true');
  expect(output).toContain('proof: {"ok":true,"value":{"leavesVerified":2}}');
  expect(output).toContain('late proof: false');
  expect(output).toContain('replay refused: OBJECT_DELETED');
});
