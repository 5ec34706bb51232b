import { assert, assertInt } from '@trinity/core';
import { KernelInstance, kernelMemoryBytesMax } from './_kernel.js';

/** A growable byte arena with typed views: WebAssembly memory, or a plain ArrayBuffer for the TS kernel. */
export interface IndexMemory {
  readonly kernel: KernelInstance | undefined;
  readonly bytes: number;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  /**
   * Grows to hold at least `bytes` (new bytes are zero), doubling unless `exact`; false when that is
   * past the 4 GiB limit.
   */
  ensure(bytes: number, exact?: boolean): boolean;
}

/** The same arena for the TypeScript kernel; it copies into a larger buffer when it grows. */
class ArrayBufferMemory implements IndexMemory {
  readonly kernel = undefined;
  #u8: Uint8Array;
  #u32!: Uint32Array;
  #i32!: Int32Array;
  #f32!: Float32Array;

  constructor(bytes: number) {
    this.#u8 = new Uint8Array(bytes);
    this.#views();
  }

  get bytes(): number {
    return this.#u8.length;
  }
  get u8(): Uint8Array {
    return this.#u8;
  }
  get u32(): Uint32Array {
    return this.#u32;
  }
  get i32(): Int32Array {
    return this.#i32;
  }
  get f32(): Float32Array {
    return this.#f32;
  }

  ensure(bytes: number, exact = false): boolean {
    assertInt(bytes, 'bytes', 0);
    if (bytes <= this.#u8.length) return true;
    if (bytes > kernelMemoryBytesMax) return false;
    const target = exact ? bytes : Math.max(bytes, this.#u8.length * 2);
    const grown = new Uint8Array(Math.min(kernelMemoryBytesMax, Math.ceil(target / 65_536) * 65_536));
    grown.set(this.#u8);
    this.#u8 = grown;
    this.#views();
    return true;
  }

  #views(): void {
    const buffer = this.#u8.buffer;
    assert(buffer.byteLength % 4 === 0, 'index memory must be a whole number of words');
    this.#u32 = new Uint32Array(buffer);
    this.#i32 = new Int32Array(buffer);
    this.#f32 = new Float32Array(buffer);
  }
}

/** Kernel memory doubles too, so that growth is amortized whichever backend holds the index. */
class WasmMemory implements IndexMemory {
  readonly kernel: KernelInstance;

  constructor(bytes: number) {
    this.kernel = new KernelInstance(bytes);
  }

  get bytes(): number {
    return this.kernel.bytes;
  }
  get u8(): Uint8Array {
    return this.kernel.u8;
  }
  get u32(): Uint32Array {
    return this.kernel.u32;
  }
  get i32(): Int32Array {
    return this.kernel.i32;
  }
  get f32(): Float32Array {
    return this.kernel.f32;
  }

  ensure(bytes: number, exact = false): boolean {
    if (bytes <= this.kernel.bytes) return true;
    const target = exact ? bytes : Math.max(bytes, this.kernel.bytes * 2);
    return this.kernel.ensure(Math.min(kernelMemoryBytesMax, Math.max(bytes, target)));
  }
}

export function createIndexMemory(kernel: 'wasm' | 'js', bytes: number): IndexMemory {
  const rounded = Math.ceil(bytes / 65_536) * 65_536;
  return kernel === 'wasm' ? new WasmMemory(rounded) : new ArrayBufferMemory(rounded);
}
