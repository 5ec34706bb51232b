import { assert, fromHex, isTrinityError, parseConfig, unreachable } from '@trinity/core';
import { type TxConfig, type TxConfigInput, txConfigSchema } from './config.js';
import { checkId } from './coordinator.js';
import { DueQueue } from './due-queue.js';
import type { CommitShard, TxEffect, TxOutcome } from './effects.js';
import {
  nodeIdSchema,
  type PartCommitRecord,
  type PartEndRecord,
  type ParticipantRecord,
  type PartPreparedRecord,
  type TxLogRecord,
} from './log-record.js';
import type { ParticipantMessage, PrepareMessage } from './messages.js';
import { lockHolderId, type ShardLocks } from './shard-locks.js';

/**
 * Where a participant's transaction is: `staging` (locked, host staging), `logging` (prepared
 * record appended), `prepared` (voted commit: in doubt), `committing` (commit record appended),
 * `applying` (commit durable, host making it visible), then `committed` or `aborted`.
 */
export type ParticipantTxState =
  | 'staging'
  | 'logging'
  | 'prepared'
  | 'committing'
  | 'applying'
  | 'committed'
  | 'aborted';

interface HeldLock {
  fencingToken: number;
  renewAtMs: number;
}

interface PartTx {
  readonly txId: string;
  readonly coordinator: string;
  readonly deadlineMs: number;
  readonly shards: readonly string[];
  readonly holder: Uint8Array;
  state: ParticipantTxState;
  readonly locks: Map<string, HeldLock>;
  staged: boolean;
  prepared: PartPreparedRecord | undefined;
  committed: PartCommitRecord | undefined;
  end: PartEndRecord | undefined;
  nextActionMs: number;
}

export interface ParticipantInit {
  readonly nodeId: string;
  /** This node's shard lock table (the same one its store checks fencing tokens against). */
  readonly locks: ShardLocks;
  readonly config?: TxConfigInput;
}

/**
 * The 2PC participant as a sans-IO state machine. On `prepare` it locks the shards, asks the host
 * to stage them, appends a `part-prepared` record and votes commit only once that record is
 * durable; from then on it never aborts on its own. A commit is recorded (`part-commit`) before it
 * is acknowledged and applied, so a restart applies it again. In doubt after the deadline, it asks
 * the coordinator; no answer means it keeps asking, holding (and renewing) its locks.
 */
export class Participant {
  readonly nodeId: string;
  readonly config: TxConfig;
  readonly #locks: ShardLocks;
  readonly #txs = new Map<string, PartTx>();
  readonly #due = new DueQueue();

  constructor(init: ParticipantInit) {
    this.nodeId = checkId(nodeIdSchema, init.nodeId, 'nodeId');
    this.config = parseConfig(txConfigSchema, init.config ?? {}, 'tx config');
    this.#locks = init.locks;
  }

  /** Transactions tracked now, finished ones remembered until their deadline included. */
  get trackedCount(): number {
    return this.#txs.size;
  }

  state(txId: string): ParticipantTxState | undefined {
    return this.#txs.get(txId)?.state;
  }

  /** Ids of transactions prepared and not yet told the outcome. */
  inDoubt(): string[] {
    return [...this.#txs.values()].filter((tx) => tx.state === 'prepared').map((tx) => tx.txId);
  }

  /** Ids of transactions not finished (holding locks). */
  unfinished(): string[] {
    return [...this.#txs.values()].filter((tx) => !isTerminal(tx.state)).map((tx) => tx.txId);
  }

  /** A validated message from a coordinator (prepare, commit, abort or status-reply). */
  handle(message: ParticipantMessage, nowMs: number): TxEffect[] {
    if (message.type === 'prepare') return this.#onPrepare(message, nowMs);
    const tx = this.#txs.get(message.txId);
    if (tx !== undefined && tx.coordinator !== message.coordinator) return [];
    switch (message.type) {
      case 'commit':
        return this.#onCommit(tx, message.txId, message.coordinator);
      case 'abort':
        return tx === undefined ? [] : this.#onAbort(tx, nowMs);
      case 'status-reply':
        if (message.outcome === 'commit') return this.#onCommit(tx, message.txId, message.coordinator);
        if (message.outcome === 'abort') return tx === undefined ? [] : this.#onAbort(tx, nowMs);
        return [];
      default:
        return unreachable(message, 'participant message');
    }
  }

  /** The host finished (or failed) a `stage` effect. */
  staged(txId: string, ok: boolean, nowMs: number, reason = 'staging failed'): TxEffect[] {
    const tx = this.#txs.get(txId);
    if (tx === undefined || tx.state !== 'staging') return [];
    if (!ok) return this.#abortLocally(tx, nowMs, reason, true);
    tx.state = 'logging';
    tx.prepared = {
      type: 'part-prepared',
      txId,
      coordinator: tx.coordinator,
      deadlineMs: tx.deadlineMs,
      shards: [...tx.shards],
    };
    return [{ kind: 'append', record: tx.prepared }];
  }

  /** The host reports that `record` (from an `append` effect) is durable. */
  logged(record: TxLogRecord, nowMs: number): TxEffect[] {
    const tx = this.#txs.get(record.txId);
    if (tx === undefined) return [];
    if (record.type === 'part-prepared' && tx.state === 'logging') {
      tx.state = 'prepared';
      tx.nextActionMs = Math.max(tx.deadlineMs, nowMs + this.config.statusQueryIntervalMs);
      this.#schedule(tx);
      return [this.#voteTo(tx, 'commit')];
    }
    if (record.type === 'part-commit' && tx.state === 'committing') {
      tx.state = 'applying';
      tx.nextActionMs = nowMs + this.config.commitRetryIntervalMs;
      this.#schedule(tx);
      return [this.#ackTo(tx.txId, tx.coordinator), this.#commitStaged(tx)];
    }
    return [];
  }

  /** The host made the staged shards of `txId` visible (a `commitStaged` effect succeeded). */
  applied(txId: string, nowMs: number): TxEffect[] {
    const tx = this.#txs.get(txId);
    if (tx === undefined || tx.state !== 'applying') return [];
    this.#releaseLocks(tx, nowMs);
    return this.#finish(tx, 'committed', nowMs);
  }

  /** Acts on every deadline due by `nowMs`: local aborts, status queries, retries, lock renewals. */
  tick(nowMs: number): TxEffect[] {
    const effects: TxEffect[] = [];
    for (const txId of this.#due.popDue(nowMs)) {
      const tx = this.#txs.get(txId);
      if (tx !== undefined) effects.push(...this.#onDue(tx, nowMs));
    }
    return effects;
  }

  nextWakeMs(): number | undefined {
    return this.#due.peekMs();
  }

  /**
   * Rebuilds state from the log at start-up (call once, before anything else). Relocks the shards
   * of every unfinished transaction, re-votes or re-applies, and asks the host to purge staged data
   * of every other transaction (staged before a crash but never prepared).
   *
   * Locks are exclusive, so an unfinished transaction whose shard is held by a later one (or by a
   * lock that outlived the crash) had released it: it finished, and only its lazy `part-end` was
   * lost. It committed if its `part-commit` is durable (applied already), else it aborted.
   */
  recover(records: readonly TxLogRecord[], nowMs: number): TxEffect[] {
    assert(this.#txs.size === 0, 'Participant.recover must run before any transaction');
    const unfinished: RecoveredTx[] = [];
    for (const entry of groupRecords(records).values()) {
      if (entry.end !== undefined) {
        if (entry.end.retainUntilMs > nowMs) this.#rememberEnded(entry.end, entry.prepared);
        continue;
      }
      assert(
        entry.prepared !== undefined,
        `tx log: ${entry.txId} has a commit record and no prepared record`,
      );
      unfinished.push({ prepared: entry.prepared, commit: entry.commit });
    }
    const owner = new Map<string, string>();
    for (const { prepared } of unfinished)
      for (const shard of prepared.shards) owner.set(shard, prepared.txId);
    const effects: TxEffect[] = [];
    const keep: string[] = [];
    for (const entry of unfinished) {
      const ownsAll = entry.prepared.shards.every((shard) => owner.get(shard) === entry.prepared.txId);
      const resumed = ownsAll ? this.#resume(entry.prepared, entry.commit, nowMs) : undefined;
      if (resumed === undefined) effects.push(...this.#endFinishedBeforeCrash(entry, nowMs));
      else {
        keep.push(entry.prepared.txId);
        effects.push(...resumed);
      }
    }
    return [{ kind: 'purgeStaged', keepTxIds: keep }, ...effects];
  }

  /** Records that rebuild the current state: what a checkpoint keeps. */
  liveRecords(): ParticipantRecord[] {
    const live: ParticipantRecord[] = [];
    for (const tx of this.#txs.values()) {
      if (tx.end !== undefined) live.push(tx.end);
      else {
        if (tx.prepared !== undefined) live.push(tx.prepared);
        if (tx.committed !== undefined) live.push(tx.committed);
      }
    }
    return live;
  }

  #onPrepare(message: PrepareMessage, nowMs: number): TxEffect[] {
    const existing = this.#txs.get(message.txId);
    const shards = message.shards.map((s) => s.shard);
    if (existing !== undefined) {
      if (existing.coordinator !== message.coordinator) return [];
      if (existing.state === 'staging' || existing.state === 'logging') return [];
      const vote = existing.state === 'aborted' ? 'abort' : 'commit';
      return [
        {
          kind: 'send',
          to: message.coordinator,
          message: voteMessage(message.txId, this.nodeId, shards, vote),
        },
      ];
    }
    const refuse = (reason: string): TxEffect[] => [
      {
        kind: 'send',
        to: message.coordinator,
        message: voteMessage(message.txId, this.nodeId, shards, 'abort', reason),
      },
    ];
    if (nowMs >= message.deadlineMs) return refuse('prepare arrived after its deadline');
    if (this.#txs.size >= this.config.maxParticipantTransactions) return refuse('participant is busy');
    if (shards.length > this.config.maxShardsPerTransaction) return refuse('too many shards');
    const tx = this.#newTx(message, shards);
    this.#txs.set(tx.txId, tx);
    const failure = this.#lockAll(tx, nowMs);
    if (failure !== undefined) return this.#abortLocally(tx, nowMs, failure, true);
    tx.staged = true;
    this.#schedule(tx);
    return [
      {
        kind: 'stage',
        txId: tx.txId,
        shards: message.shards.map((s) => ({ shardHash: s.shard, ref: s.ref })),
      },
    ];
  }

  #onCommit(tx: PartTx | undefined, txId: string, coordinator: string): TxEffect[] {
    // Unknown: it committed here and was forgotten after its deadline; the coordinator missed the ack.
    if (tx === undefined) return [this.#ackTo(txId, coordinator)];
    switch (tx.state) {
      case 'prepared':
        tx.state = 'committing';
        tx.committed = { type: 'part-commit', txId: tx.txId };
        this.#schedule(tx);
        return [{ kind: 'append', record: tx.committed }];
      case 'applying':
      case 'committed':
        return [this.#ackTo(tx.txId, tx.coordinator)];
      case 'committing':
      case 'staging':
      case 'logging':
      case 'aborted':
        return [];
      default:
        return unreachable(tx.state, 'participant state');
    }
  }

  #onAbort(tx: PartTx, nowMs: number): TxEffect[] {
    if (tx.state === 'staging' || tx.state === 'logging' || tx.state === 'prepared') {
      return this.#abortLocally(tx, nowMs, 'aborted by the coordinator', false);
    }
    return [];
  }

  #onDue(tx: PartTx, nowMs: number): TxEffect[] {
    if (isTerminal(tx.state)) {
      if (nowMs >= tx.nextActionMs) this.#txs.delete(tx.txId);
      else this.#schedule(tx);
      return [];
    }
    const effects: TxEffect[] = [];
    this.#renewLocks(tx, nowMs);
    if (nowMs >= tx.nextActionMs) {
      switch (tx.state) {
        case 'staging':
        case 'logging':
          return this.#abortLocally(tx, nowMs, 'not prepared before the deadline', true);
        case 'prepared':
          effects.push({
            kind: 'send',
            to: tx.coordinator,
            message: { type: 'status-query', txId: tx.txId, from: this.nodeId },
          });
          tx.nextActionMs = nowMs + this.config.statusQueryIntervalMs;
          break;
        case 'applying':
          effects.push(this.#commitStaged(tx));
          tx.nextActionMs = nowMs + this.config.commitRetryIntervalMs;
          break;
        case 'committing':
          tx.nextActionMs = Number.MAX_SAFE_INTEGER;
          break;
        default:
          unreachable(tx.state as never, 'participant state');
      }
    }
    this.#schedule(tx);
    return effects;
  }

  #abortLocally(tx: PartTx, nowMs: number, reason: string, tellCoordinator: boolean): TxEffect[] {
    const effects: TxEffect[] = [];
    if (tx.staged) effects.push({ kind: 'abortStaged', txId: tx.txId, shardHashes: [...tx.shards] });
    this.#releaseLocks(tx, nowMs);
    if (tellCoordinator) effects.push(this.#voteTo(tx, 'abort', reason.slice(0, 200)));
    effects.push(...this.#finish(tx, 'aborted', nowMs));
    return effects;
  }

  /** Terminal: remembered until the deadline passed (a later prepare is refused as late anyway). */
  #finish(tx: PartTx, outcome: TxOutcome, nowMs: number): TxEffect[] {
    tx.state = outcome;
    tx.nextActionMs = Math.max(nowMs, tx.deadlineMs + this.config.clockSkewMarginMs);
    this.#schedule(tx);
    if (tx.prepared === undefined) return [];
    tx.end = {
      type: 'part-end',
      txId: tx.txId,
      coordinator: tx.coordinator,
      outcome,
      retainUntilMs: tx.nextActionMs,
    };
    return [{ kind: 'append', record: tx.end }];
  }

  /** Locks every shard in order; on failure releases what it took and returns why. */
  #lockAll(tx: PartTx, nowMs: number): string | undefined {
    for (const shard of [...tx.shards].sort()) {
      try {
        this.#acquire(tx, shard, nowMs);
      } catch (error) {
        if (!isTrinityError(error) || error.code === 'ASSERTION_FAILED') throw error;
        this.#releaseLocks(tx, nowMs);
        return `${error.code}: ${error.message}`;
      }
    }
    return undefined;
  }

  #acquire(tx: PartTx, shard: string, nowMs: number): void {
    const grant = this.#locks.acquire(fromHex(shard), tx.holder, tx.txId, nowMs);
    const lifetimeMs = Math.max(0, grant.expiresAtMs - nowMs);
    const marginMs = Math.min(this.config.lockRenewMarginMs, Math.floor(lifetimeMs / 2));
    tx.locks.set(shard, { fencingToken: grant.fencingToken, renewAtMs: grant.expiresAtMs - marginMs });
  }

  #renewLocks(tx: PartTx, nowMs: number): void {
    for (const [shard, lock] of tx.locks) {
      if (nowMs < lock.renewAtMs) continue;
      this.#locks.release(fromHex(shard), tx.holder, nowMs);
      this.#acquire(tx, shard, nowMs);
    }
  }

  #releaseLocks(tx: PartTx, nowMs: number): void {
    for (const shard of tx.locks.keys()) this.#locks.release(fromHex(shard), tx.holder, nowMs);
    tx.locks.clear();
  }

  /** Resumes an unfinished transaction with its locks retaken; undefined if one is held by another. */
  #resume(
    prepared: PartPreparedRecord,
    commit: PartCommitRecord | undefined,
    nowMs: number,
  ): TxEffect[] | undefined {
    const tx: PartTx = {
      ...this.#newTxFields(prepared.txId, prepared.coordinator, prepared.deadlineMs, prepared.shards),
      state: commit === undefined ? 'prepared' : 'applying',
      staged: true,
      prepared,
      committed: commit,
    };
    for (const shard of tx.shards) {
      // The lock table may have survived the restart (then this holder may still hold it) or not.
      if (this.#locks.verify(fromHex(shard), tx.holder, nowMs))
        this.#locks.release(fromHex(shard), tx.holder, nowMs);
    }
    if (this.#lockAll(tx, nowMs) !== undefined) return undefined;
    this.#txs.set(tx.txId, tx);
    if (commit === undefined) {
      tx.nextActionMs = Math.max(nowMs, tx.deadlineMs);
      this.#schedule(tx);
      return [this.#voteTo(tx, 'commit')];
    }
    tx.nextActionMs = nowMs + this.config.commitRetryIntervalMs;
    this.#schedule(tx);
    return [this.#ackTo(tx.txId, tx.coordinator), this.#commitStaged(tx)];
  }

  /** An unfinished-looking transaction that must have finished before the crash (see `recover`). */
  #endFinishedBeforeCrash(entry: RecoveredTx, nowMs: number): TxEffect[] {
    const { prepared, commit } = entry;
    const tx: PartTx = {
      ...this.#newTxFields(prepared.txId, prepared.coordinator, prepared.deadlineMs, prepared.shards),
      state: 'staging',
      staged: commit === undefined,
      prepared,
      committed: commit,
    };
    this.#txs.set(tx.txId, tx);
    if (commit !== undefined)
      return [this.#ackTo(tx.txId, tx.coordinator), ...this.#finish(tx, 'committed', nowMs)];
    return this.#abortLocally(tx, nowMs, 'finished before the crash', false);
  }

  #rememberEnded(end: PartEndRecord, prepared: PartPreparedRecord | undefined): void {
    const tx: PartTx = {
      ...this.#newTxFields(end.txId, end.coordinator, 0, prepared?.shards ?? []),
      state: end.outcome,
      staged: false,
      prepared,
      committed: undefined,
      end,
    };
    tx.nextActionMs = end.retainUntilMs;
    this.#txs.set(tx.txId, tx);
    this.#schedule(tx);
  }

  #newTx(message: PrepareMessage, shards: string[]): PartTx {
    return {
      ...this.#newTxFields(message.txId, message.coordinator, message.deadlineMs, shards),
      state: 'staging',
      staged: false,
      prepared: undefined,
      committed: undefined,
    };
  }

  #newTxFields(txId: string, coordinator: string, deadlineMs: number, shards: readonly string[]) {
    return {
      txId,
      coordinator,
      deadlineMs,
      shards,
      holder: lockHolderId(this.nodeId, txId),
      locks: new Map<string, HeldLock>(),
      end: undefined as PartEndRecord | undefined,
      nextActionMs: deadlineMs,
    };
  }

  #schedule(tx: PartTx): void {
    let dueMs = tx.nextActionMs;
    for (const lock of tx.locks.values()) dueMs = Math.min(dueMs, lock.renewAtMs);
    this.#due.set(tx.txId, dueMs);
  }

  #commitStaged(tx: PartTx): TxEffect {
    const shards: CommitShard[] = tx.shards.map((shardHash) => ({
      shardHash,
      fencingToken: tx.locks.get(shardHash)?.fencingToken ?? 0,
    }));
    return { kind: 'commitStaged', txId: tx.txId, shards };
  }

  #voteTo(tx: PartTx, vote: 'commit' | 'abort', reason?: string): TxEffect {
    return {
      kind: 'send',
      to: tx.coordinator,
      message: voteMessage(tx.txId, this.nodeId, [...tx.shards], vote, reason),
    };
  }

  #ackTo(txId: string, coordinator: string): TxEffect {
    return { kind: 'send', to: coordinator, message: { type: 'ack', txId, from: this.nodeId } };
  }
}

interface RecoveredTx {
  readonly prepared: PartPreparedRecord;
  readonly commit: PartCommitRecord | undefined;
}

interface GroupedRecords {
  readonly txId: string;
  prepared?: PartPreparedRecord;
  commit?: PartCommitRecord;
  end?: PartEndRecord;
}

/** A participant's records by transaction, in the order each transaction first appears. */
function groupRecords(records: readonly TxLogRecord[]): Map<string, GroupedRecords> {
  const byTx = new Map<string, GroupedRecords>();
  for (const record of records) {
    if (record.type !== 'part-prepared' && record.type !== 'part-commit' && record.type !== 'part-end')
      continue;
    let entry = byTx.get(record.txId);
    if (entry === undefined) byTx.set(record.txId, (entry = { txId: record.txId }));
    if (record.type === 'part-prepared') entry.prepared = record;
    else if (record.type === 'part-commit') entry.commit = record;
    else entry.end = record;
  }
  return byTx;
}

function isTerminal(state: ParticipantTxState): state is 'committed' | 'aborted' {
  return state === 'committed' || state === 'aborted';
}

function voteMessage(
  txId: string,
  from: string,
  shards: string[],
  vote: 'commit' | 'abort',
  reason?: string,
) {
  return reason === undefined
    ? { type: 'vote' as const, txId, from, vote, shards }
    : { type: 'vote' as const, txId, from, vote, shards, reason };
}
