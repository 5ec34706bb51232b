import { encrypt, ManualClock, seededRandom } from '@trinity/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DecryptPool } from '../src/services/objects/decrypt-pool.js';
import { handleOf, readingService, stripedObject } from './object-fixture.js';

/** An object of `size` bytes in stripes of RS(k, 1) with `shardBytes` shards, every holder honest. */
function setup(k: number, shardBytes: number, size: number, seed: number) {
  const data = seededRandom(seed).bytes(size);
  const { manifest, byHash, stripeBytes } = stripedObject(data, k, 1, shardBytes);
  const transfer = {
    fetch: async (_node: string, hash: Uint8Array) => byHash.get(Buffer.from(hash).toString('hex'))!,
  };
  const service = readingService({ dataShards: k, parityShards: 1, shardBytes }, transfer, {
    clock: new ManualClock(0),
    hedgeAfterMs: 60_000,
  });
  const fetched: number[] = [];
  const fetchStripeParts = service.fetchStripeParts.bind(service);
  service.fetchStripeParts = async (m, stripe) => {
    fetched.push(stripe);
    return fetchStripeParts(m, stripe);
  };
  return { service, manifest: handleOf(manifest), data, fetched, stripeBytes };
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

// Decrypted on the main thread, and by a worker for every read (minBytes 0; apps/node tests run against dist).
const pool = new DecryptPool({
  workers: 1,
  inFlightBytesMax: 64 * 1024,
  workerUrl: new URL('../dist/decrypt-worker.js', import.meta.url),
});
afterAll(() => pool.stop());

describe.each([
  ['on the main thread', undefined],
  ['on a worker', { pool, minBytes: 0 }],
])('ObjectService.read of an encrypted object, decrypted %s', (_how, decryptPool) => {
  it('decrypts exactly the range, opening only the segments that hold it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        async (k, size, a, b, seed) => {
          const plain = seededRandom(seed).bytes(size);
          const key = seededRandom(seed + 1).bytes(32);
          const sealed = await encrypt(plain, { key, segmentBytes: 256 });
          const { manifest, byHash } = stripedObject(sealed, k, 1, 300);
          const service = readingService(
            { dataShards: k, parityShards: 1, shardBytes: 300 },
            {
              fetch: async (_node: string, hash: Uint8Array) =>
                byHash.get(Buffer.from(hash).toString('hex'))!,
            },
            { clock: new ManualClock(0), hedgeAfterMs: 60_000, decryptPool },
          );
          const handle = handleOf(manifest, { size, key, segmentBytes: 256 });
          const start = a % size;
          const end = start + (b % (size - start));
          const bytes = await collect(service.read(handle, { start, end }));
          expect(bytes.equals(plain.subarray(start, end + 1))).toBe(true);
          if (start === 0 && end === size - 1)
            expect((await collect(service.read(handle))).equals(plain)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a wrong key with a typed error', async () => {
    const plain = seededRandom(3).bytes(1000);
    const sealed = await encrypt(plain, { key: new Uint8Array(32).fill(1), segmentBytes: 256 });
    const { manifest, byHash } = stripedObject(sealed, 2, 1, 600);
    const service = readingService(
      { dataShards: 2, parityShards: 1, shardBytes: 600 },
      { fetch: async (_node: string, hash: Uint8Array) => byHash.get(Buffer.from(hash).toString('hex'))! },
      { clock: new ManualClock(0), hedgeAfterMs: 60_000, decryptPool },
    );
    const handle = handleOf(manifest, { size: 1000, key: new Uint8Array(32).fill(2), segmentBytes: 256 });
    await expect(collect(service.read(handle))).rejects.toMatchObject({ code: 'WRONG_KEY', status: 403 });
  });

  it('refuses a changed segment with a typed error, releasing none of it', async () => {
    const key = new Uint8Array(32).fill(1);
    const plain = seededRandom(4).bytes(3000);
    const sealed = await encrypt(plain, { key, segmentBytes: 256 });
    sealed[32 + 5 * 272 + 9]! ^= 1; // a byte of segment 5
    const { manifest, byHash } = stripedObject(sealed, 2, 1, 600);
    const service = readingService(
      { dataShards: 2, parityShards: 1, shardBytes: 600 },
      { fetch: async (_node: string, hash: Uint8Array) => byHash.get(Buffer.from(hash).toString('hex'))! },
      { clock: new ManualClock(0), hedgeAfterMs: 60_000, decryptPool },
    );
    const handle = handleOf(manifest, { size: 3000, key, segmentBytes: 256 });
    const got: Uint8Array[] = [];
    const reading = (async () => {
      for await (const piece of service.read(handle)) got.push(piece);
    })();
    await expect(reading).rejects.toMatchObject({ code: 'OBJECT_DAMAGED', status: 502 });
    // Only authenticated plaintext came out: a prefix ending before segment 5.
    const before = Buffer.concat(got);
    expect(before.length).toBeLessThanOrEqual(5 * 256);
    expect(before.equals(plain.subarray(0, before.length))).toBe(true);
    expect(
      (await collect(service.read(handle, { start: 0, end: 5 * 256 - 1 }))).equals(plain.subarray(0, 1280)),
    ).toBe(true);
  });
});
