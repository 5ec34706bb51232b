import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMatrix,
  encodingMatrix,
  identityMatrix,
  invertMatrix,
  multiplyMatrices,
  SingularMatrixError,
  selectRows,
  vandermondeMatrix,
} from '../src/index.js';
import { refEncodingMatrix } from './reference.js';

function rows(m: { rows: number; cols: number; data: Uint8Array }): number[][] {
  return Array.from({ length: m.rows }, (_, r) => [...m.data.subarray(r * m.cols, (r + 1) * m.cols)]);
}

describe('matrices over GF(2^8)', () => {
  it('the coding matrix equals the reference construction and starts with the identity', () => {
    for (const [k, m] of [
      [1, 1],
      [4, 2],
      [5, 5],
      [10, 4],
      [17, 3],
      [29, 51],
    ] as const) {
      const matrix = encodingMatrix(k, m);
      expect(rows(matrix)).toEqual(refEncodingMatrix(k, m));
      expect(rows(selectRows(matrix, [...Array(k).keys()]))).toEqual(rows(identityMatrix(k)));
    }
  });

  it('every k rows of the coding matrix are invertible (MDS) for RS(6,3)', () => {
    const matrix = encodingMatrix(6, 3);
    for (let mask = 0; mask < 1 << 9; mask++) {
      const chosen = [...Array(9).keys()].filter((i) => (mask >> i) & 1);
      if (chosen.length !== 6) continue;
      const sub = selectRows(matrix, chosen);
      expect(rows(multiplyMatrices(sub, invertMatrix(sub)))).toEqual(rows(identityMatrix(6)));
    }
  });

  it('inverts random invertible matrices (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.infiniteStream(fc.integer({ min: 0, max: 255 })),
        (n, stream) => {
          const values = stream.take(n * n);
          const m = createMatrix(n, n, Uint8Array.from(values));
          let inverse: ReturnType<typeof invertMatrix>;
          try {
            inverse = invertMatrix(m);
          } catch (error) {
            expect(error).toBeInstanceOf(SingularMatrixError);
            return;
          }
          expect(rows(multiplyMatrices(m, inverse))).toEqual(rows(identityMatrix(n)));
          expect(rows(multiplyMatrices(inverse, m))).toEqual(rows(identityMatrix(n)));
        },
      ),
    );
  });

  it('detects singular matrices and bad shapes', () => {
    expect(() => invertMatrix(createMatrix(2, 2, Uint8Array.of(1, 2, 1, 2)))).toThrow(SingularMatrixError);
    expect(() => invertMatrix(createMatrix(2, 3))).toThrow(/square/);
    expect(() => multiplyMatrices(createMatrix(2, 3), createMatrix(2, 3))).toThrow(/cannot multiply/);
    expect(() => createMatrix(0, 3)).toThrow(RangeError);
    expect(() => createMatrix(2, 2, new Uint8Array(3))).toThrow(RangeError);
    expect(() => encodingMatrix(200, 57)).toThrow(RangeError);
  });

  it('Vandermonde rows are powers of the row index', () => {
    expect(rows(vandermondeMatrix(3, 3))).toEqual([
      [1, 0, 0],
      [1, 1, 1],
      [1, 2, 4],
    ]);
  });
});
