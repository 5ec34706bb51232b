import { type Clock, type Logger, type Metrics, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { type ManifestStore, ObjectDeletedError, type ShardStore } from '@trinity/storage';
import {
  type CommitShard,
  parseTxMessage,
  registerTxMetrics,
  type StageShard,
  senderOf,
  type TxConfigInput,
  TxEngine,
  TxLog,
  type TxMessage,
  type TxStagingHost,
} from '@trinity/tx';
import { ShardLockManager } from '@trinity/vsa';
import { z } from 'zod';
import { NodeError } from '../../errors.js';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import { PROTOCOLS } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import type { StagedManifests } from '../../stores/staged-manifests.js';
import { Repeater } from '../../timers.js';
import { decodeRecord } from '../objects/object-record.js';
import { deleteUnreferenced, type StagingLedger } from '../shards/shard-service.js';

/** A put that its transaction aborted: nothing of it became visible. */
export class TransactionAbortedError extends NodeError {
  constructor(txId: string, reason: string | undefined) {
    super('TX_ABORTED', `transaction ${txId} aborted${reason ? `: ${reason}` : ''}; nothing was stored`, 409);
  }
}

/**
 * The one "shard" a node is a 2PC participant for in a put: everything the coordinator staged on it
 * under `txId` (its shards of every stripe and the manifests). Both sides compute the same digest,
 * so a participant votes commit only when it holds exactly what the coordinator sent it.
 */
export function bundleHash(
  txId: string,
  node: string,
  shardHashes: readonly string[],
  manifestIds: readonly string[],
): string {
  const unique = (items: readonly string[]) => [...new Set(items)].sort().join(',');
  const text = `trinity-bundle/1\n${txId}\n${node}\n${unique(shardHashes)}\n${unique(manifestIds)}`;
  return toHex(sha256(utf8ToBytes(text)));
}

export interface TxServiceInit {
  readonly selfId: string;
  /** The transaction log's file. */
  readonly logPath: string;
  readonly config: TxConfigInput & { orphanTtlMs: number };
  /** Test hook: kill this process at a named point of the protocol (see README). */
  readonly crashPoint?: string;
}

export interface TxServiceComponents {
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly stagedManifests: StagedManifests;
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

/** What a put needs of the transaction service: run the two-phase commit over its holders. */
export interface Transactions {
  execute(
    txId: string,
    participants: readonly { node: string; shardHash: string }[],
  ): Promise<{ outcome: 'committed' | 'aborted'; reason?: string }>;
}

/** The transaction service's factory: `txService(init)(components)`. */
export function txService(init: TxServiceInit): (components: TxServiceComponents) => TxService {
  return (components) => new TxService(init, components);
}

type Engine = { readonly engine: TxEngine; readonly log: TxLog };

/**
 * Atomic puts for the daemon: the @trinity/tx engine (coordinator + participant) on a durable log,
 * its messages on /trinity/tx/1.0.0, vsa shard locks, and the staging host that maps prepare /
 * commit / abort onto the shard store's staging area and the manifests staged beside it.
 */
export class TxService implements Startable, Transactions {
  readonly #init: TxServiceInit;
  readonly #c: TxServiceComponents;
  readonly #orphansSeenMs = new Map<string, number>();
  readonly #host: StagingHost;
  readonly #gc: Repeater;
  #open: Engine | undefined;

  constructor(init: TxServiceInit, components: TxServiceComponents) {
    this.#init = init;
    this.#c = components;
    this.#host = new StagingHost(init.selfId, components);
    this.#gc = new Repeater(
      components.clock,
      Math.max(1_000, init.config.orphanTtlMs / 4),
      () => void this.collectOrphans(),
    );
  }

  /** The engine (coordinator + participant); only between start and stop. */
  get engine(): TxEngine {
    if (this.#open === undefined)
      throw new NodeError('SHUTTING_DOWN', 'the transaction service is not running', 503);
    return this.#open.engine;
  }

  /** Transactions in progress (0 when stopped). */
  get activeCount(): number {
    return this.#open?.engine.activeCount ?? 0;
  }

  /** Opens the log, recovers in-doubt transactions and serves /trinity/tx/1.0.0. */
  async start(): Promise<void> {
    const { orphanTtlMs: _ttl, ...config } = this.#init.config;
    const log = await TxLog.open(this.#init.logPath);
    try {
      const engine = await TxEngine.open({
        nodeId: this.#init.selfId,
        log,
        transport: { send: (to, message) => this.send(to, message) },
        clock: this.#c.clock,
        locks: new ShardLockManager(),
        staging: this.#host,
        config,
        logger: this.#c.logger,
      });
      registerTxMetrics(this.#c.metrics, engine.stats);
      this.#open = { engine, log };
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
  execute(
    txId: string,
    participants: readonly { node: string; shardHash: string }[],
  ): Promise<{ outcome: 'committed' | 'aborted'; reason?: string }> {
    // Resolve at the durable decision: a holder that goes away after voting must not hang the put;
    // the object service then waits (bounded) for the holders to show their shards.
    return this.engine.execute(participants, { txId, awaitAcks: false });
  }

  /** Serves /trinity/tx/1.0.0: a message is validated, checked against its sender, then handed on. */
  handler() {
    return async (request: unknown, context: RpcContext): Promise<RpcReply> => {
      const message = parseTxMessage(request);
      if (senderOf(message) !== context.peer) {
        throw new NodeError('TX_SENDER_MISMATCH', 'a tx message must come from the node it names', 400);
      }
      if (this.#init.crashPoint === 'tx-before-commit' && message.type === 'vote') this.#crash();
      this.engine.receive(message);
      return {};
    };
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
    const staged = new Set([
      ...store.stagedTransactions(),
      ...(await this.#c.stagedManifests.transactions()),
    ]);
    let dropped = 0;
    for (const txId of staged) {
      if (engine.participant.state(txId) !== undefined || engine.coordinator.status(txId) !== undefined) {
        this.#orphansSeenMs.delete(txId);
        continue;
      }
      const seenMs = this.#orphansSeenMs.get(txId) ?? nowMs;
      this.#orphansSeenMs.set(txId, seenMs);
      // The lease: the coordinator renews it while its upload makes progress.
      const leaseFromMs = Math.max(seenMs, this.#c.staging.renewedAtMs(txId) ?? seenMs);
      if (nowMs - leaseFromMs < this.#init.config.orphanTtlMs || store.isCommitting(txId)) continue;
      await this.#host.abortStaged(txId);
      this.#orphansSeenMs.delete(txId);
      dropped++;
    }
    for (const txId of this.#orphansSeenMs.keys()) if (!staged.has(txId)) this.#orphansSeenMs.delete(txId);
    if (dropped > 0) logger.info({ dropped }, 'dropped orphaned staged transactions');
    return dropped;
  }

  #crash(): never {
    this.#c.logger.warn({ point: this.#init.crashPoint }, 'crash point reached: killing this process');
    return this.#c.crash();
  }
}

/** The participant's storage side: prepare checks what was staged, commit publishes it, abort drops it. */
class StagingHost implements TxStagingHost {
  readonly #selfId: string;
  readonly #c: TxServiceComponents;

  constructor(selfId: string, components: TxServiceComponents) {
    this.#selfId = selfId;
    this.#c = components;
  }

  async stage(txId: string, shards: readonly StageShard[]): Promise<void> {
    const expected = bundleHash(
      txId,
      this.#selfId,
      this.#c.store.stagedShards(txId).map((hash) => toHex(hash)),
      await this.#c.stagedManifests.ids(txId),
    );
    if (shards.length !== 1 || shards[0]!.shardHash !== expected) {
      throw new NodeError(
        'TX_BUNDLE_MISMATCH',
        `what is staged here for ${txId} is not what the coordinator sent`,
        409,
      );
    }
  }

  async commitStaged(txId: string, shards: readonly CommitShard[]): Promise<void> {
    const { store, manifests, stagedManifests, clock, logger } = this.#c;
    const token = shards[0]?.fencingToken;
    // One fencing-log sync and one folder sync for the whole bundle, not two syncs per shard.
    if (token !== undefined && !store.isCommitting(txId)) await store.fenceStagedAll(txId, token);
    // Records first: once a shard shows (has() is true), its object's descriptor shows too.
    const deletedShards: string[] = [];
    for (const id of await stagedManifests.ids(txId)) {
      // addReceipts checks each receipt: decoding checks the descriptor only.
      const { record } = decodeRecord(await stagedManifests.read(txId, id), clock.nowMs(), id, {
        receipts: 'unchecked',
      });
      try {
        await manifests.putDescriptor(record.descriptor, clock.nowMs());
        await manifests.addReceipts(id, record.receipts, clock.nowMs());
      } catch (error) {
        // The owner deleted it while the put was in flight: the delete wins, the shards go with it.
        if (!(error instanceof ObjectDeletedError)) throw error;
        logger.warn({ id, txId }, 'committed object was deleted meanwhile; not published');
        for (const stripe of record.descriptor.stripes)
          for (const shard of stripe.shards) deletedShards.push(shard.hash);
      }
    }
    await store.commitStaged(txId);
    // The delete won: its shards go too (a crash right here leaves them unreferenced on disk).
    if (deletedShards.length > 0) await deleteUnreferenced(store, manifests, deletedShards);
    await stagedManifests.drop(txId);
    this.#c.staging.release(txId);
  }

  async abortStaged(txId: string): Promise<void> {
    if (!this.#c.store.isCommitting(txId)) await this.#c.store.abortStaged(txId);
    await this.#c.stagedManifests.drop(txId);
    this.#c.staging.release(txId);
  }

  async purgeStaged(keepTxIds: readonly string[]): Promise<void> {
    const keep = new Set(keepTxIds);
    const staged = new Set([
      ...this.#c.store.stagedTransactions(),
      ...(await this.#c.stagedManifests.transactions()),
    ]);
    for (const txId of staged) if (!keep.has(txId)) await this.abortStaged(txId);
  }
}
