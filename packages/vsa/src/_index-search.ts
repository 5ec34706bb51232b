import { assert } from '@trinity/core';
import { popcount32 } from './_bits.js';
import { blockEntries, type IndexStore, queryBatchMax, signWordAt, writeEntry } from './_index-store.js';
import { TopK } from './_top-k.js';
import { _cosine, _nonzeroCount, type Hypervector } from './hypervector.js';

/** One hit of a scan: the entry's slot and its exact similarity to the query. */
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
  const scanner = scannerFor(store, queries);
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

/** Batches of at least this many queries use the table scan (its cost does not depend on the count)... */
const tableScanQueriesMin = 10;
/** ...while its table (4 KiB per plane byte) fits in L2: up to 2048 dims. Beyond, lookups miss and lose. */
const tableScanPlaneBytesMax = 256;

function scannerFor(store: IndexStore, queries: readonly Hypervector[]): Scanner {
  if (store.memory.kernel === undefined) return new JsScanner(store, queries);
  if (queries.length >= tableScanQueriesMin && store.pb <= tableScanPlaneBytesMax) {
    return new WasmTableScanner(store, queries);
  }
  return new WasmScanner(store, queries);
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

/**
 * The WebAssembly table scan for 10 to 16 queries: a lookup table of the queries' partial sums per
 * byte of an entry (4 KiB per byte position), built once per search, then two lookups per 8 dims.
 */
class WasmTableScanner implements Scanner {
  readonly #store: IndexStore;
  readonly #queries: number;
  readonly #tableAt: number;
  readonly #triples: Int32Array;

  constructor(store: IndexStore, queries: readonly Hypervector[]) {
    this.#store = store;
    this.#queries = queries.length;
    const positions = store.pb;
    const tableBytes = positions * 4096;
    this.#tableAt = store.scratchAfterNorms(tableBytes + positions * 128);
    const qtAt = this.#tableAt + tableBytes;
    const i8 = new Int8Array(store.memory.u8.buffer);
    i8.fill(0, qtAt, qtAt + positions * 128);
    for (const [q, query] of queries.entries()) {
      for (let j = 0; j < query.dims; j++) {
        const bit = 1 << (j & 31);
        if ((query.nonzero[j >>> 5]! & bit) === 0) continue;
        i8[qtAt + j * 16 + q] = (query.sign[j >>> 5]! & bit) === 0 ? 1 : -1;
      }
    }
    store.memory.kernel!.exports.buildTable(this.#tableAt, qtAt, positions);
    this.#triples = new Int32Array(blockEntries * queries.length * 3);
  }

  scan(start: number, count: number, cutoffs: readonly number[]): Int32Array {
    const store = this.#store;
    const { memory, thresholdsAt, outAt } = store;
    const f32 = memory.f32;
    for (let q = 0; q < queryBatchMax; q++) {
      f32[thresholdsAt / 4 + q] = q < this.#queries ? Math.fround(cutoffs[q]!) : Number.POSITIVE_INFINITY;
    }
    const emitted = memory.kernel!.exports.scanTable(
      this.#tableAt,
      store.entryAt(start),
      count,
      store.pb,
      thresholdsAt,
      store.normsAt + start * 4,
      outAt,
      start,
    );
    const { i32 } = memory;
    const i16 = new Int16Array(i32.buffer);
    const triples = this.#triples;
    let n = 0;
    for (let r = 0; r < emitted; r++) {
      const at = outAt / 4 + r * 10;
      for (let mask = i32[at + 1]!; mask !== 0; mask &= mask - 1) {
        const q = 31 - Math.clz32(mask & -mask);
        triples[n++] = i32[at]!;
        triples[n++] = q;
        triples[n++] = i16[(at + 2) * 2 + q]!;
      }
    }
    return triples.subarray(0, n);
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
