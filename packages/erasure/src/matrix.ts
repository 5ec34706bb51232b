import { assert, assertBytes, assertInt } from '@trinity/core';
import { SingularMatrixError } from './errors.js';
import { _inv, _mul, _mulTable, _pow } from './gf256.js';

/** A dense matrix over GF(2^8), row-major: element (r, c) is `data[r * cols + c]`. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
}

/** The largest dimension any matrix here takes: a code has at most 256 shards. */
export const matrixDimensionMax = 256;

/** A rows x cols matrix, zero-filled or over a copy of `data`. */
export function createMatrix(rows: number, cols: number, data?: Uint8Array): Matrix {
  assertInt(rows, 'rows', 1, matrixDimensionMax);
  assertInt(cols, 'cols', 1, matrixDimensionMax);
  if (data === undefined) return { rows, cols, data: new Uint8Array(rows * cols) };
  assertBytes(data, 'data', rows * cols);
  return { rows, cols, data: data.slice() };
}

/** The n x n identity. */
export function identityMatrix(n: number): Matrix {
  const out = createMatrix(n, n);
  for (let i = 0; i < n; i++) out.data[i * n + i] = 1;
  return out;
}

/** The rows x cols Vandermonde matrix V[r][c] = r^c (with 0^0 = 1). */
export function vandermondeMatrix(rows: number, cols: number): Matrix {
  const out = createMatrix(rows, cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out.data[r * cols + c] = _pow(r, c);
  }
  return out;
}

function checkMatrix(m: Matrix, name: string): void {
  assertInt(m?.rows, `${name}.rows`, 1, matrixDimensionMax);
  assertInt(m.cols, `${name}.cols`, 1, matrixDimensionMax);
  assertBytes(m.data, `${name}.data`, m.rows * m.cols);
}

/** a x b. */
export function multiplyMatrices(a: Matrix, b: Matrix): Matrix {
  checkMatrix(a, 'a');
  checkMatrix(b, 'b');
  if (a.cols !== b.rows) throw new RangeError(`cannot multiply ${a.rows}x${a.cols} by ${b.rows}x${b.cols}`);
  const out = createMatrix(a.rows, b.cols);
  for (let r = 0; r < a.rows; r++) {
    for (let i = 0; i < a.cols; i++) {
      const base = a.data[r * a.cols + i]! << 8;
      if (base === 0) continue;
      for (let c = 0; c < b.cols; c++)
        out.data[r * b.cols + c]! ^= _mulTable[base | b.data[i * b.cols + c]!]!;
    }
  }
  return out;
}

/** The rows of `m` at `indices`, in that order. */
export function selectRows(m: Matrix, indices: readonly number[]): Matrix {
  checkMatrix(m, 'm');
  const out = createMatrix(indices.length, m.cols);
  indices.forEach((row, i) => {
    assertInt(row, `indices[${i}]`, 0, m.rows - 1);
    out.data.set(m.data.subarray(row * m.cols, (row + 1) * m.cols), i * m.cols);
  });
  return out;
}

function swapRows(data: Uint8Array, width: number, a: number, b: number): void {
  for (let c = 0; c < width; c++) {
    const tmp = data[a * width + c]!;
    data[a * width + c] = data[b * width + c]!;
    data[b * width + c] = tmp;
  }
}

/** Adds factor * row `from` to row `to` of a width-wide matrix. */
function addScaledRow(data: Uint8Array, width: number, from: number, to: number, factor: number): void {
  const base = factor << 8;
  for (let c = 0; c < width; c++) data[to * width + c]! ^= _mulTable[base | data[from * width + c]!]!;
}

/** The inverse of a square matrix by Gauss-Jordan elimination; SingularMatrixError if it has none. */
export function invertMatrix(m: Matrix): Matrix {
  checkMatrix(m, 'm');
  if (m.rows !== m.cols) throw new RangeError(`only a square matrix has an inverse, got ${m.rows}x${m.cols}`);
  const n = m.rows;
  const width = 2 * n;
  // Work on [m | I]; when the left half is I, the right half is the inverse.
  const work = new Uint8Array(n * width);
  for (let r = 0; r < n; r++) {
    work.set(m.data.subarray(r * n, (r + 1) * n), r * width);
    work[r * width + n + r] = 1;
  }
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && work[pivot * width + col] === 0) pivot++;
    if (pivot === n) throw new SingularMatrixError(`matrix is singular (no pivot in column ${col})`);
    if (pivot !== col) swapRows(work, width, pivot, col);
    const scale = _inv(work[col * width + col]!);
    for (let c = 0; c < width; c++) work[col * width + c] = _mul(work[col * width + c]!, scale);
    for (let r = 0; r < n; r++) {
      const factor = work[r * width + col]!;
      if (r !== col && factor !== 0) addScaledRow(work, width, col, r, factor);
    }
  }
  const out = createMatrix(n, n);
  for (let r = 0; r < n; r++) out.data.set(work.subarray(r * width + n, (r + 1) * width), r * n);
  return out;
}

/**
 * The systematic (k + m) x k coding matrix of Backblaze JavaReedSolomon, klauspost/reedsolomon and
 * reed-solomon-erasure: the Vandermonde matrix V[r][c] = r^c times the inverse of its top k x k
 * block. The top k rows are then the identity (data shards pass through); row k + j makes parity j.
 */
export function encodingMatrix(dataShards: number, parityShards: number): Matrix {
  assertInt(dataShards, 'dataShards', 1, matrixDimensionMax - 1);
  assertInt(parityShards, 'parityShards', 1, matrixDimensionMax - dataShards);
  const vandermonde = vandermondeMatrix(dataShards + parityShards, dataShards);
  const top = selectRows(
    vandermonde,
    Array.from({ length: dataShards }, (_, i) => i),
  );
  const out = multiplyMatrices(vandermonde, invertMatrix(top));
  for (let r = 0; r < dataShards; r++) {
    for (let c = 0; c < dataShards; c++) assert(out.data[r * dataShards + c] === (r === c ? 1 : 0));
  }
  return out;
}
