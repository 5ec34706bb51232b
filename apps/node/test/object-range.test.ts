import { ManualClock, MemoryLogger, seededRandom } from '@trinity/core';
import { createEncoder } from '@trinity/erasure';
import { createManifest, type Manifest } from '@trinity/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ManifestDirectory } from '../src/services/manifests/manifest-service.js';
import { ObjectService } from '../src/services/objects/object-service.js';
import type { ShardTransfer } from '../src/services/shards/shard-service.js';
import { sha256Hex } from './helpers.js';

/** An object of `size` bytes in stripes of RS(k, 1) with `shardBytes` shards, every holder honest. */
function setup(k: number, shardBytes: number, size: number, seed: number) {
  const random = seededRandom(seed);
  const data = random.bytes(size);
  const encoder = createEncoder({ dataShards: k, parityShards: 1 });
  const stripeBytes = k * shardBytes;
  const byHash = new Map<string, Uint8Array>();
  const stripes: Manifest['stripes'][number][] = [];
  for (let offset = 0; offset < size; offset += stripeBytes) {
    const chunk = data.subarray(offset, Math.min(offset + stripeBytes, size));
    const shards = Array.from({ length: k + 1 }, () => new Uint8Array(shardBytes));
    for (let i = 0; i < k; i++) shards[i]!.set(chunk.subarray(i * shardBytes, (i + 1) * shardBytes));
    encoder.encode(shards);
    for (const shard of shards) byHash.set(sha256Hex(shard), shard);
    stripes.push({
      dataBytes: chunk.length,
      shards: shards.map((shard, i) => ({
        hash: sha256Hex(shard),
        holders: [{ nodeId: `n${i}`, region: 'r' }],
      })),
    });
  }
  const manifest = createManifest({
    size,
    erasure: { dataShards: k, parityShards: 1, shardBytes },
    stripes,
    createdAtMs: 0,
  });
  const transfer = {
    fetch: async (_node: string, hash: Uint8Array) => byHash.get(Buffer.from(hash).toString('hex'))!,
  } as unknown as ShardTransfer;
  const service = new ObjectService(
    {
      selfId: 'self',
      erasure: { dataShards: k, parityShards: 1, shardBytes },
      maxObjectBytes: 1 << 30,
      maxStripesInFlight: 2,
      hedgeAfterMs: 60_000,
    },
    {
      store: undefined as never,
      transfer,
      directory: undefined as unknown as ManifestDirectory,
      nodes: { liveNodes: () => [] },
      placement: { place: () => [], rank: (ids) => [...ids] },
      transactions: { execute: async () => ({ outcome: 'committed' as const }) },
      random: seededRandom(1),
      clock: new ManualClock(0),
      logger: new MemoryLogger(),
    },
  );
  const fetched: number[] = [];
  const fetchStripeParts = service.fetchStripeParts.bind(service);
  service.fetchStripeParts = async (m, stripe) => {
    fetched.push(stripe);
    return fetchStripeParts(m, stripe);
  };
  return { service, manifest, data, fetched, stripeBytes };
}

async function collect(parts: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const part of parts) chunks.push(part);
  return Buffer.concat(chunks);
}

describe('ObjectService.read of a byte range', () => {
  it('yields exactly the range, fetching only the stripes that hold it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 600 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        async (k, shardBytes, size, a, b, seed) => {
          const { service, manifest, data, fetched, stripeBytes } = setup(k, shardBytes, size, seed);
          const start = a % size;
          const end = start + (b % (size - start));
          const bytes = await collect(service.read(manifest, { start, end }));
          expect(bytes.equals(data.subarray(start, end + 1))).toBe(true);
          const first = Math.floor(start / stripeBytes);
          const last = Math.floor(end / stripeBytes);
          expect(fetched).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads the whole object without a range, and nothing of an empty one', async () => {
    const { service, manifest, data, fetched } = setup(2, 10, 95, 7);
    expect((await collect(service.read(manifest))).equals(data)).toBe(true);
    expect(fetched).toEqual([0, 1, 2, 3, 4]);
    const empty = setup(2, 10, 0, 7);
    expect((await collect(empty.service.read(empty.manifest))).length).toBe(0);
  });

  it('refuses a range outside the object before fetching anything', async () => {
    const { service, manifest, fetched } = setup(2, 10, 95, 7);
    for (const range of [
      { start: 0, end: 95 },
      { start: -1, end: 3 },
      { start: 1.5, end: 3 },
    ]) {
      await expect(collect(service.read(manifest, range))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect(await collect(service.read(manifest, { start: 5, end: 4 }))).toHaveLength(0);
    expect(fetched).toEqual([]);
  });
});
