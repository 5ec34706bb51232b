import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { seededRandom, sha256, toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  CapacityExceededError,
  InvalidTxIdError,
  ShardHashMismatchError,
  ShardStore,
  StagingLimitError,
  StaleFencingTokenError,
  stagedBundleDigest,
} from '../src/index.js';
import { listFiles, tempDir } from './helpers.js';

const random = seededRandom(11);
const fast = { fsync: false } as const;
const tx1 = 'aaaa0001';
const tx2 = 'bbbb0002';

describe('staging', () => {
  it('stages, then commits: shards appear in the store only at commit', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir); // fsync on
    const a = random.bytes(300);
    const b = random.bytes(200);
    const ha = await store.stage(tx1, a);
    const hb = await store.stage(tx1, b);
    expect(await store.has(ha)).toBe(false);
    expect(store.stagedTransactions()).toEqual([tx1]);
    expect(store.stagedShards(tx1).map(toHex).sort()).toEqual([toHex(ha), toHex(hb)].sort());
    expect(store.stats()).toMatchObject({ shardCount: 0, stagedShards: 2, stagedBytes: 500, bytesUsed: 500 });
    const committed = await store.commitStaged(tx1);
    expect(committed.map(toHex).sort()).toEqual([toHex(ha), toHex(hb)].sort());
    expect(await store.get(ha)).toEqual(a);
    expect(await store.get(hb)).toEqual(b);
    expect(store.stats()).toMatchObject({ shardCount: 2, stagedShards: 0, stagedBytes: 0, bytesUsed: 500 });
    expect(store.stagedTransactions()).toEqual([]);
    expect(await readdir(join(dir, 'staging'))).toEqual([]);
    expect(await store.commitStaged(tx1)).toEqual([]); // idempotent
    await store.close();
  });

  it('aborts: staged shards are deleted and never become visible; abort is idempotent', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const hash = await store.stage(tx1, random.bytes(100));
    await store.abortStaged(tx1);
    await store.abortStaged(tx1);
    await store.abortStaged('cccc0003'); // never staged
    expect(await store.has(hash)).toBe(false);
    expect(store.stats()).toMatchObject({ bytesUsed: 0, stagedTransactions: 0 });
    expect(await listFiles(dir)).toEqual(['fencing.log', 'store.json']);
    await store.close();
  });

  it('committing a shard that is already committed keeps one copy', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    const data = random.bytes(100);
    await store.put(data);
    await store.stage(tx1, data);
    expect(store.stats().bytesUsed).toBe(200);
    await store.commitStaged(tx1);
    expect(store.stats()).toMatchObject({ shardCount: 1, bytesUsed: 100 });
    await store.close();
  });

  it('validates transaction ids: no path-like ids reach the file system', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    for (const bad of ['../../etc', 'AAAA0001', 'abc', 'a'.repeat(65), 'aaaa000/', 'aaaa0001/..', '', 42]) {
      await expect(store.stage(bad as string, random.bytes(1))).rejects.toBeInstanceOf(InvalidTxIdError);
      await expect(store.commitStaged(bad as string)).rejects.toBeInstanceOf(InvalidTxIdError);
      await expect(store.abortStaged(bad as string)).rejects.toBeInstanceOf(InvalidTxIdError);
    }
    await store.close();
  });

  it('checks the expected hash and the limits when staging', async () => {
    const store = await ShardStore.open(await tempDir(), {
      ...fast,
      maxStagedTransactions: 1,
      maxShardsPerTransaction: 2,
      capacityBytes: 1000,
    });
    await expect(
      store.stage(tx1, random.bytes(10), { expectedHash: sha256(random.bytes(10)) }),
    ).rejects.toBeInstanceOf(ShardHashMismatchError);
    await store.stage(tx1, random.bytes(10));
    await store.stage(tx1, random.bytes(10));
    await expect(store.stage(tx1, random.bytes(10))).rejects.toBeInstanceOf(StagingLimitError);
    await expect(store.stage(tx2, random.bytes(10))).rejects.toBeInstanceOf(StagingLimitError);
    await store.abortStaged(tx1);
    await expect(store.stage(tx2, random.bytes(1001 - 0))).rejects.toBeInstanceOf(CapacityExceededError);
    await store.stage(tx2, random.bytes(600));
    await expect(store.put(random.bytes(500))).rejects.toBeInstanceOf(CapacityExceededError);
    await store.close();
  });

  it('survives a restart: staged shards and their state are still there', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const data = random.bytes(100);
    const hash = await store.stage(tx1, data, { fencingToken: 5 });
    await store.close();
    const again = await ShardStore.open(dir, fast);
    expect(again.stagedTransactions()).toEqual([tx1]);
    expect(again.stagedShards(tx1).map(toHex)).toEqual([toHex(hash)]);
    expect(again.stats()).toMatchObject({ stagedBytes: 100, bytesUsed: 100 });
    expect(again.highestFencingToken(hash)).toBe(5);
    expect((await again.commitStaged(tx1)).map(toHex)).toEqual([toHex(hash)]);
    expect(await again.get(hash)).toEqual(data);
    await again.close();
  });
});

describe('staged records (object manifests staged with the shards)', () => {
  const id = (n: number) => n.toString(16).padStart(64, '0');

  it('a transaction of records only is staged, survives a restart, and commits them through publish', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    await store.stageRecord(tx1, id(2), new Uint8Array([2]));
    await store.stageRecord(tx1, id(1), new Uint8Array([1]));
    await store.stageRecord(tx1, id(1), new Uint8Array([1, 1])); // staged again: replaced
    await store.close();
    const again = await ShardStore.open(dir, fast);
    expect(again.stagedTransactions()).toEqual([tx1]);
    expect(again.stagedRecords(tx1)).toEqual([id(1), id(2)]);
    expect(await again.readStagedRecord(tx1, id(1))).toEqual(new Uint8Array([1, 1]));
    const published: string[] = [];
    expect(
      await again.commitStaged(tx1, {
        publish: async (records) => void published.push(...records.map((r) => r.id)),
      }),
    ).toEqual([]);
    expect(published).toEqual([id(1), id(2)]);
    expect(again.stagedTransactions()).toEqual([]);
    expect(await readdir(join(dir, 'staging'))).toEqual([]);
    await again.close();
  });

  it('a publish that throws leaves the commit pending, shards unmoved; the retry finishes it', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const hash = await store.stage(tx1, random.bytes(64));
    await store.stageRecord(tx1, id(5), new Uint8Array([5]));
    await expect(
      store.commitStaged(tx1, {
        publish: async () => {
          throw new Error('manifest store full');
        },
      }),
    ).rejects.toThrow('manifest store full');
    expect(store.isCommitting(tx1)).toBe(true);
    expect(await store.has(hash)).toBe(false);
    await expect(store.abortStaged(tx1)).rejects.toThrow('cannot be aborted');
    await store.commitStaged(tx1, { publish: async () => {} });
    expect(await store.has(hash)).toBe(true);
    await store.close();
  });

  it('checks ids, sizes and counts, and refuses records once the commit began', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, { ...fast, maxRecordsPerTransaction: 2, maxRecordBytes: 1024 });
    await expect(store.stageRecord(tx1, '../../etc/passwd', new Uint8Array(1))).rejects.toThrow(TypeError);
    await expect(store.stageRecord('../x', id(1), new Uint8Array(1))).rejects.toThrow(InvalidTxIdError);
    await expect(store.stageRecord(tx1, id(1), new Uint8Array(1025))).rejects.toThrow(StagingLimitError);
    await store.stageRecord(tx1, id(1), new Uint8Array(1));
    await store.stageRecord(tx1, id(2), new Uint8Array(1));
    await expect(store.stageRecord(tx1, id(3), new Uint8Array(1))).rejects.toThrow(StagingLimitError);
    await store.stageRecord(tx1, id(2), new Uint8Array(2)); // replacing one is not a new one
    await expect(store.readStagedRecord(tx2, id(1))).rejects.toThrow('not found');
    await store.stage(tx2, random.bytes(10));
    await store.stageRecord(tx2, id(7), new Uint8Array(1));
    await expect(
      store.commitStaged(tx2, {
        publish: async () => {
          throw new Error('later');
        },
      }),
    ).rejects.toThrow('later');
    await expect(store.stageRecord(tx2, id(8), new Uint8Array(1))).rejects.toThrow('commit');
    await store.close();
  });

  it('stagedDigest matches the digest of what was sent, and only that', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const shards = [random.bytes(40), random.bytes(40)];
    const hashes = shards.map((shard) => toHex(sha256(shard)));
    await store.stage(tx1, shards[0]!);
    await store.stageRecord(tx1, id(9), new Uint8Array(3));
    const sent = stagedBundleDigest(tx1, 'node-a', [...hashes, hashes[0]!], [id(9)]);
    expect(store.stagedDigest(tx1, 'node-a')).not.toBe(sent); // one shard missing
    await store.stage(tx1, shards[1]!);
    expect(store.stagedDigest(tx1, 'node-a')).toBe(sent);
    expect(store.stagedDigest(tx1, 'node-b')).not.toBe(sent); // bound to the node
    expect(stagedBundleDigest(tx1, 'node-a', [...hashes].reverse(), [id(9)])).toBe(sent); // order-free
    await store.close();
  });
});

describe('fencing tokens', () => {
  it('rejects a put or stage with a token lower than the highest seen for that shard', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    const data = random.bytes(100);
    const hash = await store.stage(tx1, data, { fencingToken: 7 });
    const error = await store.stage(tx2, data, { fencingToken: 6 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StaleFencingTokenError);
    expect((error as StaleFencingTokenError).details).toMatchObject({ token: 6, highestToken: 7 });
    await expect(store.put(data, { fencingToken: 3 })).rejects.toBeInstanceOf(StaleFencingTokenError);
    await store.stage(tx2, data, { fencingToken: 7 }); // equal is fine
    expect(store.highestFencingToken(hash)).toBe(7);
    // A different shard has its own token.
    await store.put(random.bytes(10), { fencingToken: 1 });
    // Writes without a token are not fenced.
    await store.stage('dddd0004', data);
    await store.close();
  });

  it('rejects the commit of a transaction whose token was overtaken, committing nothing of it', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    const shared = random.bytes(100);
    const own = random.bytes(100);
    await store.stage(tx1, own, { fencingToken: 1 });
    await store.stage(tx1, shared, { fencingToken: 1 });
    await store.stage(tx2, shared, { fencingToken: 2 });
    await expect(store.commitStaged(tx1)).rejects.toBeInstanceOf(StaleFencingTokenError);
    expect(store.stats().shardCount).toBe(0);
    expect(store.isCommitting(tx1)).toBe(false);
    await store.abortStaged(tx1);
    expect((await store.commitStaged(tx2)).map(toHex)).toEqual([toHex(sha256(shared))]);
    await store.close();
  });

  it('re-staging a shard with a higher token in the same transaction carries the new token', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    const data = random.bytes(50);
    await store.stage(tx1, data, { fencingToken: 1 });
    await store.stage(tx1, data, { fencingToken: 4 });
    await store.put(data, { fencingToken: 4 });
    expect(await store.commitStaged(tx1)).toHaveLength(1);
    await store.close();
  });

  it('remembers tokens across a restart and a crash (no clean close)', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const staged = random.bytes(100);
    const committed = random.bytes(100);
    await store.stage(tx1, staged, { fencingToken: 9 });
    await store.put(committed, { fencingToken: 12 });
    // A kill leaves no index snapshot; reopen twice (each open compacts the log again).
    await store.close();
    await unlink(join(dir, 'index'));
    await (await ShardStore.open(dir, fast)).close();
    await unlink(join(dir, 'index'));
    const again = await ShardStore.open(dir, fast);
    await expect(again.stage(tx2, staged, { fencingToken: 8 })).rejects.toBeInstanceOf(
      StaleFencingTokenError,
    );
    await expect(again.put(committed, { fencingToken: 11 })).rejects.toBeInstanceOf(StaleFencingTokenError);
    expect(again.highestFencingToken(sha256(staged))).toBe(9);
    await again.close();
  });

  it('drops a torn tail of the fencing log and keeps the rest', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const a = await store.put(random.bytes(10), { fencingToken: 3 });
    const b = await store.put(random.bytes(10), { fencingToken: 4 });
    const { appendFile, readFile, writeFile } = await import('node:fs/promises');
    await store.close();
    await appendFile(join(dir, 'fencing.log'), new Uint8Array(20).fill(7)); // torn record
    const again = await ShardStore.open(dir, fast);
    expect(again.highestFencingToken(a)).toBe(3);
    expect(again.highestFencingToken(b)).toBe(4);
    await again.close();
    // A record with a bad checksum and everything after it is untrusted.
    const log = await readFile(join(dir, 'fencing.log'));
    log[8 + 48 + 45]! ^= 0xff; // the second record's checksum
    await writeFile(join(dir, 'fencing.log'), log);
    const third = await ShardStore.open(dir, fast);
    expect(third.highestFencingToken(a)).toBe(3);
    expect(third.highestFencingToken(b)).toBeUndefined();
    await third.close();
  });
});

describe('fencing log size', () => {
  it('is compacted while running when the same shards are raised many times', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const data = random.bytes(10);
    for (let token = 1; token <= 1500; token++) await store.put(data, { fencingToken: token });
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(dir, 'fencing.log'))).size).toBeLessThan(8 + 48 * 1100);
    expect(store.highestFencingToken(sha256(data))).toBe(1500);
    await store.close();
    const again = await ShardStore.open(dir, fast);
    expect(again.highestFencingToken(sha256(data))).toBe(1500);
    await expect(again.put(data, { fencingToken: 1499 })).rejects.toBeInstanceOf(StaleFencingTokenError);
    await again.close();
  });
});
