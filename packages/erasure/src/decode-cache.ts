import { assertInt } from '@trinity/core';

/** A bounded least-recently-used map: the decode matrices of the erasure patterns seen lately. */
export class LruCache<V> {
  readonly capacity: number;
  #entries = new Map<string, V>();
  #hits = 0;
  #misses = 0;

  constructor(capacity: number) {
    assertInt(capacity, 'capacity', 0, 1_000_000);
    this.capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get hits(): number {
    return this.#hits;
  }

  get misses(): number {
    return this.#misses;
  }

  /** The value under `key`, computed by `make` (and kept, evicting the oldest) on a miss. */
  getOrCreate(key: string, make: () => V): V {
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#hits++;
      // Re-insert so that Map order stays least-recently-used first.
      this.#entries.delete(key);
      this.#entries.set(key, cached);
      return cached;
    }
    this.#misses++;
    const value = make();
    if (this.capacity === 0) return value;
    if (this.#entries.size >= this.capacity) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
    return value;
  }

  clear(): void {
    this.#entries.clear();
  }
}
