import { assertBytes, assertInt, assertNumber, describe, parseConfig } from '@trinity/core';
import * as z from 'zod/mini';
import { scanTopK } from './_index-search.js';
import { IndexStore, queryBatchMax } from './_index-store.js';
import { resolveKernel } from './_kernel.js';
import {
  type SemanticIndexConfig,
  type SemanticIndexConfigInput,
  semanticIndexConfigSchema,
} from './config.js';
import { DimensionMismatchError } from './errors.js';
import { FingerprintEncoder } from './fingerprint.js';
import { assertHypervector, type Hypervector } from './hypervector.js';
import { loadIndexFile, saveIndexFile } from './index-file.js';

/** What `search` returns per hit, best first. */
export interface SearchResult {
  readonly shardHash: Uint8Array;
  /** Cosine similarity in [-1, 1]. */
  readonly similarity: number;
}

/** Options of `search` and `searchBatch`; any other key is refused with ConfigError. */
export interface SearchOptions {
  /**
   * The k most similar entries, 1 to the index's `resultsMax`.
   * @defaultValue 10
   */
  readonly topK?: number | undefined;
  /**
   * Leave out entries below this similarity, -1 to 1.
   * @defaultValue -1 (none left out)
   */
  readonly threshold?: number | undefined;
  /**
   * An upper bound on the number of results, 1 to the index's `resultsMax`.
   * @defaultValue topK
   */
  readonly maxResults?: number | undefined;
}

const searchOptionKeys: ReadonlySet<string> = new Set(['topK', 'threshold', 'maxResults']);

/** Parsed only when `search` met a key it does not know: its ConfigError names the key. */
const searchOptionsZod = z.strictObject({
  topK: z.optional(z.unknown()),
  threshold: z.optional(z.unknown()),
  maxResults: z.optional(z.unknown()),
});

/** A query: bytes to fingerprint with the index's encoder, or a fingerprint already made. */
export type SearchQuery = Uint8Array | Hypervector;

/**
 * The semantic index (seed): shard hash (32 bytes) → fingerprint, searched by content or by vector.
 * Entries are packed in one contiguous buffer (two bit-planes each, 256 bytes per entry at 1024
 * dims) with no object per entry; `search` is an exact scan (every entry is scored, recall is 1) on
 * the WebAssembly SIMD kernel, `searchBatch` scores up to 16 queries in the same pass.
 *
 * Every method is synchronous except save/load, so calls never interleave with each other; `save`
 * writes a consistent snapshot. Results are sorted by descending similarity; equal similarities are
 * ordered by the entries' positions in the index (which `remove` may change).
 */
export class SemanticIndex {
  readonly config: SemanticIndexConfig;
  readonly encoder: FingerprintEncoder;
  readonly #store: IndexStore;

  constructor(config: SemanticIndexConfigInput = {}) {
    this.config = parseConfig(semanticIndexConfigSchema, config, 'semantic index config');
    const { dims, codebookSeed, kernel, initialCapacity, maxEntries } = this.config;
    this.encoder = new FingerprintEncoder({ dims, codebookSeed, kernel });
    this.#store = new IndexStore(dims, resolveKernel(kernel), initialCapacity, maxEntries);
  }

  get dims(): number {
    return this.config.dims;
  }

  /** Entries in the index. */
  get size(): number {
    return this.#store.count;
  }

  /** Bytes the index holds: its arena (entries, norms, scratch) plus hashes, norms and the hash table. */
  get bytes(): number {
    const store = this.#store;
    return store.memory.bytes + store.hashes.byteLength + store.norms.byteLength + store.slots.bytes;
  }

  /** 'wasm' when searches run on the WebAssembly SIMD kernel, else 'js'. */
  get kernel(): 'wasm' | 'js' {
    return this.#store.memory.kernel === undefined ? 'js' : 'wasm';
  }

  /** Fingerprints `data` and indexes it under `shardHash` (replacing what was there). */
  add(shardHash: Uint8Array, data: Uint8Array): void {
    assertBytes(shardHash, 'shardHash', 32);
    assertBytes(data, 'data');
    this.#store.put(shardHash, this.encoder.encode(data));
  }

  /** Fingerprints a stream of chunks (a file read stream, say) and indexes it under `shardHash`. */
  async addStream(
    shardHash: Uint8Array,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<void> {
    assertBytes(shardHash, 'shardHash', 32);
    const vector = await this.encoder.encodeStream(source);
    this.#store.put(shardHash, vector);
  }

  /** Indexes a fingerprint made elsewhere (network sync) under `shardHash` (replacing what was there). */
  addVector(shardHash: Uint8Array, vector: Hypervector): void {
    assertBytes(shardHash, 'shardHash', 32);
    assertHypervector(vector, 'vector', this.dims);
    this.#store.put(shardHash, vector);
  }

  /** Removes `shardHash`; returns whether it was there. */
  remove(shardHash: Uint8Array): boolean {
    assertBytes(shardHash, 'shardHash', 32);
    return this.#store.remove(shardHash);
  }

  has(shardHash: Uint8Array): boolean {
    assertBytes(shardHash, 'shardHash', 32);
    return this.#store.slots.find(shardHash) >= 0;
  }

  /** The fingerprint indexed under `shardHash` (a copy), or undefined. */
  vector(shardHash: Uint8Array): Hypervector | undefined {
    assertBytes(shardHash, 'shardHash', 32);
    const slot = this.#store.slots.find(shardHash);
    return slot < 0 ? undefined : this.#store.vectorAt(slot);
  }

  /**
   * The shard hashes in the index (copies), in index order, as they were when the iteration began:
   * `remove` moves the last entry into the hole, so a live walk that removes as it goes would skip
   * entries. The snapshot costs 32 bytes per entry until the iteration ends.
   */
  *shardHashes(): IterableIterator<Uint8Array> {
    const count = this.#store.count;
    const hashes = this.#store.hashes.slice(0, count * 32);
    for (let slot = 0; slot < count; slot++) yield hashes.slice(slot * 32, slot * 32 + 32);
  }

  /** The entries most similar to `query`, best first (an exact scan of every entry). */
  search(query: SearchQuery, options: SearchOptions = {}): SearchResult[] {
    return this.searchBatch([query], options)[0]!;
  }

  /** `search` for several queries, scored 16 at a time in one pass over the entries. */
  searchBatch(queries: readonly SearchQuery[], options: SearchOptions = {}): SearchResult[][] {
    if (!Array.isArray(queries)) throw new TypeError(`queries must be an array, got ${describe(queries)}`);
    assertInt(queries.length, 'queries.length', 0, 1_000_000);
    const { k, threshold } = this.#options(options);
    const vectors = queries.map((query, i) => this.#queryVector(query, `queries[${i}]`));
    const out: SearchResult[][] = [];
    for (let start = 0; start < vectors.length; start += queryBatchMax) {
      const batch = vectors.slice(start, start + queryBatchMax);
      const hits = this.#store.count === 0 ? batch.map(() => []) : scanTopK(this.#store, batch, k, threshold);
      for (const list of hits) {
        out.push(list.map(({ slot, similarity }) => ({ shardHash: this.#hashAt(slot), similarity })));
      }
    }
    return out;
  }

  /**
   * Writes the index to `path` atomically (temp file, fsync, rename) in the documented format (see
   * index-file.ts): a consistent snapshot even if the index changes while the write completes.
   * IndexFileUnavailableError on a host without node:fs (a browser).
   */
  async save(path: string): Promise<void> {
    await saveIndexFile(path, {
      dims: this.dims,
      codebookSeed: this.config.codebookSeed,
      store: this.#store,
    });
  }

  /** Reads an index written by `save`; `config` may set kernel and limits, and must agree on dims and seed. */
  static async load(path: string, config: SemanticIndexConfigInput = {}): Promise<SemanticIndex> {
    return loadIndexFile(path, config, (fileConfig) => new SemanticIndex(fileConfig));
  }

  /** @internal Bulk append for the loader (hashes already checked for duplicates). */
  _append(hash: Uint8Array, sign: Uint32Array, nonzero: Uint32Array): void {
    this.#store.append(hash, sign, nonzero);
  }

  #options(options: SearchOptions): { k: number; threshold: number } {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    for (const key of Object.keys(options)) {
      if (!searchOptionKeys.has(key)) parseConfig(searchOptionsZod, options, 'search options');
    }
    const max = this.config.resultsMax;
    const topK = options.topK ?? 10;
    assertInt(topK, 'topK', 1, max);
    const maxResults = options.maxResults ?? topK;
    assertInt(maxResults, 'maxResults', 1, max);
    const threshold = options.threshold ?? -1;
    assertNumber(threshold, 'threshold', -1, 1);
    return { k: Math.min(topK, maxResults), threshold };
  }

  #queryVector(query: SearchQuery, name: string): Hypervector {
    if (query instanceof Uint8Array) return this.encoder.encode(query);
    assertHypervector(query, name);
    if (query.dims !== this.dims) throw new DimensionMismatchError(this.dims, query.dims, name);
    return query;
  }

  #hashAt(slot: number): Uint8Array {
    return this.#store.hashes.slice(slot * 32, slot * 32 + 32);
  }
}
