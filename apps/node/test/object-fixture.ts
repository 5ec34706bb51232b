import { type Clock, MemoryLogger, seededRandom } from '@trinity/core';
import { createEncoder } from '@trinity/erasure';
import { createManifest, type Manifest, type SignedDescriptor } from '@trinity/storage';
import type { ManifestDirectory } from '../src/services/manifests/manifest-service.js';
import {
  type ObjectHandle,
  ObjectService,
  type ObjectServiceComponents,
} from '../src/services/objects/object-service.js';
import type { ShardTransfer } from '../src/services/shards/shard-service.js';
import { ownerKeyFromSecret } from '../src/stores/owner-key.js';
import { sha256Hex } from './helpers.js';

/**
 * `bytes` in stripes of RS(k, m) with `shardBytes` shards, shard i of every stripe held by node
 * `n<i>`: the manifest view and the shards by hash.
 */
export function stripedObject(bytes: Uint8Array, k: number, m: number, shardBytes: number) {
  const encoder = createEncoder({ dataShards: k, parityShards: m });
  const stripeBytes = k * shardBytes;
  const byHash = new Map<string, Uint8Array>();
  const stripes: Manifest['stripes'][number][] = [];
  for (let offset = 0; offset < bytes.length; offset += stripeBytes) {
    const chunk = bytes.subarray(offset, Math.min(offset + stripeBytes, bytes.length));
    const shards = Array.from({ length: k + m }, () => new Uint8Array(shardBytes));
    for (let i = 0; i < k; i++) shards[i]!.set(chunk.subarray(i * shardBytes, (i + 1) * shardBytes));
    encoder.encode(shards);
    for (const shard of shards) byHash.set(sha256Hex(shard), shard);
    stripes.push({
      dataBytes: chunk.length,
      shards: shards.map((shard, i) => ({
        hash: sha256Hex(shard),
        holders: [{ nodeId: `n${i}`, region: 'r' }],
      })),
    });
  }
  const manifest = createManifest({
    size: bytes.length,
    erasure: { dataShards: k, parityShards: m, shardBytes },
    stripes,
    createdAtMs: 0,
  });
  return { manifest, byHash, stripeBytes };
}

/** A read handle for a stored object: plaintext when `encryption` is absent. */
export function handleOf(
  manifest: Manifest,
  plain: { size: number; key?: Uint8Array; segmentBytes?: number } = { size: manifest.size },
): ObjectHandle {
  const encryption =
    plain.key === undefined
      ? undefined
      : { algorithm: 'aes-256-gcm/stream-v1', segmentBytes: plain.segmentBytes!, wrappedKey: '00' };
  return {
    id: '0'.repeat(64),
    descriptor: { ...(encryption === undefined ? {} : { encryption }) } as SignedDescriptor,
    manifest,
    size: plain.size,
    name: undefined,
    createdAtMs: 0,
    encrypted: encryption !== undefined,
    key: plain.key,
  };
}

/** An ObjectService over `transfer` (reads through its fetch; puts, with `targets`, through its stage). */
export function readingService(
  erasure: { dataShards: number; parityShards: number; shardBytes: number },
  transfer: Pick<ShardTransfer, 'fetch'> & Partial<Pick<ShardTransfer, 'has' | 'recycle'>>,
  options: {
    clock: Clock;
    hedgeAfterMs: number;
    liveNodes?: string[];
    targets?: string[];
    decryptPool?: ObjectServiceComponents['decryptPool'];
  },
): ObjectService {
  return new ObjectService(
    {
      selfId: 'self',
      erasure,
      maxObjectBytes: 1 << 30,
      maxStripesInFlight: 2,
      hedgeAfterMs: options.hedgeAfterMs,
      segmentBytes: 4096,
      tombstoneRetentionMs: 3_600_000,
      intentLifetimeMs: 60_000,
      leaseRenewMs: 20_000,
    },
    {
      store: undefined as never,
      transfer: transfer as unknown as ShardTransfer,
      directory: undefined as unknown as ManifestDirectory,
      nodes: { liveNodes: () => (options.liveNodes ?? []).map((id) => ({ id, region: 'r' })) },
      placement: { place: () => options.targets ?? [], rank: (ids) => [...ids] },
      transactions: { maxLocksPerTransaction: 64, execute: async () => ({ outcome: 'committed' as const }) },
      owner: ownerKeyFromSecret(new Uint8Array(32).fill(1)),
      random: seededRandom(1),
      clock: options.clock,
      logger: new MemoryLogger(),
      ...(options.decryptPool === undefined ? {} : { decryptPool: options.decryptPool }),
    },
  );
}
