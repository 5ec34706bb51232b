import { ManualClock, MemoryLogger, seededRandom } from '@trinity/core';
import type { ManifestStore } from '@trinity/storage';
import { ShardStore } from '@trinity/storage';
import { afterAll, describe, expect, it } from 'vitest';
import { gcService } from '../src/services/gc/gc-service.js';
import { tempDir } from './helpers.js';

/**
 * The collector against a commit that races it: the same bytes are stored anew (another object's
 * shard) while a sweep is listing descriptors. The sweep decided from a listing that predates that
 * write, so it must keep the shard; the next sweep, with nothing written meanwhile, may take it.
 */
describe('garbage collection racing a write of the same shard', () => {
  const dirs: Awaited<ReturnType<typeof tempDir>>[] = [];
  afterAll(async () => {
    for (const dir of dirs) await dir.remove();
  });

  it('keeps a shard written during the sweep, and collects it once nothing writes it', async () => {
    const dir = await tempDir('trinity-gc-race-');
    dirs.push(dir);
    const store = await ShardStore.open(dir.path, { fsync: false });
    try {
      const data = seededRandom(3).bytes(4096);
      const hash = await store.put(data);
      let writeDuringListing = true;
      const manifests = {
        listDescriptors: async () => {
          if (writeDuringListing) await store.put(data); // a commit of the same bytes lands now
          return [];
        },
        getDescriptor: async () => {
          throw new Error('no descriptors');
        },
        hasDescriptor: async () => false,
      } as unknown as ManifestStore;
      const gc = gcService({ enabled: false, intervalMs: 1_000, graceMs: 0 })({
        store,
        manifests,
        clock: new ManualClock(0),
        logger: new MemoryLogger(),
      });
      const raced = await gc.sweep();
      expect(raced.collectedShards).toBe(0);
      expect(await store.has(hash)).toBe(true);
      writeDuringListing = false;
      const quiet = await gc.sweep();
      expect(quiet.collectedShards).toBe(1);
      expect(await store.has(hash)).toBe(false);
    } finally {
      await store.close();
    }
  });
});
