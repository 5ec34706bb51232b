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

  it('fenceStagedAll attaches one token to every staged shard, durably, or none when one is stale', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trinity-fence-'));
    dirs.push(dir);
    let store = await ShardStore.open(dir, { fsync: true });
    const shards = Array.from({ length: 40 }, (_, i) => randomBytes(64 + i));
    for (const data of shards) await store.stage('dddddddd', data);
    await store.fenceStagedAll('dddddddd', 9);
    for (const data of shards) expect(store.highestFencingToken(sha256(data))).toBe(9);
    await store.fenceStagedAll('dddddddd', 9); // idempotent
    await store.close();
    // The token travels with the staged files and the fencing log across a reopen.
    store = await ShardStore.open(dir, { fsync: true });
    expect(store.highestFencingToken(sha256(shards[0]!))).toBe(9);
    await store.stage('eeeeeeee', shards[3]!, { fencingToken: 12 });
    await expect(store.fenceStagedAll('dddddddd', 10)).rejects.toThrow(StaleFencingTokenError);
    expect(store.highestFencingToken(sha256(shards[0]!))).toBe(9); // nothing was attached
    await store.abortStaged('eeeeeeee');
    await expect(store.commitStaged('dddddddd')).rejects.toThrow(StaleFencingTokenError);
    await store.close();
  });

  it('fenceStagedAll then commitStaged moves every shard in (in parallel) and keeps the tokens', async () => {
    const store = await openStore();
    const shards = Array.from({ length: 50 }, (_, i) => randomBytes(32 + i));
    for (const data of shards) await store.stage('ffffffff', data);
    await store.fenceStagedAll('ffffffff', 3);
    expect(await store.commitStaged('ffffffff')).toHaveLength(50);
    for (const data of shards) {
      expect(await store.get(sha256(data))).toEqual(data);
      expect(store.highestFencingToken(sha256(data))).toBe(3);
    }
    expect(store.stats().stagedShards).toBe(0);
    await store.fenceStagedAll('ffffffff', 4); // an unknown (finished) transaction: nothing to do
    await store.close();
  });
});
