import type { EconomicsEvent } from './events.js';

/** What the canonical order looks at. */
export type EventKey = Pick<EconomicsEvent, 'timeMs' | 'actor' | 'seq'>;

/** Canonical order of events: by time, then actor, then sequence number. */
export function compareEvents(a: EventKey, b: EventKey): number {
  if (a.timeMs !== b.timeMs) return a.timeMs - b.timeMs;
  if (a.actor !== b.actor) return a.actor < b.actor ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * The settle buffer of `EconomicsState`: the events waiting, in canonical order, oldest first.
 * Events arrive nearly in order (a network delays them by milliseconds, the settle delay is
 * seconds), so this is a sorted array rather than a heap: an arrival is placed by galloping back
 * from the newest event and a binary search over the short tail it sorts into, and a release takes
 * the head in O(1), without a heap's sift-down through events scattered in memory.
 */
export class SettleQueue<T extends EventKey = EconomicsEvent> {
  #items: (T | undefined)[] = [];
  /** Index of the oldest event; released slots before it are cleared and compacted away in bulk. */
  #head = 0;
  /**
   * The times of the oldest and the newest event (+∞ and -∞ when empty), kept beside them: an
   * arrival after the newest is appended, and a settling that finds nothing due returns, without
   * reading an event (with hundreds of states in one process, each such read was a cache miss).
   */
  #headTimeMs = Number.POSITIVE_INFINITY;
  #tailTimeMs = Number.NEGATIVE_INFINITY;

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** The time of the oldest event waiting, +∞ when none. */
  get headTimeMs(): number {
    return this.#headTimeMs;
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  push(event: T): void {
    const items = this.#items;
    const end = items.length;
    const timeMs = event.timeMs;
    if (end === this.#head) this.#headTimeMs = timeMs;
    if (end === this.#head || timeMs > this.#tailTimeMs || compareEvents(items[end - 1]!, event) <= 0) {
      items.push(event);
      this.#tailTimeMs = timeMs;
      return;
    }
    // items[hi] sorts after `event`; gallop back until an item that does not (or the head).
    let lo = this.#head;
    let hi = end - 1;
    for (let step = 1; ; step *= 2) {
      const probe = hi - step;
      if (probe < lo) break;
      if (compareEvents(items[probe]!, event) <= 0) {
        lo = probe + 1;
        break;
      }
      hi = probe;
    }
    // The first index in [lo, hi] whose item sorts after `event` (items[hi] does).
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEvents(items[mid]!, event) <= 0) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, event);
    if (lo === this.#head) this.#headTimeMs = timeMs;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[this.#head];
    if (top === undefined) return undefined;
    items[this.#head++] = undefined;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
      this.#headTimeMs = Number.POSITIVE_INFINITY;
      this.#tailTimeMs = Number.NEGATIVE_INFINITY;
      return top;
    }
    if (this.#head >= 1_024 && 2 * this.#head >= items.length) {
      items.splice(0, this.#head);
      this.#head = 0;
    }
    this.#headTimeMs = items[this.#head]!.timeMs;
    return top;
  }
}
