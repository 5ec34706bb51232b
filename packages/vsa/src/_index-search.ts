import { assert } from '@trinity/core';
import { popcount32 } from './_bits.js';
import { blockEntries, type IndexStore, queryBatchMax, signWordAt, writeEntry } from './_index-store.js';
import { TopK } from './_top-k.js';
import { _cosine, _nonzeroCount, type Hypervector } from './hypervector.js';

/** One hit of a scan: the slot, and dot and norm for the exact similarity. */
export interface ScanHit {
  readonly slot: number;
  readonly similarity: number;
}

/** Relative slack between the exact cut-off and the f32 one the kernel compares with. */
const cutoffSlack = 2 ** -18;

/**
 * The exact top-k of each query (at most 16) among the store's entries, keeping only similarities
 * ≥ `threshold`. One pass over the entries: the kernel computes every dot product and emits the
 * entries whose approximate score dot·(1/sqrt(norm)) can still make a query's top k (a cut-off a
 * little below the exact one, so nothing that belongs is dropped); here they are ranked exactly.
 */
export function scanTopK(
  store: IndexStore,
  queries: readonly Hypervector[],
  k: number,
  threshold: number,
): ScanHit[][] {
  assert(queries.length >= 1 && queries.length <= queryBatchMax, 'scan: 1 to 16 queries');
  const norms = queries.map((q) => _nonzeroCount(q.nonzero));
  const heaps = queries.map(() => new TopK(k));
  // Similarity ≥ threshold ⟺ dot/sqrt(norm) ≥ threshold·sqrt(|q|²); a zero query scores 0 everywhere.
  const floors = norms.map((n) => (threshold <= -1 ? -Infinity : threshold * Math.sqrt(n)));
  const active = queries.map((_, q) => !(norms[q] === 0 && threshold > 0));
  const scanner =
    store.memory.kernel === undefined ? new JsScanner(store, queries) : new WasmScanner(store, queries);
  // A short first block fills the heaps, so that later blocks only emit entries that can still rank.
  for (
    let start = 0, block = Math.min(blockEntries, 4 * k + 64);
    start < store.count;
    start += block, block = blockEntries
  ) {
    const cutoffs = heaps.map((heap, q) => {
      if (!active[q]) return Infinity;
      const cutoff = heap.full ? Math.max(heap.worstScore(), floors[q]!) : floors[q]!;
      return cutoff - Math.abs(cutoff) * cutoffSlack - 1e-9;
    });
    const count = Math.min(block, store.count - start);
    const hits = scanner.scan(start, count, cutoffs);
    for (let i = 0; i < hits.length; i += 3) {
      const slot = hits[i]!;
      heaps[hits[i + 1]!]!.offer(slot, hits[i + 2]!, store.norms[slot]!);
    }
  }
  return heaps.map((heap, q) => {
    const out: ScanHit[] = [];
    for (const [slot, dot, norm] of heap.sorted()) {
      const similarity = _cosine(dot, norms[q]!, norm);
      if (similarity >= threshold) out.push({ slot, similarity });
    }
    return out;
  });
}

interface Scanner {
  /** Emitted (slot, query, dot) triples for entries [start, start + count) whose score reaches the cut-off. */
  scan(start: number, count: number, cutoffs: readonly number[]): Int32Array;
}

/** The WebAssembly kernel: queries copied into scratch memory, records read back from it. */
class WasmScanner implements Scanner {
  readonly #store: IndexStore;
  readonly #queries: number;

  constructor(store: IndexStore, queries: readonly Hypervector[]) {
    this.#store = store;
    this.#queries = queries.length;
    const { stride, queriesAt } = store;
    const u32 = store.memory.u32;
    for (const [q, query] of queries.entries()) {
      const at = (queriesAt + q * stride) / 4;
      u32.fill(0, at, at + stride / 4);
      writeEntry(u32, at, query.sign, query.nonzero);
    }
  }

  scan(start: number, count: number, cutoffs: readonly number[]): Int32Array {
    const store = this.#store;
    const { memory, thresholdsAt, outAt } = store;
    const f32 = memory.f32;
    for (let q = 0; q < this.#queries; q++) f32[thresholdsAt / 4 + q] = Math.fround(cutoffs[q]!);
    const emitted = memory.kernel!.exports.scan(
      store.queriesAt,
      this.#queries,
      store.entryAt(start),
      count,
      store.pb,
      thresholdsAt,
      store.normsAt + start * 4,
      outAt,
      start,
    );
    return memory.i32.subarray(outAt / 4, outAt / 4 + emitted * 3);
  }
}

/** The TypeScript kernel: popcounts over 32-bit words of the same layout. */
class JsScanner implements Scanner {
  readonly #store: IndexStore;
  readonly #queries: readonly Hypervector[];
  readonly #out: Int32Array;
  readonly #offsets: Int32Array;

  constructor(store: IndexStore, queries: readonly Hypervector[]) {
    this.#store = store;
    this.#queries = queries;
    this.#out = new Int32Array(blockEntries * queries.length * 3);
    this.#offsets = Int32Array.from({ length: store.words }, (_, w) => signWordAt(w));
  }

  scan(start: number, count: number, cutoffs: readonly number[]): Int32Array {
    const store = this.#store;
    const { u32, f32 } = store.memory;
    const words = store.words;
    const offsets = this.#offsets;
    const out = this.#out;
    let emitted = 0;
    for (let slot = start; slot < start + count; slot++) {
      const at = store.entryAt(slot) / 4;
      const inverse = f32[store.normsAt / 4 + slot]!;
      for (let q = 0; q < this.#queries.length; q++) {
        const query = this.#queries[q]!;
        let both = 0;
        let opposite = 0;
        for (let w = 0; w < words; w++) {
          const i = at + offsets[w]!;
          const n = u32[i + 8]! & query.nonzero[w]!;
          both += popcount32(n);
          opposite += popcount32(n & (u32[i]! ^ query.sign[w]!));
        }
        const dot = both - 2 * opposite;
        if (dot * inverse < cutoffs[q]!) continue;
        out[emitted++] = slot;
        out[emitted++] = q;
        out[emitted++] = dot;
      }
    }
    return out.subarray(0, emitted);
  }
}
