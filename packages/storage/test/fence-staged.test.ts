import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, sha256 } from '@trinity/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardNotFoundError, ShardStore, StaleFencingTokenError } from '../src/index.js';

const dirs: string[] = [];
async function openStore() {
  const dir = await mkdtemp(join(tmpdir(), 'trinity-fence-'));
  dirs.push(dir);
  return ShardStore.open(dir, { fsync: false });
}
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('fenceStaged: a token granted after the bytes were staged', () => {
  it('is attached to the staged shard and enforced at commit', async () => {
    const store = await openStore();
    const data = randomBytes(100);
    const hash = sha256(data);
    await store.stage('aaaaaaaa', data);
    await store.fenceStaged('aaaaaaaa', hash, 5);
    expect(store.highestFencingToken(hash)).toBe(5);
    // A later writer with a higher token wins; the older transaction cannot commit any more.
    await store.stage('bbbbbbbb', data, { fencingToken: 7 });
    await expect(store.fenceStaged('aaaaaaaa', hash, 6)).rejects.toThrow(StaleFencingTokenError);
    await expect(store.commitStaged('aaaaaaaa')).rejects.toThrow(StaleFencingTokenError);
    expect(await store.commitStaged('bbbbbbbb')).toHaveLength(1);
    await store.close();
  });

  it('rejects a shard that is not staged under the transaction', async () => {
    const store = await openStore();
    await expect(store.fenceStaged('cccccccc', sha256(randomBytes(4)), 1)).rejects.toThrow(
      ShardNotFoundError,
    );
    await store.close();
  });
});
