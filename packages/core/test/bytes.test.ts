import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesToUtf8,
  concatBytes,
  equalBytes,
  fromHex,
  isHex,
  randomBytes,
  toHex,
  utf8ToBytes,
  xorBytes,
} from '../src/index.js';

describe('bytes helpers', () => {
  it('hex round-trips and matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const hex = toHex(bytes);
        expect(hex).toBe(Buffer.from(bytes).toString('hex'));
        expect(fromHex(hex)).toEqual(bytes);
        expect(fromHex(hex.toUpperCase())).toEqual(bytes);
        expect(isHex(hex, bytes.length)).toBe(true);
      }),
    );
  });

  it('rejects malformed hex with a clear RangeError', () => {
    expect(() => fromHex('abc')).toThrow(/even length/);
    expect(() => fromHex('zz')).toThrow(/non-hex character at 0/);
    expect(() => fromHex('0g')).toThrow(/non-hex character at 1/);
    expect(isHex('../etc', 3)).toBe(false);
    expect(isHex('AB', 1)).toBe(false);
  });

  it('concat, equal and xor', () => {
    expect(concatBytes(new Uint8Array([1]), new Uint8Array([2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1]), new Uint8Array([1, 3]))).toBe(false);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        (a, b) => {
          expect(xorBytes(xorBytes(a, b), b)).toEqual(a);
        },
      ),
    );
    expect(() => xorBytes(new Uint8Array(2), new Uint8Array(3))).toThrow(RangeError);
  });

  it('utf8 round-trips and rejects malformed input', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(bytesToUtf8(utf8ToBytes(text))).toBe(text);
      }),
    );
    expect(() => bytesToUtf8(new Uint8Array([0xff]))).toThrow(TypeError);
  });

  it('randomBytes fills beyond the 64 KiB getRandomValues limit', () => {
    const bytes = randomBytes(200_000);
    expect(bytes).toHaveLength(200_000);
    expect(bytes.subarray(150_000, 150_064).some((b) => b !== 0)).toBe(true);
  });
});
