import { bytesToUtf8, type Clock, isHashHex, type Logger, utf8ToBytes } from '@trinity/core';
import {
  decodeManifest,
  encodeManifest,
  type Manifest,
  type ManifestStore,
  objectId,
} from '@trinity/storage';
import type { TrinityLibp2p } from '../../p2p/network.js';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import { type ManifestRequest, manifestRequestSchema, PROTOCOLS } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import type { StagedManifests } from '../../stores/staged-manifests.js';
import { withTimeout } from '../../timers.js';
import type { PeerList } from '../membership/membership.js';

const dhtPrefix = '/trinity/';
const tombstonePrefix = 'trinity-tombstone:';

export function dhtKey(id: string): Uint8Array {
  return utf8ToBytes(`${dhtPrefix}${id}`);
}

function idFromKey(key: Uint8Array): string {
  const text = bytesToUtf8(key);
  if (!text.startsWith(dhtPrefix)) throw new Error('not a trinity DHT key');
  const id = text.slice(dhtPrefix.length);
  if (!isHashHex(id)) throw new Error('trinity DHT key does not name an object id');
  return id;
}

function isTombstone(value: Uint8Array, id: string): boolean {
  return value.length === tombstonePrefix.length + 64 && bytesToUtf8(value) === `${tombstonePrefix}${id}`;
}

/** Every manifest this node holds, one at a time; one that cannot be read is skipped (the store reports it). */
export async function* localManifests(
  manifests: ManifestStore,
): AsyncGenerator<{ id: string; manifest: Manifest }> {
  for (const id of await manifests.list()) {
    const manifest = await manifests.get(id).catch(() => undefined);
    if (manifest !== undefined) yield { id, manifest };
  }
}

/** DHT validator for the /trinity/ namespace: a manifest whose object id is the key, or its tombstone. */
export function validateManifestRecord(key: Uint8Array, value: Uint8Array): void {
  const id = idFromKey(key);
  if (isTombstone(value, id)) return;
  decodeManifest(value, id);
}

/** DHT selector: a tombstone beats any manifest; among manifests, the highest version wins. */
export function selectManifestRecord(key: Uint8Array, records: Uint8Array[]): number {
  const id = idFromKey(key);
  let best = 0;
  let bestVersion = -1;
  for (const [index, record] of records.entries()) {
    if (isTombstone(record, id)) return index;
    try {
      const version = decodeManifest(record, id).version;
      if (version > bestVersion) {
        best = index;
        bestVersion = version;
      }
    } catch {
      // invalid records never win
    }
  }
  return best;
}

/** Serves /trinity/manifest/1.0.0: peers push manifests of objects whose shards they hold, and ask for them. */
export function manifestHandler(manifests: ManifestStore, staged: StagedManifests) {
  return async (request: ManifestRequest, context: RpcContext): Promise<RpcReply> => {
    switch (request.op) {
      case 'put': {
        const manifest = decodeManifest(await context.readBody(request.size));
        return { value: await manifests.put(manifest) };
      }
      case 'get':
        return { body: encodeManifest(await manifests.get(request.id)) };
      case 'delete':
        return { value: await manifests.delete(request.id) };
      case 'stage':
        await staged.stage(request.txId, request.id, await context.readBody(request.size));
        return {};
    }
  };
}

export interface ManifestDirectoryInit {
  readonly selfId: string;
  /** One DHT lookup or publication. */
  readonly dhtTimeoutMs: number;
}

/** The DHT as the manifest directory uses it. */
export type ManifestDht = Pick<TrinityLibp2p['services']['dht'], 'get' | 'put'>;

export interface ManifestDirectoryComponents {
  readonly manifests: ManifestStore;
  readonly stagedManifests: StagedManifests;
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
  readonly membership: PeerList;
  readonly dht: ManifestDht;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** One line of the object listing. */
export interface ObjectSummary {
  readonly id: string;
  readonly name?: string;
  readonly size: number;
  readonly createdAtMs: number;
}

/** The manifest service's factory: `manifestDirectory(init)(components)`. */
export function manifestDirectory(
  init: ManifestDirectoryInit,
): (components: ManifestDirectoryComponents) => ManifestDirectory {
  return (components) => new ManifestDirectory(init, components);
}

/**
 * Where manifests live: in the local manifest store, on every node holding a shard of the object,
 * and in the DHT under /trinity/<object id>. Lookups try them in that order.
 */
export class ManifestDirectory implements Startable {
  readonly #init: ManifestDirectoryInit;
  readonly #deps: ManifestDirectoryComponents;

  constructor(init: ManifestDirectoryInit, components: ManifestDirectoryComponents) {
    this.#init = init;
    this.#deps = components;
  }

  /** Serves /trinity/manifest/1.0.0. */
  async start(): Promise<void> {
    const { server, manifests, stagedManifests } = this.#deps;
    await server.handle(
      PROTOCOLS.manifest,
      manifestRequestSchema,
      manifestHandler(manifests, stagedManifests),
    );
  }

  async stop(): Promise<void> {
    await this.#deps.server.unhandle(PROTOCOLS.manifest);
  }

  /** The objects whose manifests this node holds, at most `limit`. */
  async list(limit = 1000): Promise<ObjectSummary[]> {
    const out: ObjectSummary[] = [];
    for (const id of (await this.#deps.manifests.list()).slice(0, limit)) {
      const manifest = await this.#deps.manifests.get(id);
      out.push({
        id,
        ...(manifest.name === undefined ? {} : { name: manifest.name }),
        size: manifest.size,
        createdAtMs: manifest.createdAtMs,
      });
    }
    return out;
  }

  /** Stages `manifest` on `node` for transaction `txId`: it appears there if the transaction commits. */
  async stage(node: string, txId: string, manifest: Manifest): Promise<void> {
    const bytes = encodeManifest(manifest);
    const id = objectId(manifest);
    if (node === this.#init.selfId) await this.#deps.stagedManifests.stage(txId, id, bytes);
    else
      await this.#deps.rpc.call(
        node,
        PROTOCOLS.manifest,
        { op: 'stage', txId, id, size: bytes.length },
        bytes,
      );
  }

  /** Announces a committed manifest in the DHT (its holders already have it). */
  async announce(manifest: Manifest): Promise<void> {
    await this.#dhtPut(objectId(manifest), encodeManifest(manifest));
  }

  /** Stores the manifest here, on every holder, and in the DHT. Returns the object id. */
  async publish(manifest: Manifest): Promise<string> {
    const id = await this.#deps.manifests.put(manifest);
    const bytes = encodeManifest(manifest);
    const holders = new Set(
      manifest.stripes.flatMap((s) => s.shards.flatMap((shard) => shard.holders.map((h) => h.nodeId))),
    );
    holders.delete(this.#init.selfId);
    await Promise.allSettled(
      [...holders].map((node) =>
        this.#deps.rpc.call(node, PROTOCOLS.manifest, { op: 'put', size: bytes.length }, bytes),
      ),
    );
    await this.#dhtPut(id, bytes);
    return id;
  }

  /** The manifest of `id`, or undefined when no copy can be found. */
  async resolve(id: string): Promise<Manifest | undefined> {
    if (await this.#deps.manifests.has(id)) return this.#deps.manifests.get(id);
    const fromPeers = await this.#fromPeers(id);
    if (fromPeers !== undefined) return fromPeers;
    return this.#fromDht(id);
  }

  /** Removes the manifest here and on every holder, and tombstones it in the DHT. */
  async unpublish(manifest: Manifest, id: string): Promise<void> {
    const holders = new Set(
      manifest.stripes.flatMap((s) => s.shards.flatMap((shard) => shard.holders.map((h) => h.nodeId))),
    );
    for (const peer of this.#deps.membership.peers()) holders.add(peer.id);
    holders.delete(this.#init.selfId);
    await this.#deps.manifests.delete(id);
    await Promise.allSettled(
      [...holders].map((node) => this.#deps.rpc.call(node, PROTOCOLS.manifest, { op: 'delete', id })),
    );
    await this.#dhtPut(id, utf8ToBytes(`${tombstonePrefix}${id}`));
  }

  async #fromPeers(id: string): Promise<Manifest | undefined> {
    const peers = this.#deps.membership.peers();
    if (peers.length === 0) return undefined;
    const attempts = peers.map(async (peer) => {
      const reply = await this.#deps.rpc.call(peer.id, PROTOCOLS.manifest, { op: 'get', id }, undefined, {
        timeoutMs: 5_000,
      });
      return decodeManifest(reply.body ?? new Uint8Array(0), id);
    });
    try {
      return await Promise.any(attempts);
    } catch {
      return undefined;
    }
  }

  async #fromDht(id: string): Promise<Manifest | undefined> {
    try {
      return await withTimeout(this.#deps.clock, this.#init.dhtTimeoutMs, async (signal) => {
        for await (const event of this.#deps.dht.get(dhtKey(id), { signal })) {
          if (event.name !== 'VALUE') continue;
          if (isTombstone(event.value, id)) return undefined;
          return decodeManifest(event.value, id);
        }
        return undefined;
      });
    } catch (error) {
      this.#deps.logger.debug({ id, err: (error as Error).message }, 'DHT lookup failed');
      return undefined;
    }
  }

  async #dhtPut(id: string, value: Uint8Array): Promise<void> {
    try {
      await withTimeout(this.#deps.clock, this.#init.dhtTimeoutMs, async (signal) => {
        for await (const _event of this.#deps.dht.put(dhtKey(id), value, { signal })) {
          // drain the query; the DHT stores the record on the closest peers it reaches
        }
      });
    } catch (error) {
      this.#deps.logger.debug({ id, err: (error as Error).message }, 'DHT put incomplete');
    }
  }
}
