import { type Clock, fromHex, hashHexPattern, type Logger, sha256, toHex, utf8ToBytes } from '@trinity/core';
import type { ManifestStore, ShardStore, SignedDescriptor } from '@trinity/storage';
import { deserializeHypervector, type Hypervector, SemanticIndex, serializeHypervector } from '@trinity/vsa';
import { z } from 'zod';
import { BadRequestError } from '../../errors.js';
import type { PeerRpc, ProtocolServer, RpcContext, RpcReply } from '../../p2p/rpc.js';
import { PROTOCOLS } from '../../p2p/wire.js';
import type { Startable } from '../../startable.js';
import type { SemanticIndexFile } from '../../stores/semantic-index-file.js';
import { Repeater } from '../../timers.js';
import type { PeerList } from '../membership/membership.js';
import { shardBytesFor } from '../objects/object-service.js';

/** Dimensions of the fingerprints every node indexes (the seed's 1024). */
export const semanticDims = 1024;
const dims = semanticDims;
/** How often the index is brought in step with the shard store. */
const syncIntervalMs = 2_000;
/** Most results a query may ask for. */
export const searchTopMax = 100;
/** Most query vectors in one query: the whole file and up to 15 of its chunks. */
const queryVectorsMax = 16;
/** Bytes fingerprinted per sync round, so indexing never hogs the node. */
const syncBytesPerRound = 256 * 1024 * 1024;

const vectorHex = z.string().regex(/^[0-9a-f]{2,4096}$/, 'must be a hex-encoded hypervector');

export const semanticRequestSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('query'),
      vectors: z.array(vectorHex).min(1).max(queryVectorsMax),
      topK: z.number().int().min(1).max(searchTopMax),
      threshold: z.number().min(-1).max(1),
    })
    .strict(),
]);
export type SemanticRequest = z.infer<typeof semanticRequestSchema>;

const hitSchema = z
  .object({
    objectId: z.string().regex(hashHexPattern),
    name: z.string().max(255).optional(),
    score: z.number(),
  })
  .strict();
export type SearchHit = z.infer<typeof hitSchema> & { node?: string };

export interface SemanticServiceInit {
  readonly selfId: string;
  readonly dataShards: number;
  readonly shardBytes: number;
}

export interface SemanticServiceComponents {
  readonly store: Pick<ShardStore, 'entries' | 'get'>;
  readonly manifests: ManifestStore;
  readonly membership: PeerList;
  readonly rpc: PeerRpc;
  readonly server: ProtocolServer;
  readonly indexFile: SemanticIndexFile;
  readonly clock: Clock;
  readonly logger: Logger;
}

type SemanticServiceDeps = SemanticServiceInit & SemanticServiceComponents;

/** The semantic service's factory: `semanticService(init)(components)`. */
export function semanticService(
  init: SemanticServiceInit,
): (components: SemanticServiceComponents) => SemanticService {
  return (components) => new SemanticService(init, components);
}

/**
 * The seed's semantic layer in the daemon (`--semantic`): every shard this node holds is fingerprinted
 * into a @trinity/vsa SemanticIndex (kept in step with the store by a background sync, saved to disk
 * on stop), and a search fingerprints the query file (whole and in chunks), asks every node over
 * /trinity/semantic/1.0.0 and merges the hits by object, best score first.
 */
export class SemanticService implements Startable {
  readonly #deps: SemanticServiceDeps;
  readonly #syncer: Repeater;
  #index: SemanticIndex = new SemanticIndex({ dims });
  #syncing: Promise<void> | undefined;

  constructor(init: SemanticServiceInit, components: SemanticServiceComponents) {
    this.#deps = { ...init, ...components };
    this.#syncer = new Repeater(components.clock, syncIntervalMs, () => this.sync());
  }

  get size(): number {
    return this.#index.size;
  }

  async start(): Promise<void> {
    try {
      this.#index = (await this.#deps.indexFile.load()) ?? this.#index;
    } catch (error) {
      // A damaged index is rebuilt from the shards; it is a cache, never the source of truth.
      this.#deps.logger.warn({ err: (error as Error).message }, 'semantic index unreadable; rebuilding');
    }
    await this.sync();
    await this.#deps.server.handle(PROTOCOLS.semantic, semanticRequestSchema, this.handler());
    this.#syncer.start();
  }

  async stop(): Promise<void> {
    await this.#deps.server.unhandle(PROTOCOLS.semantic);
    await this.#syncer.stop();
    await this.#syncing;
    await this.#deps.indexFile.save(this.#index);
  }

  /** Fingerprints shards the index lacks and drops entries of shards no longer held. */
  sync(): Promise<void> {
    this.#syncing ??= this.#syncOnce().finally(() => {
      this.#syncing = undefined;
    });
    return this.#syncing;
  }

  async #syncOnce(): Promise<void> {
    const held = new Set<string>();
    // Only shards of public objects: an encrypted object's shards are ciphertext, and the index
    // must not hold fingerprints of what its owner chose to keep secret. An encrypted object its
    // owner made searchable brings fingerprints of its plaintext, made on the owner's side.
    const indexable = new Set<string>();
    const entries = this.#deps.store.entries();
    const stored = new Set(entries.map(([hash]) => hash));
    for await (const { id, descriptor } of searchableDescriptors(this.#deps.manifests)) {
      if (descriptor.encryption === undefined) {
        for (const stripe of descriptor.stripes) for (const shard of stripe.shards) indexable.add(shard.hash);
        continue;
      }
      // Only for objects this node holds a shard of, as for public ones: a descriptor anyone can
      // send does not buy a place in the index.
      if (!descriptor.stripes.some((stripe) => stripe.shards.some((shard) => stored.has(shard.hash))))
        continue;
      for (const [i, fingerprint] of (descriptor.fingerprints ?? []).entries()) {
        const key = fingerprintKey(id, i);
        held.add(toHex(key));
        if (this.#index.has(key)) continue;
        try {
          this.#index.addVector(key, deserializeHypervector(fromHex(fingerprint), dims));
        } catch (error) {
          this.#deps.logger.warn(
            { id, err: (error as Error).message },
            'unusable fingerprint in a descriptor',
          );
        }
      }
    }
    let budget = syncBytesPerRound;
    for (const [hashHex, sizeBytes] of entries) {
      if (!indexable.has(hashHex)) continue;
      held.add(hashHex);
      const hash = fromHex(hashHex);
      if (this.#index.has(hash) || budget <= 0) continue;
      budget -= sizeBytes;
      const data = await this.#deps.store.get(hash).catch(() => undefined);
      if (data !== undefined && !this.#index.has(hash)) this.#index.add(hash, data);
    }
    for (const hash of [...this.#index.shardHashes()]) if (!held.has(toHex(hash))) this.#index.remove(hash);
  }

  /** Serves /trinity/semantic/1.0.0 queries against this node's index. */
  handler() {
    return async (request: SemanticRequest, _context: RpcContext): Promise<RpcReply> => {
      let vectors: Hypervector[];
      try {
        vectors = request.vectors.map((hex) => deserializeHypervector(fromHex(hex), dims));
      } catch (error) {
        throw new BadRequestError(`bad query vector: ${(error as Error).message}`);
      }
      return { value: await this.#localHits(vectors, request.topK, request.threshold) };
    };
  }

  /** Objects similar to `data` across the network, best first. */
  async search(data: Uint8Array, topK: number, threshold: number): Promise<SearchHit[]> {
    const vectors = this.#queryVectors(data);
    const request = {
      op: 'query',
      vectors: vectors.map((v) => toHex(serializeHypervector(v))),
      topK,
      threshold,
    };
    const remote = await Promise.allSettled(
      this.#deps.membership.peers().map(async (peer) => {
        const reply = await this.#deps.rpc.call(peer.id, PROTOCOLS.semantic, request, undefined, {
          timeoutMs: 10_000,
        });
        return z
          .array(hitSchema)
          .max(searchTopMax)
          .parse(reply.value)
          .map((hit) => ({ ...hit, node: peer.id }));
      }),
    );
    const all: SearchHit[] = (await this.#localHits(vectors, topK, threshold)).map((hit) => ({
      ...hit,
      node: this.#deps.selfId,
    }));
    for (const result of remote) if (result.status === 'fulfilled') all.push(...result.value);
    const best = new Map<string, SearchHit>();
    for (const hit of all) if ((best.get(hit.objectId)?.score ?? -2) < hit.score) best.set(hit.objectId, hit);
    return [...best.values()].sort((a, b) => b.score - a.score).slice(0, topK);
  }

  /** The whole query, plus its chunks cut where a stored object of that length would have its shards cut. */
  #queryVectors(data: Uint8Array): Hypervector[] {
    const vectors = [this.#index.encoder.encode(data)];
    const chunk = shardBytesFor(data.length, this.#deps.dataShards, this.#deps.shardBytes);
    for (
      let offset = 0;
      offset < data.length && vectors.length < queryVectorsMax && data.length > chunk;
      offset += chunk
    ) {
      vectors.push(this.#index.encoder.encode(data.subarray(offset, Math.min(data.length, offset + chunk))));
    }
    return vectors;
  }

  async #localHits(
    vectors: readonly Hypervector[],
    topK: number,
    threshold: number,
  ): Promise<z.infer<typeof hitSchema>[]> {
    const scores = new Map<string, number>(); // shard hash -> best score over the query vectors
    for (const hits of this.#index.searchBatch(vectors, {
      topK: Math.min(searchTopMax * 4, 1_000),
      threshold,
    })) {
      for (const hit of hits) {
        const key = toHex(hit.shardHash);
        scores.set(key, Math.max(scores.get(key) ?? -2, hit.similarity));
      }
    }
    if (scores.size === 0) return [];
    const out = new Map<string, z.infer<typeof hitSchema>>();
    for await (const { id, descriptor: manifest } of searchableDescriptors(this.#deps.manifests)) {
      const keys =
        manifest.encryption === undefined
          ? manifest.stripes.flatMap((stripe) => stripe.shards.map((shard) => shard.hash))
          : (manifest.fingerprints ?? []).map((_, i) => toHex(fingerprintKey(id, i)));
      for (const key of keys) {
        const score = scores.get(key);
        if (score === undefined || (out.get(id)?.score ?? -2) >= score) continue;
        out.set(id, {
          objectId: id,
          ...(manifest.name === undefined ? {} : { name: manifest.name }),
          score,
        });
      }
    }
    return [...out.values()].sort((a, b) => b.score - a.score).slice(0, topK);
  }
}

/** The searchable objects whose descriptors this node holds: public ones, and encrypted ones with fingerprints. */
async function* searchableDescriptors(
  manifests: ManifestStore,
): AsyncGenerator<{ id: string; descriptor: SignedDescriptor }> {
  for (const id of await manifests.listDescriptors()) {
    const descriptor = await manifests.getDescriptor(id).catch(() => undefined);
    if (
      descriptor !== undefined &&
      (descriptor.encryption === undefined || descriptor.fingerprints !== undefined)
    )
      yield { id, descriptor };
  }
}

/** Where the index keeps an owner-made fingerprint: a key of its own domain, never a shard hash. */
function fingerprintKey(id: string, index: number): Uint8Array {
  return sha256(utf8ToBytes(`trinity-fingerprint/1:${id}:${index}`));
}
