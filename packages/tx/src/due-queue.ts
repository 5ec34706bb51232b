import { assert } from '@trinity/core';

/** A queued wake-up: owned by the queue, kept on its item (see `Scheduled`). */
export interface DueEntry {
  /** The wake-up time now; `queuedMs` may be earlier (then the entry is pushed again when it pops). */
  dueMs: number;
  /** The time the heap orders it by. */
  queuedMs: number;
  readonly item: Scheduled;
}

/** Something a DueQueue wakes: it carries its own entry, so the queue needs no map of its items. */
export interface Scheduled {
  /** Set and read by the queue only: undefined when not queued. */
  dueEntry: DueEntry | undefined;
}

/**
 * Wake-up times of items (one per item; setting it again replaces it), popped in due order. A
 * binary min-heap: moving an item's time later only updates its entry (it is re-queued when its old
 * time comes), moving it earlier queues a new entry and the old one is dropped when it surfaces.
 * Each item holds its current entry, so setting, deleting and recognising stale entries need no
 * lookup. Setting and popping cost O(log n), most later-moves O(1).
 */
export class DueQueue<T extends Scheduled> {
  #heap: DueEntry[] = [];
  #size = 0;

  /** Items queued. */
  get size(): number {
    return this.#size;
  }

  set(item: T, dueMs: number): void {
    const entry = item.dueEntry;
    if (entry !== undefined && entry.queuedMs <= dueMs) {
      entry.dueMs = dueMs;
      return;
    }
    if (entry === undefined) this.#size++;
    const fresh: DueEntry = { dueMs, queuedMs: dueMs, item };
    item.dueEntry = fresh;
    this.#push(fresh);
    if (this.#heap.length > 4 * this.#size + 64) this.#rebuild();
  }

  delete(item: T): void {
    if (item.dueEntry === undefined) return;
    item.dueEntry = undefined;
    this.#size--;
  }

  /** The earliest wake-up time, if any. */
  peekMs(): number | undefined {
    this.#dropStale();
    return this.#heap[0]?.dueMs;
  }

  /** Removes and returns every item due at or before `nowMs`, earliest first. */
  popDue(nowMs: number): T[] {
    const due: T[] = [];
    for (;;) {
      this.#dropStale();
      const top = this.#heap[0];
      if (top === undefined || top.queuedMs > nowMs) return due;
      this.#pop();
      top.item.dueEntry = undefined;
      this.#size--;
      due.push(top.item as T);
    }
  }

  /** Pops entries that were replaced or deleted, and re-queues those whose time moved later. */
  #dropStale(): void {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) return;
      if (top.item.dueEntry !== top) this.#pop();
      else if (top.dueMs > top.queuedMs) {
        this.#pop();
        top.queuedMs = top.dueMs;
        this.#push(top);
      } else return;
    }
  }

  /** Drops stale entries and queues the rest by their current time. */
  #rebuild(): void {
    const live = this.#heap.filter((entry) => entry.item.dueEntry === entry);
    assert(live.length === this.#size, 'DueQueue: size out of step');
    this.#heap = [];
    for (const entry of live) {
      entry.queuedMs = entry.dueMs;
      this.#push(entry);
    }
  }

  #push(entry: DueEntry): void {
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
