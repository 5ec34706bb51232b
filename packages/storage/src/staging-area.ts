import { StagingMismatchError } from './errors.js';
import type { ShardStore } from './shard-store.js';
import type { StagedRecord } from './staged-bundle.js';

/** A lock the coordinator asks for at prepare: `ref` must be the digest of what was staged here. */
export interface StagingLock {
  readonly shardHash: string;
  readonly ref: string;
}

/** A staged lock to commit under, with its fencing token. */
export interface StagingCommit {
  readonly shardHash: string;
  readonly fencingToken: number;
}

/** What a StagingArea leaves to its host: the meaning of the records. */
export interface StagingAreaHooks {
  /**
   * Extra checks at prepare, after the digest matched: why the locks asked for do not fit the
   * records staged here (e.g. they must be the locks of exactly those objects), or undefined.
   */
  readonly check?: (
    txId: string,
    locks: readonly StagingLock[],
    records: readonly StagedRecord[],
  ) => string | undefined | Promise<string | undefined>;
  /** Publishes the records at commit (idempotent: called again if a crash interrupts the commit). */
  readonly publish: (txId: string, records: readonly StagedRecord[]) => Promise<void>;
  /** Called when a transaction's staged data is gone (committed or aborted): release quotas. */
  readonly ended?: (txId: string) => void | Promise<void>;
}

/**
 * A participant's side of a two-phase commit over a ShardStore: the shape of @trinity/tx's
 * `TxStagingHost`, so a `TxEngine` runs on it directly. Shards and records (the objects' manifests)
 * are staged beforehand with `ShardStore.stage`/`stageRecord` under the transaction id; then
 *
 * - `stage` (prepare) votes commit only when every lock's `ref` is the digest of exactly what is
 *   staged here (`stagedDigest`) and the host's `check` agrees, and makes what was staged durable
 *   (`syncStaged`: shards staged with `deferFolderSync`); otherwise it throws (vote abort);
 * - `commitStaged` attaches the locks' fencing token to every staged shard (one fencing-log sync),
 *   then commits: the commit marker, the host's `publish` of the records, the shards moved in; a
 *   crash anywhere is finished by calling it again;
 * - `abortStaged` drops shards and records together (a commit that began is finished, not aborted);
 * - `purgeStaged` (at start-up) drops every staged transaction the engine does not know.
 */
export class StagingArea {
  readonly #store: ShardStore;
  readonly #nodeId: string;
  readonly #hooks: StagingAreaHooks;

  constructor(store: ShardStore, nodeId: string, hooks: StagingAreaHooks) {
    this.#store = store;
    this.#nodeId = nodeId;
    this.#hooks = hooks;
  }

  async stage(txId: string, locks: readonly StagingLock[]): Promise<void> {
    const digest = this.#store.stagedDigest(txId, this.#nodeId);
    const ids = this.#store.stagedRecords(txId);
    if (ids.length === 0 || locks.length === 0 || locks.some((lock) => lock.ref !== digest))
      throw new StagingMismatchError(
        `what is staged here for ${txId} is not what the coordinator sent`,
        txId,
      );
    if (this.#hooks.check !== undefined) {
      const why = await this.#hooks.check(txId, locks, await this.#records(txId, ids));
      if (why !== undefined) throw new StagingMismatchError(why, txId);
    }
    // The vote follows: shards staged with deferFolderSync are made durable before it, not after.
    await this.#store.syncStaged(txId);
  }

  async commitStaged(txId: string, commits: readonly StagingCommit[]): Promise<void> {
    const token = commits[0]?.fencingToken;
    if (token !== undefined && !this.#store.isCommitting(txId)) await this.#store.fenceStagedAll(txId, token);
    await this.#store.commitStaged(txId, { publish: (records) => this.#hooks.publish(txId, records) });
    await this.#hooks.ended?.(txId);
  }

  async abortStaged(txId: string, _shardHashes: readonly string[] = []): Promise<void> {
    if (!this.#store.isCommitting(txId)) await this.#store.abortStaged(txId);
    await this.#hooks.ended?.(txId);
  }

  async purgeStaged(keepTxIds: readonly string[]): Promise<void> {
    const keep = new Set(keepTxIds);
    for (const txId of this.#store.stagedTransactions()) if (!keep.has(txId)) await this.abortStaged(txId);
  }

  async #records(txId: string, ids: readonly string[]): Promise<StagedRecord[]> {
    const records: StagedRecord[] = [];
    for (const id of ids) records.push({ id, bytes: await this.#store.readStagedRecord(txId, id) });
    return records;
  }
}
