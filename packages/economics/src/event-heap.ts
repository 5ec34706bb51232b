import type { EconomicsEvent } from './events.js';

/** What the canonical order looks at. */
export type EventKey = Pick<EconomicsEvent, 'timeMs' | 'actor' | 'seq'>;

/** Canonical order of events: by time, then actor, then sequence number. */
export function compareEvents(a: EventKey, b: EventKey): number {
  if (a.timeMs !== b.timeMs) return a.timeMs - b.timeMs;
  if (a.actor !== b.actor) return a.actor < b.actor ? -1 : 1;
  return a.seq - b.seq;
}

/** A binary min-heap of events in canonical order: the settle buffer of `EconomicsState`. */
export class EventHeap {
  readonly #items: EconomicsEvent[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): EconomicsEvent | undefined {
    return this.#items[0];
  }

  push(event: EconomicsEvent): void {
    const items = this.#items;
    let i = items.push(event) - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (compareEvents(items[parent]!, event) <= 0) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = event;
  }

  pop(): EconomicsEvent | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && compareEvents(items[right]!, items[left]!) < 0 ? right : left;
      if (compareEvents(last, items[child]!) <= 0) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
