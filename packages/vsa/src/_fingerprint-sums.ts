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
  bytesSeen = 0;
  readonly #directBytesMax: number;
  readonly #host: CountsHost;
  #counts: Counts | undefined;

  constructor(codebook: Codebook, host: CountsHost) {
    this.dims = codebook.dims;
    this.codebook = codebook;
    this.sums = new Int32Array(codebook.dims);
    this.#directBytesMax = 8 * codebook.dims;
    this.#host = host;
  }

  add(chunk: Uint8Array): void {
    let offset = 0;
    if (this.#counts === undefined) {
      offset = Math.min(chunk.length, Math.max(0, this.#directBytesMax - this.bytesSeen));
      this.#addDirect(chunk, offset);
      if (offset === chunk.length) return;
      this.#counts = this.#host.counts();
    }
    this.#counts.add(chunk, offset, this.bytesSeen % this.dims);
    this.bytesSeen += chunk.length - offset;
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

  /** Releases the counts without folding them (the fingerprint is abandoned). */
  abandon(): void {
    const counts = this.#counts;
    this.#counts = undefined;
    counts?.release();
  }

  /** Folds the counts into `sums` (on the host's kernel when it has one) and releases them. */
  finish(): Int32Array {
    const counts = this.#counts;
    if (counts === undefined) return this.sums;
    this.#counts = undefined;
    try {
      const kernel = this.#host.kernel;
      for (let b = 0; b < 256; b++) {
        const { u32, at } = counts.view();
        const row = u32.subarray(at + b * this.dims, at + (b + 1) * this.dims);
        const cells = sparseCells(
          row,
          this.#host.cells,
          kernel === undefined ? this.dims >>> 2 : this.dims >>> 3,
        );
        if (cells >= 0) scatterCells(this, row, this.#host.cells, cells, b);
        else if (kernel === undefined) convolveRowJs(this, row, b);
        else this.#host.convolve(this, row, b);
      }
      if (kernel !== undefined) this.#host.collect(this.sums);
    } finally {
      counts.release();
    }
    return this.sums;
  }
}

/** Where one input's (byte value, position) counts live: row-major by byte value, u32 each. */
export interface Counts {
  /** Counts chunk[start..] starting at position `r`. */
  add(chunk: Uint8Array, start: number, r: number): void;
  /** The array and u32 offset of row 0 (fetch again after anything that may grow kernel memory). */
  view(): { u32: Uint32Array; at: number };
  /** Zeroes the counts and hands them back to their host. */
  release(): void;
}

/** What an encoder provides its fingerprints: counts, scratch, and the kernel's convolution. */
export interface CountsHost {
  readonly kernel: KernelInstance | undefined;
  readonly cells: Int32Array;
  counts(): Counts;
  convolve(state: FingerprintSums, row: Uint32Array, b: number): void;
  collect(sums: Int32Array): void;
}

/** Counts in a plain array (the TS kernel, or when the kernel has no free slot). */
export class ArrayCounts implements Counts {
  readonly #u32: Uint32Array;
  readonly #dims: number;
  readonly #onRelease: (u32: Uint32Array) => void;

  constructor(u32: Uint32Array, dims: number, onRelease: (u32: Uint32Array) => void) {
    this.#u32 = u32;
    this.#dims = dims;
    this.#onRelease = onRelease;
  }

  add(chunk: Uint8Array, start: number, r: number): void {
    const counts = this.#u32;
    const dims = this.#dims;
    for (let i = start; i < chunk.length; i++) {
      counts[chunk[i]! * dims + r]!++;
      if (++r === dims) r = 0;
    }
  }

  view(): { u32: Uint32Array; at: number } {
    return { u32: this.#u32, at: 0 };
  }

  release(): void {
    this.#u32.fill(0);
    this.#onRelease(this.#u32);
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
  const n = state.codebook.nonzerosPerVector;
  const positions = state.codebook._positions;
  for (let t = 0; t < n; t++) {
    const p = positions[b * n + t]!;
    const sign = t < n >>> 1 ? 1 : -1;
    // sums[j] += sign × row[(j - p) mod dims], split where the index wraps.
    for (let j = 0; j < p; j++) sums[j]! += sign * row[j - p + dims]!;
    for (let j = p; j < dims; j++) sums[j]! += sign * row[j - p]!;
  }
  assert(n > 0);
}
