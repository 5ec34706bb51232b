import { fromHex, toHex } from '@trinity/core';
import type { Manifest, ManifestStore, ShardStore } from '@trinity/storage';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import { hashesPerRequestMax, PROTOCOLS, type ShardRequest, shardRequestSchema } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import { localManifests } from '../manifests/manifest-service.js';

/**
 * Deletes the shards among `hashes` that no manifest this node still holds refers to. Shards are
 * content-addressed, so two objects (or two padding shards of small objects) can share one: a
 * holder keeps every manifest of the objects whose shards it holds, and an object's manifest is
 * removed before its shards, so a shard still named by a manifest here belongs to another object.
 */
export async function deleteUnreferenced(
  store: ShardStore,
  manifests: ManifestStore,
  hashes: readonly Uint8Array[],
): Promise<number> {
  const wanted = new Set(hashes.map((hash) => toHex(hash)));
  for await (const { manifest } of localManifests(manifests)) {
    if (wanted.size === 0) break;
    for (const stripe of manifest.stripes) for (const shard of stripe.shards) wanted.delete(shard.hash);
  }
  const deleted = await Promise.all([...wanted].map((hash) => store.delete(fromHex(hash))));
  return deleted.filter(Boolean).length;
}

/** Serves /trinity/shard/1.0.0 from the local store: store (or stage), fetch, has and delete. */
export function shardHandler(store: ShardStore, manifests: ManifestStore) {
  return async (request: ShardRequest, context: RpcContext): Promise<RpcReply> => {
    switch (request.op) {
      case 'store': {
        const data = await context.readBody(request.size);
        const options = {
          expectedHash: fromHex(request.hash),
          ...(request.fencingToken === undefined ? {} : { fencingToken: request.fencingToken }),
        };
        if (request.txId !== undefined) await store.stage(request.txId, data, options);
        else await store.put(data, options);
        return {};
      }
      case 'fetch':
        return { body: await store.get(fromHex(request.hash)) };
      case 'has':
        return { value: await Promise.all(request.hashes.map((hash) => store.has(fromHex(hash)))) };
      case 'delete':
        return { value: await deleteUnreferenced(store, manifests, request.hashes.map(fromHex)) };
      case 'unstage':
        // Never undo a commit that has begun: only a transaction that never prepared is dropped here.
        if (!store.isCommitting(request.txId)) await store.abortStaged(request.txId);
        return {};
    }
  };
}

export interface ShardTransferInit {
  readonly selfId: string;
}

export interface ShardTransferComponents {
  readonly store: ShardStore;
  readonly manifests: ManifestStore;
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
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
  readonly #store: ShardStore;
  readonly #manifests: ManifestStore;
  readonly #rpc: PeerRpc;
  readonly #server: ProtocolServer;

  constructor(init: ShardTransferInit, components: ShardTransferComponents) {
    this.#selfId = init.selfId;
    this.#store = components.store;
    this.#manifests = components.manifests;
    this.#rpc = components.rpc;
    this.#server = components.server;
  }

  /** Serves /trinity/shard/1.0.0 from the local store. */
  async start(): Promise<void> {
    await this.#server.handle(
      PROTOCOLS.shard,
      shardRequestSchema,
      shardHandler(this.#store, this.#manifests),
    );
  }

  async stop(): Promise<void> {
    await this.#server.unhandle(PROTOCOLS.shard);
  }

  async store(
    node: string,
    hash: Uint8Array,
    data: Uint8Array,
    options: { txId?: string } = {},
  ): Promise<void> {
    if (node === this.#selfId) {
      if (options.txId !== undefined) await this.#store.stage(options.txId, data, { expectedHash: hash });
      else await this.#store.put(data, { expectedHash: hash });
      return;
    }
    const header = {
      op: 'store',
      hash: toHex(hash),
      size: data.length,
      ...(options.txId ? { txId: options.txId } : {}),
    };
    await this.#rpc.call(node, PROTOCOLS.shard, header, data);
  }

  /** The shard's bytes as the node sent them: the caller verifies the hash. */
  async fetch(node: string, hash: Uint8Array, timeoutMs?: number): Promise<Uint8Array> {
    if (node === this.#selfId) return this.#store.get(hash);
    const reply = await this.#rpc.call(node, PROTOCOLS.shard, { op: 'fetch', hash: toHex(hash) }, undefined, {
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return reply.body ?? new Uint8Array(0);
  }

  /** Which of `hashes` the node holds (intact, as far as it knows). */
  async has(node: string, hashes: readonly Uint8Array[]): Promise<boolean[]> {
    if (node === this.#selfId) return Promise.all(hashes.map((hash) => this.#store.has(hash)));
    const out: boolean[] = [];
    for (let start = 0; start < hashes.length; start += hashesPerRequestMax) {
      const batch = hashes.slice(start, start + hashesPerRequestMax).map((hash) => toHex(hash));
      const reply = await this.#rpc.call(node, PROTOCOLS.shard, { op: 'has', hashes: batch });
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

  /** Drops what an upload staged under `txId` on `node` (the put failed before prepare). */
  async unstage(node: string, txId: string): Promise<void> {
    if (node === this.#selfId) {
      if (!this.#store.isCommitting(txId)) await this.#store.abortStaged(txId);
      return;
    }
    await this.#rpc.call(node, PROTOCOLS.shard, { op: 'unstage', txId });
  }

  /** Deletes those of `hashes` on `node` that no other object there still uses. */
  async delete(node: string, hashes: readonly Uint8Array[]): Promise<void> {
    if (node === this.#selfId) {
      await deleteUnreferenced(this.#store, this.#manifests, hashes);
      return;
    }
    for (let start = 0; start < hashes.length; start += hashesPerRequestMax) {
      const batch = hashes.slice(start, start + hashesPerRequestMax).map((hash) => toHex(hash));
      await this.#rpc.call(node, PROTOCOLS.shard, { op: 'delete', hashes: batch });
    }
  }
}
