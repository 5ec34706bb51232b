import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createSha256,
  createSha256Portable,
  sha256,
  sha256Backend,
  sha256Into,
  sha256Portable,
  toHex,
  utf8ToBytes,
} from '../src/index.js';

describe('sha256', () => {
  it('uses node:crypto on Node', () => {
    expect(sha256Backend).toBe('node:crypto');
  });

  it('matches the FIPS 180-2 known answers, on both implementations', () => {
    const vectors: [string, string][] = [
      ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      [
        'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
        '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
      ],
    ];
    for (const [input, digest] of vectors) {
      expect(toHex(sha256(utf8ToBytes(input)))).toBe(digest);
      expect(toHex(sha256Portable(utf8ToBytes(input)))).toBe(digest);
    }
  });

  it('node:crypto and @noble/hashes agree on random inputs, one-shot and incremental', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.nat(4096), { maxLength: 4 }),
        (data, cuts) => {
          const expected = createHash('sha256').update(data).digest('hex');
          expect(toHex(sha256(data))).toBe(expected);
          expect(toHex(sha256Portable(data))).toBe(expected);
          const points = [...cuts.map((c) => c % (data.length + 1)), data.length].sort((a, b) => a - b);
          const fast = createSha256();
          const portable = createSha256Portable();
          let start = 0;
          for (const point of points) {
            fast.update(data.subarray(start, point));
            portable.update(data.subarray(start, point));
            start = point;
          }
          expect(toHex(fast.digest())).toBe(expected);
          expect(toHex(portable.digest())).toBe(expected);
        },
      ),
    );
  });

  it('returns a plain Uint8Array of 32 bytes', () => {
    const digest = sha256(new Uint8Array(3));
    expect(digest.constructor).toBe(Uint8Array);
    expect(digest).toHaveLength(32);
  });

  it('sha256Into writes the digest at the offset and nothing else, also over its own input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4200 }), fc.nat(64), (data, offset) => {
        const expected = createHash('sha256').update(data).digest('hex');
        const out = new Uint8Array(offset + 32 + 7).fill(0xa5);
        sha256Into(data, out, offset);
        expect(toHex(out.subarray(offset, offset + 32))).toBe(expected);
        expect(out.subarray(0, offset).every((b) => b === 0xa5)).toBe(true);
        expect(out.subarray(offset + 32).every((b) => b === 0xa5)).toBe(true);
        // In place: the input is read before the digest overwrites its first 32 bytes.
        const inPlace = Uint8Array.from(data);
        if (inPlace.length >= 32) {
          sha256Into(inPlace, inPlace, 0);
          expect(toHex(inPlace.subarray(0, 32))).toBe(expected);
        }
      }),
    );
    expect(() => sha256Into(new Uint8Array(1), new Uint8Array(40), 9)).toThrow(RangeError);
    expect(() => sha256Into(new Uint8Array(1), new Uint8Array(40), -1)).toThrow(RangeError);
    expect(() => sha256Into(new Uint8Array(1), [] as unknown as Uint8Array, 0)).toThrow(TypeError);
  });

  it('rejects non-bytes with TypeError', () => {
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => createSha256().update([1, 2] as unknown as Uint8Array)).toThrow(TypeError);
  });
});
