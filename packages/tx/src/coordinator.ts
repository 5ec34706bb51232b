import { assert, type Random, toHex, unreachable } from '@trinity/core';
import { _parseTxConfig, type TxConfig, type TxConfigInput } from './config.js';
import { DueQueue, type Scheduled } from './due-queue.js';
import type { TxEffect, Vote } from './effects.js';
import { TxLimitError, TxNotFoundError, TxStateError } from './errors.js';
import {
  type CoordCommitRecord,
  type CoordinatorRecord,
  NODE_ID_PATTERN,
  SHARD_HASH_PATTERN,
  TX_ID_PATTERN,
  type TxLogRecord,
} from './log-record.js';
import type { CoordinatorMessage } from './messages.js';
import { TxStats } from './stats.js';

/** Where a coordinator's transaction is. `committing`: decision appended, not yet durable. */
export type CoordinatorTxState = 'open' | 'preparing' | 'committing' | 'committed';

interface CoordShard {
  readonly hash: string;
  readonly node: string;
  readonly ref: string;
  vote: Vote | undefined;
}

interface CoordNode {
  readonly node: string;
  /** Its shards, in the order they were added (the prepare lists them so; votes echo that order). */
  readonly shards: CoordShard[];
  acked: boolean;
}

interface CoordTx extends Scheduled {
  readonly txId: string;
  state: CoordinatorTxState;
  readonly startedMs: number;
  deadlineMs: number;
  nextRetryMs: number;
  /** Short lists (at most maxShardsPerTransaction): cheaper than maps for a handful of entries. */
  readonly shards: CoordShard[];
  readonly nodes: CoordNode[];
  commitVotes: number;
  commitRecord: CoordCommitRecord | undefined;
  /** Commit resends so far (they back off). */
  retries: number;
}

/** A read-only view of one transaction, for status pages and tests. */
export interface CoordinatorTxStatus {
  readonly txId: string;
  readonly state: CoordinatorTxState;
  readonly shards: number;
  readonly commitVotes: number;
  readonly nodesAcked: number;
  readonly nodes: number;
  readonly deadlineMs: number;
}

export interface CoordinatorInit {
  /** This node's id: participants send votes and acks here. */
  readonly nodeId: string;
  readonly config?: TxConfigInput;
  /** Source of transaction ids when the caller gives none. */
  readonly random?: Random;
  readonly stats?: TxStats;
}

/**
 * The 2PC coordinator (presumed abort) as a sans-IO state machine. Every method takes the time
 * and returns effects for the host to run (see TxEffect); nothing here reads a clock or does I/O.
 *
 * The commit decision is a `coord-commit` log record; participants are told only once it is
 * durable (`logged`). Without that record the answer is abort, so a crash before it aborts the
 * transaction and nothing else needs logging. After a restart, `recover` resumes sending commits
 * for every decision not yet acknowledged by all participants.
 */
export class Coordinator {
  readonly nodeId: string;
  readonly config: TxConfig;
  readonly stats: TxStats;
  readonly #random: Random | undefined;
  readonly #txs = new Map<string, CoordTx>();
  readonly #due = new DueQueue<CoordTx>();
  /** Transactions in state `committed` (decided, resending until acknowledged). */
  #awaitingAcks = 0;

  constructor(init: CoordinatorInit) {
    this.nodeId = checkId(NODE_ID_PATTERN, init.nodeId, 'nodeId');
    this.config = _parseTxConfig(init.config);
    this.stats = init.stats ?? new TxStats();
    this.#random = init.random;
  }

  /** Transactions tracked now: undecided ones and committed ones awaiting acknowledgements. */
  get activeCount(): number {
    return this.#txs.size;
  }

  /** Undecided transactions (what `maxConcurrentTransactions` bounds). */
  get undecidedCount(): number {
    return this.#txs.size - this.#awaitingAcks;
  }

  /** Starts a transaction and returns its id (`txId`, or 32 hex characters from the Random). */
  beginTransaction(nowMs: number, txId?: string): string {
    if (this.undecidedCount >= this.config.maxConcurrentTransactions) {
      throw new TxLimitError(`at most ${this.config.maxConcurrentTransactions} concurrent transactions`, {
        limit: this.config.maxConcurrentTransactions,
      });
    }
    if (this.#awaitingAcks >= this.config.maxAwaitingAcks) {
      throw new TxLimitError(`${this.#awaitingAcks} committed transactions still await acknowledgements`, {
        limit: this.config.maxAwaitingAcks,
      });
    }
    let id: string;
    if (txId === undefined) {
      if (this.#random === undefined) throw new TypeError('beginTransaction needs a txId or a Random');
      id = toHex(this.#random.bytes(16));
    } else {
      id = checkId(TX_ID_PATTERN, txId, 'txId');
    }
    if (this.#txs.has(id)) throw new TxStateError(`transaction ${id} already exists`, { txId: id });
    const tx: CoordTx = {
      txId: id,
      state: 'open',
      startedMs: nowMs,
      deadlineMs: nowMs + this.config.prepareTimeoutMs,
      nextRetryMs: Number.MAX_SAFE_INTEGER,
      shards: [],
      nodes: [],
      commitVotes: 0,
      commitRecord: undefined,
      retries: 0,
      dueEntry: undefined,
    };
    this.#txs.set(id, tx);
    this.#schedule(tx);
    this.stats.began();
    this.stats.setActive(this.#txs.size);
    return id;
  }

  /** Adds the participant that will store `shardHash` (64 hex) on `node`; `ref` is passed to its host. */
  addParticipant(txId: string, shardHash: string, node: string, ref: string = shardHash): void {
    const tx = this.#get(txId);
    if (tx.state !== 'open') throw new TxStateError(`transaction ${txId} is ${tx.state}, not open`, { txId });
    checkId(SHARD_HASH_PATTERN, shardHash, 'shardHash');
    checkId(NODE_ID_PATTERN, node, 'node');
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 256) {
      throw new RangeError('ref must be a string of 1 to 256 characters');
    }
    if (findShard(tx.shards, shardHash) !== undefined)
      throw new TxStateError(`shard ${shardHash} is already in ${txId}`, { txId });
    if (tx.shards.length >= this.config.maxShardsPerTransaction) {
      throw new TxLimitError(`at most ${this.config.maxShardsPerTransaction} shards per transaction`, {
        limit: this.config.maxShardsPerTransaction,
        txId,
      });
    }
    tx.shards.push({ hash: shardHash, node, ref, vote: undefined });
  }

  /** Phase 1: asks every participant node to prepare its shards. */
  prepare(txId: string, nowMs: number): TxEffect[] {
    const tx = this.#get(txId);
    if (tx.state !== 'open') throw new TxStateError(`transaction ${txId} is ${tx.state}, not open`, { txId });
    if (tx.shards.length === 0) throw new TxStateError(`transaction ${txId} has no participants`, { txId });
    for (const shard of tx.shards) {
      const entry = findNode(tx.nodes, shard.node);
      if (entry === undefined) tx.nodes.push({ node: shard.node, shards: [shard], acked: false });
      else entry.shards.push(shard);
    }
    tx.state = 'preparing';
    tx.deadlineMs = nowMs + this.config.prepareTimeoutMs;
    tx.nextRetryMs = nowMs + this.config.commitRetryIntervalMs;
    this.stats.addParticipants(tx.shards.length);
    this.#schedule(tx);
    return tx.nodes.map((entry) => this.#prepareTo(tx, entry));
  }

  /** Records one shard's vote (what a `vote` message does for each of its shards). */
  recordVote(txId: string, shardHash: string, vote: Vote, nowMs: number): TxEffect[] {
    const tx = this.#get(txId);
    if (tx.state !== 'preparing') throw new TxStateError(`transaction ${txId} is ${tx.state}, not preparing`);
    const shard = findShard(tx.shards, shardHash);
    if (shard === undefined) throw new TxStateError(`shard ${shardHash} is not in ${txId}`, { txId });
    return this.#onVotes(tx, shard.node, [shardHash], vote, nowMs, undefined);
  }

  /** Aborts a transaction that is not decided yet (TxStateError once the commit is decided). */
  abort(txId: string, nowMs: number, reason = 'aborted by the client'): TxEffect[] {
    const tx = this.#get(txId);
    if (tx.state === 'committing' || tx.state === 'committed') {
      throw new TxStateError(`transaction ${txId} is already ${tx.state}`, { txId });
    }
    return this.#decideAbort(tx, nowMs, reason);
  }

  /** A validated message from a participant (vote, ack or status-query). */
  handle(message: CoordinatorMessage, nowMs: number): TxEffect[] {
    const tx = this.#txs.get(message.txId);
    switch (message.type) {
      case 'vote':
        // Presumed abort: a vote for a transaction this coordinator does not know is answered abort.
        if (tx === undefined)
          return message.vote === 'commit' ? [this.#abortTo(message.txId, message.from)] : [];
        return this.#onVotes(tx, message.from, message.shards, message.vote, nowMs, message.reason);
      case 'ack':
        return tx === undefined ? [] : this.#onAck(tx, message.from, nowMs);
      case 'status-query':
        return [this.#statusReply(tx, message.txId, message.from)];
      default:
        return unreachable(message, 'coordinator message');
    }
  }

  /** The host reports that `record` (from an `append` effect) is durable. */
  logged(record: TxLogRecord, nowMs: number): TxEffect[] {
    if (record.type !== 'coord-commit') return [];
    const tx = this.#txs.get(record.txId);
    if (tx === undefined || tx.state !== 'committing') return [];
    tx.state = 'committed';
    this.#awaitingAcks++;
    tx.nextRetryMs = nowMs + this.config.commitRetryIntervalMs;
    this.#schedule(tx);
    this.stats.decided('committed', nowMs - tx.startedMs);
    const effects: TxEffect[] = [{ kind: 'decided', txId: tx.txId, outcome: 'committed' }];
    for (const { node } of tx.nodes) effects.push(this.#commitTo(tx.txId, node));
    return effects;
  }

  /** Acts on every deadline due by `nowMs`: prepare timeouts and resends. */
  tick(nowMs: number): TxEffect[] {
    const effects: TxEffect[] = [];
    for (const tx of this.#due.popDue(nowMs)) effects.push(...this.#onDue(tx, nowMs));
    return effects;
  }

  /** When `tick` next has something to do (undefined: nothing pending). */
  nextWakeMs(): number | undefined {
    return this.#due.peekMs();
  }

  /**
   * Rebuilds state from the log at start-up (call once, before anything else): every commit
   * decision without a `coord-end` is resent until all its participants acknowledge it.
   */
  recover(records: readonly TxLogRecord[], nowMs: number): TxEffect[] {
    assert(this.#txs.size === 0, 'Coordinator.recover must run before any transaction');
    const open = new Map<string, CoordCommitRecord>();
    for (const record of records) {
      if (record.type === 'coord-commit') open.set(record.txId, record);
      else if (record.type === 'coord-end') open.delete(record.txId);
    }
    const effects: TxEffect[] = [];
    for (const record of open.values()) {
      const tx = this.#recoveredTx(record, nowMs);
      this.#txs.set(tx.txId, tx);
      this.#awaitingAcks++;
      this.#schedule(tx);
      for (const { node } of tx.nodes) effects.push(this.#commitTo(tx.txId, node));
    }
    this.stats.setActive(this.#txs.size);
    return effects;
  }

  /** Records that rebuild the current state: what a checkpoint keeps. */
  liveRecords(): CoordinatorRecord[] {
    const live: CoordinatorRecord[] = [];
    for (const tx of this.#txs.values()) if (tx.commitRecord !== undefined) live.push(tx.commitRecord);
    return live;
  }

  status(txId: string): CoordinatorTxStatus | undefined {
    const tx = this.#txs.get(txId);
    if (tx === undefined) return undefined;
    let nodesAcked = 0;
    for (const node of tx.nodes) if (node.acked) nodesAcked++;
    return {
      txId,
      state: tx.state,
      shards: tx.shards.length,
      commitVotes: tx.commitVotes,
      nodesAcked,
      nodes: tx.nodes.length,
      deadlineMs: tx.deadlineMs,
    };
  }

  /** Ids of every tracked transaction. */
  transactionIds(): string[] {
    return [...this.#txs.keys()];
  }

  #onVotes(
    tx: CoordTx,
    node: string,
    shards: readonly string[],
    vote: Vote,
    nowMs: number,
    reason: string | undefined,
  ): TxEffect[] {
    if (tx.state === 'committed') return vote === 'commit' ? [this.#commitTo(tx.txId, node)] : [];
    // A late abort vote after the decision comes from an earlier incarnation of the participant: ignored.
    if (tx.state !== 'preparing') return [];
    let counted = 0;
    let aborted = false;
    const entry = findNode(tx.nodes, node);
    for (let i = 0; entry !== undefined && i < shards.length; i++) {
      const shardHash = shards[i]!;
      // Votes list a node's shards in the order the prepare did: look there first.
      const inOrder = entry.shards[i];
      const shard = inOrder?.hash === shardHash ? inOrder : findShard(entry.shards, shardHash);
      if (shard === undefined) continue;
      if (shard.vote === undefined) counted++;
      if (shard.vote === 'commit') tx.commitVotes--;
      shard.vote = vote;
      if (vote === 'commit') tx.commitVotes++;
      else aborted = true;
    }
    this.stats.addVotes(counted);
    if (aborted) return this.#decideAbort(tx, nowMs, `${node} voted abort${reason ? `: ${reason}` : ''}`);
    if (tx.commitVotes === tx.shards.length) return this.#decideCommit(tx);
    return [];
  }

  #decideCommit(tx: CoordTx): TxEffect[] {
    tx.state = 'committing';
    tx.commitRecord = {
      type: 'coord-commit',
      txId: tx.txId,
      participants: tx.nodes.map(({ node, shards }) => ({ node, shards: shards.map((s) => s.hash) })),
    };
    this.#schedule(tx);
    return [{ kind: 'append', record: tx.commitRecord }];
  }

  #decideAbort(tx: CoordTx, nowMs: number, reason: string): TxEffect[] {
    const effects: TxEffect[] = [];
    const shortReason = reason.slice(0, 200);
    for (const { node } of tx.nodes) effects.push(this.#abortTo(tx.txId, node, shortReason));
    effects.push({ kind: 'decided', txId: tx.txId, outcome: 'aborted', reason: shortReason });
    effects.push({ kind: 'finished', txId: tx.txId, outcome: 'aborted' });
    this.#forget(tx);
    this.stats.decided('aborted', nowMs - tx.startedMs);
    return effects;
  }

  #onAck(tx: CoordTx, node: string, nowMs: number): TxEffect[] {
    const entry = findNode(tx.nodes, node);
    if (tx.state !== 'committed' || entry === undefined || entry.acked) return [];
    entry.acked = true;
    this.stats.addCommitAcks(entry.shards.length);
    for (const other of tx.nodes) if (!other.acked) return [];
    this.#forget(tx);
    void nowMs;
    return [
      { kind: 'append', record: { type: 'coord-end', txId: tx.txId } },
      { kind: 'finished', txId: tx.txId, outcome: 'committed' },
    ];
  }

  #onDue(tx: CoordTx, nowMs: number): TxEffect[] {
    switch (tx.state) {
      case 'open':
        if (nowMs >= tx.deadlineMs) return this.#decideAbort(tx, nowMs, 'not prepared before the deadline');
        break;
      case 'preparing':
        if (nowMs >= tx.deadlineMs) return this.#decideAbort(tx, nowMs, 'prepare timed out');
        if (nowMs >= tx.nextRetryMs) {
          tx.nextRetryMs = nowMs + this.config.commitRetryIntervalMs;
          this.#schedule(tx);
          return tx.nodes
            .filter((entry) => !entry.shards.every((shard) => shard.vote !== undefined))
            .map((entry) => this.#prepareTo(tx, entry));
        }
        break;
      case 'committing':
        break;
      case 'committed':
        if (nowMs >= tx.nextRetryMs) {
          tx.retries++;
          const backoffMs = this.config.commitRetryIntervalMs * 2 ** Math.min(tx.retries, 30);
          tx.nextRetryMs = nowMs + Math.min(backoffMs, this.config.commitRetryMaxIntervalMs);
          this.#schedule(tx);
          return tx.nodes.filter((entry) => !entry.acked).map((entry) => this.#commitTo(tx.txId, entry.node));
        }
        break;
      default:
        unreachable(tx.state, 'coordinator state');
    }
    this.#schedule(tx);
    return [];
  }

  #schedule(tx: CoordTx): void {
    switch (tx.state) {
      case 'open':
        this.#due.set(tx, tx.deadlineMs);
        break;
      case 'preparing':
        this.#due.set(tx, Math.min(tx.deadlineMs, tx.nextRetryMs));
        break;
      case 'committing':
        this.#due.delete(tx);
        break;
      case 'committed':
        this.#due.set(tx, tx.nextRetryMs);
        break;
      default:
        unreachable(tx.state, 'coordinator state');
    }
  }

  #forget(tx: CoordTx): void {
    if (tx.state === 'committed') this.#awaitingAcks--;
    this.#txs.delete(tx.txId);
    this.#due.delete(tx);
    this.stats.setActive(this.#txs.size);
  }

  #recoveredTx(record: CoordCommitRecord, nowMs: number): CoordTx {
    const shards: CoordShard[] = [];
    const nodes: CoordNode[] = [];
    for (const { node, shards: hashes } of record.participants) {
      const entry: CoordNode = { node, shards: [], acked: false };
      for (const hash of hashes) entry.shards.push({ hash, node, ref: hash, vote: 'commit' });
      shards.push(...entry.shards);
      nodes.push(entry);
    }
    return {
      txId: record.txId,
      state: 'committed',
      startedMs: nowMs,
      deadlineMs: nowMs,
      nextRetryMs: nowMs + this.config.commitRetryIntervalMs,
      shards,
      nodes,
      commitVotes: shards.length,
      commitRecord: record,
      retries: 0,
      dueEntry: undefined,
    };
  }

  #prepareTo(tx: CoordTx, entry: CoordNode): TxEffect {
    const shards = entry.shards.map(({ hash, ref }) => ({ shard: hash, ref }));
    return {
      kind: 'send',
      to: entry.node,
      message: {
        type: 'prepare',
        txId: tx.txId,
        coordinator: this.nodeId,
        deadlineMs: tx.deadlineMs,
        shards,
      },
    };
  }

  #commitTo(txId: string, node: string): TxEffect {
    return { kind: 'send', to: node, message: { type: 'commit', txId, coordinator: this.nodeId } };
  }

  #abortTo(txId: string, node: string, reason?: string): TxEffect {
    const message =
      reason === undefined
        ? { type: 'abort' as const, txId, coordinator: this.nodeId }
        : { type: 'abort' as const, txId, coordinator: this.nodeId, reason };
    return { kind: 'send', to: node, message };
  }

  #statusReply(tx: CoordTx | undefined, txId: string, to: string): TxEffect {
    const outcome = tx === undefined ? 'abort' : tx.state === 'committed' ? 'commit' : 'pending';
    return { kind: 'send', to, message: { type: 'status-reply', txId, coordinator: this.nodeId, outcome } };
  }

  #get(txId: string): CoordTx {
    const tx = this.#txs.get(txId);
    if (tx === undefined) throw new TxNotFoundError(txId);
    return tx;
  }
}

function findShard(shards: readonly CoordShard[], hash: string): CoordShard | undefined {
  for (const shard of shards) if (shard.hash === hash) return shard;
  return undefined;
}

function findNode(nodes: readonly CoordNode[], node: string): CoordNode | undefined {
  for (const entry of nodes) if (entry.node === node) return entry;
  return undefined;
}

/** Validates an id given by the caller against its pattern: TypeError or RangeError naming the field. */
export function checkId(pattern: RegExp, value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${typeof value}`);
  if (!pattern.test(value))
    throw new RangeError(`${name} is not valid: ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}
