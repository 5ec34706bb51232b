import { seededRandom } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DimensionMismatchError,
  deserializeHypervector,
  HypervectorFormatError,
  hypervectorsEqual,
  randomHypervector,
  serializedHypervectorBytes,
  serializeHypervector,
} from '../src/index.js';

describe('hypervector wire format', () => {
  it('round-trips any vector, byte for byte', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 10_000 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (dims, seed, density) => {
          const v = randomHypervector(seededRandom(seed), dims, density);
          const bytes = serializeHypervector(v);
          expect(bytes.length).toBe(serializedHypervectorBytes(dims));
          const back = deserializeHypervector(bytes, dims);
          expect(hypervectorsEqual(back, v)).toBe(true);
          expect(serializeHypervector(back)).toEqual(bytes);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('refuses anything that is not a canonical vector', () => {
    const good = serializeHypervector(randomHypervector(seededRandom(1), 40, 0.5));
    const edit = (at: number, value: number) => {
      const bytes = good.slice();
      bytes[at] = value;
      return bytes;
    };
    const refuse = (bytes: Uint8Array, message: RegExp) => {
      expect(() => deserializeHypervector(bytes)).toThrow(HypervectorFormatError);
      expect(() => deserializeHypervector(bytes)).toThrow(message);
    };
    refuse(good.subarray(0, 3), /shorter than the header/);
    refuse(edit(0, 2), /unknown version 2/);
    refuse(edit(1, 1), /unknown flags/);
    refuse(edit(2, 8), /dimension 8 is outside/);
    refuse(good.subarray(0, good.length - 1), /expected 20/);
    // 40 dims: 2 words per plane; word 1 of the nonzero plane holds dims 32..39 only.
    refuse(edit(4 + 8 + 4 + 1, 0xff), /past the dimension/);
    const signOnZero = good.slice();
    signOnZero.fill(0, 12, 20);
    signOnZero[4] = 1;
    refuse(signOnZero, /sign bit is set on a zero trit/);
    expect(() => deserializeHypervector(good, 64)).toThrow(DimensionMismatchError);
    expect(() => deserializeHypervector('bytes' as never)).toThrow(TypeError);
  });
});
