import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Random, randomSeed, seededRandom, sha256, toHex } from '@trinity/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DimensionMismatchError,
  dot,
  fingerprint,
  type Hypervector,
  hypervectorsEqual,
  IndexFileError,
  IndexFullError,
  nonzeroCount,
  randomHypervector,
  SemanticIndex,
  similarity,
  wasmKernelAvailable,
} from '../src/index.js';
import { compareCosines } from './_reference.js';

const kernels = wasmKernelAvailable() ? (['js', 'wasm'] as const) : (['js'] as const);
const dir = mkdtempSync(join(tmpdir(), 'trinity-vsa-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hashOf = (n: number): Uint8Array => sha256(new Uint8Array(new Uint32Array([n]).buffer));

/** The model: entries in slot order, with the index's swap-remove. */
class Model {
  readonly entries: Array<{ hash: Uint8Array; vector: Hypervector }> = [];
  readonly #at = new Map<string, number>();
  put(hash: Uint8Array, vector: Hypervector): void {
    const at = this.#at.get(toHex(hash));
    if (at !== undefined) this.entries[at] = { hash, vector };
    else this.#at.set(toHex(hash), this.entries.push({ hash, vector }) - 1);
  }
  remove(hash: Uint8Array): boolean {
    const at = this.#at.get(toHex(hash));
    if (at === undefined) return false;
    this.#at.delete(toHex(hash));
    const last = this.entries.pop()!;
    if (at < this.entries.length) {
      this.entries[at] = last;
      this.#at.set(toHex(last.hash), at);
    }
    return true;
  }
  /** Exact order: cosines compared as integers (ties by slot), reported with `similarity`. */
  search(query: Hypervector, k: number, threshold: number): Array<[string, number]> {
    return this.entries
      .map((e, slot) => ({
        hex: toHex(e.hash),
        s: similarity(e.vector, query),
        dot: dot(e.vector, query),
        norm: nonzeroCount(e.vector),
        slot,
      }))
      .filter((x) => x.s >= threshold)
      .sort((a, b) => compareCosines(a.dot, a.norm, b.dot, b.norm) || a.slot - b.slot)
      .slice(0, k)
      .map((x) => [x.hex, x.s]);
  }
}

function randomIndex(random: Random, kernel: 'js' | 'wasm', dims: number, count: number) {
  const index = new SemanticIndex({ dims, kernel, initialCapacity: 1 + random.int(0, 8) });
  const model = new Model();
  for (let i = 0; i < count; i++) {
    const hash = hashOf(random.int(0, count * 2));
    const vector = randomHypervector(random, dims, random.pick([0.05, 0.5, 1]));
    index.addVector(hash, vector);
    model.put(hash, vector);
    if (random.chance(0.1)) {
      const victim = hashOf(random.int(0, count * 2));
      expect(index.remove(victim)).toBe(model.remove(victim));
    }
  }
  return { index, model };
}

const render = (results: Array<{ shardHash: Uint8Array; similarity: number }>) =>
  results.map((r) => [toHex(r.shardHash), r.similarity] as [string, number]);

describe('SemanticIndex search', () => {
  it('is exact: the same hits and order as a brute-force scan (ties by position), on both kernels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom(16, 64, 256, 1000),
        fc.integer({ min: 0, max: 700 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(-1, -0.2, 0, 0.1, 0.3),
        fc.constantFrom(3, 12),
        (seed, dims, count, k, threshold, queryCount) => {
          // 12 queries take the table scan, fewer the popcount scan.
          for (const kernel of kernels) {
            const random = seededRandom(seed);
            const { index, model } = randomIndex(random, kernel, dims, count);
            expect(index.size).toBe(model.entries.length);
            const queries = Array.from({ length: queryCount }, () =>
              randomHypervector(random, dims, random.pick([0.1, 1])),
            );
            if (model.entries.length > 0) queries.push(model.entries[0]!.vector);
            const batch = index.searchBatch(queries, { topK: k, threshold });
            queries.forEach((query, q) => {
              const expected = model.search(query, k, threshold);
              const single = index.search(query, { topK: k, threshold });
              expect(render(single)).toEqual(expected);
              expect(render(batch[q]!)).toEqual(expected);
              for (let i = 1; i < single.length; i++) {
                expect(single[i]!.similarity).toBeLessThanOrEqual(single[i - 1]!.similarity);
              }
            });
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('scans more than 16 queries and more than one block of entries', () => {
    const seed = randomSeed();
    for (const kernel of kernels) {
      const random = seededRandom(seed);
      const { index, model } = randomIndex(random, kernel, 256, 9_000);
      const queries = Array.from({ length: 21 }, () => randomHypervector(random, 256));
      const batch = index.searchBatch(queries, { topK: 7 });
      for (const [q, query] of queries.entries()) {
        expect(render(batch[q]!), `seed ${seed}`).toEqual(model.search(query, 7, -1));
      }
    }
  });

  it('finds a shard by its bytes, and near copies next', () => {
    const random = seededRandom(5);
    const index = new SemanticIndex({ dims: 1024 });
    const shards = Array.from({ length: 50 }, () => random.bytes(8_192));
    for (const [i, shard] of shards.entries()) index.add(hashOf(i), shard);
    const edited = shards[7]!.slice();
    for (let i = 0; i < edited.length; i += 10) edited[i] = random.int(0, 255);
    const [best, second] = index.search(edited, { topK: 2 });
    expect(toHex(best!.shardHash)).toBe(toHex(hashOf(7)));
    expect(best!.similarity).toBeGreaterThan(0.5);
    expect(second!.similarity).toBeLessThan(0.2);
    expect(index.search(shards[3]!, { topK: 1 })[0]!.similarity).toBe(1);
    expect(index.bytes).toBeGreaterThan(50 * 256);
    expect(index.search(fingerprint(shards[3]!), { threshold: 0.9 }).length).toBe(1);
  });

  it('indexes streams like whole inputs', async () => {
    const random = seededRandom(12);
    const data = random.bytes(100_000);
    const index = new SemanticIndex({ dims: 512 });
    async function* chunks() {
      for (let i = 0; i < data.length; i += 9_999) yield data.subarray(i, i + 9_999);
    }
    await index.addStream(hashOf(1), chunks());
    index.add(hashOf(2), data);
    expect(hypervectorsEqual(index.vector(hashOf(1))!, index.vector(hashOf(2))!)).toBe(true);
  });

  it('applies topK, maxResults and threshold', () => {
    const random = seededRandom(8);
    const index = new SemanticIndex({ dims: 256 });
    const query = randomHypervector(random, 256);
    for (let i = 0; i < 30; i++) index.addVector(hashOf(i), i < 5 ? query : randomHypervector(random, 256));
    expect(index.search(query).length).toBe(10);
    expect(index.search(query, { topK: 20, maxResults: 3 }).length).toBe(3);
    const above = index.search(query, { topK: 30, threshold: 0.99 });
    expect(above.map((r) => r.similarity)).toEqual([1, 1, 1, 1, 1]);
    expect(index.search(query, { topK: 30, threshold: 1 }).length).toBe(5);
    expect(new SemanticIndex({ dims: 256 }).search(query)).toEqual([]);
  });
});

describe('SemanticIndex entries', () => {
  it('adds, replaces, reads back and removes', () => {
    const random = seededRandom(2);
    const index = new SemanticIndex({ dims: 128, initialCapacity: 1 });
    const vectors = Array.from({ length: 3_000 }, () => randomHypervector(random, 128, 0.7));
    for (const [i, v] of vectors.entries()) index.addVector(hashOf(i), v);
    expect(index.size).toBe(3_000);
    const replacement = randomHypervector(random, 128);
    index.addVector(hashOf(5), replacement);
    expect(index.size).toBe(3_000);
    expect(hypervectorsEqual(index.vector(hashOf(5))!, replacement)).toBe(true);
    for (let i = 0; i < 3_000; i += 2) expect(index.remove(hashOf(i))).toBe(true);
    expect(index.remove(hashOf(0))).toBe(false);
    expect(index.size).toBe(1_500);
    vectors[5] = replacement;
    for (let i = 1; i < 3_000; i += 2)
      expect(hypervectorsEqual(index.vector(hashOf(i))!, vectors[i]!)).toBe(true);
    expect(index.has(hashOf(2))).toBe(false);
    expect([...index.shardHashes()].length).toBe(1_500);
  });

  it('shardHashes lists every entry once while the caller removes or adds entries', () => {
    const index = new SemanticIndex({ dims: 128 });
    const random = seededRandom(11);
    for (let i = 0; i < 10; i++) index.addVector(hashOf(i), randomHypervector(random, 128));
    const seen: string[] = [];
    for (const hash of index.shardHashes()) {
      seen.push(toHex(hash));
      expect(index.remove(hash)).toBe(true);
      index.addVector(hashOf(100 + seen.length), randomHypervector(random, 128));
    }
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => toHex(hashOf(i))).sort());
    expect(index.size).toBe(10);
    expect(index.has(hashOf(0))).toBe(false);
  });

  it('rejects bad input with clear errors and stops at maxEntries', () => {
    const index = new SemanticIndex({ dims: 256, maxEntries: 2 });
    const v = randomHypervector(seededRandom(1), 256);
    expect(() => index.addVector(new Uint8Array(31), v)).toThrow(/shardHash must be 32 bytes/);
    expect(() => index.addVector(hashOf(1), randomHypervector(seededRandom(1), 512))).toThrow(
      DimensionMismatchError,
    );
    expect(() => index.search(v, { topK: 0 })).toThrow(/topK/);
    expect(() => index.search(v, { threshold: 1.5 })).toThrow(/threshold/);
    expect(() => index.search(v, { topK: 20_000 })).toThrow(/topK/);
    expect(() => index.search('text' as never)).toThrow(TypeError);
    index.addVector(hashOf(1), v);
    index.addVector(hashOf(2), v);
    expect(() => index.addVector(hashOf(3), v)).toThrow(IndexFullError);
    index.addVector(hashOf(2), v);
    expect(index.size).toBe(2);
    expect(() => new SemanticIndex({ dims: 20_000 })).toThrow(/dims/);
  });
});

describe('SemanticIndex files', () => {
  it('round-trips random indexes through save and load (across kernels)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.constantFrom(16, 100, 1024),
        async (seed, dims) => {
          const random = seededRandom(seed);
          const { index } = randomIndex(random, kernels[kernels.length - 1]!, dims, random.int(0, 400));
          const path = join(dir, `round-${seed}-${dims}.idx`);
          await index.save(path);
          const loaded = await SemanticIndex.load(path, { kernel: 'js' });
          expect(loaded.size).toBe(index.size);
          expect(loaded.dims).toBe(dims);
          const saved = [...index.shardHashes()];
          expect([...loaded.shardHashes()].map(toHex)).toEqual(saved.map(toHex));
          for (const hash of saved)
            expect(hypervectorsEqual(loaded.vector(hash)!, index.vector(hash)!)).toBe(true);
          const query = randomHypervector(random, dims);
          expect(render(loaded.search(query))).toEqual(render(index.search(query)));
        },
      ),
      { numRuns: 12 },
    );
  });

  it('rejects corrupted, truncated and foreign files with a clear error', async () => {
    const random = seededRandom(4);
    const { index } = randomIndex(random, 'js', 256, 50);
    const path = join(dir, 'good.idx');
    await index.save(path);
    const good = readFileSync(path);
    const variant = async (name: string, edit: (bytes: Buffer) => Buffer) => {
      const file = join(dir, name);
      writeFileSync(file, edit(Buffer.from(good)));
      return SemanticIndex.load(file).then(
        () => 'loaded',
        (error: unknown) => {
          expect(error).toBeInstanceOf(IndexFileError);
          return (error as Error).message;
        },
      );
    };
    const edit = (at: number, value: (old: number) => number) => (b: Buffer) => {
      b[at] = value(b[at]!);
      return b;
    };
    expect(
      await variant(
        'flip.idx',
        edit(500, (x) => x ^ 1),
      ),
    ).toMatch(/checksum mismatch: the file is corrupt/);
    expect(await variant('short.idx', (b) => b.subarray(0, b.length - 7))).toMatch(/the header implies/);
    expect(await variant('long.idx', (b) => Buffer.concat([b, Buffer.alloc(3)]))).toMatch(
      /the header implies/,
    );
    expect(
      await variant(
        'magic.idx',
        edit(0, () => 0x41),
      ),
    ).toMatch(/bad magic/);
    expect(
      await variant(
        'version.idx',
        edit(8, () => 2),
      ),
    ).toMatch(/unsupported format version 2/);
    expect(await variant('empty.idx', () => Buffer.alloc(0))).toMatch(/too short/);
    await expect(SemanticIndex.load(join(dir, 'missing.idx'))).rejects.toThrow(/cannot open/);
    await expect(SemanticIndex.load(dir)).rejects.toThrow(/is not a regular file/);
    await expect(SemanticIndex.load(path, { dims: 512 })).rejects.toThrow(/not those configured/);
  });

  it('rejects well-checksummed files with duplicate or non-canonical entries', async () => {
    const index = new SemanticIndex({ dims: 64 });
    const random = seededRandom(6);
    index.addVector(hashOf(1), randomHypervector(random, 64, 0.5));
    index.addVector(hashOf(2), randomHypervector(random, 64, 0.5));
    const path = join(dir, 'two.idx');
    await index.save(path);
    const rewrite = (edit: (b: Buffer) => void) => {
      const bytes = Buffer.from(readFileSync(path));
      edit(bytes);
      const body = bytes.subarray(0, bytes.length - 32);
      Buffer.from(sha256(body)).copy(bytes, bytes.length - 32);
      writeFileSync(path, bytes);
    };
    rewrite((b) => b.copy(b, 64 + 32, 64, 96));
    await expect(SemanticIndex.load(path)).rejects.toThrow(/appears twice/);
    await index.save(path);
    rewrite((b) => {
      b.writeUInt32LE(1, 64 + 64);
      b.writeUInt32LE(0, 64 + 64 + 8);
    });
    await expect(SemanticIndex.load(path)).rejects.toThrow(/not a canonical hypervector/);
  });
});
