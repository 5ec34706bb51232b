import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GF256_POLYNOMIAL,
  gfAdd,
  gfDiv,
  gfExp,
  gfInv,
  gfLog,
  gfMul,
  gfMulSlice,
  gfMulSliceXor,
  gfPow,
  gfSub,
} from '../src/index.js';
import { refMul, refPow } from './reference.js';
import vectors from './vectors/galois.json' with { type: 'json' };

const element = fc.integer({ min: 0, max: 255 });
const nonZero = fc.integer({ min: 1, max: 255 });

describe('GF(2^8)', () => {
  it('uses the 0x11D polynomial', () => {
    expect(GF256_POLYNOMIAL).toBe(0x11d);
    expect(gfMul(0x80, 2)).toBe(0x1d); // x^7 * x = x^8 = x^4 + x^3 + x^2 + 1
  });

  it('matches the Backblaze / klauspost known answers', () => {
    for (const [a, b, product] of vectors.multiply) expect(gfMul(a!, b!)).toBe(product);
    for (const [a, n, power] of vectors.pow) expect(gfPow(a!, n!)).toBe(power);
    const input = Uint8Array.from(vectors.sliceInput);
    for (const [i, { c, expect: expected }] of vectors.mulSlice.entries()) {
      const out = new Uint8Array(input.length);
      gfMulSlice(c, input, out);
      expect([...out]).toEqual(expected);
      const xorCase = vectors.mulSliceXorAfter[i]!;
      gfMulSliceXor(xorCase.c, input, out);
      expect([...out]).toEqual(xorCase.expect);
    }
  });

  it('multiplies like the bit-by-bit reference for all 65,536 pairs', () => {
    const mismatches: string[] = [];
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) if (gfMul(a, b) !== refMul(a, b)) mismatches.push(`${a}*${b}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('powers match repeated multiplication, with 0^0 = 1', () => {
    expect(gfPow(0, 0)).toBe(1);
    expect(gfPow(0, 5)).toBe(0);
    for (let a = 0; a < 256; a += 7) for (let n = 0; n < 300; n += 13) expect(gfPow(a, n)).toBe(refPow(a, n));
  });

  it('exp and log are inverse, and 2 generates the whole multiplicative group', () => {
    const seen = new Set<number>();
    for (let n = 0; n < 255; n++) {
      seen.add(gfExp(n));
      expect(gfLog(gfExp(n))).toBe(n);
    }
    expect(seen.size).toBe(255);
    expect(gfExp(-1)).toBe(gfExp(254));
    expect(gfExp(255)).toBe(1);
  });

  it('is a field (fast-check)', () => {
    fc.assert(
      fc.property(element, element, element, (a, b, c) => {
        expect(gfMul(a, gfMul(b, c))).toBe(gfMul(gfMul(a, b), c));
        expect(gfMul(a, gfAdd(b, c))).toBe(gfAdd(gfMul(a, b), gfMul(a, c)));
        expect(gfMul(a, b)).toBe(gfMul(b, a));
        expect(gfSub(gfAdd(a, b), b)).toBe(a);
      }),
    );
    fc.assert(
      fc.property(element, nonZero, (a, b) => {
        expect(gfMul(gfDiv(a, b), b)).toBe(a);
        expect(gfMul(b, gfInv(b))).toBe(1);
      }),
    );
  });

  it('rejects what is not a field element', () => {
    expect(() => gfMul(256, 1)).toThrow(RangeError);
    expect(() => gfMul(-1, 1)).toThrow(RangeError);
    expect(() => gfMul(1.5, 1)).toThrow(TypeError);
    expect(() => gfAdd('1' as unknown as number, 1)).toThrow(TypeError);
    expect(() => gfDiv(3, 0)).toThrow(/division by zero/);
    expect(() => gfInv(0)).toThrow(/no inverse/);
    expect(() => gfLog(0)).toThrow(/no logarithm/);
    expect(() => gfPow(2, -1)).toThrow(RangeError);
    expect(() => gfMulSlice(2, new Uint8Array(4), new Uint8Array(3))).toThrow(/shorter/);
    expect(() => gfMulSlice(2, [1, 2] as unknown as Uint8Array, new Uint8Array(3))).toThrow(TypeError);
  });
});
