import { assert } from '@trinity/core';

/**
 * An indexed binary max-heap of ids by score (ties: smaller id first), with O(log n) insert, update
 * and delete by id. Exposes its array so that a best-first walk can enumerate entries in order
 * without popping (children of slot i are 2i+1 and 2i+2).
 */
export class _ScoreHeap {
  readonly ids: string[] = [];
  readonly scores: number[] = [];
  readonly #slot = new Map<string, number>();

  get size(): number {
    return this.ids.length;
  }

  has(id: string): boolean {
    return this.#slot.has(id);
  }

  /** Inserts `id` or moves it to its new score. */
  set(id: string, score: number): void {
    assert(!Number.isNaN(score), 'score heap: NaN score');
    const slot = this.#slot.get(id);
    if (slot === undefined) {
      this.ids.push(id);
      this.scores.push(score);
      this.#slot.set(id, this.ids.length - 1);
      this.#up(this.ids.length - 1);
      return;
    }
    const old = this.scores[slot]!;
    this.scores[slot] = score;
    if (score > old) this.#up(slot);
    else this.#down(slot);
  }

  delete(id: string): boolean {
    const slot = this.#slot.get(id);
    if (slot === undefined) return false;
    const last = this.ids.length - 1;
    this.#swap(slot, last);
    this.ids.pop();
    this.scores.pop();
    this.#slot.delete(id);
    if (slot < last) {
      this.#down(slot);
      this.#up(slot);
    }
    return true;
  }

  /** True when slot a ranks strictly before slot b. */
  before(a: number, b: number): boolean {
    const sa = this.scores[a]!;
    const sb = this.scores[b]!;
    return sa > sb || (sa === sb && this.ids[a]! < this.ids[b]!);
  }

  #up(slot: number): void {
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (!this.before(slot, parent)) break;
      this.#swap(slot, parent);
      slot = parent;
    }
  }

  #down(slot: number): void {
    const n = this.ids.length;
    for (;;) {
      const left = 2 * slot + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(right, left) ? right : left;
      if (!this.before(child, slot)) break;
      this.#swap(slot, child);
      slot = child;
    }
  }

  #swap(a: number, b: number): void {
    if (a === b) return;
    const ids = this.ids;
    const scores = this.scores;
    const id = ids[a]!;
    const score = scores[a]!;
    ids[a] = ids[b]!;
    scores[a] = scores[b]!;
    ids[b] = id;
    scores[b] = score;
    this.#slot.set(ids[a]!, a);
    this.#slot.set(ids[b]!, b);
  }
}
