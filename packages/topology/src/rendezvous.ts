/**
 * Weighted rendezvous (highest random weight) hashing: every (key, node) pair gets a pseudo-random
 * score, the highest scores win, and a node's share of keys is proportional to its weight. Adding or
 * removing a node moves only the keys that it wins or held, which keeps rebalancing small.
 * Not cryptographic: a node id chosen to win keys gains nothing the placement caps do not bound.
 */

/** A 32-bit hash of two strings: FNV-1a over their UTF-16 code units, then murmur3's finalizer. */
export function _hashPair(key: string, id: string): number {
  return hashFrom(keyState(key), id);
}

/** FNV-1a's state after `key` and a separator: the part of `_hashPair` every id of one key shares. */
function keyState(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 0xff, 0x01000193);
}

function hashFrom(state: number, id: string): number {
  let h = state;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The weighted rendezvous score of `id` for `key`: -weight / ln(u) with u uniform in (0, 1). */
export function _rendezvousScore(key: string, id: string, weight: number): number {
  return scoreFrom(keyState(key), id, weight);
}

function scoreFrom(state: number, id: string, weight: number): number {
  const u = (hashFrom(state, id) + 0.5) / 4_294_967_296;
  return -weight / Math.log(u);
}

/** The `count` best of `items` by rendezvous score for `key`, best first (ties by id). */
export function _rendezvousTop<T extends { readonly id: string }>(
  key: string,
  items: readonly T[],
  count: number,
  weightOf: (item: T) => number,
): T[] {
  const top: { item: T; score: number }[] = [];
  if (count <= 0) return [];
  const state = keyState(key);
  for (const item of items) {
    const score = scoreFrom(state, item.id, weightOf(item));
    if (top.length === count) {
      const last = top[count - 1]!;
      if (score < last.score || (score === last.score && item.id > last.item.id)) continue;
      top.pop();
    }
    let at = top.length;
    while (at > 0) {
      const prev = top[at - 1]!;
      if (prev.score > score || (prev.score === score && prev.item.id < item.id)) break;
      at--;
    }
    top.splice(at, 0, { item, score });
  }
  return top.map((entry) => entry.item);
}
