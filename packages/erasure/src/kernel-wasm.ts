import { assert } from '@trinity/core';
import { kernelMemoryFlagsOffset, kernelShapes, kernelWasm } from './_generated/kernel-wasm.js';
import { _mulTable } from './gf256.js';
import type { CodingRows, Kernel, KernelName } from './kernel.js';
import { type WasmMemory, wasmApi } from './wasm-api.js';
import { WasmHeap } from './wasm-heap.js';

type MulFunction = (tbl: number, ins: number, nin: number, outs: number, start: number, end: number) => void;

/** The kernels process whole 32-byte steps; the few bytes past the last step go through the scalar loop. */
const stepBytes = 32;
const pointerArrayBytes = 256 * 4;
const maxRowsPerPass = kernelShapes.at(-1)!.rows;

/** lo/hi nibble tables of every coefficient: c * 32 + n = c * n, c * 32 + 16 + n = c * (n << 4). */
const nibbleTables: Uint8Array = (() => {
  const out = new Uint8Array(256 * 32);
  for (let c = 0; c < 256; c++) {
    for (let n = 0; n < 16; n++) {
      out[c * 32 + n] = _mulTable[(c << 8) | n]!;
      out[c * 32 + 16 + n] = _mulTable[(c << 8) | (n << 4)]!;
    }
  }
  return out;
})();

/** Output rows cut into passes of at most four (what mul4 takes): [first row, rows] pairs. */
function passesFor(rows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r0 = 0; r0 < rows; r0 += maxRowsPerPass) out.push([r0, Math.min(maxRowsPerPass, rows - r0)]);
  return out;
}

/** The nibble tables of a coefficient matrix in kernel order: pass, then input, then row within the pass. */
function expandTables(rows: CodingRows): Uint8Array {
  const { cols, coefficients } = rows;
  const out = new Uint8Array(rows.rows * cols * 32);
  let offset = 0;
  for (const [r0, count] of passesFor(rows.rows)) {
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < count; j++) {
        const c = coefficients[(r0 + j) * cols + i]!;
        out.set(nibbleTables.subarray(c * 32, c * 32 + 32), offset);
        offset += 32;
      }
    }
  }
  return out;
}

/** Scalar loop for columns [start, end): the tail shorter than one kernel step. */
function multiplyScalar(
  rows: CodingRows,
  inputs: readonly Uint8Array[],
  outputs: readonly Uint8Array[],
  start: number,
  end: number,
): void {
  const { cols, coefficients } = rows;
  for (let r = 0; r < rows.rows; r++) {
    const output = outputs[r]!;
    for (let j = start; j < end; j++) {
      let acc = 0;
      for (let i = 0; i < cols; i++) acc ^= _mulTable[(coefficients[r * cols + i]! << 8) | inputs[i]![j]!]!;
      output[j] = acc;
    }
  }
}

/** Options to pick a variant explicitly (tests and benchmarks); by default the best that validates. */
export interface WasmKernelOptions {
  readonly relaxed?: boolean;
  readonly shared?: boolean;
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** A memory of 2 MiB growing to 4 GiB (less where the host cannot reserve that), shared if possible. */
function createMemory(shared: boolean): { memory: WasmMemory; maximumPages: number } | undefined {
  for (const maximumPages of [65_536, 16_384, 4_096]) {
    try {
      return { memory: new wasmApi!.Memory({ initial: 32, maximum: maximumPages, shared }), maximumPages };
    } catch {
      // Try a smaller reservation, then give up.
    }
  }
  return undefined;
}

/** One instance of the kernel module with its memory, heap and scratch block. */
class WasmEngine {
  readonly heap: WasmHeap;
  readonly #mul: readonly MulFunction[];
  #scratch = 0;
  #scratchBytes = 0;

  constructor(heap: WasmHeap, mul: readonly MulFunction[]) {
    this.heap = heap;
    this.#mul = mul;
  }

  /** A scratch block of at least `bytes` (kept between calls); undefined if the memory is exhausted. */
  #acquireScratch(bytes: number): number | undefined {
    if (bytes <= this.#scratchBytes) return this.#scratch;
    const size = Math.max(bytes, this.#scratchBytes * 2);
    if (this.#scratchBytes > 0) this.heap.free(this.#scratch);
    this.#scratchBytes = 0;
    const offset = this.heap.alloc(size);
    if (offset === undefined) return undefined;
    this.#scratch = offset;
    this.#scratchBytes = size;
    return offset;
  }

  /**
   * Runs the SIMD kernels over columns [0, body). Views in this engine's memory (`inPlace`) are
   * read and written where they are; the others are staged through scratch one column chunk at a
   * time. False when scratch cannot be had (the caller then falls back to the scalar loop).
   */
  multiply(
    rows: CodingRows,
    views: readonly Uint8Array[],
    inputCount: number,
    inPlace: readonly boolean[],
    body: number,
  ): boolean {
    assert(body > 0 && body % stepBytes === 0, 'kernel body must be whole 32-byte steps');
    assert(inputCount === rows.cols && views.length - inputCount === rows.rows, 'kernel shape mismatch');
    const layout = this.#layout(rows, views, inputCount, inPlace, body);
    if (layout === undefined) return false;
    const { base, outs, tbl, chunk, slotOf, pointers, passes } = layout;
    const bytes = this.heap.bytes;
    const pointerIndex = (v: number) => (v < inputCount ? v : pointerArrayBytes / 4 + v - inputCount);
    for (let c0 = 0; c0 < body; c0 += chunk) {
      const end = Math.min(body, c0 + chunk);
      for (let v = 0; v < views.length; v++) {
        const slot = slotOf[v]!;
        if (slot < 0) pointers[pointerIndex(v)] = views[v]!.byteOffset;
        else {
          // Point the kernel at slot - c0 (mod 2^32): it adds the column position back.
          pointers[pointerIndex(v)] = (slot - c0) >>> 0;
          if (v < inputCount) bytes.set(views[v]!.subarray(c0, end), slot);
        }
      }
      for (const [r0, count] of passes) {
        this.#mul[count - 1]!(tbl + r0 * rows.cols * 32, base, rows.cols, outs + 4 * r0, c0, end);
      }
      for (let v = inputCount; v < views.length; v++) {
        const slot = slotOf[v]!;
        if (slot >= 0) views[v]!.set(bytes.subarray(slot, slot + end - c0), c0);
      }
    }
    return true;
  }

  /**
   * Scratch for one call: input and output pointer arrays, the nibble tables, and a slot of one
   * column chunk per staged view. With several passes each input chunk is read once per pass;
   * shards a power of two apart all map to the same cache sets and would evict each other, so
   * inputs are then staged into slots skewed by a cache line each, even those already in place.
   */
  #layout(
    rows: CodingRows,
    views: readonly Uint8Array[],
    inputCount: number,
    inPlace: readonly boolean[],
    body: number,
  ) {
    const tables = (rows.tables ??= expandTables(rows));
    const passes = passesFor(rows.rows);
    const staged = views.map((_, v) => !inPlace[v] || (passes.length > 1 && v < inputCount));
    const stagedCount = staged.filter(Boolean).length;
    const chunk = stagedCount > 0 ? Math.min(body, chunkBytesFor(views.length, passes.length)) : body;
    assert(chunk % stepBytes === 0, 'column chunks must be whole kernel steps');
    const tablesBytes = Math.ceil(tables.length / 64) * 64;
    const base = this.#acquireScratch(2 * pointerArrayBytes + tablesBytes + stagedCount * (chunk + 64));
    if (base === undefined) return undefined;
    const outs = base + pointerArrayBytes;
    const tbl = outs + pointerArrayBytes;
    this.heap.bytes.set(tables, tbl);
    const slotOf = new Int32Array(views.length).fill(-1);
    for (let v = 0, slot = tbl + tablesBytes; v < views.length; v++) {
      if (!staged[v]) continue;
      slotOf[v] = slot;
      slot += chunk + 64; // one cache line of skew per slot
    }
    const pointers = new Uint32Array(this.heap.bytes.buffer, base, (2 * pointerArrayBytes) / 4);
    return { base, outs, tbl, chunk, slotOf, pointers, passes };
  }
}

/**
 * Columns per chunk: one chunk of every input and output should stay in L2 (about 768 KiB), and
 * half that when the rows take several passes, since each pass reads the chunk's inputs again.
 */
function chunkBytesFor(views: number, passes: number): number {
  const budget = passes > 1 ? 393_216 : 786_432;
  const target = Math.min(65_536, Math.max(4096, Math.floor(budget / views)));
  return 2 ** Math.floor(Math.log2(target));
}

/**
 * Two engines: one over a plain memory for shards that live in ordinary ArrayBuffers (copying into
 * a plain memory runs at memcpy speed, into a shared one several times slower), and one over a
 * shared memory that lends shards out (`allocate`), read and written in place.
 */
class WasmKernel implements Kernel {
  readonly name: KernelName;
  readonly #plain: WasmEngine;
  readonly #shared: WasmEngine | undefined;
  readonly #blocks = new WeakMap<Uint8Array, number>();
  readonly #registry: FinalizationRegistry<number> | undefined;

  constructor(name: KernelName, plain: WasmEngine, shared: WasmEngine | undefined) {
    this.name = name;
    this.#plain = plain;
    this.#shared = shared;
    this.#registry = shared && new FinalizationRegistry((offset) => shared.heap.free(offset));
  }

  multiply(
    rows: CodingRows,
    inputs: readonly Uint8Array[],
    outputs: readonly Uint8Array[],
    length: number,
  ): void {
    const body = length - (length % stepBytes);
    if (body > 0) {
      const views = [...inputs, ...outputs];
      const inPlace = views.map((view) => this.owns(view));
      const engine = inPlace.includes(true) ? this.#shared! : this.#plain;
      if (!engine.multiply(rows, views, inputs.length, inPlace, body))
        multiplyScalar(rows, inputs, outputs, 0, body);
    }
    if (body < length) multiplyScalar(rows, inputs, outputs, body, length);
  }

  allocate(bytes: number): Uint8Array {
    const offset = this.#shared?.heap.alloc(bytes);
    if (offset === undefined) return new Uint8Array(bytes);
    const view = this.#shared!.heap.bytes.subarray(offset, offset + bytes);
    view.fill(0);
    this.#blocks.set(view, offset);
    this.#registry!.register(view, offset, view);
    return view;
  }

  release(view: Uint8Array): boolean {
    const offset = this.#blocks.get(view);
    if (offset === undefined) return false;
    this.#blocks.delete(view);
    this.#registry!.unregister(view);
    return this.#shared!.heap.free(offset);
  }

  owns(view: Uint8Array): boolean {
    return this.#shared?.heap.ownsBuffer(view.buffer) === true;
  }
}

/**
 * Whether shards over a shared memory behave like any other bytes here. In a browser page that is not
 * cross-origin isolated, Chromium still creates a shared WebAssembly memory, but `postMessage` of a
 * view over it throws DataCloneError; so pages lend shards out of shared memory only when
 * `crossOriginIsolated` is true. Hosts without the global (Node, Deno, Bun) can always.
 */
function sharedMemoryIsSafe(): boolean {
  const isolated = (globalThis as { crossOriginIsolated?: unknown }).crossOriginIsolated;
  return isolated === undefined || isolated === true;
}

/**
 * The WebAssembly SIMD kernel: relaxed SIMD where `WebAssembly.validate` accepts it (Node 22+, or
 * Node 20 with --experimental-wasm-relaxed-simd), plain SIMD otherwise; undefined without SIMD.
 */
export function createWasmKernel(options: WasmKernelOptions = {}): Kernel | undefined {
  if (wasmApi === undefined || typeof atob !== 'function') return undefined;
  for (const relaxed of options.relaxed === undefined ? [true, false] : [options.relaxed]) {
    const plain = createEngine(relaxed, false);
    if (plain === undefined) continue;
    const shared = (options.shared ?? sharedMemoryIsSafe()) ? createEngine(relaxed, true) : undefined;
    if (options.shared === true && shared === undefined) return undefined;
    return new WasmKernel(relaxed ? 'wasm-relaxed-simd' : 'wasm-simd', plain, shared);
  }
  return undefined;
}

function createEngine(relaxed: boolean, shared: boolean): WasmEngine | undefined {
  const bytes = decodeBase64(kernelWasm[relaxed ? 'relaxed' : 'simd']);
  assert(bytes[kernelMemoryFlagsOffset] === 0x01, 'kernel memory flags where the build put them');
  if (shared) bytes[kernelMemoryFlagsOffset] = 0x03;
  if (!wasmApi!.validate(bytes)) return undefined;
  const created = createMemory(shared);
  if (created === undefined) return undefined;
  const instance = new wasmApi!.Instance(new wasmApi!.Module(bytes), { env: { memory: created.memory } });
  const mul = kernelShapes.map(({ rows }) => instance.exports[`mul${rows}`] as MulFunction);
  return new WasmEngine(new WasmHeap(created.memory, shared, created.maximumPages), mul);
}
