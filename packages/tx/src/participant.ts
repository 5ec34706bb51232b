import { assert, isTrinityError, unreachable } from '@trinity/core';
import { _parseTxConfig, type TxConfig, type TxConfigInput } from './config.js';
import { checkId } from './coordinator.js';
import { DueQueue, type Scheduled } from './due-queue.js';
import type { CommitShard, TxEffect, TxOutcome } from './effects.js';
import { EndedOutcomes } from './ended-outcomes.js';
import {
  NODE_ID_PATTERN,
  type PartCommitRecord,
  type PartEndRecord,
  type ParticipantRecord,
  type PartPreparedRecord,
  type TxLogRecord,
} from './log-record.js';
import type { ParticipantMessage, PrepareMessage } from './messages.js';
import { _lockHolderHexOf, type ShardLocks } from './shard-locks.js';

/**
 * Where a participant's transaction is: `staging` (locked, host staging), `logging` (prepared
 * record appended), `prepared` (voted commit: in doubt), `applying` (told to commit, host making
 * the staged shards visible), `ending` (applied, `part-end` appended, locks still held), then
 * `committed` or `aborted`.
 */
export type ParticipantTxState =
  | 'staging'
  | 'logging'
  | 'prepared'
  | 'applying'
  | 'ending'
  | 'committed'
  | 'aborted';

type LiveState = Exclude<ParticipantTxState, TxOutcome>;

interface PartTx extends Scheduled {
  readonly txId: string;
  readonly coordinator: string;
  readonly deadlineMs: number;
  readonly shards: readonly string[];
  /** This node's lock holder id in this transaction (hex). */
  readonly holder: string;
  state: LiveState;
  /** Per shard (in `shards` order): the fencing token of the lock held on it, 0 when not held. */
  readonly tokens: number[];
  /** Per shard: when to renew its lock. */
  readonly renewAtMs: number[];
  /** A `stage` effect was issued: an abort must drop what it staged. */
  staged: boolean;
  prepared: PartPreparedRecord | undefined;
  /** Only from a log written by an earlier version, which recorded the commit before applying it. */
  committed: PartCommitRecord | undefined;
  /** The `part-end` of a commit, appended once applied (state `ending`). */
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
 * durable; from then on it never aborts on its own. Told to commit, it applies the staged shards,
 * then appends `part-end`, and only once that is durable releases its locks and acknowledges: until
 * then the coordinator keeps its decision, so a restart in between asks again and applies again.
 * In doubt after the deadline, it asks the coordinator; no answer means it keeps asking, holding
 * (and renewing) its locks. A finished transaction is remembered until its deadline has passed,
 * after which a prepare is refused as late.
 */
export class Participant {
  readonly nodeId: string;
  readonly config: TxConfig;
  readonly #locks: ShardLocks;
  readonly #txs = new Map<string, PartTx>();
  readonly #due = new DueQueue<PartTx>();
  /** Finished transactions, remembered until their deadline has passed. */
  readonly #ended = new EndedOutcomes();
  /** `lockHolderHex` of this node (made on first use). */
  #holderHex: ((txId: string) => string) | undefined;

  constructor(init: ParticipantInit) {
    this.nodeId = checkId(NODE_ID_PATTERN, init.nodeId, 'nodeId');
    this.config = _parseTxConfig(init.config);
    this.#locks = init.locks;
  }

  /** Transactions tracked now, finished ones still remembered included. */
  get trackedCount(): number {
    return this.#txs.size + this.#ended.size;
  }

  state(txId: string): ParticipantTxState | undefined {
    const tx = this.#txs.get(txId);
    if (tx !== undefined) return tx.state;
    const ended = this.#ended.find(txId);
    return ended < 0 ? undefined : this.#ended.outcomeAt(ended);
  }

  /** Ids of transactions prepared and not yet told the outcome. */
  inDoubt(): string[] {
    return [...this.#txs.values()].filter((tx) => tx.state === 'prepared').map((tx) => tx.txId);
  }

  /** Ids of transactions not finished (holding locks). */
  unfinished(): string[] {
    return [...this.#txs.keys()];
  }

  /** A validated message from a coordinator (prepare, commit, abort or status-reply). */
  handle(message: ParticipantMessage, nowMs: number): TxEffect[] {
    if (message.type === 'prepare') return this.#onPrepare(message, nowMs);
    const tx = this.#txs.get(message.txId);
    const ended = tx === undefined ? this.#ended.find(message.txId) : -1;
    const coordinator =
      tx?.coordinator ?? (ended < 0 ? message.coordinator : this.#ended.coordinatorAt(ended));
    if (coordinator !== message.coordinator) return [];
    const outcome = message.type === 'status-reply' ? message.outcome : message.type;
    if (outcome === 'commit') {
      if (tx !== undefined) return this.#onCommit(tx, nowMs);
      // Committed here (or finished and forgotten after its deadline): the coordinator missed the ack.
      if (ended >= 0 && this.#ended.outcomeAt(ended) === 'aborted') return [];
      return [this.#ackTo(message.txId, message.coordinator)];
    }
    if (outcome === 'abort') return tx === undefined ? [] : this.#onAbort(tx, nowMs);
    return [];
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
      shards: tx.shards as string[],
    };
    return [{ kind: 'append', record: tx.prepared }];
  }

  /** The host reports that `record` (from an `append` effect) is durable. */
  logged(record: TxLogRecord, nowMs: number): TxEffect[] {
    const tx = this.#txs.get(record.txId);
    if (tx === undefined) return [];
    if (record.type === 'part-prepared' && tx.state === 'logging') {
      tx.state = 'prepared';
      // In doubt from now on: ask after a while (the coordinator answers `pending` while it decides;
      // `abort` only when it has no record, which presumed abort makes final anyway).
      tx.nextActionMs = nowMs + this.config.statusQueryIntervalMs;
      this.#schedule(tx);
      return [this.#voteTo(tx.txId, tx.coordinator, tx.shards, 'commit')];
    }
    if (record.type === 'part-end' && tx.state === 'ending') {
      this.#releaseLocks(tx, nowMs);
      this.#forget(tx, record.outcome, record.retainUntilMs, true);
      return [this.#ackTo(tx.txId, tx.coordinator)];
    }
    return [];
  }

  /** The host made the staged shards of `txId` visible (a `commitStaged` effect succeeded). */
  applied(txId: string, nowMs: number): TxEffect[] {
    const tx = this.#txs.get(txId);
    if (tx === undefined || tx.state !== 'applying') return [];
    // The locks stay held until the end is durable: a restart that finds this transaction
    // unfinished with its shards locked by another can then conclude it aborted (see `recover`).
    tx.state = 'ending';
    tx.end = endRecord(tx, 'committed', this.#retainUntilMs(tx, nowMs));
    tx.nextActionMs = Number.MAX_SAFE_INTEGER;
    this.#schedule(tx);
    return [{ kind: 'append', record: tx.end }];
  }

  /** Acts on every deadline due by `nowMs`: local aborts, status queries, retries, lock renewals. */
  tick(nowMs: number): TxEffect[] {
    this.#ended.expire(nowMs);
    const effects: TxEffect[] = [];
    for (const tx of this.#due.popDue(nowMs)) effects.push(...this.#onDue(tx, nowMs));
    return effects;
  }

  nextWakeMs(): number | undefined {
    const due = this.#due.peekMs();
    const expiry = this.#ended.nextExpiryMs();
    if (due === undefined) return expiry;
    return expiry === undefined ? due : Math.min(due, expiry);
  }

  /**
   * Rebuilds state from the log at start-up (call once, before anything else). Relocks the shards
   * of every unfinished transaction, re-votes or re-applies, and asks the host to purge staged data
   * of every other transaction (staged before a crash but never prepared).
   *
   * Locks are exclusive, so an unfinished transaction whose shard is held by a later one (or by a
   * lock that outlived the crash) had released it: it finished, and only its lazy `part-end` was
   * lost. A commit releases its locks only once its `part-end` is durable, so it aborted (or, in a
   * log of an earlier version, committed if its `part-commit` is durable). (A log
   * that recovers a prefix, as TxLog does, never shows the later-transaction case; a lock table
   * that survived the restart does show the other.)
   */
  recover(records: readonly TxLogRecord[], nowMs: number): TxEffect[] {
    assert(this.trackedCount === 0, 'Participant.recover must run before any transaction');
    const unfinished: RecoveredTx[] = [];
    for (const entry of groupRecords(records).values()) {
      if (entry.end !== undefined) {
        const end = entry.end;
        if (end.retainUntilMs > nowMs)
          this.#ended.add(end.txId, end.outcome, end.coordinator, end.retainUntilMs, true);
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
      const tx = this.#recoveredTx(entry);
      const ownsAll = tx.shards.every((shard) => owner.get(shard) === tx.txId);
      const resumed = ownsAll ? this.#resume(tx, nowMs) : undefined;
      if (resumed === undefined) effects.push(...this.#endFinishedBeforeCrash(tx, nowMs));
      else {
        keep.push(tx.txId);
        effects.push(...resumed);
      }
    }
    return [{ kind: 'purgeStaged', keepTxIds: keep }, ...effects];
  }

  /** Records that rebuild the current state: what a checkpoint keeps. */
  liveRecords(): ParticipantRecord[] {
    const live: ParticipantRecord[] = [];
    this.#ended.forEach(({ txId, outcome, coordinator, retainUntilMs, logged }) => {
      if (logged) live.push({ type: 'part-end', txId, coordinator, outcome, retainUntilMs });
    });
    for (const tx of this.#txs.values()) {
      if (tx.prepared !== undefined) live.push(tx.prepared);
      if (tx.committed !== undefined) live.push(tx.committed);
      // Appended, maybe not durable yet: a checkpoint now must keep it.
      if (tx.end !== undefined) live.push(tx.end);
    }
    return live;
  }

  #onPrepare(message: PrepareMessage, nowMs: number): TxEffect[] {
    const shards = message.shards.map((s) => s.shard);
    const existing = this.#txs.get(message.txId);
    if (existing !== undefined) {
      // A duplicate: answered once there is an answer (after the prepared record is durable).
      const unanswered = existing.state === 'staging' || existing.state === 'logging';
      if (existing.coordinator !== message.coordinator || unanswered) return [];
      return [this.#voteTo(message.txId, message.coordinator, shards, 'commit')];
    }
    const ended = this.#ended.find(message.txId);
    if (ended >= 0) {
      if (this.#ended.coordinatorAt(ended) !== message.coordinator) return [];
      const vote = this.#ended.outcomeAt(ended) === 'aborted' ? 'abort' : 'commit';
      return [this.#voteTo(message.txId, message.coordinator, shards, vote)];
    }
    if (nowMs >= message.deadlineMs)
      return this.#refuse(message, shards, 'prepare arrived after its deadline');
    if (message.deadlineMs - nowMs > this.config.maxPrepareWindowMs)
      return this.#refuse(message, shards, 'prepare deadline too far away');
    if (this.trackedCount >= this.config.maxParticipantTransactions)
      return this.#refuse(message, shards, 'participant is busy');
    if (shards.length > this.config.maxShardsPerTransaction)
      return this.#refuse(message, shards, 'too many shards');
    const tx = this.#newTx(message.txId, message.coordinator, message.deadlineMs, shards, 'staging');
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

  #refuse(message: PrepareMessage, shards: readonly string[], reason: string): TxEffect[] {
    return [this.#voteTo(message.txId, message.coordinator, shards, 'abort', reason)];
  }

  #onCommit(tx: PartTx, nowMs: number): TxEffect[] {
    switch (tx.state) {
      case 'prepared':
        tx.state = 'applying';
        tx.nextActionMs = nowMs + this.config.commitRetryIntervalMs;
        this.#schedule(tx);
        return [this.#commitStaged(tx)];
      case 'applying':
      case 'ending':
        // Being applied or its end being logged: the acknowledgement follows.
        return [];
      case 'staging':
      case 'logging':
        // Not voted commit yet (staging, logging): a commit now is a protocol violation, ignored.
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
    this.#renewLocks(tx, nowMs);
    const effects: TxEffect[] = [];
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
        case 'ending':
          tx.nextActionMs = Number.MAX_SAFE_INTEGER;
          break;
        default:
          unreachable(tx.state, 'participant state');
      }
    }
    this.#schedule(tx);
    return effects;
  }

  #abortLocally(tx: PartTx, nowMs: number, reason: string, tellCoordinator: boolean): TxEffect[] {
    const effects: TxEffect[] = [];
    if (tx.staged) effects.push({ kind: 'abortStaged', txId: tx.txId, shardHashes: tx.shards });
    this.#releaseLocks(tx, nowMs);
    if (tellCoordinator)
      effects.push(this.#voteTo(tx.txId, tx.coordinator, tx.shards, 'abort', reason.slice(0, 200)));
    effects.push(...this.#finish(tx, 'aborted', nowMs));
    return effects;
  }

  /**
   * Ends a live transaction at once, its `part-end` appended lazily (nothing waits on it):
   * remembered until the deadline passed (a later prepare is refused as late anyway).
   */
  #finish(tx: PartTx, outcome: TxOutcome, nowMs: number): TxEffect[] {
    const retainUntilMs = this.#retainUntilMs(tx, nowMs);
    const logged = tx.prepared !== undefined;
    this.#forget(tx, outcome, retainUntilMs, logged);
    return logged ? [{ kind: 'append', record: endRecord(tx, outcome, retainUntilMs) }] : [];
  }

  /** Drops a live transaction, remembering its outcome compactly. */
  #forget(tx: PartTx, outcome: TxOutcome, retainUntilMs: number, logged: boolean): void {
    assert(!holdsLocks(tx), `participant: ${tx.txId} finished holding locks`);
    this.#txs.delete(tx.txId);
    this.#due.delete(tx);
    this.#ended.add(tx.txId, outcome, tx.coordinator, retainUntilMs, logged);
  }

  #retainUntilMs(tx: PartTx, nowMs: number): number {
    return Math.max(nowMs, tx.deadlineMs + this.config.clockSkewMarginMs);
  }

  /** Locks every shard in order; on failure releases what it took and returns why. */
  #lockAll(tx: PartTx, nowMs: number): string | undefined {
    const order = tx.shards.map((_, i) => i);
    if (order.length > 1) order.sort((a, b) => (tx.shards[a]! < tx.shards[b]! ? -1 : 1));
    for (const i of order) {
      try {
        this.#acquire(tx, i, nowMs);
      } catch (error) {
        if (!isTrinityError(error) || error.code === 'ASSERTION_FAILED') throw error;
        this.#releaseLocks(tx, nowMs);
        return `${error.code}: ${error.message}`;
      }
    }
    return undefined;
  }

  #acquire(tx: PartTx, index: number, nowMs: number): void {
    const grant = this.#locks.acquire(tx.shards[index]!, tx.holder, tx.txId, nowMs);
    const lifetimeMs = Math.max(0, grant.expiresAtMs - nowMs);
    const marginMs = Math.min(this.config.lockRenewMarginMs, Math.floor(lifetimeMs / 2));
    tx.tokens[index] = grant.fencingToken;
    tx.renewAtMs[index] = grant.expiresAtMs - marginMs;
  }

  #renewLocks(tx: PartTx, nowMs: number): void {
    for (let i = 0; i < tx.shards.length; i++) {
      if (tx.tokens[i] === 0 || nowMs < tx.renewAtMs[i]!) continue;
      this.#release(tx, i, nowMs);
      this.#acquire(tx, i, nowMs);
    }
  }

  /** Releases every lock of the transaction at once (the lock table indexes them by transaction). */
  #releaseLocks(tx: PartTx, nowMs: number): void {
    if (!holdsLocks(tx)) return;
    this.#locks.releaseTransaction(tx.txId, nowMs);
    tx.tokens.fill(0);
  }

  /** Releases one lock; one that is already gone (expired, or the table restarted) is fine. */
  #release(tx: PartTx, index: number, nowMs: number): void {
    try {
      this.#locks.release(tx.shards[index]!, tx.holder, nowMs);
    } catch (error) {
      if (!isTrinityError(error) || error.code === 'ASSERTION_FAILED') throw error;
    }
  }

  #recoveredTx({ prepared, commit }: RecoveredTx): PartTx {
    const { txId, coordinator, deadlineMs, shards } = prepared;
    const tx = this.#newTx(
      txId,
      coordinator,
      deadlineMs,
      shards,
      commit === undefined ? 'prepared' : 'applying',
    );
    tx.staged = true;
    tx.prepared = prepared;
    tx.committed = commit;
    return tx;
  }

  /** Resumes an unfinished transaction with its locks retaken; undefined if one is held by another. */
  #resume(tx: PartTx, nowMs: number): TxEffect[] | undefined {
    for (let i = 0; i < tx.shards.length; i++) {
      // The lock table may have survived the restart (then this holder may still hold it) or not.
      if (this.#locks.verify(tx.shards[i]!, tx.holder, nowMs)) this.#release(tx, i, nowMs);
    }
    if (this.#lockAll(tx, nowMs) !== undefined) return undefined;
    this.#txs.set(tx.txId, tx);
    if (tx.committed === undefined) {
      tx.nextActionMs = nowMs; // restarted in doubt: ask at once
      this.#schedule(tx);
      return [this.#voteTo(tx.txId, tx.coordinator, tx.shards, 'commit')];
    }
    tx.nextActionMs = nowMs + this.config.commitRetryIntervalMs;
    this.#schedule(tx);
    return [this.#commitStaged(tx)];
  }

  /** An unfinished-looking transaction that must have finished before the crash (see `recover`). */
  #endFinishedBeforeCrash(tx: PartTx, nowMs: number): TxEffect[] {
    this.#txs.set(tx.txId, tx);
    if (tx.committed !== undefined)
      return [this.#ackTo(tx.txId, tx.coordinator), ...this.#finish(tx, 'committed', nowMs)];
    return this.#abortLocally(tx, nowMs, 'finished before the crash', false);
  }

  #newTx(
    txId: string,
    coordinator: string,
    deadlineMs: number,
    shards: readonly string[],
    state: LiveState,
  ): PartTx {
    return {
      txId,
      coordinator,
      deadlineMs,
      shards,
      holder: (this.#holderHex ??= _lockHolderHexOf(this.nodeId))(txId),
      state,
      tokens: shards.map(() => 0),
      renewAtMs: shards.map(() => 0),
      staged: false,
      prepared: undefined,
      committed: undefined,
      end: undefined,
      nextActionMs: deadlineMs,
      dueEntry: undefined,
    };
  }

  #schedule(tx: PartTx): void {
    let dueMs = tx.nextActionMs;
    for (let i = 0; i < tx.tokens.length; i++)
      if (tx.tokens[i] !== 0 && tx.renewAtMs[i]! < dueMs) dueMs = tx.renewAtMs[i]!;
    this.#due.set(tx, dueMs);
  }

  #commitStaged(tx: PartTx): TxEffect {
    const shards: CommitShard[] = tx.shards.map((shardHash, i) => ({
      shardHash,
      fencingToken: tx.tokens[i]!,
    }));
    return { kind: 'commitStaged', txId: tx.txId, shards };
  }

  #voteTo(
    txId: string,
    coordinator: string,
    shards: readonly string[],
    vote: 'commit' | 'abort',
    reason?: string,
  ): TxEffect {
    const message =
      reason === undefined
        ? { type: 'vote' as const, txId, from: this.nodeId, vote, shards: shards as string[] }
        : { type: 'vote' as const, txId, from: this.nodeId, vote, shards: shards as string[], reason };
    return { kind: 'send', to: coordinator, message };
  }

  #ackTo(txId: string, coordinator: string): TxEffect {
    return { kind: 'send', to: coordinator, message: { type: 'ack', txId, from: this.nodeId } };
  }
}

function holdsLocks(tx: PartTx): boolean {
  for (const token of tx.tokens) if (token !== 0) return true;
  return false;
}

function endRecord(tx: PartTx, outcome: TxOutcome, retainUntilMs: number): PartEndRecord {
  return { type: 'part-end', txId: tx.txId, coordinator: tx.coordinator, outcome, retainUntilMs };
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
