import { readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assert,
  assertBytes,
  assertInt,
  type Counter,
  equalBytes,
  type Gauge,
  type Logger,
  type Metrics,
  noopLogger,
  noopMetrics,
  parseConfig,
  sha256,
  toHex,
} from '@trinity/core';
import { syncDir, writeNewFile } from '@trinity/core/fs';
import { FencingLog } from './_fencing-log.js';
import {
  diskFullAsCapacity,
  forEachSettled,
  isNotFound,
  readFileBounded,
  removeTree,
  tempPath,
} from './_fs.js';
import { takeIndexSnapshot, writeIndexSnapshot } from './_index-snapshot.js';
import { KeyedMutex } from './_keyed-mutex.js';
import { commitMarkerName, StoreLayout } from './_layout.js';
import { type StagedTx, scanShards, scanStaging } from './_scan.js';
import { type ShardStoreConfig, type ShardStoreConfigInput, shardStoreConfigSchema } from './config.js';
import {
  CapacityExceededError,
  ShardCorruptError,
  ShardHashMismatchError,
  ShardNotFoundError,
  ShardTooLargeError,
  StagingLimitError,
  StaleFencingTokenError,
  StoreClosedError,
  StoreFormatError,
  TransactionCommittingError,
} from './errors.js';
import { assertTxId, isShardHashHex, parseShardHash, shardHashHex } from './ids.js';
import { type CommitStagedOptions, type StagedRecord, stagedBundleDigest } from './staged-bundle.js';

/** The named points between the durable steps of each operation, for crash tests. */
export type ShardStoreStep =
  | 'put:tmp-written'
  | 'put:renamed'
  | 'put:synced'
  | 'stage:tmp-written'
  | 'stage:renamed'
  | 'stage:synced'
  | 'stage:batch-synced'
  | 'stage-record:tmp-written'
  | 'stage-record:renamed'
  | 'stage-record:synced'
  | 'commit:marked'
  | 'commit:published'
  | 'commit:shard-moved'
  | 'commit:shards-synced'
  | 'commit:cleaned'
  | 'abort:moved'
  | 'delete:unlinked';

/** What a ShardStore uses besides its directory. */
export interface ShardStoreDeps {
  logger?: Logger;
  metrics?: Metrics;
  /**
   * Testing only: called at each step of a write. If it throws, the store behaves as a process
   * killed at that point: nothing is cleaned up and every later call fails with StoreClosedError.
   */
  crashAt?: (step: ShardStoreStep) => void;
}

/** Options of a write. */
export interface ShardWriteOptions {
  /** The hash the caller expects; a mismatch throws ShardHashMismatchError and stores nothing. */
  expectedHash?: Uint8Array;
  /** The shard lock's fencing token; lower than the highest seen for this hash → StaleFencingTokenError. */
  fencingToken?: number;
  /**
   * The SHA-256 of `data` as the caller computed it from these very bytes (a put's coordinator
   * hashed its own shard when it encoded the stripe): the store names the shard by it instead of
   * hashing the shard a second time. Only for a hash the caller made; bytes from elsewhere are
   * checked with `expectedHash`. A wrong one stores bytes under a name they do not hash to, which
   * `get` and `verify` then report as corrupt.
   */
  knownHash?: Uint8Array;
}

/** Options of `stage`. */
export interface ShardStageOptions extends ShardWriteOptions {
  /**
   * Leave the transaction's folder unsynced (default false): the staged file is fsynced, but its
   * name in `staging/<txId>/` becomes durable only at the next `syncStaged(txId)`, or at whatever
   * else of the transaction syncs that folder (`stageRecord`, `fenceStagedAll`, `commitStaged`).
   * For a participant whose durability point is its vote (`StagingArea.stage` syncs before it
   * resolves): one folder fsync per transaction instead of one per shard. A crash before the sync
   * may lose such a shard, never tear it.
   */
  readonly deferFolderSync?: boolean;
}

/** How `get` reads a shard. */
export interface ShardReadOptions {
  /**
   * Gives the buffer of exactly `size` bytes the shard is read into (default a new zero-filled
   * one), e.g. one reused from an earlier read: its old bytes are all overwritten, or the read
   * fails its hash check. On a failed read the buffer is dropped, not returned.
   */
  readonly buffer?: (size: number) => Uint8Array;
}

/** The outcome of checking one shard on disk. */
export type ShardVerification = 'ok' | 'missing' | 'corrupt';

export interface ShardStoreStats {
  shardCount: number;
  /** Committed plus staged bytes. */
  bytesUsed: number;
  capacityBytes: number;
  bytesAvailable: number;
  stagedTransactions: number;
  stagedShards: number;
  stagedBytes: number;
  quarantinedFiles: number;
}

interface StoreFormat {
  format: 'trinity-shard-store';
  version: 1;
  fanOutLevels: number;
}

class SimulatedCrash extends Error {}

/** Renames (with their folder syncs) of one transaction in flight at once. */
const renameConcurrency = 16;

interface StoreMetrics {
  shards: Gauge;
  bytesUsed: Gauge;
  bytesAvailable: Gauge;
  staged: Gauge;
  corruptions: Counter;
}

function storeMetrics(metrics: Metrics): StoreMetrics {
  return {
    shards: metrics.gauge({ name: 'trinity_shards_total', help: 'Committed shards in the local store' }),
    bytesUsed: metrics.gauge({
      name: 'trinity_storage_bytes_used',
      help: 'Bytes of committed and staged shards',
    }),
    bytesAvailable: metrics.gauge({
      name: 'trinity_storage_bytes_available',
      help: 'Capacity left in bytes',
    }),
    staged: metrics.gauge({
      name: 'trinity_storage_staged_transactions',
      help: 'Transactions with staged shards',
    }),
    corruptions: metrics.counter({
      name: 'trinity_storage_corrupt_shards_total',
      help: 'Shards found corrupt on read and quarantined',
    }),
  };
}

/**
 * A content-addressed shard store on local disk. Every write goes temp file → fsync → rename →
 * fsync folder before it resolves; every read re-hashes and never returns bytes that do not match
 * their name; a crash at any point leaves a store that reopens consistent. One process per directory.
 */
export class ShardStore {
  readonly config: ShardStoreConfig;
  readonly #layout: StoreLayout;
  readonly #logger: Logger;
  readonly #metrics: StoreMetrics;
  readonly #crashAt: ((step: ShardStoreStep) => void) | undefined;
  readonly #locks = new KeyedMutex();
  /** Per committed shard, the store-wide sequence number of its latest write (put or commit). */
  readonly #writes = new Map<string, number>();
  #writeSequence = 0;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Transactions with a shard staged under `deferFolderSync` since their folder was last synced. */
  readonly #unsyncedTxs = new Set<string>();
  #index: Map<string, number>;
  #staged: Map<string, StagedTx>;
  #fencing!: FencingLog;
  #committedBytes = 0;
  #stagedBytes = 0;
  #reservedBytes = 0;
  #reservedShards = 0;
  #quarantinedFiles = 0;
  #state: 'open' | 'closing' | 'closed' | 'crashed' = 'open';

  private constructor(config: ShardStoreConfig, layout: StoreLayout, deps: ShardStoreDeps) {
    this.config = config;
    this.#layout = layout;
    this.#logger = (deps.logger ?? noopLogger).child({ component: 'shard-store' });
    this.#metrics = storeMetrics(deps.metrics ?? noopMetrics);
    this.#crashAt = deps.crashAt;
    this.#index = new Map();
    this.#staged = new Map();
  }

  /**
   * Opens (creating if needed) the store in `dir`: empties tmp/, loads the clean-close index or
   * scans the shards, loads staged transactions and fencing tokens.
   */
  static async open(
    dir: string,
    config?: ShardStoreConfigInput,
    deps: ShardStoreDeps = {},
  ): Promise<ShardStore> {
    if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
    const parsed = parseConfig(shardStoreConfigSchema, config ?? {}, 'shard store config');
    const layout = new StoreLayout(dir, parsed.fanOutLevels);
    const store = new ShardStore(parsed, layout, deps);
    await store.#openFiles();
    return store;
  }

  async #openFiles(): Promise<void> {
    const { fsync } = this.config;
    const layout = this.#layout;
    await layout.ensureDir(layout.root, fsync);
    await this.#checkFormat();
    await removeTree(layout.tmpDir); // stray temp files and half-removed transactions of a crash
    await layout.makeFolders(fsync);
    const snapshot = await takeIndexSnapshot(layout.root, layout.indexFile, fsync, this.config.maxShardCount);
    this.#index = snapshot ?? (await scanShards(layout, this.config.scanConcurrency, this.#logger));
    this.#staged = await scanStaging(layout, this.#logger);
    for (const size of this.#index.values()) this.#committedBytes += size;
    for (const tx of this.#staged.values())
      for (const shard of tx.shards.values()) this.#stagedBytes += shard.sizeBytes;
    this.#quarantinedFiles = (await readdir(layout.quarantineDir)).length;
    this.#fencing = await FencingLog.open(layout.root, layout.fencingFile, layout.tmpDir, fsync, (hex) =>
      this.#isLive(hex),
    );
    this.#updateGauges();
    this.#logger.info(
      { shards: this.#index.size, staged: this.#staged.size, fromSnapshot: snapshot !== undefined },
      'shard store opened',
    );
  }

  async #checkFormat(): Promise<void> {
    const want: StoreFormat = {
      format: 'trinity-shard-store',
      version: 1,
      fanOutLevels: this.config.fanOutLevels,
    };
    let text: string | undefined;
    try {
      text = await readFile(this.#layout.formatFile, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (text === undefined) {
      const tmp = join(this.#layout.root, 'store.json.tmp');
      await removeTree(tmp);
      await writeNewFile(tmp, new TextEncoder().encode(`${JSON.stringify(want)}\n`), {
        fsync: this.config.fsync,
      });
      await rename(tmp, this.#layout.formatFile);
      await syncDir(this.#layout.root, { fsync: this.config.fsync });
      return;
    }
    let found: Partial<StoreFormat>;
    try {
      found = JSON.parse(text) as Partial<StoreFormat>;
    } catch (cause) {
      throw new StoreFormatError(`${this.#layout.formatFile} is not valid JSON`, { cause });
    }
    if (
      found.format !== want.format ||
      found.version !== want.version ||
      found.fanOutLevels !== want.fanOutLevels
    ) {
      throw new StoreFormatError(
        `${this.#layout.root} holds a store of format ${JSON.stringify(found)}, expected ${JSON.stringify(want)}`,
      );
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Committed shards

  /** Stores `data` under its SHA-256 and returns the hash; durable before it resolves; idempotent. */
  async put(data: Uint8Array, options: ShardWriteOptions = {}): Promise<Uint8Array> {
    this.#checkOpen();
    const { hash, hashHex, token } = this.#prepareWrite(data, options);
    return this.#track(
      this.#locks.run(`s:${hashHex}`, async () => {
        this.#checkOpen();
        this.#checkFencing(hashHex, token);
        if (this.#index.has(hashHex)) {
          if (token !== undefined) await this.#fencing.raise(hashHex, token);
          this.#writes.set(hashHex, ++this.#writeSequence);
          return hash;
        }
        this.#reserve(data.length, true);
        try {
          if (token !== undefined) await this.#fencing.raise(hashHex, token);
          await this.#writeShard(hashHex, data);
        } finally {
          this.#unreserve(data.length, true);
        }
        this.#index.set(hashHex, data.length);
        this.#writes.set(hashHex, ++this.#writeSequence);
        this.#committedBytes += data.length;
        this.#updateGauges();
        return hash;
      }),
    );
  }

  async #writeShard(hashHex: string, data: Uint8Array): Promise<void> {
    const { fsync } = this.config;
    const tmp = tempPath(this.#layout.tmpDir, 'put');
    try {
      await writeNewFile(tmp, data, { fsync: fsync });
      this.#step('put:tmp-written');
      const dir = this.#layout.shardDir(hashHex);
      await this.#layout.ensureDir(dir, fsync);
      await rename(tmp, join(dir, hashHex));
      this.#step('put:renamed');
      await syncDir(dir, { fsync: fsync });
      this.#step('put:synced');
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) await unlink(tmp).catch(() => {});
      throw diskFullAsCapacity(error, tmp);
    }
  }

  /** The bytes of a shard, verified against its hash. Corrupt bytes are quarantined, never returned. */
  async get(hash: Uint8Array, options: ShardReadOptions = {}): Promise<Uint8Array> {
    this.#checkOpen();
    const hashHex = shardHashHex(hash);
    return this.#track(
      (async () => {
        const result = await this.#readVerified(hashHex, options.buffer);
        if (result.kind === 'ok') return result.data;
        if (result.kind === 'missing') throw new ShardNotFoundError(hashHex);
        await this.#quarantineIfStillCorrupt(hashHex);
        throw new ShardCorruptError(hashHex, result.reason);
      })(),
    );
  }

  /** Re-reads and re-hashes one shard; a corrupt one is quarantined (as `get` would). For the scrubber. */
  async verify(hash: Uint8Array): Promise<ShardVerification> {
    this.#checkOpen();
    const hashHex = shardHashHex(hash);
    return this.#track(
      (async (): Promise<ShardVerification> => {
        const result = await this.#readVerified(hashHex);
        if (result.kind !== 'corrupt') return result.kind;
        return (await this.#quarantineIfStillCorrupt(hashHex)) ? 'corrupt' : 'ok';
      })(),
    );
  }

  async #readVerified(
    hashHex: string,
    buffer?: (size: number) => Uint8Array,
  ): Promise<{ kind: 'ok'; data: Uint8Array } | { kind: 'missing' } | { kind: 'corrupt'; reason: string }> {
    if (!this.#index.has(hashHex)) return { kind: 'missing' };
    let read: Awaited<ReturnType<typeof readFileBounded>>;
    try {
      read = await readFileBounded(this.#layout.shardPath(hashHex), this.config.maxShardBytes, buffer);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.#locks.run(`s:${hashHex}`, async () => {
        const stillThere = await stat(this.#layout.shardPath(hashHex)).catch(() => undefined);
        if (stillThere === undefined) this.#forget(hashHex, 'file vanished');
      });
      return { kind: 'missing' };
    }
    if (read.kind === 'too-large') return { kind: 'corrupt', reason: `file is ${read.sizeBytes} bytes` };
    if (toHex(sha256(read.data)) !== hashHex) return { kind: 'corrupt', reason: 'hash mismatch' };
    return { kind: 'ok', data: read.data };
  }

  /** Under the shard's lock, checks once more (a put may have replaced the file) and quarantines. */
  #quarantineIfStillCorrupt(hashHex: string): Promise<boolean> {
    return this.#locks.run(`s:${hashHex}`, async () => {
      if (!this.#index.has(hashHex)) return true;
      const path = this.#layout.shardPath(hashHex);
      const again = await readFileBounded(path, this.config.maxShardBytes).catch(() => undefined);
      if (again?.kind === 'ok' && equalBytes(sha256(again.data), parseShardHash(hashHex))) return false;
      await this.#moveToQuarantine(path, hashHex);
      this.#forget(hashHex, 'corrupt');
      this.#metrics.corruptions.inc();
      return true;
    });
  }

  async #moveToQuarantine(path: string, hashHex: string): Promise<void> {
    const { fsync } = this.config;
    try {
      if (this.#quarantinedFiles < this.config.maxQuarantinedFiles) {
        const target = tempPath(this.#layout.quarantineDir, hashHex).replace(/\.tmp$/, '.corrupt');
        await rename(path, target);
        this.#quarantinedFiles++;
        await syncDir(this.#layout.quarantineDir, { fsync: fsync });
      } else {
        await unlink(path);
      }
      await syncDir(this.#layout.shardDir(hashHex), { fsync: fsync });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.#logger.warn({ hash: hashHex }, 'corrupt shard quarantined');
  }

  #forget(hashHex: string, reason: string): void {
    const size = this.#index.get(hashHex);
    if (size === undefined) return;
    this.#index.delete(hashHex);
    this.#writes.delete(hashHex);
    this.#committedBytes -= size;
    this.#updateGauges();
    this.#logger.debug({ hash: hashHex, reason }, 'shard dropped from the index');
  }

  /** True when the shard is committed here (not verified; `get` and `verify` read the bytes). */
  async has(hash: Uint8Array): Promise<boolean> {
    this.#checkOpen();
    return this.#index.has(shardHashHex(hash));
  }

  /** Size in bytes of a committed shard, or undefined. */
  async size(hash: Uint8Array): Promise<number | undefined> {
    this.#checkOpen();
    return this.#index.get(shardHashHex(hash));
  }

  /** Removes a committed shard; false when it was not there. Durable before it resolves. */
  /**
   * A number that changes whenever the shard is written (put or committed) again, even with the
   * same bytes; 0 when it was not written since the store opened. In memory, for `delete`'s
   * `ifWrite` within one process.
   */
  writeOf(hash: Uint8Array): number {
    this.#checkOpen();
    return this.#writes.get(shardHashHex(hash)) ?? 0;
  }

  /**
   * Deletes a committed shard; false when it is not stored. With `ifWrite` (a `writeOf` taken
   * earlier) it deletes only if nothing wrote the shard since: a caller that decided from a listing
   * that no object refers to it does not delete a copy a new commit has just made its own.
   */
  async delete(hash: Uint8Array, options: { ifWrite?: number } = {}): Promise<boolean> {
    this.#checkOpen();
    const hashHex = shardHashHex(hash);
    return this.#track(
      this.#locks.run(`s:${hashHex}`, async () => {
        this.#checkOpen();
        if (!this.#index.has(hashHex)) return false;
        if (options.ifWrite !== undefined && (this.#writes.get(hashHex) ?? 0) !== options.ifWrite)
          return false;
        await unlink(this.#layout.shardPath(hashHex)).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
        this.#step('delete:unlinked');
        await syncDir(this.#layout.shardDir(hashHex), { fsync: this.config.fsync });
        this.#forget(hashHex, 'deleted');
        return true;
      }),
    );
  }

  /** The hashes of all committed shards, as of the call. */
  async *list(): AsyncIterable<Uint8Array> {
    this.#checkOpen();
    for (const hashHex of [...this.#index.keys()]) {
      if (this.#index.has(hashHex)) yield parseShardHash(hashHex);
    }
  }

  /** Hex hashes and sizes of all committed shards, as of the call (cheaper than list() for scans). */
  entries(): [hashHex: string, sizeBytes: number][] {
    this.#checkOpen();
    return [...this.#index.entries()];
  }

  stats(): ShardStoreStats {
    let stagedShards = 0;
    for (const tx of this.#staged.values()) stagedShards += tx.shards.size;
    const bytesUsed = this.#committedBytes + this.#stagedBytes;
    return {
      shardCount: this.#index.size,
      bytesUsed,
      capacityBytes: this.config.capacityBytes,
      bytesAvailable: Math.max(0, this.config.capacityBytes - bytesUsed),
      stagedTransactions: this.#staged.size,
      stagedShards,
      stagedBytes: this.#stagedBytes,
      quarantinedFiles: this.#quarantinedFiles,
    };
  }

  /** The highest fencing token seen for a shard, or undefined if no write carried one. */
  highestFencingToken(hash: Uint8Array): number | undefined {
    return this.#fencing.highest(shardHashHex(hash));
  }

  // ---------------------------------------------------------------------------------------------
  // Staging (prepared, not yet committed)

  /**
   * Stages `data` for transaction `txId`; durable before it resolves (with `deferFolderSync`, at the
   * transaction's next folder sync); idempotent per (txId, hash).
   */
  async stage(txId: string, data: Uint8Array, options: ShardStageOptions = {}): Promise<Uint8Array> {
    this.#checkOpen();
    assertTxId(txId);
    const { hash, hashHex, token } = this.#prepareWrite(data, options);
    return this.#track(
      this.#locks.run(`t:${txId}`, () =>
        this.#locks.run(`s:${hashHex}`, async () => {
          this.#checkOpen();
          const tx = this.#staged.get(txId);
          if (tx?.committing !== undefined) throw new TransactionCommittingError(txId);
          this.#checkFencing(hashHex, token);
          const existing = tx?.shards.get(hashHex);
          if (tx !== undefined && existing !== undefined) {
            await this.#restageToken(txId, tx, hashHex, token);
            return hash;
          }
          this.#checkStagingLimits(txId, tx);
          await this.#writeStaged(txId, hashHex, data, token, options.deferFolderSync === true);
          return hash;
        }),
      ),
    );
  }

  #checkStagingLimits(txId: string, tx: StagedTx | undefined): void {
    if (tx === undefined && this.#staged.size >= this.config.maxStagedTransactions) {
      throw new StagingLimitError(
        `cannot stage transaction ${txId}: ${this.#staged.size} transactions are already staged (limit ${this.config.maxStagedTransactions})`,
        { txId, limit: this.config.maxStagedTransactions },
      );
    }
    if (tx !== undefined && tx.shards.size >= this.config.maxShardsPerTransaction) {
      throw new StagingLimitError(
        `transaction ${txId} already has ${tx.shards.size} staged shards (limit ${this.config.maxShardsPerTransaction})`,
        { txId, limit: this.config.maxShardsPerTransaction },
      );
    }
  }

  async #writeStaged(
    txId: string,
    hashHex: string,
    data: Uint8Array,
    token: number | undefined,
    deferFolderSync: boolean,
  ): Promise<void> {
    const { fsync } = this.config;
    this.#reserve(data.length, false);
    const tmp = tempPath(this.#layout.tmpDir, 'stage');
    try {
      if (token !== undefined) await this.#fencing.raise(hashHex, token);
      await writeNewFile(tmp, data, { fsync: fsync });
      this.#step('stage:tmp-written');
      const txDir = this.#layout.txDir(txId);
      await this.#layout.ensureDir(txDir, fsync);
      await rename(tmp, this.#layout.stagedPath(txId, hashHex, token));
      this.#step('stage:renamed');
      if (deferFolderSync) this.#unsyncedTxs.add(txId);
      else {
        await this.#syncTxDir(txId);
        this.#step('stage:synced');
      }
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) await unlink(tmp).catch(() => {});
      throw diskFullAsCapacity(error, tmp);
    } finally {
      this.#unreserve(data.length, false);
    }
    let tx = this.#staged.get(txId);
    if (tx === undefined) {
      tx = { shards: new Map(), records: new Map(), committing: undefined };
      this.#staged.set(txId, tx);
    }
    tx.shards.set(hashHex, { sizeBytes: data.length, token });
    this.#stagedBytes += data.length;
    this.#updateGauges();
  }

  /**
   * Makes the shards staged for `txId` with `deferFolderSync` durable: one fsync of the
   * transaction's folder covers all of them. A no-op when none is pending (a `stageRecord` after
   * them synced the folder already). `StagingArea.stage` calls it before a participant votes.
   */
  async syncStaged(txId: string): Promise<void> {
    this.#checkOpen();
    assertTxId(txId);
    if (!this.#unsyncedTxs.has(txId)) return;
    await this.#track(
      this.#locks.run(`t:${txId}`, async () => {
        this.#checkOpen();
        if (!this.#unsyncedTxs.has(txId)) return;
        await this.#syncTxDir(txId);
        this.#step('stage:batch-synced');
      }),
    );
  }

  /** fsyncs `staging/<txId>/` (under the transaction's lock): every name renamed into it is durable. */
  async #syncTxDir(txId: string): Promise<void> {
    await syncDir(this.#layout.txDir(txId), { fsync: this.config.fsync });
    this.#unsyncedTxs.delete(txId);
  }

  /** Staging the same shard again with a higher token renames the staged file to carry it. */
  async #restageToken(txId: string, tx: StagedTx, hashHex: string, token: number | undefined): Promise<void> {
    const existing = tx.shards.get(hashHex);
    assert(existing !== undefined, 'restage of a shard that is not staged');
    if (token === undefined || (existing.token !== undefined && existing.token >= token)) return;
    await this.#fencing.raise(hashHex, token);
    await rename(
      this.#layout.stagedPath(txId, hashHex, existing.token),
      this.#layout.stagedPath(txId, hashHex, token),
    );
    await this.#syncTxDir(txId);
    tx.shards.set(hashHex, { sizeBytes: existing.sizeBytes, token });
  }

  /**
   * Moves every staged shard of `txId` into the store and returns their hashes. Idempotent and
   * crash-safe: a COMMIT marker listing the hashes is made durable first, so calling again after a
   * crash mid-commit finishes the job and returns the full list. An unknown txId returns [].
   *
   * `publish` gets the records staged with the shards once the marker is durable and before any
   * shard moves (so a reader who finds a shard also finds its record); it runs again when a commit
   * interrupted by a crash is finished, so it must be idempotent. The records go with the folder.
   */
  async commitStaged(txId: string, options: CommitStagedOptions = {}): Promise<Uint8Array[]> {
    this.#checkOpen();
    assertTxId(txId);
    return this.#track(
      this.#locks.run(`t:${txId}`, async () => {
        this.#checkOpen();
        const tx = this.#staged.get(txId);
        if (tx === undefined) return [];
        if (tx.committing === undefined) {
          for (const [hashHex, shard] of tx.shards) this.#checkFencing(hashHex, shard.token);
          await this.#writeCommitMarker(txId, tx);
        }
        const hashes = tx.committing;
        assert(hashes !== undefined, 'commit without a marker');
        if (options.publish !== undefined && tx.records.size > 0) {
          const records: StagedRecord[] = [];
          for (const id of [...tx.records.keys()].sort())
            records.push({ id, bytes: await this.#readRecord(txId, id) });
          await options.publish(records);
          this.#step('commit:published');
        }
        // Shards move in parallel (each rename + folder sync under its own lock): the marker above
        // already makes the commit durable, and a crash part-way leaves the rest to the retry.
        await forEachSettled([...tx.shards], renameConcurrency, async ([hashHex, shard]) => {
          this.#checkOpen();
          await this.#commitShard(txId, tx, hashHex, shard.token);
        });
        this.#step('commit:shards-synced');
        await removeTree(this.#layout.txDir(txId));
        await syncDir(this.#layout.stagingDir, { fsync: this.config.fsync });
        this.#layout.forgetDir(this.#layout.txDir(txId));
        this.#staged.delete(txId);
        this.#updateGauges();
        this.#step('commit:cleaned');
        return hashes.map(parseShardHash);
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Staged records: what a transaction publishes besides its shards (object manifests), kept in
  // the same folder under the same commit marker, so one commit or one abort covers both.

  /**
   * Stages `bytes` as record `id` (64 lower-case hex) of `txId`; durable before it resolves. Staging
   * an id again replaces its bytes (atomically). Bounded by maxRecordsPerTransaction and maxRecordBytes.
   */
  async stageRecord(txId: string, id: string, bytes: Uint8Array): Promise<void> {
    this.#checkOpen();
    assertTxId(txId);
    if (!isShardHashHex(id)) throw new TypeError('a record id is 64 lower-case hex characters');
    assertBytes(bytes, 'bytes');
    if (bytes.length > this.config.maxRecordBytes) {
      throw new StagingLimitError(
        `record ${id} of transaction ${txId} is ${bytes.length} bytes (limit ${this.config.maxRecordBytes})`,
        { txId, limit: this.config.maxRecordBytes },
      );
    }
    await this.#track(
      this.#locks.run(`t:${txId}`, async () => {
        this.#checkOpen();
        let tx = this.#staged.get(txId);
        if (tx?.committing !== undefined) throw new TransactionCommittingError(txId);
        if (tx === undefined) this.#checkStagingLimits(txId, tx);
        else if (!tx.records.has(id) && tx.records.size >= this.config.maxRecordsPerTransaction) {
          throw new StagingLimitError(
            `transaction ${txId} already has ${tx.records.size} staged records (limit ${this.config.maxRecordsPerTransaction})`,
            { txId, limit: this.config.maxRecordsPerTransaction },
          );
        }
        const { fsync } = this.config;
        const tmp = tempPath(this.#layout.tmpDir, 'record');
        try {
          await writeNewFile(tmp, bytes, { fsync });
          this.#step('stage-record:tmp-written');
          const txDir = this.#layout.txDir(txId);
          await this.#layout.ensureDir(txDir, fsync);
          await rename(tmp, this.#layout.recordPath(txId, id));
          this.#step('stage-record:renamed');
          await this.#syncTxDir(txId);
          this.#step('stage-record:synced');
        } catch (error) {
          if (!(error instanceof SimulatedCrash)) await unlink(tmp).catch(() => {});
          throw diskFullAsCapacity(error, tmp);
        }
        tx = this.#staged.get(txId);
        if (tx === undefined) {
          tx = { shards: new Map(), records: new Map(), committing: undefined };
          this.#staged.set(txId, tx);
          this.#updateGauges();
        }
        tx.records.set(id, bytes.length);
      }),
    );
  }

  /** Ids of the records staged by `txId`, sorted ([] for an unknown transaction). */
  stagedRecords(txId: string): string[] {
    assertTxId(txId);
    return [...(this.#staged.get(txId)?.records.keys() ?? [])].sort();
  }

  /** The bytes of record `id` staged by `txId`; ShardNotFoundError when there is none. */
  async readStagedRecord(txId: string, id: string): Promise<Uint8Array> {
    this.#checkOpen();
    assertTxId(txId);
    if (!isShardHashHex(id)) throw new TypeError('a record id is 64 lower-case hex characters');
    if (this.#staged.get(txId)?.records.has(id) !== true) throw new ShardNotFoundError(id);
    return this.#readRecord(txId, id);
  }

  async #readRecord(txId: string, id: string): Promise<Uint8Array> {
    const read = await readFileBounded(this.#layout.recordPath(txId, id), this.config.maxRecordBytes);
    if (read.kind !== 'ok') {
      throw new StagingLimitError(
        `staged record ${id} of transaction ${txId} is ${read.sizeBytes} bytes (limit ${this.config.maxRecordBytes})`,
        { txId, limit: this.config.maxRecordBytes },
      );
    }
    return read.data;
  }

  /**
   * The digest of what `txId` staged here for node `nodeId`: its shards and its records. A
   * coordinator computes the same with stagedBundleDigest over what it sent, and the two match only
   * when this store holds exactly that (a participant checks it before voting commit).
   */
  stagedDigest(txId: string, nodeId: string): string {
    assertTxId(txId);
    const tx = this.#staged.get(txId);
    return stagedBundleDigest(txId, nodeId, [...(tx?.shards.keys() ?? [])], [...(tx?.records.keys() ?? [])]);
  }

  async #writeCommitMarker(txId: string, tx: StagedTx): Promise<void> {
    const hashes = [...tx.shards.keys()].sort();
    const tmp = tempPath(this.#layout.tmpDir, 'commit');
    const txDir = this.#layout.txDir(txId);
    try {
      await writeNewFile(tmp, new TextEncoder().encode(`${hashes.join('\n')}\n`), {
        fsync: this.config.fsync,
      });
      await rename(tmp, join(txDir, commitMarkerName));
    } catch (error) {
      if (!(error instanceof SimulatedCrash)) await unlink(tmp).catch(() => {});
      throw diskFullAsCapacity(error, tmp);
    }
    await this.#syncTxDir(txId);
    tx.committing = hashes;
    this.#step('commit:marked');
  }

  async #commitShard(txId: string, tx: StagedTx, hashHex: string, token: number | undefined): Promise<void> {
    const { fsync } = this.config;
    const stagedPath = this.#layout.stagedPath(txId, hashHex, token);
    const shard = tx.shards.get(hashHex);
    assert(shard !== undefined, 'commit of a shard that is not staged');
    await this.#locks.run(`s:${hashHex}`, async () => {
      if (this.#index.has(hashHex)) {
        await unlink(stagedPath); // the same bytes are already committed
      } else {
        const dir = this.#layout.shardDir(hashHex);
        await this.#layout.ensureDir(dir, fsync);
        await rename(stagedPath, join(dir, hashHex));
        await syncDir(dir, { fsync: fsync });
        this.#index.set(hashHex, shard.sizeBytes);
        this.#committedBytes += shard.sizeBytes;
      }
      this.#writes.set(hashHex, ++this.#writeSequence);
      tx.shards.delete(hashHex);
      this.#stagedBytes -= shard.sizeBytes;
      this.#step('commit:shard-moved');
    });
  }

  /** Drops every staged shard of `txId`. Idempotent; a transaction whose commit began cannot be aborted. */
  async abortStaged(txId: string): Promise<void> {
    this.#checkOpen();
    assertTxId(txId);
    return this.#track(
      this.#locks.run(`t:${txId}`, async () => {
        this.#checkOpen();
        const tx = this.#staged.get(txId);
        if (tx?.committing !== undefined) throw new TransactionCommittingError(txId);
        const txDir = this.#layout.txDir(txId);
        // One rename takes the whole transaction out of staging/; tmp/ is emptied at open if we die here.
        const trash = tempPath(this.#layout.tmpDir, `abort-${txId}`);
        try {
          await rename(txDir, trash);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        await syncDir(this.#layout.stagingDir, { fsync: this.config.fsync });
        this.#layout.forgetDir(txDir);
        this.#unsyncedTxs.delete(txId);
        this.#step('abort:moved');
        if (tx !== undefined) {
          for (const shard of tx.shards.values()) this.#stagedBytes -= shard.sizeBytes;
          this.#staged.delete(txId);
          this.#updateGauges();
        }
        await removeTree(trash);
      }),
    );
  }

  /** Transactions that have staged shards (including ones whose commit began and must be finished). */
  stagedTransactions(): string[] {
    return [...this.#staged.keys()];
  }

  /**
   * Attaches the fencing token of the lock that now protects a staged shard (granted after the bytes
   * were staged, at prepare): StaleFencingTokenError if a write with a higher token was already seen.
   * commitStaged checks the token again. Idempotent; a lower token than the one attached is a no-op.
   */
  async fenceStaged(txId: string, hash: Uint8Array, fencingToken: number): Promise<void> {
    this.#checkOpen();
    assertTxId(txId);
    const hashHex = shardHashHex(hash);
    assertInt(fencingToken, 'fencingToken', 0);
    await this.#locks.run(`t:${txId}`, () =>
      this.#locks.run(`s:${hashHex}`, async () => {
        const tx = this.#staged.get(txId);
        if (tx === undefined || !tx.shards.has(hashHex)) throw new ShardNotFoundError(hashHex);
        if (tx.committing !== undefined) throw new TransactionCommittingError(txId);
        this.#checkFencing(hashHex, fencingToken);
        await this.#restageToken(txId, tx, hashHex, fencingToken);
      }),
    );
  }

  /**
   * fenceStaged for every shard staged under `txId` at once: all tokens checked first (a stale one
   * throws StaleFencingTokenError and attaches nothing), then recorded with one fencing-log sync,
   * the staged files renamed to carry the token, and the transaction's folder synced once.
   * Idempotent; shards that already carry this token or a higher one are left as they are.
   */
  async fenceStagedAll(txId: string, fencingToken: number): Promise<void> {
    this.#checkOpen();
    assertTxId(txId);
    assertInt(fencingToken, 'fencingToken', 0);
    await this.#track(
      this.#locks.run(`t:${txId}`, async () => {
        this.#checkOpen();
        const tx = this.#staged.get(txId);
        if (tx === undefined) return;
        if (tx.committing !== undefined) throw new TransactionCommittingError(txId);
        const raise: [string, number][] = [];
        for (const [hashHex, shard] of tx.shards) {
          this.#checkFencing(hashHex, fencingToken);
          if (shard.token === undefined || shard.token < fencingToken) raise.push([hashHex, fencingToken]);
        }
        if (raise.length === 0) return;
        await this.#fencing.raiseMany(raise);
        await forEachSettled(raise, renameConcurrency, async ([hashHex]) => {
          this.#checkOpen();
          const shard = tx.shards.get(hashHex)!;
          await rename(
            this.#layout.stagedPath(txId, hashHex, shard.token),
            this.#layout.stagedPath(txId, hashHex, fencingToken),
          );
          tx.shards.set(hashHex, { sizeBytes: shard.sizeBytes, token: fencingToken });
        });
        await this.#syncTxDir(txId);
      }),
    );
  }

  /** Hashes staged by `txId` and not yet moved into the store ([] for an unknown transaction). */
  stagedShards(txId: string): Uint8Array[] {
    assertTxId(txId);
    return [...(this.#staged.get(txId)?.shards.keys() ?? [])].map(parseShardHash);
  }

  /** True when `txId` has begun committing (a crash interrupted it); call commitStaged to finish. */
  isCommitting(txId: string): boolean {
    assertTxId(txId);
    return this.#staged.get(txId)?.committing !== undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /** Waits for work in flight, then writes the index snapshot that makes the next open fast. */
  async close(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    await Promise.allSettled([...this.#inFlight]);
    await this.#fencing.close();
    const layout = this.#layout;
    await writeIndexSnapshot(layout.root, layout.indexFile, layout.tmpDir, this.#index, this.config.fsync);
    this.#state = 'closed';
    this.#logger.info({ shards: this.#index.size }, 'shard store closed');
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers

  #prepareWrite(
    data: Uint8Array,
    options: ShardWriteOptions,
  ): { hash: Uint8Array; hashHex: string; token: number | undefined } {
    assertBytes(data, 'data');
    if (data.length > this.config.maxShardBytes)
      throw new ShardTooLargeError(data.length, this.config.maxShardBytes);
    const token = options.fencingToken;
    if (token !== undefined) assertInt(token, 'fencingToken', 0);
    if (options.knownHash !== undefined) assertBytes(options.knownHash, 'knownHash', 32);
    const hash = options.knownHash ?? sha256(data);
    const hashHex = toHex(hash);
    if (options.expectedHash !== undefined) {
      const expectedHex = shardHashHex(options.expectedHash);
      if (expectedHex !== hashHex) throw new ShardHashMismatchError(expectedHex, hashHex);
    }
    return { hash, hashHex, token };
  }

  #checkFencing(hashHex: string, token: number | undefined): void {
    if (token === undefined) return;
    const highest = this.#fencing.highest(hashHex);
    if (highest !== undefined && token < highest) throw new StaleFencingTokenError(hashHex, token, highest);
    if (highest === undefined && this.#fencing.size >= this.config.maxShardCount) {
      throw new CapacityExceededError(`fencing-token table is full (${this.#fencing.size} entries)`, {
        limit: this.config.maxShardCount,
      });
    }
  }

  #reserve(sizeBytes: number, newShard: boolean): void {
    const used = this.#committedBytes + this.#stagedBytes + this.#reservedBytes;
    if (used + sizeBytes > this.config.capacityBytes) {
      throw new CapacityExceededError(
        `storing ${sizeBytes} bytes would exceed the capacity: ${used} of ${this.config.capacityBytes} bytes used`,
        { sizeBytes, usedBytes: used, capacityBytes: this.config.capacityBytes },
      );
    }
    if (newShard && this.#index.size + this.#reservedShards >= this.config.maxShardCount) {
      throw new CapacityExceededError(`the store holds the maximum of ${this.config.maxShardCount} shards`, {
        limit: this.config.maxShardCount,
      });
    }
    this.#reservedBytes += sizeBytes;
    if (newShard) this.#reservedShards++;
  }

  #unreserve(sizeBytes: number, newShard: boolean): void {
    this.#reservedBytes -= sizeBytes;
    if (newShard) this.#reservedShards--;
    assert(this.#reservedBytes >= 0 && this.#reservedShards >= 0, 'reservation accounting went negative');
  }

  #isLive(hashHex: string): boolean {
    if (this.#index.has(hashHex)) return true;
    for (const tx of this.#staged.values()) if (tx.shards.has(hashHex)) return true;
    return false;
  }

  #step(step: ShardStoreStep): void {
    if (this.#crashAt === undefined) return;
    try {
      this.#crashAt(step);
    } catch (cause) {
      this.#state = 'crashed';
      this.#fencing.abandon();
      throw new SimulatedCrash(`simulated crash at ${step}`, { cause });
    }
  }

  #checkOpen(): void {
    if (this.#state !== 'open') throw new StoreClosedError();
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const done = (): void => {
      this.#inFlight.delete(promise);
    };
    promise.then(done, done);
    return promise;
  }

  #updateGauges(): void {
    const used = this.#committedBytes + this.#stagedBytes;
    this.#metrics.shards.set(this.#index.size);
    this.#metrics.bytesUsed.set(used);
    this.#metrics.bytesAvailable.set(Math.max(0, this.config.capacityBytes - used));
    this.#metrics.staged.set(this.#staged.size);
  }
}
