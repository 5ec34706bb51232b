import { bytesToUtf8, type Logger, utf8ToBytes } from '@trinity/core';
import type { BucketRecord } from './backend.js';
import { S3Error } from './errors.js';
import type { HeadProposal, IndexHead, IndexHeads } from './index-heads.js';
import { IndexOverMemory } from './index-over-memory.js';
import { applyRecord, type IndexRecord, InMemoryS3Index } from './memory.js';

/** Where the index snapshots live: immutable blobs by id (the daemon: Trinity objects). */
export interface IndexBlobs {
  put(bytes: Uint8Array): Promise<string>;
  get(id: string): Promise<Uint8Array>;
  /** Idempotent. */
  delete(id: string): Promise<void>;
}

export interface NetworkS3IndexComponents {
  readonly heads: IndexHeads;
  readonly blobs: IndexBlobs;
  readonly logger: Logger;
  /** Waits before a retry after a lost compare-and-set (tests pass a fast one). */
  readonly backoff?: (attempt: number) => Promise<void>;
}

export interface NetworkS3IndexOptions {
  /** The serialized index at most (every update rewrites it whole). */
  readonly indexBytesMax?: number;
  readonly bucketsMax?: number;
  /** Lost compare-and-sets before a mutation gives up with 503. */
  readonly attemptsMax?: number;
  /** Mutations applied in one head update, at most. */
  readonly batchMax?: number;
}

const snapshotFormat = 'trinity-s3-index/1';

interface Snapshot {
  readonly seq: number;
  readonly root: string | undefined;
  readonly bytes: Uint8Array | undefined;
  readonly index: InMemoryS3Index;
}

interface Pending {
  readonly apply: (index: InMemoryS3Index) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

function defaultBackoff(attempt: number): Promise<void> {
  const ms = Math.min(500, 5 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The network-wide `S3Index` (README "The network index"): an owner's whole index (buckets, keys,
 * uploads) is one immutable snapshot stored as a Trinity object, and an owner-signed head with a
 * sequence number, replicated on a small group of nodes, names the current snapshot. Every read
 * reads the head first (snapshots are cached by id, they never change); every mutation applies to
 * the snapshot the head names, stores the new snapshot and compare-and-sets the head (seq + 1),
 * starting over on the new head when another gateway got there first. Mutations waiting on this
 * gateway are applied together in one head update (group commit). Each method is atomic: it takes
 * effect in exactly one head update, and a read sees every update acknowledged before it began.
 */
export class NetworkS3Index extends IndexOverMemory {
  readonly #c: NetworkS3IndexComponents;
  readonly #indexBytesMax: number;
  readonly #bucketsMax: number;
  readonly #attemptsMax: number;
  readonly #batchMax: number;
  #cached: Snapshot | undefined;
  /** The highest head seq this gateway has seen: a lower one later means replicas lost state. */
  #seenSeq = 0;
  readonly #pending: Pending[] = [];
  #flushing = false;

  constructor(components: NetworkS3IndexComponents, options: NetworkS3IndexOptions = {}) {
    super();
    this.#c = components;
    this.#indexBytesMax = options.indexBytesMax ?? 16 * 1024 * 1024;
    this.#bucketsMax = options.bucketsMax ?? 1000;
    this.#attemptsMax = options.attemptsMax ?? 40;
    this.#batchMax = options.batchMax ?? 256;
  }

  /** The current state as index records (the orphaned-piece sweep reads which pieces are referenced). */
  async records(): Promise<IndexRecord[]> {
    return [...(await this.#current()).index.records()];
  }

  /**
   * The object id of the current snapshot (undefined before the first write), after a round that
   * settles any half-done update: a snapshot that is not current now can never become current.
   */
  async currentRoot(): Promise<string | undefined> {
    const result = await this.#c.heads.update(async () => 'unchanged');
    if (result === 'lost' || result === 'contended') {
      throw new S3Error('ServiceUnavailable', 'the index head is contended; retry');
    }
    return result.chosen?.root;
  }

  /** The head now and the snapshot it names (cached by root id). */
  async #current(): Promise<Snapshot> {
    for (let attempt = 0; ; attempt++) {
      const head = await this.#c.heads.read();
      try {
        return await this.#load(head);
      } catch (error) {
        // The snapshot of a head replaced meanwhile may be deleted already: read the head again.
        if (error instanceof S3Error) throw error;
        if (attempt < snapshotReadsMax) {
          await (this.#c.backoff ?? defaultBackoff)(attempt + 1);
          continue;
        }
        throw new S3Error(
          'ServiceUnavailable',
          `could not read the index snapshot: ${(error as Error).message}`,
        );
      }
    }
  }

  /** The snapshot `head` names: cached, or read and decoded (a blob error passes through). */
  async #load(head: IndexHead | undefined): Promise<Snapshot> {
    if (head === undefined) {
      if (this.#seenSeq > 0) throw this.#wentBack(0);
      return { seq: 0, root: undefined, bytes: undefined, index: new InMemoryS3Index(this.#bucketsMax) };
    }
    if (head.seq < this.#seenSeq) throw this.#wentBack(head.seq);
    const cached = this.#cached;
    if (cached !== undefined && cached.root === head.root) {
      // A root names one snapshot; a settling round may re-sign it under a higher seq.
      if (cached.seq === head.seq) return cached;
      const same = { ...cached, seq: head.seq };
      this.#remember(same);
      return same;
    }
    const bytes = await this.#c.blobs.get(head.root);
    const snapshot = { seq: head.seq, root: head.root, bytes, index: await this.#decode(bytes) };
    this.#remember(snapshot);
    return snapshot;
  }

  #remember(snapshot: Snapshot): void {
    if (this.#cached === undefined || snapshot.seq >= this.#cached.seq) this.#cached = snapshot;
    if (snapshot.seq > this.#seenSeq) this.#seenSeq = snapshot.seq;
  }

  #wentBack(seq: number): S3Error {
    return new S3Error(
      'ServiceUnavailable',
      `the index head went back to seq ${seq} after this gateway saw ${this.#seenSeq}; its replicas are not reachable or lost state`,
    );
  }

  async #decode(bytes: Uint8Array): Promise<InMemoryS3Index> {
    const index = new InMemoryS3Index(this.#bucketsMax);
    let parsed: { format?: unknown; records?: unknown };
    try {
      parsed = JSON.parse(bytesToUtf8(bytes)) as typeof parsed;
    } catch {
      throw new S3Error('InternalError', 'the index snapshot is not JSON');
    }
    if (parsed.format !== snapshotFormat || !Array.isArray(parsed.records)) {
      throw new S3Error('InternalError', `the index snapshot is not ${snapshotFormat}`);
    }
    for (const record of parsed.records as IndexRecord[]) await applyRecord(index, record);
    return index;
  }

  #encode(index: InMemoryS3Index): Uint8Array {
    return utf8ToBytes(JSON.stringify({ format: snapshotFormat, records: [...index.records()] }));
  }

  protected read(): Promise<InMemoryS3Index> {
    return this.#current().then((snapshot) => snapshot.index);
  }

  /** Queues a mutation; it is applied in the next head update of this gateway (`record` is not needed: the snapshot is the state). */
  protected mutate<T>(_record: IndexRecord, apply: (index: InMemoryS3Index) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ apply, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, this.#batchMax);
        try {
          await this.#commit(batch);
        } catch (error) {
          for (const op of batch) op.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  /**
   * Applies `batch` to the current snapshot inside one head round: the round's prepare says which
   * head is current, the batch is applied to its snapshot, the new snapshot stored, and the round's
   * accept makes it current unless another writer got in between (then all over again).
   */
  async #commit(batch: readonly Pending[]): Promise<void> {
    type Outcome = { value: unknown } | { error: unknown };
    /**
     * Snapshots this batch proposed in rounds a minority accepted (`contended`): a later round may
     * still find one of them current, and then the batch took effect there (with those outcomes):
     * applying it again would be wrong (a put would "replace" its own entry and free its pieces).
     */
    const proposed = new Map<
      string,
      { outcomes: Outcome[]; bytes: Uint8Array; index: InMemoryS3Index; base: string | undefined }
    >();
    for (let attempt = 0; attempt < this.#attemptsMax; attempt++) {
      if (attempt > 0) await (this.#c.backoff ?? defaultBackoff)(attempt);
      let outcomes: Outcome[] = [];
      let written:
        | { root: string; bytes: Uint8Array; index: InMemoryS3Index; base: string | undefined }
        | undefined;
      let ours: (typeof proposed extends Map<string, infer V> ? V : never) | undefined;
      const propose = async (current: IndexHead | undefined): Promise<HeadProposal> => {
        ours = current === undefined ? undefined : proposed.get(current.root);
        if (ours !== undefined) return 'unchanged'; // an earlier round of this batch: settle it
        let base: Snapshot;
        try {
          base = await this.#load(current);
        } catch (error) {
          if (error instanceof S3Error) throw error;
          // Its snapshot is deleted only once a newer head was chosen: this round is lost.
          throw new SupersededError((error as Error).message);
        }
        const working =
          base.bytes === undefined ? new InMemoryS3Index(this.#bucketsMax) : await this.#decode(base.bytes);
        outcomes = [];
        for (const op of batch) {
          try {
            outcomes.push({ value: await op.apply(working) });
          } catch (error) {
            outcomes.push({ error });
          }
        }
        const bytes = this.#encode(working);
        const unchanged =
          base.bytes !== undefined ? equalBytes(bytes, base.bytes) : outcomes.every((o) => 'error' in o);
        if (unchanged) return 'unchanged'; // every mutation refused, or a no-op: the round only settles
        if (bytes.length > this.#indexBytesMax) {
          throw new S3Error(
            'ServiceUnavailable',
            `the index would grow to ${bytes.length} bytes, more than the ${this.#indexBytesMax} one index may hold; delete objects or use another owner`,
          );
        }
        const root = await this.#c.blobs.put(bytes);
        written = { root, bytes, index: working, base: base.root };
        return { root };
      };
      let result: Awaited<ReturnType<IndexHeads['update']>>;
      try {
        result = await this.#c.heads.update(propose);
      } catch (error) {
        if (error instanceof SupersededError) {
          if (attempt + 1 < this.#attemptsMax) continue;
          throw new S3Error('ServiceUnavailable', `could not read the index snapshot: ${error.message}`);
        }
        // The head may or may not name a snapshot of this batch now: keep them (the sweep frees them if not).
        this.#c.logger.warn({ err: (error as Error).message }, 's3: index head update failed');
        throw error;
      }
      if (result === 'lost') {
        const lost = written?.root;
        if (lost !== undefined) void this.#free(lost);
        continue;
      }
      if (result === 'contended') {
        if (written !== undefined) proposed.set(written.root, { outcomes, ...written });
        continue;
      }
      const chosen = result.chosen;
      const won =
        ours ??
        (written !== undefined && chosen?.root === written.root ? { outcomes, ...written } : undefined);
      if (won !== undefined && chosen !== undefined) {
        this.#remember({ seq: chosen.seq, root: chosen.root, bytes: won.bytes, index: won.index });
        if (won.base !== undefined && won.base !== chosen.root) void this.#free(won.base);
        outcomes = won.outcomes;
      }
      // Every other snapshot this batch proposed lost for good: a head of a higher ballot was chosen.
      for (const root of proposed.keys()) if (root !== chosen?.root) void this.#free(root);
      outcomes.forEach((outcome, i) => {
        if ('error' in outcome) batch[i]!.reject(outcome.error);
        else batch[i]!.resolve(outcome.value);
      });
      return;
    }
    throw new S3Error('ServiceUnavailable', 'too many concurrent index updates; retry');
  }

  #free(root: string): Promise<void> {
    return this.#c.blobs.delete(root).catch((error: unknown) => {
      this.#c.logger.warn({ root, err: (error as Error).message }, 's3: could not free an index snapshot');
    });
  }

  async createBucket(record: BucketRecord): Promise<BucketRecord | undefined> {
    const existing = await this.getBucket(record.name);
    if (existing !== undefined) return existing;
    return this.mutate(
      { op: 'createBucket', record },
      async (index) => (await index.getBucket(record.name)) ?? index.createBucket(record),
    );
  }
}

/** Reading the snapshot of a head that was replaced (and its snapshot freed) meanwhile. */
class SupersededError extends Error {}

/** Times a read re-reads the head when the snapshot it names is gone (replaced meanwhile). */
const snapshotReadsMax = 8;

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
