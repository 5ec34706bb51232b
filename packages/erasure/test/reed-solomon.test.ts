import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEncoder } from '../src/index.js';
import { backends, randomShards, rustParity, seeded } from './helpers.js';
import { refEncode, refReconstruct } from './reference.js';
import oneEncode from './vectors/klauspost-one-encode.json' with { type: 'json' };

describe.each(backends)('Reed-Solomon (backend %s)', (backend) => {
  it("reproduces klauspost's TestOneEncode known answer", () => {
    const rs = createEncoder({ dataShards: 5, parityShards: 5, backend });
    const shards = [...oneEncode.data, ...oneEncode.parity.map(() => [0, 0])].map((s) => Uint8Array.from(s));
    rs.encode(shards);
    expect(shards.slice(5).map((s) => [...s])).toEqual(oneEncode.parity);
    expect(rs.verify(shards)).toBe(true);
    shards[8]![0]!++;
    expect(rs.verify(shards)).toBe(false);
  });

  it('reports its shape and kernel', () => {
    const rs = createEncoder({ dataShards: 10, parityShards: 4, backend });
    expect([rs.dataShards, rs.parityShards, rs.totalShards]).toEqual([10, 4, 14]);
    expect(['js', 'wasm-simd', 'wasm-relaxed-simd']).toContain(rs.backend);
    if (backend === 'js') expect(rs.backend).toBe('js');
  });

  for (const seed of [1, 2, 3]) {
    it(`parity equals the slow reference and the Rust codec on random shapes (seed ${seed})`, () => {
      const random = seeded(seed);
      for (let round = 0; round < 12; round++) {
        const k = random.int(1, 24);
        const m = random.int(1, 12);
        const length = random.pick([1, 15, 16, 17, 31, 32, 33, 100, 1000, 4099]);
        const data = randomShards(random, k, length);
        const rs = createEncoder({ dataShards: k, parityShards: m, backend });
        const shards = [...data.map((s) => s.slice()), ...randomShards(random, m, length)];
        rs.encode(shards);
        expect(shards.slice(0, k)).toEqual(data);
        const expected = refEncode(k, m, data).slice(k);
        expect(shards.slice(k)).toEqual(expected);
        expect(shards.slice(k)).toEqual(rustParity(k, m, data));
        expect(rs.verify(shards)).toBe(true);
      }
    });
  }

  it('large shapes agree with the Rust codec (RS(29,51), RS(128,128), RS(200,56))', () => {
    const random = seeded(7);
    for (const [k, m] of [
      [29, 51],
      [128, 128],
      [200, 56],
    ] as const) {
      const data = randomShards(random, k, 333);
      const rs = createEncoder({ dataShards: k, parityShards: m, backend });
      const shards = [...data, ...Array.from({ length: m }, () => new Uint8Array(333))];
      rs.encode(shards);
      expect(shards.slice(k)).toEqual(rustParity(k, m, data));
    }
  });

  it('reconstructs every erasure pattern of RS(4,3) exactly like the reference', () => {
    const random = seeded(11);
    const rs = createEncoder({ dataShards: 4, parityShards: 3, backend });
    const shards = [...randomShards(random, 4, 77), ...randomShards(random, 3, 77)];
    rs.encode(shards);
    for (let mask = 0; mask < 1 << 7; mask++) {
      const lost = [...Array(7).keys()].filter((i) => (mask >> i) & 1);
      if (lost.length > 3) continue;
      const damaged = shards.map((s, i) => (lost.includes(i) ? null : s));
      expect(rs.reconstruct([...damaged])).toEqual(shards);
      expect(refReconstruct(4, 3, damaged)).toEqual(shards);
      const dataOnly = rs.reconstructData([...damaged]);
      expect(dataOnly.slice(0, 4)).toEqual(shards.slice(0, 4));
      for (const [j, s] of dataOnly.slice(4).entries()) expect(s).toBe(damaged[4 + j]);
    }
  });

  it('for random k, m, sizes and any set of <= m lost shards, reconstruct restores every byte (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.boolean(),
        (k, m, length, seed, fullRebuild) => {
          const random = seeded(seed);
          const rs = createEncoder({ dataShards: k, parityShards: m, backend });
          const shards = [...randomShards(random, k, length), ...randomShards(random, m, length)];
          rs.encode(shards);
          const order = random.shuffle([...Array(k + m).keys()]);
          const lost = new Set(order.slice(0, random.int(0, m)));
          const damaged = shards.map((s, i) => (lost.has(i) ? null : s));
          expect(rs.reconstruct(damaged)).toEqual(shards);
          // The in-place form: lost shards hold garbage and are overwritten.
          const inPlace = shards.map((s, i) => (lost.has(i) ? random.bytes(length) : s.slice()));
          const garbage = inPlace.map((s) => s.slice());
          const present = inPlace.map((_, i) => !lost.has(i));
          if (fullRebuild) {
            rs.reconstruct(inPlace, present);
            expect(inPlace).toEqual(shards);
          } else {
            rs.reconstructData(inPlace, present);
            expect(inPlace.slice(0, k)).toEqual(shards.slice(0, k));
            expect(inPlace.slice(k)).toEqual(garbage.slice(k));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('split pads and join trims, round-tripping any data (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 8 }),
        fc.uint8Array({ minLength: 1, maxLength: 2000 }),
        (k, m, data) => {
          const rs = createEncoder({ dataShards: k, parityShards: m, backend });
          const shards = rs.split(data);
          expect(shards).toHaveLength(k + m);
          expect(shards[0]!.length).toBe(rs.shardBytesFor(data.length));
          rs.encode(shards);
          const damaged: (Uint8Array | null)[] = [...shards];
          for (let i = 0; i < Math.min(m, k); i++) damaged[i] = null;
          rs.reconstructData(damaged);
          expect(rs.join(damaged, data.length)).toEqual(data);
          expect(rs.join(shards.slice(0, k), data.length)).toEqual(data);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('caches decode matrices per erasure pattern, bounded', () => {
    const random = seeded(5);
    const rs = createEncoder({ dataShards: 6, parityShards: 3, backend, decodeCacheSize: 2 });
    const shards = [...randomShards(random, 6, 64), ...randomShards(random, 3, 64)];
    rs.encode(shards);
    const lose = (i: number) => shards.map((s, j) => (j === i ? null : s));
    rs.reconstruct(lose(0));
    rs.reconstruct(lose(0));
    expect(rs.stats()).toEqual({ decodeCacheEntries: 1, decodeCacheHits: 1, decodeCacheMisses: 1 });
    rs.reconstruct(lose(1));
    rs.reconstruct(lose(2));
    expect(rs.stats().decodeCacheEntries).toBe(2);
    expect(rs.reconstruct(lose(0))).toEqual(shards);
    expect(rs.stats().decodeCacheMisses).toBe(4);
  });

  it('allocated shards encode and reconstruct in place, and can be released', () => {
    const random = seeded(9);
    const rs = createEncoder({ dataShards: 10, parityShards: 4, backend });
    const shards = rs.allocateShards(4096 + 5);
    expect(shards).toHaveLength(14);
    for (const shard of shards) expect(shard.every((b) => b === 0)).toBe(true);
    for (let i = 0; i < 10; i++) random.fill(shards[i]!);
    rs.encode(shards);
    const expected = shards.map((s) => s.slice());
    expect(shards.slice(10)).toEqual(refEncode(10, 4, expected.slice(0, 10)).slice(10));
    for (const i of [0, 3, 11, 13]) shards[i]!.fill(0xee);
    const present = shards.map((_, i) => ![0, 3, 11, 13].includes(i));
    rs.reconstruct(shards, present);
    expect(shards).toEqual(expected);
    const missing: (Uint8Array | null)[] = [...shards];
    missing[1] = null;
    missing[12] = null;
    rs.reconstruct(missing);
    expect(missing).toEqual(expected);
    rs.releaseShards(shards);
    rs.releaseShards(missing);
  });
});
