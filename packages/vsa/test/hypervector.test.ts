import { seededRandom } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertHypervector,
  bind,
  bundle,
  cloneHypervector,
  DimensionMismatchError,
  dot,
  hypervectorFromTrits,
  hypervectorsEqual,
  hypervectorToTrits,
  nonzeroCount,
  permute,
  randomHypervector,
  similarity,
  tritAt,
  unbind,
  wasmKernelAvailable,
  zeroHypervector,
} from '../src/index.js';
import { bindRef, bundleRef, dotRef, permuteRef, randomTrits, similarityRef } from './_reference.js';

const dimsArb = fc.oneof(
  fc.constantFrom(16, 31, 32, 33, 256, 1000, 1024),
  fc.integer({ min: 16, max: 2100 }),
);
/** A dimension and a seed: vectors are drawn from the seed so that shrinking stays meaningful. */
const caseArb = fc.record({ dims: dimsArb, seed: fc.integer({ min: 0, max: 2 ** 31 }) });

describe('hypervector packing', () => {
  it('round-trips trits and reads single trits', () => {
    fc.assert(
      fc.property(caseArb, ({ dims, seed }) => {
        const trits = randomTrits(seededRandom(seed), dims);
        const v = hypervectorFromTrits(trits);
        expect(Array.from(hypervectorToTrits(v))).toEqual(Array.from(trits));
        expect(tritAt(v, dims - 1)).toBe(trits[dims - 1]);
        expect(nonzeroCount(v)).toBe(dotRef(trits, trits));
      }),
    );
  });

  it('rejects bad trits, dimensions and non-canonical planes', () => {
    expect(() => hypervectorFromTrits([1, 0, 2, ...new Array(13).fill(0)])).toThrow(RangeError);
    expect(() => zeroHypervector(15)).toThrow(RangeError);
    expect(() => zeroHypervector(10_001)).toThrow(RangeError);
    expect(() => zeroHypervector(1.5)).toThrow(TypeError);
    const v = zeroHypervector(40);
    expect(() => assertHypervector({ ...v, sign: Uint32Array.of(1, 0) })).toThrow(/not canonical/);
    expect(() => assertHypervector({ ...v, nonzero: Uint32Array.of(0, 1 << 9) })).toThrow(
      /past its dimensions/,
    );
    expect(() =>
      assertHypervector({ dims: 40, sign: new Uint32Array(1), nonzero: new Uint32Array(1) }),
    ).toThrow(/2 words/);
    expect(() => assertHypervector('nope')).toThrow(TypeError);
    expect(() => similarity(zeroHypervector(32), zeroHypervector(64))).toThrow(DimensionMismatchError);
  });
});

describe('hypervector algebra against the trit-array model', () => {
  it('bind, permute, dot and similarity match the model', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: -30_000, max: 30_000 }), ({ dims, seed }, shift) => {
        const random = seededRandom(seed);
        const a = randomTrits(random, dims);
        const b = randomTrits(random, dims);
        const va = hypervectorFromTrits(a);
        const vb = hypervectorFromTrits(b);
        expect(Array.from(hypervectorToTrits(bind(va, vb)))).toEqual(Array.from(bindRef(a, b)));
        expect(Array.from(hypervectorToTrits(permute(va, shift)))).toEqual(Array.from(permuteRef(a, shift)));
        expect(dot(va, vb)).toBe(dotRef(a, b));
        expect(similarity(va, vb)).toBeCloseTo(similarityRef(a, b), 14);
      }),
    );
  });

  it('bundle is the majority with ties to 0, on both kernels', () => {
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 1, max: 40 }), ({ dims, seed }, count) => {
        const random = seededRandom(seed);
        const trits = Array.from({ length: count }, () => randomTrits(random, dims));
        const expected = Array.from(bundleRef(trits));
        const vectors = trits.map((t) => hypervectorFromTrits(t));
        expect(Array.from(hypervectorToTrits(bundle(vectors, { kernel: 'js' })))).toEqual(expected);
        if (wasmKernelAvailable()) {
          expect(Array.from(hypervectorToTrits(bundle(vectors, { kernel: 'wasm' })))).toEqual(expected);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('bundles many vectors identically on both kernels (deep counters)', () => {
    const random = seededRandom(7);
    const vectors = Array.from({ length: 3000 }, () => randomHypervector(random, 1000, 0.3));
    const js = bundle(vectors, { kernel: 'js' });
    expect(Array.from(hypervectorToTrits(js))).toEqual(
      Array.from(bundleRef(vectors.map(hypervectorToTrits))),
    );
    if (wasmKernelAvailable()) expect(hypervectorsEqual(bundle(vectors, { kernel: 'wasm' }), js)).toBe(true);
  });
});

describe('hypervector properties', () => {
  it('unbind inverts bind wherever the key is nonzero (exactly, for a dense key)', () => {
    fc.assert(
      fc.property(caseArb, ({ dims, seed }) => {
        const random = seededRandom(seed);
        const a = randomHypervector(random, dims, 0.7);
        const denseKey = randomHypervector(random, dims);
        expect(hypervectorsEqual(unbind(bind(a, denseKey), denseKey), a)).toBe(true);
        const sparseKey = randomHypervector(random, dims, 0.5);
        expect(
          hypervectorsEqual(unbind(bind(a, sparseKey), sparseKey), bind(a, bind(sparseKey, sparseKey))),
        ).toBe(true);
      }),
    );
  });

  it('similarity is symmetric, within [-1, 1], 1 on itself and 0 against zero', () => {
    fc.assert(
      fc.property(caseArb, fc.double({ min: 0, max: 1, noNaN: true }), ({ dims, seed }, density) => {
        const random = seededRandom(seed);
        const a = randomHypervector(random, dims, density);
        const b = randomHypervector(random, dims, density);
        const s = similarity(a, b);
        expect(s).toBe(similarity(b, a));
        expect(s).toBeGreaterThanOrEqual(-1);
        expect(s).toBeLessThanOrEqual(1);
        expect(similarity(a, zeroHypervector(dims))).toBe(0);
        if (nonzeroCount(a) > 0) expect(similarity(a, cloneHypervector(a))).toBe(1);
      }),
    );
  });

  it('a bundle is similar to each member, far more than to an outsider', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 3, max: 9 }), (seed, count) => {
        const random = seededRandom(seed);
        const members = Array.from({ length: count }, () => randomHypervector(random, 4096));
        const outsider = randomHypervector(random, 4096);
        const b = bundle(members);
        for (const member of members) {
          expect(similarity(b, member)).toBeGreaterThan(0.15);
          expect(similarity(b, member)).toBeGreaterThan(similarity(b, outsider) + 0.1);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('bind is dissimilar to its inputs and permute to its input; both preserve similarity', () => {
    const random = seededRandom(11);
    const a = randomHypervector(random, 4096);
    const b = randomHypervector(random, 4096);
    const c = randomHypervector(random, 4096, 0.8);
    expect(Math.abs(similarity(bind(a, b), a))).toBeLessThan(0.1);
    expect(Math.abs(similarity(permute(a, 1), a))).toBeLessThan(0.1);
    expect(similarity(bind(a, c), bind(b, c))).toBeCloseTo(similarity(a, b), 1);
    expect(similarity(permute(a, 77), permute(c, 77))).toBe(similarity(a, c));
    expect(hypervectorsEqual(permute(permute(c, 123), -123), c)).toBe(true);
  });
});
