import { ConfigError, concatBytes, sha256 } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DataSizeError,
  decodeStripe,
  decodeStripes,
  type EncodedStripe,
  encodeStripes,
  InvalidShardCountError,
  ShardPool,
  ShardTypeError,
  StripeFormatError,
  TooFewShardsError,
} from '../src/index.js';
import { seeded } from './helpers.js';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function* chunked(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

describe('encodeStripes / decodeStripe', () => {
  const options = { dataShards: 4, parityShards: 2, shardBytes: 100 };

  it('with a pool, reuses given-back buffers and encodes exactly as with fresh ones (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3_000 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (length, seed) => {
          const data = seeded(seed).bytes(length);
          const fresh = await collect(encodeStripes(chunked(data, [333]), options));
          const pool = new ShardPool(12);
          // Dirty buffers of the right length in the pool: the last stripe's padding must be zeroed.
          pool.give(Array.from({ length: 6 }, () => new Uint8Array(100).fill(0xa5)));
          const reused = new Set<Uint8Array>();
          let taken = 0;
          for await (const stripe of encodeStripes(chunked(data, [333]), options, pool)) {
            const expected = fresh[stripe.index]!;
            expect(stripe.dataBytes).toBe(expected.dataBytes);
            expect(stripe.hashes).toEqual(expected.hashes);
            expect(stripe.shards).toEqual(expected.shards);
            for (const shard of stripe.shards) {
              if (reused.has(shard)) taken++;
              reused.add(shard);
            }
            pool.give(stripe.shards);
          }
          // After the first stripe every stripe is cut into the buffers given back.
          expect(reused.size).toBe(6);
          expect(taken).toBe((fresh.length - 1) * 6);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a pool keeps buffers of one length, at most keepMax, and never a view into a larger buffer', () => {
    const pool = new ShardPool(2);
    pool.give([new Uint8Array(8), new Uint8Array(8), new Uint8Array(8)]);
    expect(pool.size).toBe(2);
    pool.give([new Uint8Array(16)]);
    expect(pool.size).toBe(1);
    pool.give([new Uint8Array(32).subarray(0, 16)]);
    expect(pool.size).toBe(1);
    expect(pool.take(8)).toHaveLength(8);
    expect(pool.size).toBe(1);
    expect(() => new ShardPool(-1)).toThrow(RangeError);
  });

  it('an empty input yields zero stripes', async () => {
    expect(await collect(encodeStripes([], options))).toEqual([]);
    expect(await collect(encodeStripes([new Uint8Array(0), new Uint8Array(0)], options))).toEqual([]);
  });

  it('cuts any stream into padded stripes with a SHA-256 per shard, and decodes it back (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2_000 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        async (length, sizes, seed) => {
          const random = seeded(seed);
          const data = random.bytes(length);
          const stripes = await collect(
            encodeStripes(
              chunked(
                data,
                sizes.map((s) => s + 1),
              ),
              options,
            ),
          );
          expect(stripes).toHaveLength(Math.ceil(length / 400));
          stripes.forEach((stripe, i) => {
            expect(stripe.index).toBe(i);
            expect(stripe.dataBytes).toBe(Math.min(400, length - 400 * i));
            expect(stripe.shards).toHaveLength(6);
            for (const [j, shard] of stripe.shards.entries()) expect(stripe.hashes[j]).toEqual(sha256(shard));
          });
          const last = stripes.at(-1)!;
          const padding = concatBytes(...last.shards.slice(0, 4)).subarray(last.dataBytes);
          expect(padding.every((b) => b === 0)).toBe(true);
          // Lose up to m shards per stripe, corrupt others' bytes: the decoder still returns the data.
          const damaged = stripes.map((stripe) => {
            const shards: (Uint8Array | null)[] = stripe.shards.map((s) => s.slice());
            const victims = random.shuffle([0, 1, 2, 3, 4, 5]).slice(0, random.int(0, 2));
            for (const v of victims) {
              if (random.chance(0.5)) shards[v] = null;
              else shards[v]![random.int(0, 99)]! ^= 1 + random.int(0, 254);
            }
            return { shards, hashes: stripe.hashes, dataBytes: stripe.dataBytes };
          });
          const decoded = await collect(decodeStripes(damaged, { dataShards: 4, parityShards: 2 }));
          expect(concatBytes(...decoded)).toEqual(data);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('takes sync iterables and one huge chunk', async () => {
    const data = seeded(3).bytes(100_003);
    const stripes = await collect(
      encodeStripes([data], { dataShards: 10, parityShards: 4, shardBytes: 1000 }),
    );
    expect(stripes).toHaveLength(11);
    const bytes = stripes.map((s) =>
      decodeStripe(s.shards, s.hashes, { dataShards: 10, parityShards: 4, dataBytes: s.dataBytes }),
    );
    expect(concatBytes(...bytes)).toEqual(data);
  });

  it('reads the source lazily: one stripe in flight, so an endless stream can be consumed', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      const random = seeded(4);
      for (;;) {
        pulled++;
        yield random.bytes(64);
      }
    }
    const stripes: EncodedStripe[] = [];
    for await (const stripe of encodeStripes(endless(), options)) {
      stripes.push(stripe);
      if (stripes.length === 3) break;
    }
    expect(pulled).toBeLessThanOrEqual(Math.ceil((3 * 400) / 64) + 1);
    expect(new Set(stripes.map((s) => s.shards[0]!.buffer)).size).toBe(3);
  });

  it('treats a shard whose hash mismatches as missing, and needs k valid ones', async () => {
    const [stripe] = await collect(encodeStripes([seeded(8).bytes(333)], options));
    const { shards, hashes, dataBytes } = stripe!;
    const opts = { dataShards: 4, parityShards: 2, dataBytes };
    const corrupt = shards.map((s) => s.slice());
    corrupt[0]![5]! ^= 0xff;
    corrupt[2]![0]! ^= 0x01;
    expect(decodeStripe(corrupt, hashes, opts)).toEqual(concatBytes(...shards).subarray(0, 333));
    corrupt[4]![9]! ^= 0x10;
    expect(() => decodeStripe(corrupt, hashes, opts)).toThrow(TooFewShardsError);
    expect(() => decodeStripe([null, null, null, shards[3]!, shards[4]!, shards[5]!], hashes, opts)).toThrow(
      /need 4 valid shards, got 3/,
    );
  });

  it('rejects bad options, sources and stripes with typed errors', async () => {
    await expect(collect(encodeStripes([], { ...options, dataShards: 0 }))).rejects.toThrow(
      InvalidShardCountError,
    );
    await expect(collect(encodeStripes([], { ...options, shardBytes: 0 }))).rejects.toThrow(ConfigError);
    await expect(collect(encodeStripes(42 as never, options))).rejects.toThrow(ShardTypeError);
    await expect(collect(encodeStripes(['text'] as never, options))).rejects.toThrow(
      /expected Uint8Array chunks/,
    );
    const [stripe] = await collect(encodeStripes([new Uint8Array(10).fill(7)], options));
    const { shards, hashes } = stripe!;
    const opts = { dataShards: 4, parityShards: 2, dataBytes: 10 };
    expect(() => decodeStripe(shards.slice(1), hashes, opts)).toThrow(StripeFormatError);
    expect(() => decodeStripe(shards, hashes.slice(1), opts)).toThrow(StripeFormatError);
    expect(() =>
      decodeStripe(
        shards,
        hashes.map((h) => h.subarray(1)),
        opts,
      ),
    ).toThrow(/32-byte/);
    expect(() => decodeStripe(shards, hashes, { ...opts, dataBytes: 0 })).toThrow(DataSizeError);
    expect(() => decodeStripe(shards, hashes, { ...opts, dataBytes: 401 })).toThrow(DataSizeError);
    expect(() => decodeStripe(['x', ...shards.slice(1)] as never, hashes, opts)).toThrow(ShardTypeError);
    await expect(collect(decodeStripes([null] as never, opts))).rejects.toThrow(StripeFormatError);
  });
});
