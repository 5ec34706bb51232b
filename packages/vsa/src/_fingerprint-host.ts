import { assert } from '@trinity/core';
import { ArrayCounts, type Counts, type CountsHost, type FingerprintSums } from './_fingerprint-sums.js';
import { KernelInstance } from './_kernel.js';
import type { Codebook } from './codebook.js';

/** Counts of fingerprints in progress that live in kernel memory at once (more use plain arrays). */
const kernelSlotsMax = 64;
/** Bytes copied into kernel memory per countBytes call. */
const stagingBytes = 64 * 1024;

/** The TypeScript host: counts in arrays (one spare kept to spare the allocation), convolution in TS. */
export class JsCountsHost implements CountsHost {
  readonly kernel = undefined;
  readonly cells: Int32Array;
  readonly #dims: number;
  #spare: Uint32Array | undefined;

  constructor(codebook: Codebook) {
    this.#dims = codebook.dims;
    this.cells = new Int32Array((codebook.dims >>> 2) + 1);
  }

  counts(): Counts {
    const u32 = this.#spare ?? new Uint32Array(256 * this.#dims);
    this.#spare = undefined;
    return new ArrayCounts(u32, this.#dims, (released) => {
      this.#spare = released;
    });
  }

  convolve(): void {
    assert(false, 'the TS host convolves in TS');
  }

  collect(): void {}
}

/**
 * The WebAssembly host. Kernel memory layout: acc (lanes i32), row2 (2·dims + 16 i32), idx (the
 * codebook positions of one byte, i32), staging (64 KiB of input), then up to 64 counts slots of
 * 256 × dims u32 each, handed out to fingerprints in progress and taken back at their digest.
 */
export class KernelCountsHost implements CountsHost {
  readonly cells: Int32Array;
  readonly #codebook: Codebook;
  readonly #lanes: number;
  readonly #row2At: number;
  readonly #idxAt: number;
  readonly #stagingAt: number;
  readonly #slotsAt: number;
  readonly #slotBytes: number;
  readonly #free: number[] = [];
  #slots = 0;
  #spare: Uint32Array | undefined;
  #kernel: KernelInstance | undefined;

  constructor(codebook: Codebook) {
    const dims = codebook.dims;
    this.#codebook = codebook;
    this.cells = new Int32Array((dims >>> 3) + 1);
    this.#lanes = Math.ceil(dims / 16) * 16;
    this.#row2At = this.#lanes * 4;
    this.#idxAt = this.#row2At + (2 * dims + 16) * 4;
    this.#stagingAt = align(this.#idxAt + codebook.nonzerosPerVector * 4);
    this.#slotsAt = align(this.#stagingAt + stagingBytes);
    this.#slotBytes = 256 * dims * 4;
  }

  /** Instantiated on first use: encoders that only see short inputs never need it. */
  get kernel(): KernelInstance {
    this.#kernel ??= new KernelInstance(this.#slotsAt);
    return this.#kernel;
  }

  counts(): Counts {
    const slot = this.#free.pop() ?? (this.#slots < kernelSlotsMax ? this.#slots++ : -1);
    const at = slot < 0 ? -1 : this.#slotsAt + slot * this.#slotBytes;
    if (slot < 0 || !this.kernel.ensure(at + this.#slotBytes)) {
      if (slot >= 0) this.#free.push(slot);
      const u32 = this.#spare ?? new Uint32Array(256 * this.#codebook.dims);
      this.#spare = undefined;
      return new ArrayCounts(u32, this.#codebook.dims, (released) => {
        this.#spare = released;
      });
    }
    return new KernelCounts(this, slot, at);
  }

  /** Counts chunk[start..] into the slot at byte offset `at`, through the staging area. */
  _count(at: number, chunk: Uint8Array, start: number, r: number): number {
    for (let offset = start; offset < chunk.length; offset += stagingBytes) {
      const piece = chunk.subarray(offset, Math.min(chunk.length, offset + stagingBytes));
      this.kernel.u8.set(piece, this.#stagingAt);
      r = this.kernel.exports.countBytes(at, this.#stagingAt, piece.length, r, this.#codebook.dims);
    }
    return r;
  }

  _release(slot: number, at: number): void {
    this.kernel.u32.fill(0, at / 4, (at + this.#slotBytes) / 4);
    this.#free.push(slot);
  }

  convolve(_state: FingerprintSums, row: Uint32Array, b: number): void {
    const dims = this.#codebook.dims;
    const n = this.#codebook.nonzerosPerVector;
    const u32 = this.kernel.u32;
    const row2 = this.#row2At / 4;
    if (row.buffer === u32.buffer) {
      u32.copyWithin(row2, row.byteOffset / 4, row.byteOffset / 4 + dims);
      u32.copyWithin(row2 + dims, row.byteOffset / 4, row.byteOffset / 4 + dims);
    } else {
      u32.set(row, row2);
      u32.set(row, row2 + dims);
    }
    u32.set(this.#codebook._positions.subarray(b * n, (b + 1) * n), this.#idxAt / 4);
    this.kernel.exports.convolveRow(0, this.#row2At, this.#idxAt, n >>> 1, n - (n >>> 1), dims, this.#lanes);
  }

  /** Adds the kernel's accumulated sums into `sums` and clears them for the next digest. */
  collect(sums: Int32Array): void {
    const i32 = this.kernel.i32;
    for (let j = 0; j < sums.length; j++) sums[j]! += i32[j]!;
    i32.fill(0, 0, this.#lanes);
  }
}

/** Counts in one slot of the kernel host's memory. */
class KernelCounts implements Counts {
  readonly #host: KernelCountsHost;
  readonly #slot: number;
  readonly #at: number;

  constructor(host: KernelCountsHost, slot: number, at: number) {
    this.#host = host;
    this.#slot = slot;
    this.#at = at;
  }

  add(chunk: Uint8Array, start: number, r: number): void {
    this.#host._count(this.#at, chunk, start, r);
  }

  view(): { u32: Uint32Array; at: number } {
    return { u32: this.#host.kernel.u32, at: this.#at / 4 };
  }

  release(): void {
    this.#host._release(this.#slot, this.#at);
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}
