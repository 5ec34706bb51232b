import { assert, randomBytes } from '@trinity/core';
import { paddedPlaneBytes, wordsFor } from './_bits.js';
import { HashSlots } from './_hash-slots.js';
import { createIndexMemory, type IndexMemory } from './_index-memory.js';
import { kernelMemoryBytesMax } from './_kernel.js';
import { IndexFullError } from './errors.js';
import { _hypervector, _nonzeroCount, type Hypervector } from './hypervector.js';

/** Queries scanned together in one pass over the entries. */
export const queryBatchMax = 16;
/** Entries per kernel call; the host re-tightens the thresholds between calls. */
export const blockEntries = 4096;

/**
 * The index's entries in one contiguous arena. Layout (byte offsets, all 64-byte aligned):
 *   [0, entriesAt)            queries (as entries are), their cut-offs, emitted records
 *   [entriesAt, normsAt)      capacity entries of 2·pb bytes: the sign and nonzero planes interleaved in
 *                             32-byte blocks ([sign words 8i..8i+7][nonzero words 8i..8i+7], i = 0..pb/32-1),
 *                             zero-padded, so that the scan reads each entry as one sequential stream
 *   [normsAt, + capacity × 4) f32 1/sqrt(norm) per entry, for the kernel's approximate scores
 * Shard hashes (32 bytes per slot) and exact norms (u32) live beside it in plain typed arrays, and
 * HashSlots maps hash → slot. Slots 0..count-1 are dense: removal moves the last entry into the hole.
 */
export class IndexStore {
  readonly dims: number;
  readonly words: number;
  readonly pb: number;
  readonly stride: number;
  readonly memory: IndexMemory;
  readonly limit: number;
  readonly queriesAt: number;
  readonly thresholdsAt: number;
  readonly outAt: number;
  readonly entriesAt: number;
  capacity: number;
  count = 0;
  norms: Uint32Array;
  hashes: Uint8Array;
  readonly slots: HashSlots;

  constructor(dims: number, kernel: 'wasm' | 'js', initialCapacity: number, maxEntries: number) {
    this.dims = dims;
    this.words = wordsFor(dims);
    this.pb = paddedPlaneBytes(dims);
    this.stride = 2 * this.pb;
    this.queriesAt = 0;
    this.thresholdsAt = align(queryBatchMax * this.stride);
    this.outAt = align(this.thresholdsAt + queryBatchMax * 4);
    this.entriesAt = align(this.outAt + blockEntries * queryBatchMax * 12);
    const addressable = Math.floor((kernelMemoryBytesMax - this.entriesAt - 64) / (this.stride + 4));
    this.limit = Math.min(maxEntries, addressable);
    this.capacity = Math.max(1, Math.min(initialCapacity, this.limit));
    this.memory = createIndexMemory(kernel, this.#bytesFor(this.capacity));
    this.norms = new Uint32Array(this.capacity);
    this.hashes = new Uint8Array(this.capacity * 32);
    const salt = new DataView(randomBytes(4).buffer).getInt32(0);
    this.slots = new HashSlots(this.capacity, this.hashes, salt);
  }

  get normsAt(): number {
    return this.entriesAt + this.capacity * this.stride;
  }

  /**
   * Byte offset of a scratch area of `bytes` past the norms (grown on demand, overwritten by growth):
   * for the batch scan's lookup table, which lives only during one search.
   */
  scratchAfterNorms(bytes: number): number {
    const at = align(this.normsAt + this.capacity * 4);
    if (!this.memory.ensure(at + bytes, true)) throw new IndexFullError(this.count);
    return at;
  }

  /** Byte offset of entry `slot`. */
  entryAt(slot: number): number {
    return this.entriesAt + slot * this.stride;
  }

  /** Stores `vector` under `hash`, replacing an existing entry; returns its slot. */
  put(hash: Uint8Array, vector: Hypervector): number {
    let slot = this.slots.find(hash);
    if (slot < 0) {
      if (this.count === this.capacity) this.#grow(this.count + 1);
      slot = this.count++;
      this.hashes.set(hash, slot * 32);
      this.slots.insert(slot);
    }
    this.#write(slot, vector.sign, vector.nonzero);
    return slot;
  }

  /** Writes planes at a new slot without a lookup (bulk load: the caller has ruled out duplicates). */
  append(hash: Uint8Array, sign: Uint32Array, nonzero: Uint32Array): void {
    if (this.count === this.capacity) this.#grow(this.count + 1);
    const slot = this.count++;
    this.hashes.set(hash, slot * 32);
    this.slots.insert(slot);
    this.#write(slot, sign, nonzero);
  }

  /** Removes the entry of `hash`; the last entry takes its slot. */
  remove(hash: Uint8Array): boolean {
    const slot = this.slots.find(hash);
    if (slot < 0) return false;
    this.slots.delete(hash, slot);
    const last = this.count - 1;
    if (slot !== last) {
      const { u8, f32 } = this.memory;
      u8.copyWithin(this.entryAt(slot), this.entryAt(last), this.entryAt(last) + this.stride);
      f32[this.normsAt / 4 + slot] = f32[this.normsAt / 4 + last]!;
      this.norms[slot] = this.norms[last]!;
      this.hashes.copyWithin(slot * 32, last * 32, last * 32 + 32);
      this.slots.moved(last, slot);
    }
    this.count = last;
    return true;
  }

  /** A copy of the vector in `slot`. */
  vectorAt(slot: number): Hypervector {
    assert(slot >= 0 && slot < this.count, 'index slot out of range');
    const sign = new Uint32Array(this.words);
    const nonzero = new Uint32Array(this.words);
    readEntry(this.memory.u32, this.entryAt(slot) / 4, sign, nonzero);
    return _hypervector(this.dims, sign, nonzero);
  }

  #write(slot: number, sign: Uint32Array, nonzero: Uint32Array): void {
    const { u32, f32 } = this.memory;
    writeEntry(u32, this.entryAt(slot) / 4, sign, nonzero);
    const norm = _nonzeroCount(nonzero);
    this.norms[slot] = norm;
    f32[this.normsAt / 4 + slot] = norm === 0 ? 0 : 1 / Math.sqrt(norm);
  }

  #bytesFor(capacity: number): number {
    return this.entriesAt + capacity * (this.stride + 4) + 64;
  }

  #grow(needed: number): void {
    if (needed > this.limit) throw new IndexFullError(this.limit);
    const capacity = Math.min(this.limit, Math.max(needed, this.capacity * 2));
    if (!this.memory.ensure(this.#bytesFor(capacity), true)) throw new IndexFullError(this.count);
    const oldNormsAt = this.normsAt;
    const newNormsAt = this.entriesAt + capacity * this.stride;
    const { u8 } = this.memory;
    u8.copyWithin(newNormsAt, oldNormsAt, oldNormsAt + this.capacity * 4);
    u8.fill(0, oldNormsAt, newNormsAt);
    this.capacity = capacity;
    const norms = new Uint32Array(capacity);
    norms.set(this.norms.subarray(0, this.count));
    this.norms = norms;
    const hashes = new Uint8Array(capacity * 32);
    hashes.set(this.hashes.subarray(0, this.count * 32));
    this.hashes = hashes;
    this.slots.rebuild(capacity, hashes, this.count);
  }
}

/** u32 offset, within an entry, of sign word `w` (its nonzero word is 8 further). */
export function signWordAt(w: number): number {
  return ((w >>> 3) << 4) | (w & 7);
}

/** Writes planes into the entry layout at u32 offset `at` (padding words are left as they are: zero). */
export function writeEntry(u32: Uint32Array, at: number, sign: Uint32Array, nonzero: Uint32Array): void {
  for (let w = 0; w < sign.length; w++) {
    const i = at + signWordAt(w);
    u32[i] = sign[w]!;
    u32[i + 8] = nonzero[w]!;
  }
}

/** Reads the planes of the entry at u32 offset `at` into `sign` and `nonzero`. */
export function readEntry(u32: Uint32Array, at: number, sign: Uint32Array, nonzero: Uint32Array): void {
  for (let w = 0; w < sign.length; w++) {
    const i = at + signWordAt(w);
    sign[w] = u32[i]!;
    nonzero[w] = u32[i + 8]!;
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}
