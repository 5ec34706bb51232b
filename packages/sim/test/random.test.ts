import { describe, expect, it } from 'vitest';
import { SimRandom } from '../src/index.js';

/** SFC32 as specified (PractRand's sfc32), written the plain way: the cross-check for SimRandom. */
function referenceSfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (a + b + d) >>> 0;
    d = (d + 1) >>> 0;
    a = (b ^ (b >>> 9)) >>> 0;
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
}

describe('SimRandom', () => {
  it('is SFC32: the same outputs as a plain reference after the same warm-up', () => {
    for (const seed of [0, 1, 42, 0xffff_ffff, 2 ** 40 + 7]) {
      const ours = new SimRandom(seed, 3);
      const ref = referenceSfc32(seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, 3, 1);
      for (let i = 0; i < 15; i++) ref();
      for (let i = 0; i < 1_000; i++) expect(ours.nextUint32()).toBe(ref());
    }
  });

  it('same seed, same sequence; different seeds, different sequences', () => {
    const draw = (seed: number) => {
      const r = new SimRandom(seed);
      return Array.from({ length: 64 }, () => r.nextUint32());
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('int stays in range and hits both ends; float in [0, 1)', () => {
    const r = new SimRandom(99);
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) {
      const v = r.int(-3, 3);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThanOrEqual(3);
      seen.add(v);
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
    }
    expect(seen.size).toBe(7);
    expect(() => r.int(5, 4)).toThrow(RangeError);
  });

  it('is spread evenly (chi-square over 16 buckets well under the 0.1% critical value)', () => {
    const r = new SimRandom(2024);
    const buckets = new Array<number>(16).fill(0);
    const n = 160_000;
    for (let i = 0; i < n; i++) buckets[r.nextUint32() >>> 28]!++;
    const expected = n / 16;
    const chi = buckets.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    expect(chi).toBeLessThan(37.7); // 15 degrees of freedom, p = 0.001
  });

  it('chance(0) draws nothing; chance(1) always; forks are reproducible and independent', () => {
    const a = new SimRandom(5);
    const b = new SimRandom(5);
    expect(a.chance(0)).toBe(false);
    expect(a.nextUint32()).toBe(b.nextUint32());
    expect(a.chance(1)).toBe(true);
    const fa = new SimRandom(11).fork('network');
    const fb = new SimRandom(11).fork('network');
    const fc = new SimRandom(11).fork('disk');
    const seq = (r: SimRandom) => Array.from({ length: 8 }, () => r.nextUint32());
    const sa = seq(fa);
    expect(sa).toEqual(seq(fb));
    expect(sa).not.toEqual(seq(fc));
  });

  it('rejects a seed that is not a safe non-negative integer', () => {
    expect(() => new SimRandom(-1)).toThrow(RangeError);
    expect(() => new SimRandom(1.5)).toThrow(TypeError);
  });
});
