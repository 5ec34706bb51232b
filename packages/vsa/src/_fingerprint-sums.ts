import { assert } from '@trinity/core';
import type { KernelInstance } from './_kernel.js';
import type { Codebook } from './codebook.js';

/**
 * The integer sums S = Σ_i permute(codebook[b_i], i mod dims) of one input, built in two ways that
 * give the same integers: short inputs add each byte's rotated codebook vector directly ("direct"),
 * long ones only count (byte value, position mod dims) pairs and convolve each byte value's counts
 * with its codebook vector at the end ("histogram"), which costs a fixed amount however long the input.
 */
export class FingerprintSums {
  readonly dims: number;
  readonly codebook: Codebook;
  /** Direct contributions (and, after `finish`, the whole sum). */
  readonly sums: Int32Array;
  /** Counts of (byte value, position mod dims), row-major by byte value; allocated on first use. */
  counts: Uint32Array | undefined;
  bytesSeen = 0;
  readonly #directBytesMax: number;

  constructor(codebook: Codebook) {
    this.dims = codebook.dims;
    this.codebook = codebook;
    this.sums = new Int32Array(codebook.dims);
    this.#directBytesMax = 16 * codebook.dims;
  }

  add(chunk: Uint8Array): void {
    let offset = 0;
    if (this.counts === undefined) {
      offset = Math.min(chunk.length, Math.max(0, this.#directBytesMax - this.bytesSeen));
      this.#addDirect(chunk, offset);
      if (offset === chunk.length) return;
      this.counts = new Uint32Array(256 * this.dims);
    }
    this.#addCounts(chunk, offset);
  }

  #addDirect(chunk: Uint8Array, end: number): void {
    const { dims, sums } = this;
    const n = this.codebook.nonzerosPerVector;
    const half = n >>> 1;
    const positions = this.codebook._positions;
    let r = this.bytesSeen % dims;
    for (let i = 0; i < end; i++) {
      const base = chunk[i]! * n;
      for (let t = 0; t < half; t++) {
        const j = positions[base + t]! + r;
        sums[j >= dims ? j - dims : j]!++;
      }
      for (let t = half; t < n; t++) {
        const j = positions[base + t]! + r;
        sums[j >= dims ? j - dims : j]!--;
      }
      if (++r === dims) r = 0;
    }
    this.bytesSeen += end;
  }

  #addCounts(chunk: Uint8Array, start: number): void {
    const counts = this.counts!;
    const dims = this.dims;
    let r = (this.bytesSeen % dims) as number;
    for (let i = start; i < chunk.length; i++) {
      counts[chunk[i]! * dims + r]!++;
      if (++r === dims) r = 0;
    }
    this.bytesSeen += chunk.length - start;
  }

  /** Folds the counts into `sums`, on the kernel when given. */
  finish(kernel: KernelInstance | undefined): Int32Array {
    const counts = this.counts;
    if (counts === undefined) return this.sums;
    if (kernel !== undefined) convolveOnKernel(this, counts, kernel);
    else
      for (let b = 0; b < 256; b++)
        convolveRowJs(this, counts.subarray(b * this.dims, (b + 1) * this.dims), b);
    this.counts = undefined;
    return this.sums;
  }
}

/** Nonzero cells of a row, or -1 when there are too many to be worth listing (then the row is done densely). */
function sparseCells(row: Uint32Array, cells: Int32Array, denseFrom: number): number {
  let found = 0;
  for (let r = 0; r < row.length; r++) {
    if (row[r] === 0) continue;
    if (found === denseFrom) return -1;
    cells[found++] = r;
  }
  return found;
}

/** Adds count × rotated codebook vector for each listed cell. */
function scatterCells(
  state: FingerprintSums,
  row: Uint32Array,
  cells: Int32Array,
  found: number,
  b: number,
): void {
  const { dims, sums } = state;
  const n = state.codebook.nonzerosPerVector;
  const positions = state.codebook._positions;
  for (let c = 0; c < found; c++) {
    const r = cells[c]!;
    const count = row[r]!;
    for (let t = 0; t < n; t++) {
      const j = positions[b * n + t]! + r;
      sums[j >= dims ? j - dims : j]! += t < n >>> 1 ? count : -count;
    }
  }
}

function convolveRowJs(state: FingerprintSums, row: Uint32Array, b: number): void {
  const { dims, sums } = state;
  const cells = new Int32Array(dims >>> 2);
  const found = sparseCells(row, cells, cells.length);
  if (found >= 0) {
    scatterCells(state, row, cells, found, b);
    return;
  }
  const n = state.codebook.nonzerosPerVector;
  const positions = state.codebook._positions;
  for (let t = 0; t < n; t++) {
    const p = positions[b * n + t]!;
    const sign = t < n >>> 1 ? 1 : -1;
    // sums[j] += sign × row[(j - p) mod dims], split where the index wraps.
    for (let j = 0; j < p; j++) sums[j]! += sign * row[j - p + dims]!;
    for (let j = p; j < dims; j++) sums[j]! += sign * row[j - p]!;
  }
}

/**
 * The dense rows on the WebAssembly kernel. Layout in its memory: acc (lanes i32), row2 (2·dims + 16
 * i32: the row twice, then zeros), idx (the byte's codebook positions as i32).
 */
function convolveOnKernel(state: FingerprintSums, counts: Uint32Array, kernel: KernelInstance): void {
  const { dims, codebook } = state;
  const n = codebook.nonzerosPerVector;
  const lanes = Math.ceil(dims / 16) * 16;
  const acc = 0;
  const row2 = acc + lanes * 4;
  const idx = row2 + (2 * dims + 16) * 4;
  assert(kernel.ensure(idx + n * 4), 'fingerprint: kernel memory exhausted');
  kernel.i32.fill(0, 0, idx / 4);
  const cells = new Int32Array(dims >>> 4);
  for (let b = 0; b < 256; b++) {
    const row = counts.subarray(b * dims, (b + 1) * dims);
    const found = sparseCells(row, cells, cells.length);
    if (found >= 0) {
      scatterCells(state, row, cells, found, b);
      continue;
    }
    const i32 = kernel.i32;
    i32.set(row, row2 / 4);
    i32.set(row, row2 / 4 + dims);
    for (let t = 0; t < n; t++) i32[idx / 4 + t] = codebook._positions[b * n + t]!;
    kernel.exports.convolveRow(acc, row2, idx, n >>> 1, n - (n >>> 1), dims, lanes);
  }
  const sums = state.sums;
  const i32 = kernel.i32;
  for (let j = 0; j < dims; j++) sums[j]! += i32[j]!;
}
