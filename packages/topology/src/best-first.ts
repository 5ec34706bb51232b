import type { _ScoreHeap } from './score-heap.js';

/** One heap to walk and the constant added to every score in it (the region's locality term). */
export interface _WalkSource {
  readonly heap: _ScoreHeap;
  readonly bonus: number;
}

interface Frontier {
  score: number;
  id: string;
  source: _WalkSource;
  slot: number;
}

function ahead(a: Frontier, b: Frontier): boolean {
  return a.score > b.score || (a.score === b.score && a.id < b.id);
}

/**
 * Yields the entries of several heaps in exact descending order of (heap score + source bonus), ties by
 * id, stopping once `accept` has taken `limit` of them. A best-first walk: every heap's root goes into a
 * frontier queue; popping an entry pushes its two children, which can never rank above it, so each
 * yielded entry is the best one not yet yielded. Cost O((limit + rejected) * log) instead of a scan.
 */
export function _bestFirst(
  sources: readonly _WalkSource[],
  limit: number,
  accept: (id: string, score: number) => boolean,
): number {
  const queue: Frontier[] = [];
  const push = (source: _WalkSource, slot: number) => {
    if (slot >= source.heap.size) return;
    const item = {
      score: source.heap.scores[slot]! + source.bonus,
      id: source.heap.ids[slot]!,
      source,
      slot,
    };
    let i = queue.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!ahead(item, queue[parent]!)) break;
      queue[i] = queue[parent]!;
      i = parent;
    }
    queue[i] = item;
  };
  for (const source of sources) push(source, 0);
  let taken = 0;
  while (taken < limit && queue.length > 0) {
    const top = popTop(queue);
    if (accept(top.id, top.score)) taken++;
    push(top.source, 2 * top.slot + 1);
    push(top.source, 2 * top.slot + 2);
  }
  return taken;
}

function popTop(queue: Frontier[]): Frontier {
  const top = queue[0]!;
  const last = queue.pop()!;
  if (queue.length === 0) return top;
  let i = 0;
  const n = queue.length;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    const child = right < n && ahead(queue[right]!, queue[left]!) ? right : left;
    if (!ahead(queue[child]!, last)) break;
    queue[i] = queue[child]!;
    i = child;
  }
  queue[i] = last;
  return top;
}
