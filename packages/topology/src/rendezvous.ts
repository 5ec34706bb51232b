/**
 * Weighted rendezvous (highest random weight) hashing: every (key, node) pair gets a pseudo-random
 * score, the highest scores win, and a node's share of keys is proportional to its weight. Adding or
 * removing a node moves only the keys that it wins or held, which keeps rebalancing small.
 * Not cryptographic: a node id chosen to win keys gains nothing the placement caps do not bound.
 *
 * The pair's hash mixes the key's hash with the id's, each string hashed once: a node set kept for
 * many placements (`PlacementNodeSet`) hashes its ids once, so ranking a region costs a few integer
 * operations and one logarithm per node, not a pass over each id's characters.
 */

/** A 32-bit hash of a string: FNV-1a over its UTF-16 code units, then murmur3's finalizer. */
export function _hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/** murmur3's 32-bit finalizer: every input bit moves every output bit. */
function fmix32(x: number): number {
  let h = x;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The 32-bit hash of a (key, id) pair from the two strings' hashes. */
function pairHash(keyHash: number, idHash: number): number {
  return fmix32(keyHash ^ Math.imul(idHash, 0x9e3779b1));
}

/** A 32-bit hash of two strings. */
export function _hashPair(key: string, id: string): number {
  return pairHash(_hashString(key), _hashString(id));
}

/** The weighted rendezvous score of `id` for `key`: -weight / ln(u) with u uniform in (0, 1). */
export function _rendezvousScore(key: string, id: string, weight: number): number {
  return scoreOf(pairHash(_hashString(key), _hashString(id)), weight);
}

function scoreOf(hash: number, weight: number): number {
  return -weight / Math.log((hash + 0.5) / 4_294_967_296);
}

/** Keeps the best `count` (score, then smaller id) in `top`, best first. */
class TopK {
  readonly scores: number[] = [];
  readonly ids: string[] = [];
  readonly at: number[] = [];

  constructor(readonly count: number) {}

  offer(score: number, id: string, index: number): void {
    const { scores, ids, at, count } = this;
    const n = scores.length;
    if (n === count) {
      const last = scores[n - 1]!;
      if (score < last || (score === last && id > ids[n - 1]!)) return;
    }
    // Insertion by shifting the worse ones down one place (dropping the worst when full): splice
    // would allocate an array of the removed elements on every call.
    let i = n === count ? n - 1 : n;
    while (i > 0 && (scores[i - 1]! < score || (scores[i - 1] === score && ids[i - 1]! > id))) {
      scores[i] = scores[i - 1]!;
      ids[i] = ids[i - 1]!;
      at[i] = at[i - 1]!;
      i--;
    }
    scores[i] = score;
    ids[i] = id;
    at[i] = index;
  }
}

/** The `count` best of `items` by rendezvous score for `key`, best first (ties by id). */
export function _rendezvousTop<T extends { readonly id: string }>(
  key: string,
  items: readonly T[],
  count: number,
  weightOf: (item: T) => number,
): T[] {
  if (count <= 0) return [];
  const keyHash = _hashString(key);
  const top = new TopK(count);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    top.offer(scoreOf(pairHash(keyHash, _hashString(item.id)), weightOf(item)), item.id, i);
  }
  return top.at.map((i) => items[i]!);
}

/** Nodes with their id hashes and weights computed once, for ranking many keys. */
export interface _RendezvousPool {
  readonly ids: readonly string[];
  readonly idHashes: Uint32Array;
  readonly weights: Float64Array;
  /** Set when every weight is this one value (see `_uniformWeight`): ranking then needs no logarithm per node. */
  readonly uniformWeight?: number | undefined;
}

/** The weight every node of `weights` has, or undefined when they differ (or there are none). */
export function _uniformWeight(weights: Float64Array): number | undefined {
  if (weights.length === 0) return undefined;
  const first = weights[0]!;
  for (let i = 1; i < weights.length; i++) if (weights[i] !== first) return undefined;
  return first > 0 ? first : undefined;
}

/**
 * `_rendezvousTop` over a pool: the indices of the `count` best for `key`, best first, leaving out
 * the indices `skip` refuses. Ranks exactly as `_rendezvousTop` does over the same ids and weights.
 *
 * With one weight for every node the score grows strictly with the pair hash (consecutive hashes
 * give logarithms hundreds of thousands of ulps apart), so once `count` nodes are kept a node whose
 * hash is below the worst kept one's cannot enter: it is passed over with a few integer operations,
 * and the score is computed only for the few that can.
 */
export function _rendezvousTopOf(
  key: string,
  pool: _RendezvousPool,
  count: number,
  skip?: (index: number) => boolean,
): number[] {
  if (count <= 0) return [];
  const keyHash = _hashString(key);
  if (pool.uniformWeight !== undefined) return topOfUniform(keyHash, pool, count, pool.uniformWeight, skip);
  const { ids, idHashes, weights } = pool;
  const top = new TopK(count);
  let floor = Number.NEGATIVE_INFINITY; // the worst score kept once `count` are kept
  for (let i = 0; i < idHashes.length; i++) {
    const score = scoreOf(pairHash(keyHash, idHashes[i]!), weights[i]!);
    if (score < floor) continue;
    if (skip?.(i) === true) continue;
    top.offer(score, ids[i]!, i);
    if (top.scores.length === count) floor = top.scores[count - 1]!;
  }
  return top.at;
}

/**
 * `_rendezvousTopOf` when every node weighs `weight`. Hashes are compared as signed 32-bit integers
 * (each flipped in its top bit, which keeps their order) so that the loop stays in small integers.
 */
function topOfUniform(
  keyHash: number,
  pool: _RendezvousPool,
  count: number,
  weight: number,
  skip: ((index: number) => boolean) | undefined,
): number[] {
  const { ids, idHashes } = pool;
  const top = new TopK(count);
  let floor = Number.NEGATIVE_INFINITY;
  let floorSigned = -0x8000_0000; // the smallest hash worth scoring, flipped: every hash at first
  for (let i = 0; i < idHashes.length; i++) {
    let h = keyHash ^ Math.imul(idHashes[i]!, 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const flipped = h ^ 0x8000_0000;
    if (flipped < floorSigned) continue;
    const score = scoreOf(h >>> 0, weight);
    if (score < floor) continue;
    if (skip?.(i) === true) continue;
    top.offer(score, ids[i]!, i);
    if (top.scores.length === count) {
      floor = top.scores[count - 1]!;
      floorSigned = hashFloor(keyHash, idHashes[top.at[count - 1]!]!, weight, floor) ^ 0x8000_0000;
    }
  }
  return top.at;
}

/**
 * The smallest hash worth scoring once `floor` (the score of the worst kept node) is the worst
 * kept: every hash below the worst's scores below it when the score is strictly increasing there
 * (checked on the nearest one, so the skip never drops a node the full comparison would keep); 0
 * (skip nothing) otherwise.
 */
function hashFloor(keyHash: number, worstIdHash: number, weight: number, floor: number): number {
  const worstHash = pairHash(keyHash, worstIdHash);
  return worstHash > 0 && scoreOf(worstHash - 1, weight) < floor ? worstHash : 0;
}
