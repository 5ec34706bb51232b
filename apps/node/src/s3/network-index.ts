import { hkdfSync, randomBytes } from 'node:crypto';
import { type AesGcmKey, aesGcmKey, bytesToUtf8, type Logger, utf8ToBytes } from '@trinity/core';
import type { BucketRecord } from './backend.js';
import { S3Error } from './errors.js';
import {
  type HeadProposal,
  headLogBytes,
  headLogBytesMax,
  type IndexHead,
  type IndexHeads,
} from './index-heads.js';
import { IndexOverMemory } from './index-over-memory.js';
import { applyRecord, type IndexRecord, InMemoryS3Index } from './memory.js';

/** Where the index snapshots live: immutable blobs by id (the daemon: Trinity objects). */
export interface IndexBlobs {
  put(bytes: Uint8Array): Promise<string>;
  get(id: string): Promise<Uint8Array>;
  /** Idempotent. */
  delete(id: string): Promise<void>;
}

/**
 * Seals the lines of the head's log to the owner: heads travel and are kept in the clear on every
 * node (replicas, and every node learns them), so the keys and entries a log holds must not.
 */
export interface HeadLogCipher {
  seal(plain: string): Promise<string>;
  /** Throws when `sealed` was not sealed with this owner's key (or was altered). */
  open(sealed: string): Promise<string>;
}

const logAad = utf8ToBytes('trinity-s3-index-log/1');

/**
 * AES-256-GCM under a key derived (HKDF-SHA256) from the owner secret key, a random 96-bit nonce a
 * line: every gateway acting for the owner derives the same key, and no other node can.
 */
export async function ownerLogCipher(ownerSecretKey: Uint8Array): Promise<HeadLogCipher> {
  const key: AesGcmKey = await aesGcmKey(
    new Uint8Array(hkdfSync('sha256', ownerSecretKey, logAad, 'index head log key', 32)),
  );
  return {
    async seal(plain) {
      const nonce = randomBytes(12);
      const sealed = await key.seal(nonce, logAad, utf8ToBytes(plain));
      return Buffer.concat([nonce, ...sealed]).toString('base64');
    },
    async open(line) {
      const bytes = Buffer.from(line, 'base64');
      const plain =
        bytes.length < 28 ? null : await key.open(bytes.subarray(0, 12), logAad, bytes.subarray(12));
      if (plain === null) throw new Error('a line of the index head log does not open with the owner key');
      return bytesToUtf8(Buffer.concat(plain));
    },
  };
}

export interface NetworkS3IndexComponents {
  readonly heads: IndexHeads;
  readonly blobs: IndexBlobs;
  /** Seals the head's log to the owner (`ownerLogCipher`). */
  readonly logCipher: HeadLogCipher;
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
  /**
   * The head's log of changes since the snapshot, at most (bytes of its JSON string form, capped at
   * `headLogBytesMax`): a write that would grow it past that writes a new snapshot instead.
   */
  readonly logBytesMax?: number;
}

/** What this gateway's writes have cost so far (README "What it costs"; tests). */
export interface NetworkIndexStats {
  /** Head rounds run for mutations (won, lost or contended). */
  headRounds: number;
  /** Rounds that wrote a new snapshot (the first write, or the log was full). */
  snapshotsWritten: number;
  snapshotBytesWritten: number;
  /** Rounds that only appended to the head's log. */
  logAppends: number;
  logBytesWritten: number;
}

const snapshotFormat = 'trinity-s3-index/1';

/** A head's state: its snapshot (`bytes`, the blob `root` names) with its log applied (`index`). */
interface Snapshot {
  readonly seq: number;
  readonly root: string | undefined;
  readonly log: string;
  readonly bytes: Uint8Array | undefined;
  readonly index: InMemoryS3Index;
}

interface Pending {
  readonly record: IndexRecord;
  readonly apply: (index: InMemoryS3Index) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

function defaultBackoff(attempt: number): Promise<void> {
  const ms = Math.min(500, 5 * 2 ** Math.min(attempt, 7)) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The network-wide `S3Index` (README "The network index"): an owner's index (buckets, keys, uploads)
 * is an immutable snapshot stored as a Trinity object plus a bounded log of the changes since, and
 * an owner-signed head with a sequence number, replicated on a small group of nodes, carries the log
 * and names the snapshot. Every read reads the head first (snapshots are cached by id, they never
 * change); every mutation applies to the state the head gives, appends its records to the log (or,
 * when the log is full, stores a new snapshot and empties it) and compare-and-sets the head (seq + 1),
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
  readonly #logBytesMax: number;
  readonly #stats: NetworkIndexStats = {
    headRounds: 0,
    snapshotsWritten: 0,
    snapshotBytesWritten: 0,
    logAppends: 0,
    logBytesWritten: 0,
  };
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
    this.#logBytesMax = Math.min(headLogBytesMax, options.logBytesMax ?? headLogBytesMax);
  }

  /** What this gateway's writes have cost so far. */
  stats(): NetworkIndexStats {
    return { ...this.#stats };
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
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) await (this.#c.backoff ?? defaultBackoff)(attempt);
      const result = await this.#c.heads.update(async () => 'unchanged');
      if (result !== 'lost' && result !== 'contended') return result.chosen?.root;
    }
    throw new S3Error('ServiceUnavailable', 'the index head is contended; retry');
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

  /** The state `head` gives: cached, or its snapshot read (a blob error passes through) and its log applied. */
  async #load(head: IndexHead | undefined): Promise<Snapshot> {
    if (head === undefined) {
      if (this.#seenSeq > 0) throw this.#wentBack(0);
      return {
        seq: 0,
        root: undefined,
        log: '',
        bytes: undefined,
        index: new InMemoryS3Index(this.#bucketsMax),
      };
    }
    if (head.seq < this.#seenSeq) throw this.#wentBack(head.seq);
    const log = head.log ?? '';
    const cached = this.#cached;
    if (cached !== undefined && cached.root === head.root && cached.log === log) {
      // A root and log name one state (each log line has a unique batch id); a settling round may
      // re-sign it under a higher seq.
      if (cached.seq === head.seq) return cached;
      const same = { ...cached, seq: head.seq };
      this.#remember(same);
      return same;
    }
    if (
      cached !== undefined &&
      cached.root === head.root &&
      log.startsWith(cached.log) &&
      (cached.log === '' || log[cached.log.length] === '\n')
    ) {
      // The cached state's log, grown (another gateway wrote): apply only the new lines to a copy.
      const grown = cached.index.clone();
      await this.#applyLog(grown, log.slice(cached.log === '' ? 0 : cached.log.length + 1));
      const snapshot = { seq: head.seq, root: head.root, log, bytes: cached.bytes, index: grown };
      this.#remember(snapshot);
      return snapshot;
    }
    // The same snapshot (cached by id) with another log: no blob read.
    const bytes =
      cached?.root === head.root && cached.bytes !== undefined
        ? cached.bytes
        : await this.#c.blobs.get(head.root);
    const snapshot = {
      seq: head.seq,
      root: head.root,
      log,
      bytes,
      index: await this.#state(bytes, log),
    };
    this.#remember(snapshot);
    return snapshot;
  }

  /** A fresh index: the snapshot `bytes` decoded, then `log` applied. */
  async #state(bytes: Uint8Array | undefined, log: string): Promise<InMemoryS3Index> {
    const index = bytes === undefined ? new InMemoryS3Index(this.#bucketsMax) : await this.#decode(bytes);
    await this.#applyLog(index, log);
    return index;
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

  /** Applies a head log's lines (`IndexHead.log`, each sealed to the owner) to `index`, in order. */
  async #applyLog(index: InMemoryS3Index, log: string): Promise<void> {
    if (log === '') return;
    for (const line of log.split('\n')) {
      let records: unknown;
      try {
        records = (JSON.parse(await this.#c.logCipher.open(line)) as { r?: unknown }).r;
      } catch (error) {
        throw new S3Error('InternalError', `the index head log is unreadable: ${(error as Error).message}`);
      }
      if (!Array.isArray(records)) throw new S3Error('InternalError', 'the index head log is malformed');
      for (const record of records as IndexRecord[]) await applyRecord(index, record);
    }
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

  /** The state of the newest head this gateway read or wrote (never changed in place), without a round. */
  protected override readRecent(): Promise<InMemoryS3Index> {
    const cached = this.#cached;
    return cached === undefined ? this.read() : Promise.resolve(cached.index);
  }

  /**
   * Queues a mutation; it is applied in the next head update of this gateway, and `record` (what it
   * did, replayed on the snapshot by every reader) logged in the head, sealed, when it succeeds.
   */
  protected mutate<T>(record: IndexRecord, apply: (index: InMemoryS3Index) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ record, apply, resolve: resolve as (value: unknown) => void, reject });
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
   * Applies `batch` to the current state inside one head round: the round's prepare says which head
   * is current, the batch is applied to its state, its records appended to the head's log (or, the
   * log full, the new state stored as a snapshot), and the round's accept makes it current unless
   * another writer got in between (then all over again).
   */
  async #commit(batch: readonly Pending[]): Promise<void> {
    type Outcome = { value: unknown } | { error: unknown };
    interface Proposal {
      readonly outcomes: Outcome[];
      readonly root: string;
      readonly log: string;
      readonly bytes: Uint8Array | undefined;
      readonly index: InMemoryS3Index;
      /** The snapshot this round stored (a full log, or the first write), undefined when it only logged. */
      readonly stored: string | undefined;
      readonly base: string | undefined;
    }
    /**
     * Heads this batch proposed in rounds a minority accepted (`contended`), by `headKey`: a later
     * round may still find one of them current, and then the batch took effect there (with those
     * outcomes): applying it again would be wrong (a put would "replace" its own entry and free its
     * pieces). Every proposal's log ends with a line of a fresh batch id, so none is mistaken for another's.
     */
    const proposed = new Map<string, Proposal>();
    for (let attempt = 0; attempt < this.#attemptsMax; attempt++) {
      if (attempt > 0) await (this.#c.backoff ?? defaultBackoff)(attempt);
      let written: Proposal | undefined;
      let ours: Proposal | undefined;
      /** The outcomes of a round whose mutations were all refused (it chooses the head as it was). */
      let refused: Outcome[] | undefined;
      const propose = async (
        current: IndexHead | undefined,
        round: { readonly speculative: boolean },
      ): Promise<HeadProposal> => {
        ours = current === undefined ? undefined : proposed.get(headKey(current.root, current.log ?? ''));
        refused = undefined;
        // Called again in one update: its first try (a skipped prepare) reached no replica.
        if (written?.stored !== undefined) void this.#free(written.stored);
        written = undefined;
        if (ours !== undefined) return 'unchanged'; // an earlier round of this batch: settle it
        if (round.speculative && current !== undefined && current.seq < this.#seenSeq) {
          // The head this gateway last wrote, but it has seen a newer one since: a full round.
          throw new SupersededError(`head ${current.seq} is older than ${this.#seenSeq}`);
        }
        let base: Snapshot;
        try {
          base = await this.#load(current);
        } catch (error) {
          if (error instanceof S3Error) throw error;
          // Its snapshot is deleted only once a newer head was chosen: this round is lost.
          throw new SupersededError((error as Error).message);
        }
        // `base.index` is the state the head gives (shared with readers): the batch applies to a copy.
        const working = base.index.clone();
        const outcomes: Outcome[] = [];
        const records: IndexRecord[] = [];
        for (const op of batch) {
          try {
            outcomes.push({ value: await op.apply(working) });
            records.push(op.record);
          } catch (error) {
            outcomes.push({ error });
          }
        }
        if (records.length === 0) {
          refused = outcomes;
          return 'unchanged'; // every mutation refused: the round only settles
        }
        const line = await this.#c.logCipher.seal(
          JSON.stringify({ b: randomBytes(8).toString('hex'), r: records }),
        );
        const appended = base.log === '' ? line : `${base.log}\n${line}`;
        if (base.root !== undefined && headLogBytes(appended) <= this.#logBytesMax) {
          this.#stats.logAppends++;
          this.#stats.logBytesWritten += Buffer.byteLength(line) + 1;
          written = {
            outcomes,
            root: base.root,
            log: appended,
            bytes: base.bytes,
            index: working,
            stored: undefined,
            base: base.root,
          };
          return { root: base.root, log: appended };
        }
        // The first write, or the log is full: a new snapshot of the whole state, and an empty log.
        const bytes = this.#encode(working);
        if (bytes.length > this.#indexBytesMax) {
          throw new S3Error(
            'ServiceUnavailable',
            `the index would grow to ${bytes.length} bytes, more than the ${this.#indexBytesMax} one index may hold; delete objects or use another owner`,
          );
        }
        const root = await this.#c.blobs.put(bytes);
        this.#stats.snapshotsWritten++;
        this.#stats.snapshotBytesWritten += bytes.length;
        written = { outcomes, root, log: '', bytes, index: working, stored: root, base: base.root };
        return { root };
      };
      let result: Awaited<ReturnType<IndexHeads['update']>>;
      this.#stats.headRounds++;
      try {
        result = await this.#c.heads.update(propose, { fast: true });
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
        const lost = written?.stored;
        if (lost !== undefined) void this.#free(lost);
        continue;
      }
      if (result === 'contended') {
        if (written !== undefined) proposed.set(headKey(written.root, written.log), written);
        continue;
      }
      const chosen = result.chosen;
      const chosenKey = chosen === undefined ? undefined : headKey(chosen.root, chosen.log ?? '');
      const won =
        ours ??
        (written !== undefined && chosenKey === headKey(written.root, written.log) ? written : undefined);
      let outcomes = refused ?? [];
      if (won !== undefined && chosen !== undefined) {
        this.#remember({
          seq: chosen.seq,
          root: chosen.root,
          log: won.log,
          bytes: won.bytes,
          index: won.index,
        });
        if (won.base !== undefined && won.base !== chosen.root) void this.#free(won.base);
        outcomes = won.outcomes;
      }
      // Every other snapshot this batch proposed lost for good: a head of a higher ballot was chosen.
      for (const proposal of proposed.values()) {
        if (proposal.stored !== undefined && proposal.stored !== chosen?.root)
          void this.#free(proposal.stored);
      }
      if (outcomes.length !== batch.length) {
        throw new S3Error('InternalError', 'an index round ended without the outcome of its batch');
      }
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

/** What names one state of the index: a snapshot and the log applied to it. */
function headKey(root: string, log: string): string {
  return `${root}\n${log}`;
}
