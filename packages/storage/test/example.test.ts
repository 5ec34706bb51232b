import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('the README quick start runs under plain node and prints what it says', () => {
  const example = fileURLToPath(new URL('../examples/quick-start.mjs', import.meta.url));
  const output = execFileSync(process.execPath, [example], { encoding: 'utf8' });
  expect(output).toContain('stored aa96ba99d73c12b8e1e890897dd1f7cbea8532d3b0c4718d70443dcf046ea686');
  expect(output).toContain('read back: hello, shard');
  expect(output).toContain('committed 1 shard; stats: 2 shards');
  expect(output).toMatch(/object id [0-9a-f]{64} round trip ok: true/);
  expect(output).toContain('repair: rebuild shard 1 on node-d');
});
