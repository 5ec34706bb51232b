import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CapacityExceededError,
  createManifest,
  descriptorId,
  encodeManifest,
  encodeSignedDescriptor,
  encodeSignedTombstone,
  ManifestInvalidError,
  ManifestNotFoundError,
  ManifestStore,
  ObjectDeletedError,
  objectId,
  SignatureInvalidError,
  SignedObjectInvalidError,
  StoreClosedError,
  signDescriptor,
  signReceipt,
  signTombstone,
  updateHolders,
} from '../src/index.js';
import { listFiles, tempDir } from './helpers.js';
import {
  descriptorInput,
  holderAKey,
  holderASecretKey,
  holderBKey,
  holderBSecretKey,
  ownerKey,
  ownerSecretKey,
} from './trust-fixtures.js';

const h = (n: number): string => n.toString(16).padStart(2, '0').repeat(32);

function manifestFor(n: number) {
  return createManifest({
    size: 4,
    erasure: { dataShards: 1, parityShards: 1, shardBytes: 4 },
    stripes: [
      {
        dataBytes: 4,
        shards: [
          { hash: h(n), holders: [{ nodeId: 'a', region: 'us-east' }] },
          { hash: h(n + 1), holders: [{ nodeId: 'b', region: 'eu-west' }] },
        ],
      },
    ],
    createdAtMs: 5,
  });
}

describe('ManifestStore', () => {
  it('puts, gets, lists and deletes; keeps the highest version per id', async () => {
    const dir = await tempDir();
    const store = await ManifestStore.open(dir);
    const m1 = manifestFor(1);
    const id = await store.put(m1);
    expect(id).toBe(objectId(m1));
    expect(await store.get(id)).toEqual(m1);
    const m2 = updateHolders(m1, [
      { stripeIndex: 0, shardIndex: 0, holders: [{ nodeId: 'c', region: 'oceania' }] },
    ]);
    expect(await store.put(m2)).toBe(id);
    expect((await store.get(id)).version).toBe(2);
    await store.put(m1); // older: ignored
    expect((await store.get(id)).version).toBe(2);
    const other = await store.put(manifestFor(7));
    expect(await store.list()).toEqual([id, other].sort());
    expect(await store.has(id)).toBe(true);
    expect(await store.delete(id)).toBe(true);
    expect(await store.delete(id)).toBe(false);
    await expect(store.get(id)).rejects.toBeInstanceOf(ManifestNotFoundError);
    await store.close();
    const again = await ManifestStore.open(dir, { fsync: false });
    expect(await again.list()).toEqual([other]);
    await again.close();
    await expect(again.list()).rejects.toBeInstanceOf(StoreClosedError);
  });

  it('reports a damaged or misplaced file instead of returning it, and rejects path-like ids', async () => {
    const dir = await tempDir();
    const store = await ManifestStore.open(dir, { fsync: false });
    const m = manifestFor(1);
    const id = await store.put(m);
    const other = manifestFor(3);
    // A valid manifest stored under the wrong id.
    await mkdir(join(dir, 'manifests', objectId(other).slice(0, 2)), { recursive: true });
    await writeFile(join(dir, 'manifests', objectId(other).slice(0, 2), objectId(other)), encodeManifest(m));
    await expect(store.get(objectId(other))).rejects.toBeInstanceOf(ManifestInvalidError);
    const bytes = encodeManifest(m);
    bytes[10]! ^= 1;
    await writeFile(join(dir, 'manifests', id.slice(0, 2), id), bytes);
    await expect(store.get(id)).rejects.toBeInstanceOf(ManifestInvalidError);
    for (const bad of ['../../etc/passwd', 'A'.repeat(64), '']) {
      await expect(store.get(bad)).rejects.toBeInstanceOf(ManifestInvalidError);
    }
    await store.close();
  });

  it('enforces its limits', async () => {
    const store = await ManifestStore.open(await tempDir(), {
      fsync: false,
      maxManifests: 1,
      maxManifestBytes: 1024,
    });
    await store.put(manifestFor(1));
    await expect(store.put(manifestFor(5))).rejects.toBeInstanceOf(CapacityExceededError);
    await store.close();
  });
});

describe('ManifestStore: signed descriptors and tombstones', () => {
  const descriptor = signDescriptor(descriptorInput, ownerSecretKey);
  const id = descriptorId(descriptor);
  const nowMs = 1_700_000_100_000;
  const hourMs = 60 * 60_000;
  const tombstone = signTombstone(
    { objectId: id, deletedAtMs: nowMs, retentionMs: 24 * hourMs },
    ownerSecretKey,
  );

  it('stores only verified descriptors and checks them again on the way out', async () => {
    const dir = await tempDir();
    const store = await ManifestStore.open(dir, { fsync: false });
    expect(await store.putDescriptor(descriptor, nowMs)).toBe(id);
    expect(await store.putDescriptor(descriptor, nowMs)).toBe(id);
    expect(await store.getDescriptor(id)).toEqual(descriptor);
    expect(await store.listDescriptors()).toEqual([id]);
    expect(await store.list()).toEqual([]);
    await expect(store.putDescriptor({ ...descriptor, name: 'other.pdf' }, nowMs)).rejects.toBeInstanceOf(
      SignatureInvalidError,
    );
    await expect(store.putDescriptor({ ...descriptor, size: -1 }, nowMs)).rejects.toBeInstanceOf(
      SignedObjectInvalidError,
    );
    // A file altered on disk is reported, never served.
    const path = join(dir, 'descriptors', id.slice(0, 2), id);
    const bytes = encodeSignedDescriptor({ ...descriptor, name: 'evil.pdf' });
    await writeFile(path, bytes);
    await expect(store.getDescriptor(id)).rejects.toBeInstanceOf(SignatureInvalidError);
    await store.close();
  });

  it('frees no shard a descriptor it could not read at first may name (a transient read error)', async () => {
    const dir = await tempDir();
    const first = await ManifestStore.open(dir, { fsync: false });
    const hashes = descriptor.stripes[0]!.shards.map((shard) => shard.hash);
    const twin = signDescriptor({ ...descriptorInput, name: 'twin.pdf' }, ownerSecretKey);
    await first.putDescriptor(descriptor, nowMs);
    await first.putDescriptor(twin, nowMs);
    await first.close();

    const store = await ManifestStore.open(dir, { fsync: false });
    // The twin's file cannot be read once (EMFILE on a busy node), while the references are built.
    const read = store.getDescriptor.bind(store);
    let failed = false;
    store.getDescriptor = async (id: string) => {
      if (id === descriptorId(twin) && !failed) {
        failed = true;
        throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      }
      return read(id);
    };
    // Still held (the twin names them), whatever happened while the references were read.
    expect(await store.unreferencedShards(hashes)).toEqual([]);
    await store.deleteDescriptor(tombstone, nowMs);
    expect(await store.hasDescriptor(descriptorId(twin))).toBe(true);
    expect(await store.unreferencedShards(hashes)).toEqual([]);
    await store.close();
  });

  it('leaves one descriptor out when asked (does another object name these shards?)', async () => {
    const store = await ManifestStore.open(await tempDir(), { fsync: false });
    const hashes = descriptor.stripes[0]!.shards.map((shard) => shard.hash);
    await store.putDescriptor(descriptor, nowMs);
    expect(await store.unreferencedShards(hashes)).toEqual([]);
    expect(await store.unreferencedShards(hashes, { except: descriptorId(descriptor) })).toEqual(hashes);
    const twin = signDescriptor({ ...descriptorInput, name: 'twin.pdf' }, ownerSecretKey);
    await store.putDescriptor(twin, nowMs);
    expect(await store.unreferencedShards(hashes, { except: descriptorId(descriptor) })).toEqual([]);
    expect(await store.unreferencedShards(hashes, { except: descriptorId(twin) })).toEqual([]);
    await store.close();
  });

  it('tells which shards no stored descriptor names, as descriptors come and go and after a restart', async () => {
    const dir = await tempDir();
    const store = await ManifestStore.open(dir, { fsync: false });
    const hashes = descriptor.stripes[0]!.shards.map((shard) => shard.hash);
    const stray = h(0x77);
    expect(await store.unreferencedShards([...hashes, stray])).toEqual([...hashes, stray]);
    await store.putDescriptor(descriptor, nowMs);
    expect(await store.unreferencedShards([...hashes, stray])).toEqual([stray]);
    // Another object with the same shards (content-addressed): deleting one keeps them named.
    const twin = signDescriptor({ ...descriptorInput, name: 'twin.pdf' }, ownerSecretKey);
    await store.putDescriptor(twin, nowMs);
    await store.close();

    // Reopened: the first question reads the descriptors on disk.
    const again = await ManifestStore.open(dir, { fsync: false });
    expect(await again.unreferencedShards(hashes)).toEqual([]);
    await again.deleteDescriptor(tombstone, nowMs);
    expect(await again.unreferencedShards(hashes)).toEqual([]);
    const twinTombstone = signTombstone(
      { objectId: descriptorId(twin), deletedAtMs: nowMs, retentionMs: hourMs },
      ownerSecretKey,
    );
    await again.deleteDescriptor(twinTombstone, nowMs);
    expect(await again.unreferencedShards(hashes)).toEqual(hashes);
    await again.close();
  });

  it('deletes only on the owner tombstone, and refuses the old descriptor replayed after it, across restarts', async () => {
    const dir = await tempDir();
    const store = await ManifestStore.open(dir, { fsync: false });
    await store.putDescriptor(descriptor, nowMs);
    const byOther = signTombstone(
      { objectId: id, deletedAtMs: nowMs, retentionMs: hourMs },
      holderASecretKey,
    );
    await expect(store.deleteDescriptor(byOther, nowMs)).rejects.toBeInstanceOf(SignedObjectInvalidError);
    await expect(store.deleteDescriptor({ ...byOther, owner: ownerKey }, nowMs)).rejects.toBeInstanceOf(
      SignatureInvalidError,
    );
    expect(await store.hasDescriptor(id)).toBe(true);
    await store.deleteDescriptor(tombstone, nowMs);
    expect(await store.hasDescriptor(id)).toBe(false);
    await expect(store.getDescriptor(id)).rejects.toBeInstanceOf(ManifestNotFoundError);
    await expect(store.putDescriptor(descriptor, nowMs + hourMs)).rejects.toBeInstanceOf(ObjectDeletedError);
    // The same tombstone again is fine (the store knows the owner from the first).
    await store.deleteDescriptor(tombstone, nowMs + 1);
    await store.close();

    const again = await ManifestStore.open(dir, { fsync: false });
    expect(again.tombstone(id, nowMs + 2 * hourMs)).toEqual(tombstone);
    await expect(again.putDescriptor(descriptor, nowMs + 2 * hourMs)).rejects.toBeInstanceOf(
      ObjectDeletedError,
    );
    // After the retention the tombstone is forgotten and the object may be stored again.
    const expiredAtMs = nowMs + 24 * hourMs;
    expect(await again.pruneTombstones(expiredAtMs - 1)).toEqual([]);
    expect(await again.putDescriptor(descriptor, expiredAtMs)).toBe(id);
    // Looked at after expiry, the tombstone is still pruned from disk.
    expect(await again.pruneTombstones(expiredAtMs)).toEqual([id]);
    expect(await listFiles(join(dir, 'tombstones'))).toEqual([]);
    await again.close();
  });

  it('accepts a tombstone for an object it does not hold when given the signed descriptor', async () => {
    const store = await ManifestStore.open(await tempDir(), { fsync: false });
    await expect(store.deleteDescriptor(tombstone, nowMs)).rejects.toBeInstanceOf(ManifestNotFoundError);
    const forged = signDescriptor(descriptorInput, holderASecretKey);
    await expect(store.deleteDescriptor(tombstone, nowMs, forged)).rejects.toBeInstanceOf(
      SignedObjectInvalidError,
    );
    await store.deleteDescriptor(tombstone, nowMs, descriptor);
    await expect(store.putDescriptor(descriptor, nowMs)).rejects.toBeInstanceOf(ObjectDeletedError);
    await store.close();
  });

  it('finishes a delete a crash interrupted: tombstone on disk, descriptor still there', async () => {
    const dir = await tempDir();
    const store = await ManifestStore.open(dir, { fsync: false });
    await store.putDescriptor(descriptor, nowMs);
    await store.close();
    await mkdir(join(dir, 'tombstones', id.slice(0, 2)), { recursive: true });
    await writeFile(join(dir, 'tombstones', id.slice(0, 2), id), encodeSignedTombstone(tombstone));
    const again = await ManifestStore.open(dir, { fsync: false });
    expect(await again.hasDescriptor(id)).toBe(false);
    expect(await again.listDescriptors()).toEqual([]);
    await again.close();
  });

  it('keeps checked holder receipts per shard, newest first, and forgets them with the object', async () => {
    const dir = await tempDir();
    const store = await ManifestStore.open(dir, { fsync: false });
    const receiptFor = (shard: number, secretKey: Uint8Array, storedAtMs = nowMs) =>
      signReceipt(
        { objectId: id, stripe: 0, shard, shardHash: descriptor.stripes[0]!.shards[shard]!.hash, storedAtMs },
        secretKey,
      );
    await expect(store.addReceipts(id, [receiptFor(0, holderASecretKey)], nowMs)).rejects.toBeInstanceOf(
      ManifestNotFoundError,
    );
    await store.putDescriptor(descriptor, nowMs);
    const a0 = receiptFor(0, holderASecretKey);
    const b1 = receiptFor(1, holderBSecretKey);
    // A receipt naming another shard's hash, one with a bad signature, and junk are all skipped.
    const wrongHash = {
      ...receiptFor(2, holderASecretKey),
      shardHash: descriptor.stripes[0]!.shards[0]!.hash,
    };
    const badSignature = { ...receiptFor(2, holderBSecretKey), holder: holderAKey };
    expect(await store.addReceipts(id, [b1, a0, wrongHash, badSignature, 'junk', null], nowMs)).toEqual([
      b1,
      a0,
    ]);
    expect(await store.receipts(id)).toEqual([a0, b1]);
    // The same again adds nothing; a newer receipt of the same holder replaces the older one.
    expect(await store.addReceipts(id, [a0, b1], nowMs)).toEqual([]);
    const a0Later = receiptFor(0, holderASecretKey, nowMs + 1000);
    expect(await store.addReceipts(id, [a0Later], nowMs)).toEqual([a0Later]);
    expect(await store.receipts(id)).toEqual([a0Later, b1]);
    expect((await store.receipts(id)).map((r) => r.holder)).toEqual([holderAKey, holderBKey]);
    // With a position, only that shard's receipt of the holder goes (a shard moved elsewhere).
    const a1 = receiptFor(1, holderASecretKey);
    expect(await store.addReceipts(id, [a1], nowMs)).toEqual([a1]);
    expect(await store.dropReceipts(id, holderAKey, { stripe: 0, shard: 1 })).toBe(1);
    expect(await store.dropReceipts(id, holderAKey, { stripe: 0, shard: 1 })).toBe(0);
    expect(await store.receipts(id)).toEqual([a0Later, b1]);
    await expect(store.dropReceipts(id, holderAKey, { stripe: -1, shard: 0 })).rejects.toThrow(RangeError);
    expect(await store.dropReceipts(id, holderBKey)).toBe(1);
    expect(await store.receipts(id)).toEqual([a0Later]);
    await store.deleteDescriptor(tombstone, nowMs);
    await store.putDescriptor(descriptor, nowMs + 400 * 24 * hourMs);
    expect(await store.receipts(id)).toEqual([]);
    await store.close();
  });
});
