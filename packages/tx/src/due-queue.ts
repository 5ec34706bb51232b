import { assert } from '@trinity/core';

interface Entry {
  /** The wake-up time now; `queuedMs` may be earlier (then the entry is pushed again when it pops). */
  dueMs: number;
  /** The time the heap orders it by. */
  queuedMs: number;
  readonly key: string;
}

/**
 * Wake-up times by key (one per key; setting it again replaces it), popped in due order. A binary
 * min-heap: moving a key's time later only updates its entry (it is re-queued when its old time
 * comes), moving it earlier queues a new one and the old one is dropped when it surfaces. Setting
 * and popping cost O(log n), most later-moves O(1).
 */
export class DueQueue {
  readonly #current = new Map<string, Entry>();
  #heap: Entry[] = [];

  get size(): number {
    return this.#current.size;
  }

  set(key: string, dueMs: number): void {
    const entry = this.#current.get(key);
    if (entry !== undefined && entry.queuedMs <= dueMs) {
      entry.dueMs = dueMs;
      return;
    }
    const fresh: Entry = { dueMs, queuedMs: dueMs, key };
    this.#current.set(key, fresh);
    this.#push(fresh);
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
      if (top === undefined || top.queuedMs > nowMs) return due;
      this.#pop();
      this.#current.delete(top.key);
      due.push(top.key);
    }
  }

  /** Pops entries that were replaced or deleted, and re-queues those whose time moved later. */
  #dropStale(): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) return;
      if (this.#current.get(top.key) !== top) this.#pop();
      else if (top.dueMs > top.queuedMs) {
        this.#pop();
        top.queuedMs = top.dueMs;
        this.#push(top);
      } else return;
    }
  }

  #rebuild(): void {
    this.#heap = [];
    for (const entry of this.#current.values()) {
      entry.queuedMs = entry.dueMs;
      this.#push(entry);
    }
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.queuedMs <= entry.queuedMs) break;
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
      const child = right < heap.length && heap[right]!.queuedMs < heap[left]!.queuedMs ? right : left;
      if (heap[child]!.queuedMs >= last.queuedMs) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}
