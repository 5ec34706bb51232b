import { type Clock, fromHex, toHex } from '@trinity/core';
import {
  authorizeStore,
  checkReceipt,
  type Manifest,
  type ManifestStore,
  type ShardStageOptions,
  type ShardStore,
  type SignedPutIntent,
  type SignedReceipt,
  signReceipt,
} from '@trinity/storage';
import { NodeError } from '../../errors.js';
import { BodyPool } from '../../p2p/data-channel.js';
import { type NodeSigner, nodeKeyOfPeerId, peerIdOfNodeKey } from '../../p2p/node-keys.js';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import {
  hashesPerRequestMax,
  PROTOCOLS,
  type ShardRequest,
  shardBytesMax,
  shardRequestSchema,
} from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';

/** A peer asked for something it may not do; nothing changed. */
export class ForbiddenError extends NodeError {
  constructor(code: string, message: string) {
    super(code, message, 403);
  }
}

/** A peer went over its quota; nothing changed. */
export class QuotaExceededError extends NodeError {
  constructor(message: string) {
    super('QUOTA_EXCEEDED', message, 429);
  }
}

/** Who staged a transaction here, for whom, and how much. */
export interface StagedBy {
  readonly peer: string;
  /** The owner whose put intents authorized the stages (hex key). */
  readonly owner: string;
  bytes: number;
  /** The latest expiry of the put intents its stages carried: its lease is not renewed past it. */
  intentExpiresAtMs: number;
}

/** Transactions one peer may have staged on a node at once (the store takes 256 in all). */
export const stagedTransactionsPerPeerMax = 32;

/**
 * The transactions staged on this node by peers: who may unstage them, whose descriptor may be
 * staged beside them, and the per-peer staged-bytes quota. In memory: after a restart nobody may
 * unstage, and the orphan collector drops what no transaction claims.
 */
export class StagingLedger {
  readonly #byTx = new Map<string, StagedBy>();
  /** When each transaction's lease was last renewed (a stage or a renew from its coordinator). */
  readonly #renewedMs = new Map<string, number>();
  readonly #bytesByPeer = new Map<string, number>();
  readonly #txsByPeer = new Map<string, number>();
  readonly #peerBytesMax: number;

  constructor(peerBytesMax: number) {
    this.#peerBytesMax = peerBytesMax;
  }

  get(txId: string): StagedBy | undefined {
    return this.#byTx.get(txId);
  }

  /**
   * Claims `bytes` of `peer`'s quota for `txId`, under a put intent valid until `intentExpiresAtMs`;
   * throws (changing nothing) when it is over the bytes or the transactions a peer may stage.
   */
  reserve(txId: string, peer: string, owner: string, bytes: number, intentExpiresAtMs: number): void {
    const entry = this.#byTx.get(txId);
    if (entry !== undefined && (entry.peer !== peer || entry.owner !== owner)) {
      throw new ForbiddenError('TX_NOT_YOURS', `transaction ${txId} was staged by another peer or owner`);
    }
    const txs = this.#txsByPeer.get(peer) ?? 0;
    if (entry === undefined && txs >= stagedTransactionsPerPeerMax) {
      throw new QuotaExceededError(
        `peer ${peer.slice(-8)} has ${txs} transactions staged here; the limit is ${stagedTransactionsPerPeerMax}`,
      );
    }
    const used = this.#bytesByPeer.get(peer) ?? 0;
    if (used + bytes > this.#peerBytesMax) {
      throw new QuotaExceededError(
        `peer ${peer.slice(-8)} has ${used} bytes staged here; the limit is ${this.#peerBytesMax}`,
      );
    }
    this.#bytesByPeer.set(peer, used + bytes);
    if (entry === undefined) {
      this.#byTx.set(txId, { peer, owner, bytes, intentExpiresAtMs });
      this.#txsByPeer.set(peer, txs + 1);
    } else {
      entry.bytes += bytes;
      entry.intentExpiresAtMs = Math.max(entry.intentExpiresAtMs, intentExpiresAtMs);
    }
  }

  /** Gives back what a stage that failed had reserved. */
  unreserve(txId: string, bytes: number): void {
    const entry = this.#byTx.get(txId);
    if (entry === undefined) return;
    entry.bytes -= bytes;
    this.#bytesByPeer.set(entry.peer, Math.max(0, (this.#bytesByPeer.get(entry.peer) ?? 0) - bytes));
  }

  /** The upload of `txId` made progress at `nowMs`: its lease starts over. */
  renew(txId: string, nowMs: number): void {
    this.#renewedMs.set(txId, Math.max(nowMs, this.#renewedMs.get(txId) ?? nowMs));
  }

  /** When the lease of `txId` was last renewed here, if ever. */
  renewedAtMs(txId: string): number | undefined {
    return this.#renewedMs.get(txId);
  }

  /** The transaction ended (committed, aborted or dropped): its bytes leave the quota. */
  release(txId: string): void {
    this.#renewedMs.delete(txId);
    const entry = this.#byTx.get(txId);
    if (entry === undefined) return;
    this.#byTx.delete(txId);
    const txs = (this.#txsByPeer.get(entry.peer) ?? 1) - 1;
    if (txs > 0) this.#txsByPeer.set(entry.peer, txs);
    else this.#txsByPeer.delete(entry.peer);
    const left = (this.#bytesByPeer.get(entry.peer) ?? 0) - entry.bytes;
    if (left > 0) this.#bytesByPeer.set(entry.peer, left);
    else this.#bytesByPeer.delete(entry.peer);
  }
}

/**
 * Deletes the shards among `hashes` that no descriptor this node still holds refers to. Shards are
 * content-addressed, so two objects (or two padding shards of small objects) can share one; an
 * object's descriptor is removed before its shards, so a shard still named here belongs to another.
 */
export async function deleteUnreferenced(
  store: ShardStore,
  manifests: ManifestStore,
  hashes: readonly string[],
): Promise<number> {
  const wanted = [...new Set(hashes)];
  // Looked at before the references: a shard a commit writes meanwhile (the same bytes, another
  // object) is not deleted on references that predate it.
  const writes = new Map(wanted.map((hash) => [hash, store.writeOf(fromHex(hash))]));
  const unreferenced = await manifests.unreferencedShards(wanted);
  const deleted = await Promise.all(
    unreferenced.map((hash) => store.delete(fromHex(hash), { ifWrite: writes.get(hash)! })),
  );
  return deleted.filter(Boolean).length;
}

export interface ShardHandlerDeps {
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly signer: NodeSigner;
  readonly staging: StagingLedger;
  readonly clock: Clock;
  /** Asks `node` whether it holds the shard `hash` (a release is refused unless the successor does). */
  readonly confirmHeld?: (node: string, hash: string) => Promise<boolean>;
}

/** Which shard to release, and the receipt of the node that holds it instead. */
export interface ReleaseRequest {
  readonly objectId: string;
  readonly stripe: number;
  readonly shard: number;
  readonly successor: unknown;
}

/**
 * Releases this node's copy of one shard of an object (rebalancing moved it): the caller must hold a
 * receipt of the object here, `successor` must be another node's valid receipt for that very shard,
 * and that node must answer that it holds it. Then this node forgets its receipt for the position and
 * deletes the bytes unless another position it holds, or another object, uses the same hash (or a
 * descriptor here cannot be read, so that is not known).
 * Returns whether the bytes were deleted.
 */
export async function releaseShard(
  deps: ShardHandlerDeps,
  callerPeer: string,
  request: ReleaseRequest,
): Promise<boolean> {
  const { manifests, store, signer, clock } = deps;
  const { objectId, stripe, shard } = request;
  if (!(await manifests.hasDescriptor(objectId))) {
    throw new ForbiddenError('NO_DESCRIPTOR', `no descriptor of object ${objectId} here`);
  }
  const receipts = await manifests.receipts(objectId);
  const callerKey = nodeKeyOfPeerId(callerPeer);
  if (callerKey === undefined || !receipts.some((r) => r.holder === callerKey)) {
    throw new ForbiddenError('NOT_A_HOLDER', 'only a holder of the object may ask to release a shard');
  }
  const descriptor = await manifests.getDescriptor(objectId);
  const checked = checkReceipt(request.successor, {
    objectId,
    descriptor,
    stripe,
    shard,
    nowMs: clock.nowMs(),
  });
  if (!checked.ok) throw new ForbiddenError('SUCCESSOR_INVALID', `${checked.reason}: ${checked.message}`);
  const successor = checked.value;
  const successorPeer = peerIdOfNodeKey(successor.holder);
  if (successor.holder === signer.publicKey || successorPeer === undefined) {
    throw new ForbiddenError('SUCCESSOR_INVALID', 'the successor must be another node');
  }
  if (deps.confirmHeld === undefined || !(await deps.confirmHeld(successorPeer, successor.shardHash))) {
    throw new ForbiddenError('SUCCESSOR_LACKS_SHARD', 'the successor does not hold the shard');
  }
  await manifests.dropReceipts(objectId, signer.publicKey, { stripe, shard });
  const mine = (await manifests.receipts(objectId)).some(
    (r) => r.holder === signer.publicKey && r.shardHash === successor.shardHash,
  );
  if (mine) return false;
  const [unused] = await manifests.unreferencedShards([successor.shardHash], { except: objectId });
  if (unused === undefined) return false; // another object names the same bytes
  return store.delete(fromHex(successor.shardHash));
}

/**
 * How a holder stages a shard of a put: the transaction's folder is synced once, when the holder
 * votes (the participant's `StagingArea.stage` calls `syncStaged` first), not once per shard. A
 * stage's reply promises no durability: a shard lost to a power cut before the vote fails the
 * prepare's digest check, and the put aborts. `hash` came with the bytes from a `peer` (checked
 * against them) or was computed from these very bytes on this node (`known`: taken as is).
 */
function holderStage(hash: Uint8Array, from: 'peer' | 'known' = 'peer'): ShardStageOptions {
  return from === 'known'
    ? { knownHash: hash, deferFolderSync: true }
    : { expectedHash: hash, deferFolderSync: true };
}

/** Checks a repair store against the descriptor held here and signs this node's receipt for it. */
export async function storeForRepair(
  deps: ShardHandlerDeps,
  request: { objectId: string; stripe: number; shard: number; hash: string },
  data: Uint8Array,
): Promise<SignedReceipt> {
  const { manifests, store, signer, clock } = deps;
  if (!(await manifests.hasDescriptor(request.objectId))) {
    throw new ForbiddenError(
      'NO_DESCRIPTOR',
      `no descriptor of object ${request.objectId} here: put its record first`,
    );
  }
  const descriptor = await manifests.getDescriptor(request.objectId);
  const committed = descriptor.stripes[request.stripe]?.shards[request.shard];
  if (committed === undefined || committed.hash !== request.hash) {
    throw new ForbiddenError('SHARD_NOT_IN_OBJECT', 'the owner did not sign this shard at that position');
  }
  await store.put(data, { expectedHash: fromHex(request.hash) });
  const receipt = signReceipt(
    {
      objectId: request.objectId,
      stripe: request.stripe,
      shard: request.shard,
      shardHash: request.hash,
      storedAtMs: clock.nowMs(),
    },
    signer.secretKey,
  );
  await manifests.addReceipts(request.objectId, [receipt], clock.nowMs());
  return receipt;
}

/** Serves /trinity/shard/2.0.0 from the local store; see wire.ts for who may call what. */
export function shardHandler(deps: ShardHandlerDeps) {
  const { store, signer, staging, clock } = deps;
  // Buffers of served shard reads, reused once the data channel has sent them (not over libp2p).
  const served = new BodyPool(8);
  return async (request: ShardRequest, context: RpcContext): Promise<RpcReply> => {
    switch (request.op) {
      case 'stage': {
        const auth = authorizeStore(request.intent, request.hash, signer.publicKey, clock.nowMs());
        if (!auth.ok) throw new ForbiddenError('STORE_NOT_AUTHORIZED', `${auth.reason}: ${auth.message}`);
        if (auth.value.intent.txId !== request.txId) {
          throw new ForbiddenError('STORE_NOT_AUTHORIZED', 'the put intent is for another transaction');
        }
        if (store.isCommitting(request.txId))
          throw new ForbiddenError('TX_COMMITTING', 'transaction is committing');
        const { owner, expiresAtMs } = auth.value.intent;
        staging.reserve(request.txId, context.peer, owner, request.size, expiresAtMs);
        staging.renew(request.txId, clock.nowMs());
        try {
          const data = await context.readBody(request.size);
          await store.stage(request.txId, data, holderStage(fromHex(request.hash)));
        } catch (error) {
          staging.unreserve(request.txId, request.size);
          // A transaction that staged nothing here is not kept (nor counted against the peer).
          if (store.stagedShards(request.txId).length === 0) staging.release(request.txId);
          throw error;
        }
        return {};
      }
      case 'store': {
        const data = await context.readBody(request.size);
        return { value: await storeForRepair(deps, request, data) };
      }
      case 'fetch': {
        const body = await store.get(fromHex(request.hash), { buffer: (size) => served.take(size) });
        return { body, release: () => served.give(body) };
      }
      case 'has':
        return { value: await Promise.all(request.hashes.map((hash) => store.has(fromHex(hash)))) };
      case 'renew': {
        const entry = staging.get(request.txId);
        if (entry === undefined || entry.peer !== context.peer) {
          throw new ForbiddenError('TX_NOT_YOURS', `transaction ${request.txId} was not staged here by you`);
        }
        // A lease lives no longer than the owner's intents: an upload that stages nothing new for an
        // intent's lifetime cannot hold its staged bytes here by renewing alone.
        if (clock.nowMs() >= entry.intentExpiresAtMs) {
          throw new ForbiddenError('LEASE_EXPIRED', `the put intents of ${request.txId} have expired`);
        }
        staging.renew(request.txId, clock.nowMs());
        return {};
      }
      case 'unstage': {
        const entry = staging.get(request.txId);
        if (entry === undefined || entry.peer !== context.peer) {
          throw new ForbiddenError('TX_NOT_YOURS', `transaction ${request.txId} was not staged here by you`);
        }
        // Never undo a commit that has begun: only a transaction that never prepared is dropped here.
        if (!store.isCommitting(request.txId)) {
          await store.abortStaged(request.txId);
          staging.release(request.txId);
        }
        return {};
      }
      case 'release':
        return { value: { deleted: await releaseShard(deps, context.peer, request) } };
    }
  };
}

export interface ShardTransferInit {
  readonly selfId: string;
}

export interface ShardTransferComponents {
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly signer: NodeSigner;
  readonly staging: StagingLedger;
  readonly rpc: PeerRpc;
  /** Serves the shard protocol over libp2p and the data channel alike (`ChannelledProtocolServer`). */
  readonly server: ProtocolServer;
  readonly clock: Clock;
}

/** The shard service's factory: `shardTransfer(init)(components)`. */
export function shardTransfer(
  init: ShardTransferInit,
): (components: ShardTransferComponents) => ShardTransfer {
  return (components) => new ShardTransfer(init, components);
}

/**
 * The shard operations against any node, this one included: calls for this node go straight to the
 * local store, the rest over the wire.
 */
export class ShardTransfer implements Startable {
  readonly #selfId: string;
  readonly #c: ShardTransferComponents;

  constructor(init: ShardTransferInit, components: ShardTransferComponents) {
    this.#selfId = init.selfId;
    this.#c = components;
  }

  /**
   * Serves /trinity/shard/2.0.0 from the local store, over libp2p and the data channel alike: one
   * handler, so every rule of who may stage, store, fetch, renew, unstage or release holds on both.
   */
  async start(): Promise<void> {
    const handler = shardHandler(this.#deps());
    await this.#c.server.handle(PROTOCOLS.shard, shardRequestSchema, handler);
  }

  async stop(): Promise<void> {
    await this.#c.server.unhandle(PROTOCOLS.shard);
  }

  #deps(): ShardHandlerDeps {
    return {
      ...this.#c,
      confirmHeld: async (node, hash) => (await this.has(node, [fromHex(hash)]))[0] === true,
    };
  }

  /**
   * Stages a shard on `node` under `txId`, authorized by the owner's signed put intent. `hash` is
   * the SHA-256 of `data` as the caller computed it: another node checks it, this one takes it.
   */
  async stage(
    node: string,
    txId: string,
    hash: Uint8Array,
    data: Uint8Array,
    intent: SignedPutIntent,
  ): Promise<void> {
    if (node === this.#selfId) {
      this.#c.staging.renew(txId, this.#c.clock.nowMs());
      // The caller hashed these bytes itself (the stripe's encoding): not hashed a second time here.
      await this.#c.store.stage(txId, data, holderStage(hash, 'known'));
      return;
    }
    const header = { op: 'stage', hash: toHex(hash), size: data.length, txId, intent };
    await this.#c.rpc.call(node, PROTOCOLS.shard, header, data);
  }

  /**
   * Stores a rebuilt shard on `node` (repair): the node checks it against the descriptor it holds
   * and answers with its signed receipt.
   */
  async storeForRepair(
    node: string,
    position: { objectId: string; stripe: number; shard: number },
    hash: Uint8Array,
    data: Uint8Array,
  ): Promise<SignedReceipt> {
    const request = { ...position, hash: toHex(hash) };
    if (node === this.#selfId) return storeForRepair(this.#c, request, data);
    const reply = await this.#c.rpc.call(
      node,
      PROTOCOLS.shard,
      { op: 'store', ...request, size: data.length },
      data,
    );
    return reply.value as SignedReceipt; // checked by the caller's addReceipts
  }

  /**
   * The shard's bytes as the node sent them: the caller verifies the hash. `shardBytes` is the
   * shard's size from its descriptor: a small object's fetch is a small request, not a bulk one.
   */
  async fetch(node: string, hash: Uint8Array, shardBytes: number, timeoutMs?: number): Promise<Uint8Array> {
    if (node === this.#selfId) return this.#c.store.get(hash);
    const reply = await this.#c.rpc.call(
      node,
      PROTOCOLS.shard,
      { op: 'fetch', hash: toHex(hash) },
      undefined,
      {
        replyBytesMax: Math.min(shardBytes, shardBytesMax),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      },
    );
    return reply.body ?? new Uint8Array(0);
  }

  /**
   * Gives back bytes `fetch` returned once the caller no longer reads them (nor any view of them):
   * a later fetch may read into the same buffer. Bytes from the local store or libp2p are ignored.
   */
  recycle(bytes: Uint8Array): void {
    this.#c.rpc.recycle?.(bytes);
  }

  /** Which of `hashes` the node holds (intact, as far as it knows). */
  async has(node: string, hashes: readonly Uint8Array[]): Promise<boolean[]> {
    if (node === this.#selfId) return Promise.all(hashes.map((hash) => this.#c.store.has(hash)));
    const out: boolean[] = [];
    for (let start = 0; start < hashes.length; start += hashesPerRequestMax) {
      const batch = hashes.slice(start, start + hashesPerRequestMax).map((hash) => toHex(hash));
      const reply = await this.#c.rpc.call(node, PROTOCOLS.shard, { op: 'has', hashes: batch });
      const value = reply.value;
      if (
        !Array.isArray(value) ||
        value.length !== batch.length ||
        value.some((v) => typeof v !== 'boolean')
      ) {
        throw new Error(`peer ${node.slice(-8)} answered has() with a malformed list`);
      }
      out.push(...(value as boolean[]));
    }
    return out;
  }

  /**
   * Asks every live holder of `manifest` (one batched has() per node) which of its shards it still
   * holds intact. Returns `${nodeId} ${shardHash}` for each copy held; unreachable holders hold none.
   */
  async heldCopies(manifest: Manifest, isLive: (nodeId: string) => boolean): Promise<Set<string>> {
    const asks = new Map<string, Set<string>>();
    for (const stripe of manifest.stripes) {
      for (const shard of stripe.shards) {
        for (const holder of shard.holders) {
          if (!isLive(holder.nodeId)) continue;
          let hashes = asks.get(holder.nodeId);
          if (hashes === undefined) asks.set(holder.nodeId, (hashes = new Set()));
          hashes.add(shard.hash);
        }
      }
    }
    const held = new Set<string>();
    await Promise.allSettled(
      [...asks].map(async ([node, set]) => {
        const hashes = [...set];
        const answers = await this.has(node, hashes.map(fromHex));
        answers.forEach((yes, i) => {
          if (yes) held.add(`${node} ${hashes[i]}`);
        });
      }),
    );
    return held;
  }

  /**
   * Asks `node` to release its copy of one shard that `successor` (another node's signed receipt for
   * that shard) holds now; see releaseShard for what the node checks. True when the bytes were deleted.
   */
  async release(
    node: string,
    position: { objectId: string; stripe: number; shard: number },
    successor: SignedReceipt,
  ): Promise<boolean> {
    const request = { ...position, successor };
    if (node === this.#selfId) return releaseShard(this.#deps(), this.#selfId, request);
    const reply = await this.#c.rpc.call(node, PROTOCOLS.shard, { op: 'release', ...request });
    return (reply.value as { deleted?: unknown } | undefined)?.deleted === true;
  }

  /** Renews the lease of the upload `txId` on `node`: it is making progress, not orphaned. */
  async renew(node: string, txId: string): Promise<void> {
    if (node === this.#selfId) {
      this.#c.staging.renew(txId, this.#c.clock.nowMs());
      return;
    }
    await this.#c.rpc.call(node, PROTOCOLS.shard, { op: 'renew', txId });
  }

  /** Drops what an upload staged under `txId` on `node` (the put failed before prepare). */
  async unstage(node: string, txId: string): Promise<void> {
    if (node === this.#selfId) {
      if (!this.#c.store.isCommitting(txId)) {
        await this.#c.store.abortStaged(txId);
        this.#c.staging.release(txId);
      }
      return;
    }
    await this.#c.rpc.call(node, PROTOCOLS.shard, { op: 'unstage', txId });
  }
}
