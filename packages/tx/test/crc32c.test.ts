import { readFileSync } from 'node:fs';
import { concatBytes, utf8ToBytes } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { _crc32cReference } from '../src/crc32c.js';
import { crc32c } from '../src/index.js';

interface Vector {
  name: string;
  crc: string;
  utf8?: string;
  fill?: number;
  length?: number;
  ascending?: number;
  descending?: number;
}

const { vectors } = JSON.parse(readFileSync(new URL('./vectors/crc32c.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};

function input(vector: Vector): Uint8Array {
  if (vector.utf8 !== undefined) return utf8ToBytes(vector.utf8);
  if (vector.fill !== undefined) return new Uint8Array(vector.length!).fill(vector.fill);
  if (vector.ascending !== undefined) return Uint8Array.from({ length: vector.ascending }, (_, i) => i);
  return Uint8Array.from({ length: vector.descending! }, (_, i) => vector.descending! - 1 - i);
}

describe('crc32c', () => {
  it.each(vectors)('matches the published vector: $name', (vector) => {
    expect(crc32c(input(vector)).toString(16).padStart(8, '0')).toBe(vector.crc);
    expect(_crc32cReference(input(vector)).toString(16).padStart(8, '0')).toBe(vector.crc);
  });

  it('equals the bit-at-a-time reference on any input, at any alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(crc32c(view)).toBe(_crc32cReference(view));
      }),
    );
  });

  it('continues across pieces: crc(a ‖ b) = crc(b, crc(a))', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        expect(crc32c(b, crc32c(a))).toBe(crc32c(concatBytes(a, b)));
      }),
    );
  });

  it('rejects what is not bytes', () => {
    expect(() => crc32c('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
