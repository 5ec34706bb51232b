import { randomSeed, seededRandom, sha256, toHex, utf8ToBytes } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bundle,
  Codebook,
  createFingerprinter,
  FingerprintEncoder,
  FingerprinterFinishedError,
  fingerprint,
  hypervectorsEqual,
  hypervectorToTrits,
  nonzeroCount,
  permute,
  serializeHypervector,
  similarity,
  wasmKernelAvailable,
} from '../src/index.js';
import VECTORS from './vectors/fingerprint.json' with { type: 'json' };

const kernels = wasmKernelAvailable() ? (['js', 'wasm'] as const) : (['js'] as const);
const text = (s: string) => utf8ToBytes(s);

describe('fingerprint: the seed examples', () => {
  for (const dims of [256, 512, 1024, 10_000]) {
    it(`"Hello, World!" ≈ "Hello, Earth!", ≉ "XXXXXXXXXXX", = itself (${dims} dims)`, () => {
      const hello = fingerprint(text('Hello, World!'), { dims });
      expect(similarity(hello, fingerprint(text('Hello, Earth!'), { dims }))).toBeGreaterThanOrEqual(0.6);
      expect(similarity(hello, fingerprint(text('Hello, Earth!'), { dims }))).toBeLessThanOrEqual(0.9);
      expect(Math.abs(similarity(hello, fingerprint(text('XXXXXXXXXXX'), { dims })))).toBeLessThan(0.15);
      expect(similarity(hello, fingerprint(text('Hello, World!'), { dims }))).toBe(1);
    });
  }

  it('a 1 MiB shard and a copy with 10 % of its bytes changed score far above unrelated shards', () => {
    const random = seededRandom(2024);
    const size = 1 << 20;
    const shard = random.bytes(size);
    const edited = shard.slice();
    for (let i = 0; i < size; i++) if (random.nextFloat() < 0.1) edited[i] = random.int(0, 255);
    const unrelated = [random.bytes(size), random.bytes(size)];
    for (const kernel of kernels) {
      const f = fingerprint(shard, { kernel });
      const related = similarity(f, fingerprint(edited, { kernel }));
      expect(related).toBeGreaterThan(0.6);
      for (const other of unrelated)
        expect(Math.abs(similarity(f, fingerprint(other, { kernel })))).toBeLessThan(0.12);
    }
  });

  it('a shared region at the same offset shows as similarity', () => {
    const random = seededRandom(3);
    const region = random.bytes(64 * 1024);
    const a = new Uint8Array(256 * 1024);
    const b = new Uint8Array(256 * 1024);
    random.fill(a);
    random.fill(b);
    a.set(region, 100_000);
    b.set(region, 100_000);
    expect(similarity(fingerprint(a), fingerprint(b))).toBeGreaterThan(0.1);
    expect(Math.abs(similarity(fingerprint(a), fingerprint(random.bytes(256 * 1024))))).toBeLessThan(0.1);
  });
});

describe('fingerprint: exactness', () => {
  /** The definition: bundle of each byte's codebook vector rotated by its position. */
  function reference(data: Uint8Array, dims: number): Int8Array {
    const codebook = Codebook.for(dims);
    if (data.length === 0) return new Int8Array(dims);
    return hypervectorToTrits(
      bundle(
        Array.from(data, (b, i) => permute(codebook.vector(b), i)),
        { kernel: 'js' },
      ),
    );
  }

  it('equals bundle(permute(codebook[b_i], i)) on every kernel and path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(16, 48, 64, 100, 256),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 0, max: 6000 }),
        (dims, seed, length) => {
          // Up to 6000 bytes crosses 16 × dims, where counting replaces direct sums, for the small dims.
          const random = seededRandom(seed);
          const data = random.bytes(length);
          if (length > 0 && random.chance(0.3)) data.fill(data[0]!, 0, length >> 1);
          const expected = Array.from(reference(data, dims));
          for (const kernel of kernels) {
            expect(Array.from(hypervectorToTrits(fingerprint(data, { dims, kernel })))).toEqual(expected);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('gives the same vector however the input is split into chunks', () => {
    const seed = randomSeed();
    const random = seededRandom(seed);
    const data = random.bytes(300_000);
    const whole = fingerprint(data);
    for (const kernel of kernels) {
      const fingerprinter = createFingerprinter({ kernel });
      for (let offset = 0; offset < data.length; ) {
        const end = Math.min(data.length, offset + random.int(0, 40_000));
        fingerprinter.update(data.subarray(offset, end));
        offset = end;
      }
      expect(fingerprinter.bytesSeen).toBe(data.length);
      expect(hypervectorsEqual(fingerprinter.digest(), whole), `seed ${seed}`).toBe(true);
    }
  });

  it('encodes streams, and the empty input as the zero vector', async () => {
    const encoder = new FingerprintEncoder({ dims: 512 });
    const data = seededRandom(9).bytes(50_000);
    async function* pieces() {
      for (let i = 0; i < data.length; i += 7_000) yield data.subarray(i, i + 7_000);
    }
    expect(hypervectorsEqual(await encoder.encodeStream(pieces()), encoder.encode(data))).toBe(true);
    expect(nonzeroCount(encoder.encode(new Uint8Array(0)))).toBe(0);
  });

  it('is reproducible across machines: known fingerprint and codebook digests', () => {
    const codebook = Codebook.for(1024);
    expect(codebook.nonzerosPerVector).toBe(32);
    const digest = (bytes: Uint8Array) => toHex(sha256(bytes)).slice(0, 32);
    expect(digest(serializeHypervector(codebook.vector(0)))).toBe(VECTORS.codebook1024byte0);
    expect(digest(serializeHypervector(codebook.vector(255)))).toBe(VECTORS.codebook1024byte255);
    expect(digest(serializeHypervector(fingerprint(text('Hello, World!'))))).toBe(VECTORS.helloWorld1024);
    for (let b = 0; b < 256; b++) {
      const trits = hypervectorToTrits(codebook.vector(b));
      expect(trits.reduce((s, t) => s + t, 0)).toBe(0);
      expect(trits.reduce((s, t) => s + Math.abs(t), 0)).toBe(32);
    }
  });
});

describe('fingerprint: bad input', () => {
  it('rejects non-bytes, a reused fingerprinter and bad config', () => {
    const fingerprinter = createFingerprinter();
    expect(() => fingerprinter.update('abc' as never)).toThrow(TypeError);
    fingerprinter.digest();
    expect(() => fingerprinter.update(new Uint8Array(1))).toThrow(FingerprinterFinishedError);
    expect(() => fingerprinter.digest()).toThrow(FingerprinterFinishedError);
    expect(() => fingerprint(new Uint8Array(1), { dims: 8 })).toThrow(/dims/);
    expect(() => new FingerprintEncoder({ codebookSeed: -1 })).toThrow(/codebookSeed/);
  });
});
