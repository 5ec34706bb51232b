import { join } from 'node:path';
import { seededRandom, sha256 } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { SharedDirSync } from '../src/_dir-sync.js';
import { ShardStore, StagingLimitError } from '../src/index.js';
import { listFiles, tempDir } from './helpers.js';

/** An fsync stand-in: each call is recorded and finishes only when the test says so. */
function manualFsync() {
  const calls: { dir: string; finish: (error?: Error) => void }[] = [];
  const fsync = (dir: string) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ dir, finish: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  return { calls, fsync };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedDirSync', () => {
  it('answers a request only with an fsync started after it, one fsync for all who waited', async () => {
    const { calls, fsync } = manualFsync();
    const syncs = new SharedDirSync(fsync);
    const done: string[] = [];
    const first = syncs.sync('/a').then(() => done.push('first'));
    await settle();
    expect(calls).toHaveLength(1);
    // Asked while the first fsync runs: it may have missed their renames, so they wait for the next.
    const later = [1, 2, 3].map((i) => syncs.sync('/a').then(() => done.push(`later${i}`)));
    await settle();
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await first;
    await settle();
    expect(done).toEqual(['first']);
    expect(calls).toHaveLength(2); // the three share the one fsync started after the first
    // Asked while that second fsync runs: a third one, not the second.
    const last = syncs.sync('/a').then(() => done.push('last'));
    calls[1]!.finish();
    await Promise.all(later);
    await settle();
    expect(done).toEqual(['first', 'later1', 'later2', 'later3']);
    expect(calls).toHaveLength(3);
    calls[2]!.finish();
    await last;
    expect(syncs.fsyncs).toBe(3);
    expect(syncs.pending).toBe(0);
  });

  it('keeps folders apart and hands an fsync error to every request it answers', async () => {
    const { calls, fsync } = manualFsync();
    const syncs = new SharedDirSync(fsync);
    const a = syncs.sync('/a');
    const b = syncs.sync('/b');
    await settle();
    expect(calls.map((c) => c.dir)).toEqual(['/a', '/b']);
    const a2 = syncs.sync('/a');
    const a3 = syncs.sync('/a');
    calls[0]!.finish(new Error('EIO'));
    await expect(a).rejects.toThrow('EIO');
    await settle();
    calls[2]!.finish(new Error('EIO again'));
    await expect(a2).rejects.toThrow('EIO again');
    await expect(a3).rejects.toThrow('EIO again');
    calls[1]!.finish();
    await b;
    expect(syncs.pending).toBe(0);
    // After a failure the next request gets a fresh fsync.
    const a4 = syncs.sync('/a');
    await settle();
    calls[3]!.finish();
    await a4;
    expect(syncs.fsyncs).toBe(4);
  });
});

describe('concurrent stages of one transaction', () => {
  const random = seededRandom(29);

  it('all land, durably (fsync on), commit together and leave no temp files', async () => {
    const dir = await tempDir();
    let store = await ShardStore.open(dir);
    const shards = Array.from({ length: 24 }, (_, i) => random.bytes(5000 + i));
    const hashes = await Promise.all(shards.map((data) => store.stage('cccc0001', data)));
    expect(hashes).toEqual(shards.map((data) => sha256(data)));
    // A shard staged again while others are in flight is one shard.
    await Promise.all([store.stage('cccc0001', shards[0]!), store.stage('cccc0001', shards[1]!)]);
    expect(store.stagedShards('cccc0001')).toHaveLength(24);
    expect(await listFiles(join(dir, 'tmp'))).toEqual([]);
    await store.close();
    store = await ShardStore.open(dir);
    expect(store.stagedShards('cccc0001')).toHaveLength(24);
    expect(await store.commitStaged('cccc0001')).toHaveLength(24);
    for (const data of shards) expect(await store.get(sha256(data))).toEqual(data);
    expect(store.stats().stagedShards).toBe(0);
    await store.close();
  });

  it('refuses past the per-transaction limit even when the stages race, and cleans up after them', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, { maxShardsPerTransaction: 5 });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => store.stage('cccc0002', random.bytes(1000 + i))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(StagingLimitError);
    expect(store.stagedShards('cccc0002')).toHaveLength(5);
    expect(await listFiles(join(dir, 'tmp'))).toEqual([]);
    expect(store.stats().stagedShards).toBe(5);
    await store.close();
  });
});
