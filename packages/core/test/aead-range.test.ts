import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cipherRange, concatBytes, DecryptionError, decrypt, encrypt, randomBytes } from '../src/index.js';

const segmentBytes = 256;
const key = new Uint8Array(32).fill(7);

/** The bytes a ranged read feeds: the header, then the sealed segments cipherRange names. */
function rangedInput(sealed: Uint8Array, range: ReturnType<typeof cipherRange>): Uint8Array {
  return concatBytes(sealed.subarray(0, 32), sealed.subarray(range.cipherStart, range.cipherEnd + 1));
}

describe('ranged decryption', () => {
  it('decrypts exactly the requested plaintext bytes of any range', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 * segmentBytes + 3 }),
        fc.nat(),
        fc.nat(),
        async (size, a, b) => {
          const plain = randomBytes(size);
          const sealed = await encrypt(plain, { key, segmentBytes });
          const start = Math.min(a % size, b % size);
          const end = Math.max(a % size, b % size);
          const range = cipherRange(start, end, size, segmentBytes);
          const opened = await decrypt(rangedInput(sealed, range), {
            key,
            firstSegment: range.firstSegment,
            endsAtFinal: range.endsAtFinal,
          });
          const got = opened.subarray(range.skip, range.skip + range.length);
          expect(got).toEqual(plain.subarray(start, end + 1));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('knows the ciphertext offsets of a range (known answer)', () => {
    // 1000 bytes in 256-byte segments: 4 segments of 272 sealed bytes, the last 232 + 16.
    expect(cipherRange(300, 600, 1000, 256)).toEqual({
      cipherStart: 32 + 272,
      cipherEnd: 32 + 3 * 272 - 1,
      firstSegment: 1,
      endsAtFinal: false,
      skip: 44,
      length: 301,
    });
    expect(cipherRange(999, 999, 1000, 256)).toMatchObject({
      cipherEnd: 32 + 3 * 272 + 232 + 16 - 1,
      firstSegment: 3,
      endsAtFinal: true,
    });
  });

  it('refuses a middle segment passed off as the final one, and segments moved elsewhere', async () => {
    const plain = randomBytes(4 * segmentBytes);
    const sealed = await encrypt(plain, { key, segmentBytes });
    const range = cipherRange(0, segmentBytes - 1, plain.length, segmentBytes);
    await expect(decrypt(rangedInput(sealed, range), { key, endsAtFinal: true })).rejects.toBeInstanceOf(
      DecryptionError,
    );
    // Segment 1's bytes claimed as segment 2: the index is in the nonce.
    const one = cipherRange(segmentBytes, segmentBytes, plain.length, segmentBytes);
    await expect(
      decrypt(rangedInput(sealed, one), { key, firstSegment: 2, endsAtFinal: false }),
    ).rejects.toMatchObject({ code: 'DECRYPT_AUTH_FAILED' });
  });

  it('rejects ranges outside the object', () => {
    expect(() => cipherRange(5, 4, 10)).toThrow(RangeError);
    expect(() => cipherRange(0, 10, 10)).toThrow(RangeError);
  });
});
