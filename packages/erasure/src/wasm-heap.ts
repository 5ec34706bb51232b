import { assert } from '@trinity/core';
import type { WasmMemory } from './wasm-api.js';

/** Every block starts on a 64-byte boundary (one cache line), so SIMD loads never split lines needlessly. */
const blockAlignBytes = 64;
const pageBytes = 65_536;
/** Address 0 is never handed out, so a zero pointer is always a bug. */
const heapStartBytes = blockAlignBytes;

interface FreeBlock {
  offset: number;
  size: number;
}

/**
 * A first-fit allocator over one WebAssembly memory, growing it on demand. With a shared memory,
 * views handed out stay valid when the memory grows (a shared buffer is never detached).
 */
export class WasmHeap {
  readonly memory: WasmMemory;
  readonly shared: boolean;
  readonly #maximumPages: number;
  readonly #buffers = new WeakSet<ArrayBufferLike>();
  #bytes: Uint8Array;
  #free: FreeBlock[];
  readonly #used = new Map<number, number>();

  constructor(memory: WasmMemory, shared: boolean, maximumPages: number) {
    this.memory = memory;
    this.shared = shared;
    this.#maximumPages = maximumPages;
    this.#bytes = this.#refresh();
    this.#free = [{ offset: heapStartBytes, size: this.#bytes.length - heapStartBytes }];
  }

  /** The whole memory as bytes; a new view after every growth. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Bytes currently allocated. */
  get usedBytes(): number {
    let total = 0;
    for (const size of this.#used.values()) total += size;
    return total;
  }

  /** True when `buffer` is (a snapshot of) this memory's buffer. */
  ownsBuffer(buffer: ArrayBufferLike): boolean {
    return this.#buffers.has(buffer);
  }

  /** The offset of a new block of at least `bytes` bytes, or undefined when the memory cannot grow enough. */
  alloc(bytes: number): number | undefined {
    assert(Number.isSafeInteger(bytes) && bytes > 0, 'WasmHeap.alloc: bytes must be a positive integer');
    const size = Math.ceil(bytes / blockAlignBytes) * blockAlignBytes;
    let index = this.#free.findIndex((block) => block.size >= size);
    if (index < 0) {
      if (!this.#grow(size)) return undefined;
      index = this.#free.findIndex((block) => block.size >= size);
      assert(index >= 0, 'WasmHeap: no free block after growing');
    }
    const block = this.#free[index]!;
    const offset = block.offset;
    if (block.size === size) this.#free.splice(index, 1);
    else {
      block.offset += size;
      block.size -= size;
    }
    this.#used.set(offset, size);
    return offset;
  }

  /** Returns a block; false when `offset` is not the start of a live block. */
  free(offset: number): boolean {
    const size = this.#used.get(offset);
    if (size === undefined) return false;
    this.#used.delete(offset);
    let index = 0;
    while (index < this.#free.length && this.#free[index]!.offset < offset) index++;
    this.#free.splice(index, 0, { offset, size });
    // Merge with the following block, then with the preceding one.
    const next = this.#free[index + 1];
    if (next !== undefined && offset + size === next.offset) {
      this.#free[index]!.size += next.size;
      this.#free.splice(index + 1, 1);
    }
    const previous = this.#free[index - 1];
    if (previous !== undefined && previous.offset + previous.size === offset) {
      previous.size += this.#free[index]!.size;
      this.#free.splice(index, 1);
    }
    return true;
  }

  #grow(size: number): boolean {
    const currentBytes = this.#bytes.length;
    const last = this.#free.at(-1);
    const tailFree = last !== undefined && last.offset + last.size === currentBytes ? last.size : 0;
    const neededPages = Math.ceil((size - tailFree) / pageBytes);
    const currentPages = currentBytes / pageBytes;
    // Grow by at least a quarter of the current size so that a run of allocations grows rarely.
    const pages = Math.min(
      Math.max(neededPages, Math.ceil(currentPages / 4)),
      this.#maximumPages - currentPages,
    );
    if (pages < neededPages) return false;
    try {
      this.memory.grow(pages);
    } catch {
      return false;
    }
    this.#bytes = this.#refresh();
    const added = pages * pageBytes;
    if (tailFree > 0) last!.size += added;
    else this.#free.push({ offset: currentBytes, size: added });
    return true;
  }

  #refresh(): Uint8Array {
    const buffer = this.memory.buffer;
    this.#buffers.add(buffer);
    return new Uint8Array(buffer);
  }
}
