import { assert, assertInt } from '@trinity/core';
import { vsaKernelWasmBase64 } from './_generated/vsa-kernel-wasm.js';
import { KernelUnavailableError } from './errors.js';

/** The functions of wasm/vsa-kernel.wat (see the comments there for their contracts). */
export interface KernelExports {
  countBytes(cnt: number, data: number, len: number, r: number, dims: number): number;
  bundleAdd(v: number, count: number, pb: number, plus: number, minus: number, levels: number): void;
  convolveRow(
    acc: number,
    row2: number,
    idx: number,
    plusCount: number,
    minusCount: number,
    dims: number,
    lanes: number,
  ): void;
  scan(
    qp: number,
    qCount: number,
    e: number,
    count: number,
    pb: number,
    thr: number,
    inv: number,
    out: number,
    slot: number,
  ): number;
  buildTable(tab: number, qt: number, positions: number): void;
  scanTable(
    tab: number,
    e: number,
    count: number,
    pb: number,
    thr: number,
    inv: number,
    out: number,
    slot: number,
  ): number;
}

const pageBytes = 65_536;
/** 4 GiB: all a 32-bit WebAssembly memory addresses. */
export const kernelMemoryBytesMax = 65_536 * pageBytes;

/** The slice of the WebAssembly JS API used here (declared locally: the package builds without DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
}

const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: object | null | undefined;

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The compiled kernel, or undefined when the host has no WebAssembly or no SIMD (compiled once). */
function kernelModule(): object | undefined {
  if (compiled === undefined) {
    compiled = null;
    try {
      if (wasmApi !== undefined) {
        const bytes = decodeBase64(vsaKernelWasmBase64);
        if (wasmApi.validate(bytes)) compiled = new wasmApi.Module(bytes);
      }
    } catch {
      compiled = null;
    }
  }
  return compiled ?? undefined;
}

/** True when this host runs the WebAssembly SIMD kernel. */
export function wasmKernelAvailable(): boolean {
  return kernelModule() !== undefined;
}

/** 'wasm' or 'js' for a kernel choice; 'auto' picks 'wasm' when available. */
export function resolveKernel(choice: 'auto' | 'wasm' | 'js'): 'wasm' | 'js' {
  if (choice === 'js') return 'js';
  const available = wasmKernelAvailable();
  if (choice === 'wasm' && !available) throw new KernelUnavailableError();
  return available ? 'wasm' : 'js';
}

/** One kernel instance over its own growable memory. Views are re-made after every growth. */
export class KernelInstance {
  readonly memory: WasmMemory;
  readonly exports: KernelExports;
  #u8!: Uint8Array;
  #i32!: Int32Array;
  #u32!: Uint32Array;
  #f32!: Float32Array;

  constructor(initialBytes: number) {
    const module = kernelModule();
    if (module === undefined || wasmApi === undefined) throw new KernelUnavailableError();
    const pages = Math.max(1, Math.ceil(initialBytes / pageBytes));
    this.memory = new wasmApi.Memory({ initial: pages, maximum: 65_536 });
    const instance = new wasmApi.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as KernelExports;
    this.#refresh();
  }

  get bytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Grows the memory to hold at least `bytes` (returns false when that is past 4 GiB or the host refuses). */
  ensure(bytes: number): boolean {
    assertInt(bytes, 'bytes', 0);
    if (bytes <= this.memory.buffer.byteLength) return true;
    if (bytes > kernelMemoryBytesMax) return false;
    const pages = Math.ceil((bytes - this.memory.buffer.byteLength) / pageBytes);
    try {
      this.memory.grow(pages);
    } catch {
      return false;
    }
    this.#refresh();
    assert(this.memory.buffer.byteLength >= bytes, 'kernel memory did not grow');
    return true;
  }

  get u8(): Uint8Array {
    return this.#u8;
  }
  get i32(): Int32Array {
    return this.#i32;
  }
  get u32(): Uint32Array {
    return this.#u32;
  }
  get f32(): Float32Array {
    return this.#f32;
  }

  #refresh(): void {
    const buffer = this.memory.buffer;
    this.#u8 = new Uint8Array(buffer);
    this.#i32 = new Int32Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#f32 = new Float32Array(buffer);
  }
}
