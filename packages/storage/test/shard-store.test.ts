import { readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryLogger, MemoryMetrics, seededRandom, sha256, toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  CapacityExceededError,
  InvalidShardHashError,
  parseShardHash,
  ShardCorruptError,
  ShardHashMismatchError,
  ShardNotFoundError,
  ShardStore,
  ShardTooLargeError,
  StoreClosedError,
  StoreFormatError,
} from '../src/index.js';
import { listFiles, tempDir } from './helpers.js';

const random = seededRandom(7);
const fast = { fsync: false } as const;

/** Ends a store as a kill would leave it: no index snapshot (the only thing a clean close adds). */
async function crash(store: ShardStore, dir: string): Promise<void> {
  await store.close();
  await unlink(join(dir, 'index'));
}

function shardPath(dir: string, hash: Uint8Array): string {
  const hex = toHex(hash);
  return join(dir, 'shards', hex.slice(0, 2), hex.slice(2, 4), hex);
}

describe('ShardStore basics', () => {
  it('puts, gets, lists and deletes, durable with fsync on', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir);
    const data = random.bytes(5000);
    const hash = await store.put(data);
    expect(toHex(hash)).toBe(toHex(sha256(data)));
    expect(await store.get(hash)).toEqual(data);
    expect(await store.has(hash)).toBe(true);
    expect(await store.size(hash)).toBe(5000);
    expect(await readFile(shardPath(dir, hash))).toEqual(Buffer.from(data));
    const listed: string[] = [];
    for await (const h of store.list()) listed.push(toHex(h));
    expect(listed).toEqual([toHex(hash)]);
    expect(store.stats()).toMatchObject({ shardCount: 1, bytesUsed: 5000, stagedTransactions: 0 });
    expect(await store.delete(hash)).toBe(true);
    expect(await store.delete(hash)).toBe(false);
    expect(await store.has(hash)).toBe(false);
    await expect(store.get(hash)).rejects.toBeInstanceOf(ShardNotFoundError);
    expect(store.stats().bytesUsed).toBe(0);
    await store.close();
  });

  it('is idempotent: the same content twice is one shard, counted once', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    const data = random.bytes(1000);
    const [a, b] = await Promise.all([store.put(data), store.put(data)]);
    await store.put(data);
    expect(toHex(a)).toBe(toHex(b));
    expect(store.stats()).toMatchObject({ shardCount: 1, bytesUsed: 1000 });
    await store.close();
  });

  it('deletes only if nothing wrote the shard since the caller looked (ifWrite)', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    const data = random.bytes(3000);
    const hash = await store.put(data);
    const seen = store.writeOf(hash);
    expect(seen).toBeGreaterThan(0);
    // The same bytes stored again (another object's put) or committed by a transaction: a new write.
    await store.put(data);
    expect(store.writeOf(hash)).not.toBe(seen);
    expect(await store.delete(hash, { ifWrite: seen })).toBe(false);
    expect(await store.has(hash)).toBe(true);
    const txId = toHex(random.bytes(16));
    await store.stage(txId, data);
    const beforeCommit = store.writeOf(hash);
    await store.commitStaged(txId);
    expect(store.writeOf(hash)).not.toBe(beforeCommit);
    expect(await store.delete(hash, { ifWrite: beforeCommit })).toBe(false);
    // Nothing wrote it since: it goes; and a shard deleted and stored again never matches an old look.
    expect(await store.delete(hash, { ifWrite: store.writeOf(hash) })).toBe(true);
    expect(store.writeOf(hash)).toBe(0);
    await store.put(data);
    expect(await store.delete(hash, { ifWrite: beforeCommit })).toBe(false);
    expect(await store.delete(hash, { ifWrite: 0 })).toBe(false);
    await store.close();
  });

  it('rejects a shard whose hash is not the expected one, storing nothing', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const data = random.bytes(100);
    const wrong = sha256(random.bytes(100));
    const error = await store.put(data, { expectedHash: wrong }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardHashMismatchError);
    expect((error as Error).message).toContain(toHex(wrong));
    expect(store.stats().shardCount).toBe(0);
    expect(await listFiles(join(dir, 'shards'))).toEqual([]);
    expect(await store.put(data, { expectedHash: sha256(data) })).toEqual(sha256(data));
    await expect(store.put(data, { expectedHash: new Uint8Array(5) })).rejects.toBeInstanceOf(
      InvalidShardHashError,
    );
    await store.close();
  });

  it('a truncated upload fails with a clear error and leaves nothing behind', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const full = random.bytes(10_000);
    const error = await store
      .put(full.subarray(0, 6_000), { expectedHash: sha256(full) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardHashMismatchError);
    expect((error as Error).message).toMatch(
      /^shard hash mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}$/,
    );
    expect(store.stats()).toMatchObject({ shardCount: 0, bytesUsed: 0 });
    expect(await listFiles(dir)).toEqual(['fencing.log', 'store.json']);
    await store.close();
  });

  it('stays consistent under concurrent puts, gets and deletes of overlapping shards', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const pool = Array.from({ length: 8 }, () => random.bytes(random.int(1, 2000)));
    const ops: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const data = random.pick(pool);
      const roll = random.int(0, 2);
      if (roll === 0) ops.push(store.put(data));
      else if (roll === 1) ops.push(store.delete(sha256(data)));
      else
        ops.push(
          store.get(sha256(data)).then(
            (got) => expect(got).toEqual(data),
            (e: unknown) => expect(e).toBeInstanceOf(ShardNotFoundError),
          ),
        );
    }
    await Promise.all(ops);
    const stats = store.stats();
    await store.close();
    const reopened = await ShardStore.open(dir, fast);
    expect(reopened.stats()).toEqual(stats);
    // Reopened from the snapshot and then by scanning: both agree with what the live store counted.
    await crash(reopened, dir);
    const scanned = await ShardStore.open(dir, fast);
    expect(scanned.stats()).toEqual(stats);
    await scanned.close();
  });

  it('enforces capacity and the shard size limit', async () => {
    const store = await ShardStore.open(await tempDir(), {
      ...fast,
      capacityBytes: 2500,
      maxShardBytes: 1024,
    });
    await expect(store.put(new Uint8Array(1025))).rejects.toBeInstanceOf(ShardTooLargeError);
    await store.put(random.bytes(1000));
    await store.put(random.bytes(1000));
    await expect(store.put(random.bytes(1000))).rejects.toBeInstanceOf(CapacityExceededError);
    // Concurrent puts reserve their bytes: only one of these two fits.
    const results = await Promise.allSettled([store.put(random.bytes(400)), store.put(random.bytes(400))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(store.stats()).toMatchObject({ bytesUsed: 2400, bytesAvailable: 100, shardCount: 3 });
    await store.close();
  });

  it('enforces the shard count limit', async () => {
    const store = await ShardStore.open(await tempDir(), { ...fast, maxShardCount: 2 });
    await store.put(random.bytes(10));
    await store.put(random.bytes(10));
    await expect(store.put(random.bytes(10))).rejects.toBeInstanceOf(CapacityExceededError);
    await store.close();
  });

  it('rejects path-like and malformed ids from outside', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    for (const bad of [
      '../etc/passwd',
      `../${'a'.repeat(61)}`,
      'A'.repeat(64),
      'a'.repeat(63),
      `${'a'.repeat(63)}/`,
      '',
    ]) {
      expect(() => parseShardHash(bad)).toThrow(InvalidShardHashError);
    }
    await expect(store.get(new Uint8Array(31))).rejects.toThrow(InvalidShardHashError);
    await expect(store.get('../x' as unknown as Uint8Array)).rejects.toThrow(InvalidShardHashError);
    await store.close();
  });

  it('names a shard by the knownHash its caller made, without hashing it; a wrong one reads as corrupt', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const data = random.bytes(3000);
    expect(await store.put(data, { knownHash: sha256(data) })).toEqual(sha256(data));
    expect(await store.get(sha256(data))).toEqual(data);
    const other = random.bytes(3000);
    const wrong = sha256(random.bytes(10));
    expect(await store.stage('ab'.repeat(16), other, { knownHash: wrong })).toEqual(wrong);
    await expect(store.put(other, { knownHash: wrong })).resolves.toEqual(wrong);
    await expect(store.get(wrong)).rejects.toBeInstanceOf(ShardCorruptError);
    await expect(store.put(data, { knownHash: new Uint8Array(31) })).rejects.toBeInstanceOf(RangeError);
    await store.close();
  });

  it('never serves a corrupt shard: flipped byte → ShardCorruptError, quarantined, counted', async () => {
    const dir = await tempDir();
    const metrics = new MemoryMetrics();
    const store = await ShardStore.open(dir, fast, { metrics });
    const data = random.bytes(4096);
    const hash = await store.put(data);
    const corrupted = Uint8Array.from(data);
    corrupted[1234]! ^= 0x01;
    await writeFile(shardPath(dir, hash), corrupted);
    const error = await store.get(hash).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardCorruptError);
    expect((error as ShardCorruptError).code).toBe('SHARD_CORRUPT');
    expect(await store.has(hash)).toBe(false);
    expect(store.stats()).toMatchObject({ shardCount: 0, bytesUsed: 0, quarantinedFiles: 1 });
    expect(await readdir(join(dir, 'quarantine'))).toHaveLength(1);
    expect(metrics.value('trinity_storage_corrupt_shards_total')).toBe(1);
    await expect(store.get(hash)).rejects.toBeInstanceOf(ShardNotFoundError);
    // Repair puts the good bytes back.
    await store.put(data);
    expect(await store.get(hash)).toEqual(data);
    await store.close();
  });

  it('reads into a given buffer; its old bytes never make a corrupt or short file pass', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const data = random.bytes(5000);
    const hash = await store.put(data);
    const reused = new Uint8Array(5000).fill(0xee);
    const got = await store.get(hash, { buffer: () => reused });
    expect(got).toBe(reused);
    expect(got).toEqual(data);
    // `reused` now holds the good bytes: a file with one flipped byte is still refused.
    const corrupted = Uint8Array.from(data);
    corrupted[4000]! ^= 0x01;
    await writeFile(shardPath(dir, hash), corrupted);
    await expect(store.get(hash, { buffer: () => reused })).rejects.toBeInstanceOf(ShardCorruptError);
    // A buffer of the wrong size is a programming error, and nothing is served.
    await store.put(data);
    await expect(store.get(hash, { buffer: () => new Uint8Array(10) })).rejects.toThrow(RangeError);
    expect(await store.get(hash)).toEqual(data);
    await store.close();
  });

  it('treats a truncated or grown file as corrupt, and a vanished file as missing', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, { ...fast, maxShardBytes: 1000 });
    const a = await store.put(random.bytes(1000));
    const b = await store.put(random.bytes(1000));
    const c = await store.put(random.bytes(1000));
    await writeFile(shardPath(dir, a), random.bytes(10));
    await writeFile(shardPath(dir, b), random.bytes(5000));
    await unlink(shardPath(dir, c));
    expect(await store.verify(a)).toBe('corrupt');
    expect(await store.verify(b)).toBe('corrupt');
    expect(await store.verify(c)).toBe('missing');
    expect(store.stats().shardCount).toBe(0);
    await store.close();
  });

  it('fails cleanly after close', async () => {
    const store = await ShardStore.open(await tempDir(), fast);
    await store.close();
    await store.close();
    await expect(store.put(new Uint8Array(1))).rejects.toThrow(StoreClosedError);
  });

  it('refuses a directory laid out with a different fan-out', async () => {
    const dir = await tempDir();
    await (await ShardStore.open(dir, fast)).close();
    await expect(ShardStore.open(dir, { ...fast, fanOutLevels: 1 })).rejects.toBeInstanceOf(StoreFormatError);
    await writeFile(join(dir, 'store.json'), '{nope');
    await expect(ShardStore.open(dir, fast)).rejects.toBeInstanceOf(StoreFormatError);
  });

  it('works with no fan-out folders', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, { ...fast, fanOutLevels: 0 });
    const hash = await store.put(random.bytes(10));
    expect(await listFiles(join(dir, 'shards'))).toEqual([toHex(hash)]);
    await store.close();
    const again = await ShardStore.open(dir, { ...fast, fanOutLevels: 0 });
    expect(await again.has(hash)).toBe(true);
    await again.close();
  });
});

describe('ShardStore restart', () => {
  it('reopens from the clean-close index, and by scanning after a crash, with the same accounting', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const hashes: string[] = [];
    for (let i = 0; i < 300; i++) hashes.push(toHex(await store.put(random.bytes(1 + (i % 50)))));
    const before = store.stats();
    await store.close();

    const logger = new MemoryLogger();
    const clean = await ShardStore.open(dir, fast, { logger });
    expect(logger.records.find((r) => r.message === 'shard store opened')?.fields.fromSnapshot).toBe(true);
    expect(clean.stats()).toEqual(before);
    await crash(clean, dir);
    const logger2 = new MemoryLogger();
    const scanned = await ShardStore.open(dir, fast, { logger: logger2 });
    expect(logger2.records.find((r) => r.message === 'shard store opened')?.fields.fromSnapshot).toBe(false);
    expect(scanned.stats()).toEqual(before);
    const listed = new Set<string>();
    for await (const h of scanned.list()) listed.add(toHex(h));
    expect(listed).toEqual(new Set(hashes));
    await scanned.close();
  });

  it('ignores a damaged index snapshot and scans instead', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    await store.put(random.bytes(100));
    await store.close();
    const snapshot = await readFile(join(dir, 'index'));
    snapshot[snapshot.length - 1]! ^= 1;
    await writeFile(join(dir, 'index'), snapshot);
    const again = await ShardStore.open(dir, fast);
    expect(again.stats().shardCount).toBe(1);
    await again.close();
  });

  it('ignores foreign files in the shard folders', async () => {
    const dir = await tempDir();
    const logger = new MemoryLogger();
    const store = await ShardStore.open(dir, fast);
    const hash = await store.put(random.bytes(100));
    await crash(store, dir);
    await writeFile(join(dir, 'shards', 'zz-not-ours'), 'x');
    await writeFile(join(dir, 'shards', toHex(hash).slice(0, 2), toHex(hash).slice(2, 4), 'notes.txt'), 'x');
    const again = await ShardStore.open(dir, fast, { logger });
    expect(again.stats().shardCount).toBe(1);
    expect(logger.records.filter((r) => r.level === 'warn')).toHaveLength(2);
    await again.close();
  });

  it('restarts with 3,000 shards (the bench times 10,000)', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const rng = seededRandom(10_000);
    for (let i = 0; i < 3_000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, () => store.put(rng.bytes(64))));
    }
    await store.close();
    const clean = await ShardStore.open(dir, fast);
    expect(clean.stats()).toMatchObject({ shardCount: 3_000, bytesUsed: 192_000 });
    await crash(clean, dir);
    const scanned = await ShardStore.open(dir, fast);
    expect(scanned.stats()).toMatchObject({ shardCount: 3_000, bytesUsed: 192_000 });
    await scanned.close();
  });
});

describe('fan-out folders', () => {
  const firstLevel = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

  it('a new store has every first-level folder, so a put or commit never makes one', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    expect((await readdir(join(dir, 'shards'))).sort()).toEqual(firstLevel);
    const hash = await store.put(random.bytes(100));
    expect((await readdir(join(dir, 'shards'))).sort()).toEqual(firstLevel);
    expect(await readFile(shardPath(dir, hash))).toHaveLength(100);
    await store.close();
  });

  it('opening a store whose first-level folders are missing makes them again, keeping its shards', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, fast);
    const data = random.bytes(100);
    const hash = await store.put(data);
    await crash(store, dir);
    const kept = toHex(hash).slice(0, 2);
    for (const name of firstLevel)
      if (name !== kept) await rm(join(dir, 'shards', name), { recursive: true });
    const again = await ShardStore.open(dir, fast);
    expect((await readdir(join(dir, 'shards'))).sort()).toEqual(firstLevel);
    expect(await again.get(hash)).toEqual(data);
    // A first-level folder removed behind the open store's back is made again when a put needs it.
    const next = random.bytes(100);
    const prefix = toHex(sha256(next)).slice(0, 2);
    if (prefix !== kept) await rm(join(dir, 'shards', prefix), { recursive: true });
    expect(await again.get(await again.put(next))).toEqual(next);
    await again.close();
  });

  it('a store with one fan-out level puts into the first-level folders it made', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, { ...fast, fanOutLevels: 1 });
    expect((await readdir(join(dir, 'shards'))).sort()).toEqual(firstLevel);
    const hash = await store.put(random.bytes(100));
    expect(await readdir(join(dir, 'shards', toHex(hash).slice(0, 2)))).toEqual([toHex(hash)]);
    await store.close();
  });

  it('a store without fan-out makes no folders under shards/', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, { ...fast, fanOutLevels: 0 });
    expect(await readdir(join(dir, 'shards'))).toEqual([]);
    const hash = await store.put(random.bytes(100));
    expect(await readdir(join(dir, 'shards'))).toEqual([toHex(hash)]);
    await store.close();
  });
});
