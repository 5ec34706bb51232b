import { assert } from '@trinity/core';

/**
 * Shard hash → slot, as open addressing with linear probing over one Int32Array (slot + 1, 0 = empty):
 * no object per entry. Keys live in the index's contiguous hash array (32 bytes per slot); the table
 * stores only slot numbers. The probe start mixes 8 key bytes with a per-table salt, so keys chosen
 * to collide in a few bytes do not line up. Kept at most half full.
 */
export class HashSlots {
  #table: Int32Array;
  #mask: number;
  readonly #salt: number;
  /** The index's shard hashes, 32 bytes per slot (replaced when the index grows). */
  hashes: Uint8Array;

  constructor(capacity: number, hashes: Uint8Array, salt: number) {
    this.#table = new Int32Array(tableSizeFor(capacity));
    this.#mask = this.#table.length - 1;
    this.#salt = salt | 0;
    this.hashes = hashes;
  }

  get bytes(): number {
    return this.#table.byteLength;
  }

  /** The slot holding `key`, or -1. */
  find(key: Uint8Array): number {
    for (let i = this.#start(key); ; i = (i + 1) & this.#mask) {
      const entry = this.#table[i]!;
      if (entry === 0) return -1;
      if (this.#matches(entry - 1, key)) return entry - 1;
    }
  }

  /** Records that `slot` holds the key stored at hashes[slot]. The key must not be present. */
  insert(slot: number): void {
    const key = this.hashes.subarray(slot * 32, slot * 32 + 32);
    let i = this.#start(key);
    while (this.#table[i] !== 0) i = (i + 1) & this.#mask;
    this.#table[i] = slot + 1;
  }

  /** The key stored at hashes[`from`] moved to slot `to`. */
  moved(from: number, to: number): void {
    const key = this.hashes.subarray(to * 32, to * 32 + 32);
    for (let i = this.#start(key); ; i = (i + 1) & this.#mask) {
      assert(this.#table[i] !== 0, 'hash slots: moved key not found');
      if (this.#table[i] === from + 1) {
        this.#table[i] = to + 1;
        return;
      }
    }
  }

  /** Forgets `key` (held at `slot`), shifting later probe chain members back so no tombstone is left. */
  delete(key: Uint8Array, slot: number): void {
    let hole = this.#start(key);
    while (this.#table[hole] !== slot + 1) {
      assert(this.#table[hole] !== 0, 'hash slots: deleted key not found');
      hole = (hole + 1) & this.#mask;
    }
    for (let i = (hole + 1) & this.#mask; this.#table[i] !== 0; i = (i + 1) & this.#mask) {
      const entry = this.#table[i]!;
      const home = this.#start(this.hashes.subarray((entry - 1) * 32, entry * 32));
      // Move the entry into the hole unless its home lies cyclically in (hole, i].
      const stays = hole <= i ? home > hole && home <= i : home > hole || home <= i;
      if (stays) continue;
      this.#table[hole] = entry;
      hole = i;
    }
    this.#table[hole] = 0;
  }

  /** Rebuilds for a new capacity over new hash storage holding `count` keys in slots 0..count-1. */
  rebuild(capacity: number, hashes: Uint8Array, count: number): void {
    this.hashes = hashes;
    this.#table = new Int32Array(tableSizeFor(capacity));
    this.#mask = this.#table.length - 1;
    for (let slot = 0; slot < count; slot++) this.insert(slot);
  }

  #start(key: Uint8Array): number {
    const a = key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24);
    const b = key[4]! | (key[5]! << 8) | (key[6]! << 16) | (key[7]! << 24);
    let h = Math.imul(a ^ this.#salt, 0x9e3779b1) ^ Math.imul(b + this.#salt, 0x85ebca77);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae3d);
    return (h ^ (h >>> 13)) & this.#mask;
  }

  #matches(slot: number, key: Uint8Array): boolean {
    const hashes = this.hashes;
    const at = slot * 32;
    for (let i = 0; i < 32; i++) if (hashes[at + i] !== key[i]) return false;
    return true;
  }
}

function tableSizeFor(capacity: number): number {
  let size = 16;
  while (size < capacity * 2) size *= 2;
  return size;
}
