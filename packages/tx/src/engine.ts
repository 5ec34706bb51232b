import {
  assert,
  type Clock,
  type Logger,
  noopLogger,
  parseConfig,
  type Random,
  randomSeed,
  seededRandom,
  type TimerHandle,
  unreachable,
} from '@trinity/core';
import { type TxConfig, type TxConfigInput, txConfigSchema } from './config.js';
import { Coordinator } from './coordinator.js';
import type { CommitShard, StageShard, TxEffect, TxOutcome } from './effects.js';
import { TxEngineStoppedError, TxMessageError, TxStateError } from './errors.js';
import { isCoordinatorRecord, type TxLogRecord } from './log-record.js';
import { decodeTxMessage, isCoordinatorMessage, senderOf, type TxMessage } from './messages.js';
import { Participant } from './participant.js';
import type { ShardLocks } from './shard-locks.js';
import { TxStats } from './stats.js';
import type { TxLogStore } from './tx-log.js';

/** Sends a protocol message to a node, best effort (the protocol resends what matters). */
export interface TxTransport {
  send(to: string, message: TxMessage): void;
}

/**
 * The participant's storage side: the daemon maps it to its shard store's staging area. Every
 * operation must be idempotent. Operations of one transaction are called one after another.
 */
export interface TxStagingHost {
  /** Durably stage each shard's payload (found through `ref`) for `txId`. Reject to vote abort. */
  stage(txId: string, shards: readonly StageShard[]): Promise<void>;
  /** Make the staged shards visible, rejecting a stale fencing token. Called again after a crash. */
  commitStaged(txId: string, shards: readonly CommitShard[]): Promise<void>;
  /** Drop whatever was staged for `txId`. */
  abortStaged(txId: string, shardHashes: readonly string[]): Promise<void>;
  /** At start-up: drop staged data of every transaction not in `keepTxIds`. */
  purgeStaged(keepTxIds: readonly string[]): Promise<void>;
}

export interface TxEngineInit {
  readonly nodeId: string;
  /** The node's log, opened; the engine replays it, appends to it, checkpoints it, never closes it. */
  readonly log: TxLogStore;
  readonly transport: TxTransport;
  readonly clock: Clock;
  readonly locks: ShardLocks;
  readonly staging: TxStagingHost;
  /** Source of transaction ids (default: seeded from the platform CSPRNG). */
  readonly random?: Random;
  readonly config?: TxConfigInput;
  readonly stats?: TxStats;
  readonly logger?: Logger;
}

/** One participant of a transaction: `shardHash` (64 hex) stored on `node`, payload found by `ref`. */
export interface TxParticipantSpec {
  readonly shardHash: string;
  readonly node: string;
  readonly ref?: string;
}

export interface TxResult {
  readonly txId: string;
  readonly outcome: TxOutcome;
  readonly reason?: string;
}

export interface ExecuteOptions {
  readonly txId?: string;
  /** Resolve a commit only once every participant acknowledged it (default), not at the decision. */
  readonly awaitAcks?: boolean;
}

/** A staging effect: what the host is asked to do for one transaction, one at a time. */
type StagingOp = Extract<TxEffect, { kind: 'stage' | 'commitStaged' | 'abortStaged' }>;

interface PendingTx {
  readonly resolve: (result: TxResult) => void;
  readonly reject: (error: unknown) => void;
  readonly awaitAcks: boolean;
}

/**
 * Runs one node's coordinator and participant: effects go to the transport, the log and the
 * staging host; their answers, incoming messages and timers come back as events. For hosts that
 * do not want to drive the state machines by hand (the daemon, the benchmark).
 */
export class TxEngine {
  readonly nodeId: string;
  readonly config: TxConfig;
  readonly stats: TxStats;
  readonly coordinator: Coordinator;
  readonly participant: Participant;
  readonly #log: TxLogStore;
  readonly #transport: TxTransport;
  readonly #clock: Clock;
  readonly #staging: TxStagingHost;
  readonly #logger: Logger;
  readonly #pending = new Map<string, PendingTx>();
  /** Staging operations waiting behind a running one, per transaction (an entry while one runs). */
  readonly #stagingQueues = new Map<string, StagingOp[] | null>();
  /** The start-up purge, until it is done. */
  #stagingReady: Promise<void> | undefined;
  #timer: { handle: TimerHandle; atMs: number } | undefined;
  #checkpointing = false;
  #draining = false;
  /** Wakes `drain` when the last in-flight transaction settles. */
  #drained: (() => void) | undefined;
  #stopped: TxEngineStoppedError | undefined;

  private constructor(init: TxEngineInit) {
    this.nodeId = init.nodeId;
    this.config = parseConfig(txConfigSchema, init.config ?? {}, 'tx config');
    this.stats = init.stats ?? new TxStats();
    const base = { nodeId: init.nodeId, config: this.config };
    // Transaction ids need to be unique, not secret: a seeded generator seeded from the CSPRNG will do.
    const random = init.random ?? seededRandom(randomSeed());
    this.coordinator = new Coordinator({ ...base, stats: this.stats, random });
    this.participant = new Participant({ ...base, locks: init.locks });
    this.#log = init.log;
    this.#transport = init.transport;
    this.#clock = init.clock;
    this.#staging = init.staging;
    this.#logger = (init.logger ?? noopLogger).child({ component: 'tx', node: init.nodeId });
  }

  /** Replays the log, recovers both roles and resumes their work; then the engine is ready. */
  static async open(init: TxEngineInit): Promise<TxEngine> {
    const engine = new TxEngine(init);
    const records = init.log.replay();
    const nowMs = init.clock.nowMs();
    const effects = [
      ...engine.coordinator.recover(records, nowMs),
      ...engine.participant.recover(records, nowMs),
    ];
    engine.#run(effects);
    if (engine.#stagingReady !== undefined) await engine.#stagingReady;
    return engine;
  }

  /** Transactions this node coordinates now. */
  get activeCount(): number {
    return this.coordinator.activeCount;
  }

  /**
   * Runs one transaction over `participants` and resolves with its outcome (an abort is a result,
   * not an error). Rejects with TxLimitError at the concurrency limit, RangeError/TxStateError for
   * bad participants, TxEngineStoppedError if the engine stops first.
   */
  execute(participants: readonly TxParticipantSpec[], options: ExecuteOptions = {}): Promise<TxResult> {
    if (this.#stopped !== undefined) return Promise.reject(this.#stopped);
    if (this.#draining) return Promise.reject(new TxEngineStoppedError('draining: no new transactions'));
    const nowMs = this.#clock.nowMs();
    let txId: string;
    try {
      txId = this.coordinator.beginTransaction(nowMs, options.txId);
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      if (participants.length === 0) throw new TxStateError('a transaction needs at least one participant');
      for (const p of participants) this.coordinator.addParticipant(txId, p.shardHash, p.node, p.ref);
    } catch (error) {
      this.#run(this.coordinator.abort(txId, nowMs, 'invalid participants'));
      return Promise.reject(error);
    }
    const result = new Promise<TxResult>((resolve, reject) => {
      this.#pending.set(txId, { resolve, reject, awaitAcks: options.awaitAcks ?? true });
    });
    this.#react(this.#prepare, txId);
    return result;
  }

  /**
   * Bytes from peer `peerId` (its authenticated id): decoded, validated and checked to come from the
   * node it names, then handled. Throws TxMessageError, without acting on it, when any check fails.
   */
  receiveFrom(peerId: string, bytes: Uint8Array): void {
    const message = decodeTxMessage(bytes);
    if (senderOf(message) !== peerId) {
      throw new TxMessageError(
        `tx message from ${peerId.slice(0, 64)} claims to be from ${senderOf(message)}`,
      );
    }
    this.receive(message);
  }

  /** A message from a peer, already validated (`parseTxMessage`) and checked against its sender. */
  receive(message: TxMessage): void {
    this.#react(this.#handle, message);
  }

  /** Stops timers and fails in-flight `execute` calls; the log stays open (its owner closes it). */
  async close(): Promise<void> {
    this.#stop(new TxEngineStoppedError('closed'));
  }

  /**
   * Graceful shutdown: refuses new transactions (TxEngineStoppedError), keeps serving peers, and
   * resolves once every in-flight `execute` has settled or `timeoutMs` has passed; then `close()`.
   * Returns how many were still in flight (they are failed by the close).
   */
  async drain(timeoutMs: number): Promise<number> {
    this.#draining = true;
    const deadline = this.#clock.nowMs() + timeoutMs;
    while (this.#pending.size > 0 && this.#stopped === undefined && this.#clock.nowMs() < deadline) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        this.#clock.setTimeout(resolve, Math.max(0, Math.min(100, deadline - this.#clock.nowMs())));
      });
    }
    const left = this.#pending.size;
    await this.close();
    return left;
  }

  /** A plain view for status pages: what is in flight and the statistics. */
  snapshot(): {
    readonly coordinating: number;
    readonly undecided: number;
    readonly inDoubt: number;
    readonly participating: number;
    readonly stats: Record<string, number>;
  } {
    return {
      coordinating: this.coordinator.activeCount,
      undecided: this.coordinator.undecidedCount,
      inDoubt: this.participant.inDoubt().length,
      participating: this.participant.unfinished().length,
      stats: this.stats.snapshot(),
    };
  }

  /** What the participant says once a staging operation ended (no closure per operation). */
  #afterStaging(op: StagingOp, error: unknown): void {
    if (op.kind === 'abortStaged') {
      if (error !== undefined) this.#logger.warn({ txId: op.txId, error: describe(error) }, 'abort failed');
      return;
    }
    if (op.kind === 'commitStaged' && error !== undefined) {
      this.#logger.warn({ txId: op.txId, error: describe(error) }, 'commit of staged shards failed');
      return;
    }
    if (op.kind === 'commitStaged') this.#react(this.#applied, op.txId);
    else if (error === undefined) this.#react(this.#staged, op.txId);
    else this.#react(this.#stagingFailed, { txId: op.txId, error });
  }

  /**
   * Runs what `step(arg, nowMs)` returns; a state machine that throws stops the engine. The steps
   * are methods bound once, so reacting to an event allocates no closure.
   */
  #react<T>(step: (arg: T, nowMs: number) => TxEffect[], arg: T): void {
    if (this.#stopped !== undefined) return;
    let effects: TxEffect[];
    try {
      effects = step(arg, this.#clock.nowMs());
    } catch (error) {
      this.#fail('a state machine threw', error);
      return;
    }
    this.#run(effects);
  }

  readonly #prepare = (txId: string, nowMs: number): TxEffect[] => this.coordinator.prepare(txId, nowMs);
  readonly #handle = (message: TxMessage, nowMs: number): TxEffect[] =>
    isCoordinatorMessage(message)
      ? this.coordinator.handle(message, nowMs)
      : this.participant.handle(message, nowMs);
  readonly #onLogged = (record: TxLogRecord, nowMs: number): TxEffect[] =>
    isCoordinatorRecord(record)
      ? this.coordinator.logged(record, nowMs)
      : this.participant.logged(record, nowMs);
  readonly #staged = (txId: string, nowMs: number): TxEffect[] => this.participant.staged(txId, true, nowMs);
  readonly #stagingFailed = ({ txId, error }: { txId: string; error: unknown }, nowMs: number) =>
    this.participant.staged(txId, false, nowMs, describe(error));
  readonly #applied = (txId: string, nowMs: number): TxEffect[] => this.participant.applied(txId, nowMs);
  readonly #tick = (_: undefined, nowMs: number): TxEffect[] => [
    ...this.coordinator.tick(nowMs),
    ...this.participant.tick(nowMs),
  ];

  #run(effects: readonly TxEffect[]): void {
    for (const effect of effects) this.#runOne(effect);
    // The timer is re-armed once per turn of the microtask queue, not after every step: a burst of
    // events (a delivery, a group commit's notifications) asks the state machines once.
    if (!this.#armQueued) {
      this.#armQueued = true;
      void resolved.then(this.#armSoon);
    }
  }

  #armQueued = false;
  readonly #armSoon = (): void => {
    this.#armQueued = false;
    this.#arm();
  };

  #runOne(effect: TxEffect): void {
    switch (effect.kind) {
      case 'send':
        // To itself: on a later microtask, as from a peer (a resolved promise: Node's queueMicrotask
        // allocates an AsyncResource per call).
        if (effect.to === this.nodeId) void resolved.then(() => this.receive(effect.message));
        else this.#transport.send(effect.to, effect.message);
        break;
      case 'append':
        this.#append(effect.record);
        break;
      case 'stage':
      case 'commitStaged':
      case 'abortStaged':
        this.#stage(effect);
        break;
      case 'purgeStaged':
        this.#stagingReady = callHost(() => this.#staging.purgeStaged(effect.keepTxIds)).then(
          () => {
            this.#stagingReady = undefined;
          },
          (error: unknown) => {
            this.#stagingReady = undefined;
            this.#logger.warn({ error: describe(error) }, 'purge of staged shards failed');
          },
        );
        break;
      case 'decided':
      case 'finished':
        this.#settle(
          effect.kind,
          effect.txId,
          effect.outcome,
          effect.kind === 'decided' ? effect.reason : undefined,
        );
        break;
      default:
        unreachable(effect, 'effect');
    }
  }

  /** Where the durability of a `coord-end` is reported: the coordinator acts on nothing then. */
  readonly #endLogged = (error: unknown): void => {
    if (error !== undefined) this.#fail('the transaction log failed', error);
    else if (this.#stopped === undefined) this.#maybeCheckpoint();
  };

  /** Where the log reports every other durable record (one callback: the log hands the record back). */
  readonly #logged = (error: unknown, _seq?: number, record?: TxLogRecord): void => {
    if (error === undefined && record !== undefined) this.#react(this.#onLogged, record);
    this.#endLogged(error);
  };

  #append(record: TxLogRecord): void {
    this.#log.appendThen(record, record.type === 'coord-end' ? this.#endLogged : this.#logged);
  }

  /**
   * Runs one staging operation once the previous ones of the same transaction (and the start-up
   * purge) are done: a host never sees a transaction's abort overtake its stage.
   */
  #stage(op: StagingOp): void {
    const queue = this.#stagingQueues.get(op.txId);
    if (queue === undefined) {
      this.#stagingQueues.set(op.txId, null);
      this.#startStaging(op);
    } else if (queue === null) this.#stagingQueues.set(op.txId, [op]);
    else queue.push(op);
  }

  /** Hands `op` to the host once the start-up purge is done; `#stagingDone` follows. */
  #startStaging(op: StagingOp): void {
    if (this.#stagingReady !== undefined) {
      // It never rejects, and it is cleared before it resolves.
      void this.#stagingReady.then(() => this.#startStaging(op));
      return;
    }
    callHost(() =>
      op.kind === 'stage'
        ? this.#staging.stage(op.txId, op.shards)
        : op.kind === 'commitStaged'
          ? this.#staging.commitStaged(op.txId, op.shards)
          : this.#staging.abortStaged(op.txId, op.shardHashes),
    ).then(
      () => this.#stagingDone(op, undefined),
      (error: unknown) => this.#stagingDone(op, error ?? new Error('staging failed')),
    );
  }

  /** One staging operation ended: tell the participant, then start the next of its transaction. */
  #stagingDone(op: StagingOp, error: unknown): void {
    this.#afterStaging(op, error);
    const next = this.#stagingQueues.get(op.txId)?.shift();
    if (next === undefined) this.#stagingQueues.delete(op.txId);
    else this.#startStaging(next);
  }

  #settle(kind: 'decided' | 'finished', txId: string, outcome: TxOutcome, reason: string | undefined): void {
    const pending = this.#pending.get(txId);
    if (pending === undefined) return;
    if (kind === 'decided' && outcome === 'committed' && pending.awaitAcks) return;
    this.#pending.delete(txId);
    pending.resolve(reason === undefined ? { txId, outcome } : { txId, outcome, reason });
    if (this.#pending.size === 0) this.#drained?.();
  }

  #maybeCheckpoint(): void {
    if (this.#checkpointing || this.#log.bytesSinceCheckpoint < this.config.checkpointLogBytes) return;
    this.#checkpointing = true;
    const live = [...this.coordinator.liveRecords(), ...this.participant.liveRecords()];
    this.#log.checkpoint(live).then(
      () => {
        this.#checkpointing = false;
      },
      (error: unknown) => this.#fail('checkpoint failed', error),
    );
  }

  /** Keeps one clock timer armed for the earliest deadline of either state machine. */
  #arm(): void {
    if (this.#stopped !== undefined) return;
    const coordinatorMs = this.coordinator.nextWakeMs();
    const participantMs = this.participant.nextWakeMs();
    const atMs =
      coordinatorMs === undefined
        ? participantMs
        : participantMs === undefined
          ? coordinatorMs
          : Math.min(coordinatorMs, participantMs);
    if (atMs === undefined || (this.#timer !== undefined && this.#timer.atMs <= atMs)) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer.handle);
    const delayMs = Math.max(0, atMs - this.#clock.nowMs());
    const handle = this.#clock.setTimeout(() => this.#onTimer(), delayMs);
    this.#timer = { handle, atMs };
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#react(this.#tick, undefined);
    this.#arm();
  }

  #fail(what: string, error: unknown): void {
    this.#logger.error({ error: describe(error) }, `tx engine stopped: ${what}`);
    this.#stop(new TxEngineStoppedError(what, error));
  }

  #stop(reason: TxEngineStoppedError): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer.handle);
    this.#timer = undefined;
    for (const pending of this.#pending.values()) pending.reject(reason);
    this.#pending.clear();
    assert(this.#pending.size === 0, 'tx engine: pending transactions left after stop');
  }
}

const resolved = Promise.resolve();

/** A host call as a promise: a host that throws instead of rejecting, or returns no promise, is treated the same. */
function callHost(call: () => Promise<void>): Promise<void> {
  try {
    return Promise.resolve(call());
  } catch (thrown) {
    return Promise.reject(thrown);
  }
}

function describe(error: unknown): string {
  if (error === undefined) return 'staging failed';
  return error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
}
