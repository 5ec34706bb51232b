import type { Clock, Logger, Metrics } from '@trinity/core';
import { registerTrinityMetrics } from '@trinity/metrics';
import {
  type ManifestStore,
  ObjectDeletedError,
  type ShardStore,
  StagingArea,
  StagingMismatchError,
} from '@trinity/storage';
import {
  OrphanSweep,
  type PrepareMessage,
  parseTxMessage,
  registerTxMetrics,
  senderOf,
  type TxConfigInput,
  TxEngine,
  TxLog,
  type TxMessage,
} from '@trinity/tx';
import { type ShardLockConfigInput, ShardLockManager } from '@trinity/vsa';
import { z } from 'zod';
import { NodeError } from '../../errors.js';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import { PROTOCOLS } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import { Repeater, sleep } from '../../timers.js';
import { decodeRecord } from '../objects/object-record.js';
import { deleteUnreferenced, type StagingLedger } from '../shards/shard-service.js';
import { MeteredShardLocks } from './metered-locks.js';
import { type LockedObject, objectLockKeys, type PutLock } from './object-locks.js';

/** A put that its transaction aborted: nothing of it became visible. */
export class TransactionAbortedError extends NodeError {
  constructor(txId: string, reason: string | undefined) {
    super('TX_ABORTED', `transaction ${txId} aborted${reason ? `: ${reason}` : ''}; nothing was stored`, 409);
  }
}

/** A put that lost a lock race: another transaction holds a lock on one of its objects. Retry it. */
export class TransactionConflictError extends NodeError {
  constructor(txId: string, reason: string | undefined) {
    super(
      'TX_CONFLICT',
      `transaction ${txId} conflicts with another in progress on the same object${reason ? ` (${reason})` : ''}; nothing was stored, retry`,
      409,
    );
  }
}

/** A put whose locks would exceed the per-transaction limit: one lock per object on each holder. */
export class TransactionTooLargeError extends NodeError {
  constructor(locks: number, limit: number) {
    super(
      'TX_TOO_LARGE',
      `the put needs ${locks} locks (one per object on each holder), more than the ${limit} a transaction may take; store fewer objects at once`,
      413,
    );
  }
}

/** The vsa lock table's settings the daemon exposes (`shardLocks` in the node config). */
export type ShardLocksInit = Pick<ShardLockConfigInput, 'binding' | 'bindingDims'> & {
  /** Longest a prepare waits for a younger transaction's lock (wait-die); 0: never waits. */
  readonly waitMs?: number;
};

export interface TxServiceInit {
  readonly selfId: string;
  /** How the participant's lock table binds holders to lock keys. */
  readonly shardLocks?: ShardLocksInit;
  /** The transaction log's file. */
  readonly logPath: string;
  readonly config: TxConfigInput & { orphanTtlMs: number };
  /** Test hook: kill this process at a named point of the protocol (see README). */
  readonly crashPoint?: string;
}

export interface TxServiceComponents {
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  /** Who staged what here: released when a transaction ends. */
  readonly staging: StagingLedger;
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Ends this process at once (the crash-point test hook). */
  readonly crash: () => never;
}

/** How a put's transaction ended; `conflict` when it aborted because another held one of its locks. */
export interface TxOutcome {
  readonly outcome: 'committed' | 'aborted';
  readonly reason?: string;
  readonly conflict?: boolean;
}

/** What a put needs of the transaction service: run the two-phase commit over its holders' locks. */
export interface Transactions {
  /** Most locks one transaction may take (over all its participants). */
  readonly maxLocksPerTransaction: number;
  execute(txId: string, locks: readonly PutLock[]): Promise<TxOutcome>;
}

/** Most prepares waiting for locks at once; beyond it a prepare does not wait. */
const waitingMax = 1024;

/** A participant's vote reason when a lock was held by another transaction (vsa's AlreadyLockedError). */
const lockConflictReason = /voted abort: ALREADY_LOCKED\b/;

/** The transaction service's factory: `txService(init)(components)`. */
export function txService(init: TxServiceInit): (components: TxServiceComponents) => TxService {
  return (components) => new TxService(init, components);
}

type Engine = {
  readonly engine: TxEngine;
  readonly log: TxLog;
  readonly locks: ShardLockManager;
  readonly metered: MeteredShardLocks;
};

/**
 * Atomic puts for the daemon: the @trinity/tx engine (coordinator + participant) on a durable log,
 * its messages on /trinity/tx/1.0.0, vsa shard locks, and the staging host that maps prepare /
 * commit / abort onto the shard store's staging area and the manifests staged beside it.
 */
export class TxService implements Startable, Transactions {
  readonly #init: TxServiceInit;
  readonly #c: TxServiceComponents;
  readonly #orphans: OrphanSweep;
  /** Prepares waiting for a lock (wait-die), by transaction: told when their coordinator aborts. */
  readonly #waiting = new Map<string, { waiters: number; aborted: boolean }>();
  readonly #host: StagingArea;
  readonly #gc: Repeater;
  #open: Engine | undefined;

  constructor(init: TxServiceInit, components: TxServiceComponents) {
    this.#init = init;
    this.#c = components;
    this.#host = stagingHost(init.selfId, components);
    this.#orphans = new OrphanSweep(init.config.orphanTtlMs);
    this.#gc = new Repeater(
      components.clock,
      Math.max(1_000, init.config.orphanTtlMs / 4),
      // Awaited, so rounds never overlap; a failed round is logged and the next one tries again.
      () =>
        this.collectOrphans().then(
          () => {},
          (error: unknown) => components.logger.warn({ err: error }, 'orphan collection failed'),
        ),
    );
  }

  /** The engine (coordinator + participant); only between start and stop. */
  get engine(): TxEngine {
    if (this.#open === undefined)
      throw new NodeError('SHUTTING_DOWN', 'the transaction service is not running', 503);
    return this.#open.engine;
  }

  /** This node's lock table (what its participant locks); only between start and stop. */
  get locks(): ShardLockManager {
    if (this.#open === undefined)
      throw new NodeError('SHUTTING_DOWN', 'the transaction service is not running', 503);
    return this.#open.locks;
  }

  /** The per-transaction lock limit (the seed's 64 shards per transaction). */
  get maxLocksPerTransaction(): number {
    return this.engine.coordinator.config.maxShardsPerTransaction;
  }

  /** Transactions in progress (0 when stopped). */
  get activeCount(): number {
    return this.#open?.engine.activeCount ?? 0;
  }

  /** Opens the log, recovers in-doubt transactions and serves /trinity/tx/1.0.0. */
  async start(): Promise<void> {
    const { orphanTtlMs: _ttl, ...config } = this.#init.config;
    const log = await TxLog.open(this.#init.logPath);
    const { waitMs: _wait, ...lockConfig } = this.#init.shardLocks ?? {};
    const locks = new ShardLockManager(lockConfig);
    const metered = new MeteredShardLocks(locks, registerTrinityMetrics(this.#c.metrics));
    try {
      const engine = await TxEngine.open({
        nodeId: this.#init.selfId,
        log,
        transport: { send: (to, message) => this.send(to, message) },
        clock: this.#c.clock,
        locks: metered,
        staging: this.#host,
        config,
        logger: this.#c.logger,
      });
      registerTxMetrics(this.#c.metrics, engine.stats);
      this.#open = { engine, log, locks, metered };
    } catch (error) {
      await log.close();
      throw error;
    }
    await this.#c.server.handle(PROTOCOLS.tx, z.unknown(), this.handler());
    this.#gc.start();
  }

  async stop(): Promise<void> {
    await this.#c.server.unhandle(PROTOCOLS.tx);
    await this.#gc.stop();
    const open = this.#open;
    this.#open = undefined;
    if (open === undefined) return;
    await open.engine.close();
    await open.log.close();
  }

  /** Runs a put's two-phase commit; resolves at the durable decision (holders ack later). */
  async execute(txId: string, locks: readonly PutLock[]): Promise<TxOutcome> {
    // Resolve at the durable decision: a holder that goes away after voting must not hang the put;
    // the object service then waits (bounded) for the holders to show their shards.
    // This node's participant gets its prepare straight from the engine, not through the handler:
    // it waits (wait-die) here, as a peer's prepare waits there.
    const own = locks.filter((lock) => lock.node === this.#init.selfId);
    if (own.length > 0) {
      const deadlineMs = this.#c.clock.nowMs() + this.engine.coordinator.config.prepareTimeoutMs;
      await this.#waitForLocks({ txId, deadlineMs, shards: own.map((l) => ({ shard: l.shardHash })) });
    }
    const result = await this.engine.execute(locks, { txId, awaitAcks: false });
    if (result.outcome === 'committed') return result;
    // Aborted: what this node staged for it goes now (a participant that lost a lock staged nothing
    // through the engine, so its abort leaves the upload behind).
    const state = this.engine.participant.state(txId);
    if (state === undefined || state === 'aborted') await this.#host.abortStaged(txId);
    return lockConflictReason.test(result.reason ?? '') ? { ...result, conflict: true } : result;
  }

  /** Serves /trinity/tx/1.0.0: a message is validated, checked against its sender, then handed on. */
  handler() {
    return async (request: unknown, context: RpcContext): Promise<RpcReply> => {
      const message = parseTxMessage(request);
      if (senderOf(message) !== context.peer) {
        throw new NodeError('TX_SENDER_MISMATCH', 'a tx message must come from the node it names', 400);
      }
      if (this.#init.crashPoint === 'tx-before-commit' && message.type === 'vote') this.#crash();
      if (
        message.type === 'prepare' &&
        this.engine.participant.state(message.txId) === undefined &&
        !(await this.#admitPrepare(message, context.peer))
      )
        return {};
      const waiting = message.type === 'abort' ? this.#waiting.get(message.txId) : undefined;
      if (waiting !== undefined) waiting.aborted = true;
      const known = this.engine.participant.state(message.txId) !== undefined;
      this.engine.receive(message);
      // What was uploaded for a transaction that ends here without staging is dropped now, not by the
      // orphan collector: a prepare that lost a lock, or an abort that overtook (or outlived) its prepare
      // from the peer that staged it.
      const dropped =
        message.type === 'prepare'
          ? this.engine.participant.state(message.txId) === 'aborted'
          : message.type === 'abort' && this.#c.staging.get(message.txId)?.peer === context.peer;
      if (!known && dropped) await this.#host.abortStaged(message.txId);
      return {};
    };
  }

  /**
   * A new prepare, before the participant locks anything: a peer may only lock the keys of the
   * objects it staged here, all of them, with the digest of what it staged (else this node votes
   * abort); then it waits for younger holders of those keys (wait-die). False when it must not go
   * on (refused, or aborted by its coordinator while it waited); what was staged for it is dropped.
   */
  async #admitPrepare(message: PrepareMessage, peer: string): Promise<boolean> {
    const { txId } = message;
    const shards = message.shards.map(({ shard, ref }) => ({ shardHash: shard, ref }));
    const mismatch = await this.#host.stage(txId, shards).then(
      () => undefined,
      (error: unknown) => {
        if (error instanceof StagingMismatchError) return error.message;
        throw error;
      },
    );
    if (mismatch !== undefined) {
      this.#c.logger.warn({ txId, from: peer }, mismatch);
      await this.#host.abortStaged(txId);
      this.send(message.coordinator, {
        type: 'vote',
        txId,
        from: this.#init.selfId,
        vote: 'abort',
        shards: message.shards.map((s) => s.shard),
        reason: `TX_LOCK_MISMATCH: ${mismatch}`,
      });
      return false;
    }
    if (await this.#waitForLocks(message)) return true;
    await this.#host.abortStaged(txId);
    return false;
  }

  /**
   * Wait-die before a prepare takes its locks: a transaction with a smaller id than every other one
   * holding its keys waits (up to shardLocks.waitMs) for them to end; one that meets a smaller id
   * goes on at once and loses (votes abort). Waits only go one way, so racing puts never deadlock
   * and the smallest id among them gets through.
   */
  async #waitForLocks(
    message: Pick<PrepareMessage, 'txId' | 'deadlineMs'> & { shards: readonly { shard: string }[] },
  ): Promise<boolean> {
    const { clock } = this.#c;
    const { txId } = message;
    const waitMs = this.#init.shardLocks?.waitMs ?? 0;
    const deadlineMs = Math.min(clock.nowMs() + waitMs, message.deadlineMs);
    for (let pauseMs = 10; clock.nowMs() < deadlineMs; pauseMs = Math.min(100, pauseMs * 2)) {
      const nowMs = clock.nowMs();
      let blocked = false;
      for (const { shard } of message.shards) {
        const held = this.locks.get(shard, nowMs);
        if (held === undefined || held.txId === txId) continue;
        if (held.txId < txId) return true; // an older transaction holds it: die
        blocked = true;
      }
      if (!blocked || this.#waiting.size >= waitingMax) return true;
      // While it waits, an abort from its coordinator is noted (see handler) and ends the wait.
      const entry = this.#waiting.get(txId) ?? { waiters: 0, aborted: false };
      this.#waiting.set(txId, entry);
      entry.waiters++;
      try {
        await sleep(clock, Math.min(pauseMs, Math.max(1, deadlineMs - nowMs)));
      } finally {
        if (--entry.waiters === 0) this.#waiting.delete(txId);
      }
      if (entry.aborted) return false;
    }
    return true;
  }

  send(to: string, message: TxMessage): void {
    if (this.#init.crashPoint === 'tx-after-commit' && message.type === 'commit') this.#crash();
    this.#c.rpc.call(to, PROTOCOLS.tx, message).catch((error: Error) => {
      this.#c.logger.debug({ to, type: message.type, err: error.message }, 'tx message not delivered');
    });
  }

  /**
   * Staged data no transaction knows of (its coordinator died during the upload, before prepare)
   * is dropped once its lease lapsed: orphanTtlMs without a stage or a renewal from the coordinator,
   * which renews while the upload makes progress (so a long upload is never collected, here or on
   * the coordinator itself).
   */
  async collectOrphans(): Promise<number> {
    const { store, clock, logger } = this.#c;
    const engine = this.engine;
    const nowMs = clock.nowMs();
    // Locks whose holder stopped renewing them (trinity_locks_expired_total).
    this.#open?.metered.expire(nowMs);
    const due = this.#orphans.due(store.stagedTransactions(), nowMs, {
      known: (txId) =>
        engine.participant.state(txId) !== undefined || engine.coordinator.status(txId) !== undefined,
      committing: (txId) => store.isCommitting(txId),
      renewedAtMs: (txId) => this.#c.staging.renewedAtMs(txId),
    });
    let dropped = 0;
    for (const txId of due) {
      await this.#host.abortStaged(txId);
      dropped++;
    }
    if (dropped > 0) logger.info({ dropped }, 'dropped orphaned staged transactions');
    return dropped;
  }

  #crash(): never {
    this.#c.logger.warn({ point: this.#init.crashPoint }, 'crash point reached: killing this process');
    return this.#c.crash();
  }
}

/**
 * The participant's storage side: @trinity/storage's StagingArea over this node's shard store (one
 * staging folder and commit marker for a transaction's shards and manifests). This node adds what the
 * records mean: the locks asked for must be exactly those of the objects staged here (their owner and
 * name), so no peer can lock an unrelated key or leave out an object's lock; a commit publishes the
 * records into the manifest store, and the shards of an object deleted meanwhile go with it.
 */
function stagingHost(selfId: string, components: TxServiceComponents): StagingArea {
  const { store, manifests, clock, logger, staging } = components;
  /** Shards of objects whose delete won against their commit, to free once the commit is done. */
  const deletedShards = new Map<string, string[]>();
  return new StagingArea(store, selfId, {
    check: (_txId, locks, records) => {
      const objects: LockedObject[] = records.map(({ id, bytes }) => {
        const { descriptor } = decodeRecord(bytes, clock.nowMs(), id, { receipts: 'unchecked' }).record;
        return { id, owner: descriptor.owner, name: descriptor.name };
      });
      const expected = objectLockKeys(selfId, objects);
      const asked = locks.map((lock) => lock.shardHash).sort();
      if (asked.length !== expected.length || asked.some((key, i) => key !== expected[i]))
        return `the locks asked for are not those of the objects staged here`;
      return undefined;
    },
    publish: async (txId, records) => {
      for (const { id, bytes } of records) {
        // addReceipts checks each receipt: decoding checks the descriptor only.
        const { record } = decodeRecord(bytes, clock.nowMs(), id, { receipts: 'unchecked' });
        try {
          await manifests.putDescriptor(record.descriptor, clock.nowMs());
          await manifests.addReceipts(id, record.receipts, clock.nowMs());
        } catch (error) {
          // The owner deleted it while the put was in flight: the delete wins, the shards go with it.
          if (!(error instanceof ObjectDeletedError)) throw error;
          logger.warn({ id, txId }, 'committed object was deleted meanwhile; not published');
          const hashes = deletedShards.get(txId) ?? [];
          for (const stripe of record.descriptor.stripes)
            for (const shard of stripe.shards) hashes.push(shard.hash);
          deletedShards.set(txId, hashes);
        }
      }
    },
    ended: async (txId) => {
      staging.release(txId);
      const hashes = deletedShards.get(txId);
      deletedShards.delete(txId);
      // The delete won: its shards go too (a crash before this leaves them to the GC).
      if (hashes !== undefined) await deleteUnreferenced(store, manifests, hashes);
    },
  });
}
