import { assert } from '@trinity/core';

/**
 * Wake-up times by key (one per key; setting it again replaces it), popped in due order. A binary
 * min-heap with lazy deletion, so setting and popping cost O(log n).
 */
export class DueQueue {
  readonly #current = new Map<string, number>();
  #heap: { dueMs: number; key: string }[] = [];

  get size(): number {
    return this.#current.size;
  }

  set(key: string, dueMs: number): void {
    if (this.#current.get(key) === dueMs) return;
    this.#current.set(key, dueMs);
    this.#push({ dueMs, key });
    if (this.#heap.length > 4 * this.#current.size + 64) this.#rebuild();
  }

  delete(key: string): void {
    this.#current.delete(key);
  }

  /** The earliest wake-up time, if any. */
  peekMs(): number | undefined {
    this.#dropStale();
    return this.#heap[0]?.dueMs;
  }

  /** Removes and returns every key due at or before `nowMs`, earliest first. */
  popDue(nowMs: number): string[] {
    const due: string[] = [];
    for (;;) {
      this.#dropStale();
      const top = this.#heap[0];
      if (top === undefined || top.dueMs > nowMs) return due;
      this.#pop();
      this.#current.delete(top.key);
      due.push(top.key);
    }
  }

  #dropStale(): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || this.#current.get(top.key) === top.dueMs) return;
      this.#pop();
    }
  }

  #rebuild(): void {
    this.#heap = [];
    for (const [key, dueMs] of this.#current) this.#push({ dueMs, key });
  }

  #push(entry: { dueMs: number; key: string }): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.dueMs <= entry.dueMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    assert(last !== undefined, 'DueQueue: pop from an empty heap');
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.dueMs < heap[left]!.dueMs ? right : left;
      if (heap[child]!.dueMs >= last.dueMs) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
