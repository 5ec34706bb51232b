import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, type Logger, type Metrics, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { assertTxId, decodeManifest, type ManifestStore, type ShardStore } from '@trinity/storage';
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
import { NodeError } from '../../errors.js';
import { writeFileAtomic } from '../../fs-util.js';
import type { RpcClient, RpcContext, RpcReply } from '../../p2p/rpc.js';
import { PROTOCOLS } from '../../p2p/wire.js';

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
  readonly dataDir: string;
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly rpc: RpcClient;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly config: TxConfigInput & { orphanTtlMs: number };
  /** Test hook: kill this process at a named point of the protocol (see README). */
  readonly crashPoint?: string;
}

/**
 * Atomic puts for the daemon: the @trinity/tx engine (coordinator + participant) on a durable log,
 * its messages on /trinity/tx/1.0.0, vsa shard locks, and the staging host that maps prepare /
 * commit / abort onto the shard store's staging area and the manifests staged beside it.
 */
export class TxService {
  readonly engine: TxEngine;
  readonly #init: TxServiceInit;
  readonly #log: TxLog;
  readonly #orphansSeenMs = new Map<string, number>();
  #gcTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(init: TxServiceInit, log: TxLog, engine: TxEngine) {
    this.#init = init;
    this.#log = log;
    this.engine = engine;
  }

  static async open(init: TxServiceInit): Promise<TxService> {
    const { orphanTtlMs: _ttl, ...config } = init.config;
    const log = await TxLog.open(join(init.dataDir, 'tx.log'));
    const host = new StagingHost(init);
    let service: TxService | undefined;
    const engine = await TxEngine.open({
      nodeId: init.selfId,
      log,
      transport: { send: (to, message) => service?.send(to, message) },
      clock: init.clock,
      locks: new ShardLockManager(),
      staging: host,
      config,
      logger: init.logger,
    });
    registerTxMetrics(init.metrics, engine.stats);
    service = new TxService(init, log, engine);
    return service;
  }

  start(): void {
    this.#gcTimer = setInterval(
      () => void this.collectOrphans(),
      Math.max(1_000, this.#init.config.orphanTtlMs / 4),
    );
    this.#gcTimer.unref();
  }

  async close(): Promise<void> {
    if (this.#gcTimer !== undefined) clearInterval(this.#gcTimer);
    await this.engine.close();
    await this.#log.close();
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
    this.#init.rpc.call(to, PROTOCOLS.tx, message).catch((error: Error) => {
      this.#init.logger.debug({ to, type: message.type, err: error.message }, 'tx message not delivered');
    });
  }

  /**
   * Staged data no transaction knows of (its coordinator died during the upload, before prepare)
   * is dropped once it has been seen orphaned for orphanTtlMs.
   */
  async collectOrphans(): Promise<number> {
    const { store, clock, config } = this.#init;
    const nowMs = clock.nowMs();
    const staged = new Set([
      ...store.stagedTransactions(),
      ...(await listPendingManifestTxs(this.#init.dataDir)),
    ]);
    let dropped = 0;
    for (const txId of staged) {
      if (
        this.engine.participant.state(txId) !== undefined ||
        this.engine.coordinator.status(txId) !== undefined
      ) {
        this.#orphansSeenMs.delete(txId);
        continue;
      }
      const seenMs = this.#orphansSeenMs.get(txId) ?? nowMs;
      this.#orphansSeenMs.set(txId, seenMs);
      if (nowMs - seenMs < config.orphanTtlMs || store.isCommitting(txId)) continue;
      await new StagingHost(this.#init).abortStaged(txId);
      this.#orphansSeenMs.delete(txId);
      dropped++;
    }
    for (const txId of this.#orphansSeenMs.keys()) if (!staged.has(txId)) this.#orphansSeenMs.delete(txId);
    if (dropped > 0) this.#init.logger.info({ dropped }, 'dropped orphaned staged transactions');
    return dropped;
  }

  #crash(): never {
    this.#init.logger.warn({ point: this.#init.crashPoint }, 'crash point reached: killing this process');
    process.kill(process.pid, 'SIGKILL');
    throw new Error('unreachable');
  }
}

function pendingDir(dataDir: string, txId?: string): string {
  return txId === undefined ? join(dataDir, 'tx-manifests') : join(dataDir, 'tx-manifests', txId);
}

async function listPendingManifestTxs(dataDir: string): Promise<string[]> {
  return (await readdir(pendingDir(dataDir)).catch(() => [] as string[])).filter((name) =>
    /^[0-9a-f]{8,64}$/.test(name),
  );
}

/** Writes a manifest staged for `txId` (visible only if the transaction commits). */
export async function stageManifest(
  dataDir: string,
  txId: string,
  id: string,
  bytes: Uint8Array,
): Promise<void> {
  assertTxId(txId);
  decodeManifest(bytes, id);
  const dir = pendingDir(dataDir, txId);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, id), bytes);
}

/** The participant's storage side: prepare checks what was staged, commit publishes it, abort drops it. */
class StagingHost implements TxStagingHost {
  readonly #init: TxServiceInit;

  constructor(init: TxServiceInit) {
    this.#init = init;
  }

  async stage(txId: string, shards: readonly StageShard[]): Promise<void> {
    const expected = bundleHash(
      txId,
      this.#init.selfId,
      this.#init.store.stagedShards(txId).map((hash) => toHex(hash)),
      await this.#manifestIds(txId),
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
    const { store, manifests, dataDir } = this.#init;
    const token = shards[0]?.fencingToken;
    // One fencing-log sync and one folder sync for the whole bundle, not two syncs per shard.
    if (token !== undefined && !store.isCommitting(txId)) await store.fenceStagedAll(txId, token);
    // Manifests first: once a shard shows (has() is true), its object's manifest shows too.
    for (const id of await this.#manifestIds(txId)) {
      const bytes = await readFile(join(pendingDir(dataDir, txId), id));
      await manifests.put(decodeManifest(bytes, id));
    }
    await store.commitStaged(txId);
    await rm(pendingDir(dataDir, txId), { recursive: true, force: true });
  }

  async abortStaged(txId: string): Promise<void> {
    if (!this.#init.store.isCommitting(txId)) await this.#init.store.abortStaged(txId);
    await rm(pendingDir(this.#init.dataDir, txId), { recursive: true, force: true });
  }

  async purgeStaged(keepTxIds: readonly string[]): Promise<void> {
    const keep = new Set(keepTxIds);
    const staged = new Set([
      ...this.#init.store.stagedTransactions(),
      ...(await listPendingManifestTxs(this.#init.dataDir)),
    ]);
    for (const txId of staged) if (!keep.has(txId)) await this.abortStaged(txId);
  }

  async #manifestIds(txId: string): Promise<string[]> {
    assertTxId(txId);
    return (await readdir(pendingDir(this.#init.dataDir, txId)).catch(() => [] as string[])).filter((name) =>
      /^[0-9a-f]{64}$/.test(name),
    );
  }
}
