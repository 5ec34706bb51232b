import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CapacityExceededError,
  createManifest,
  encodeManifest,
  ManifestInvalidError,
  ManifestNotFoundError,
  ManifestStore,
  objectId,
  StoreClosedError,
  updateHolders,
} from '../src/index.js';
import { tempDir } from './helpers.js';

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
