import { describe, sha256, toHex } from '@trinity/core';
import { createEncoder } from '@trinity/erasure';
import { InsufficientShardsError, RepairVerificationError } from './errors.js';
import { parseShardHash } from './ids.js';
import type { Holder } from './manifest.js';
import type { RepairSource, RepairTask } from './repair-planner.js';

/** The network effects repair needs; the daemon implements them over its wire protocol. */
export interface RepairIo {
  /** The bytes of shard `hash` from `fromNode`. They are verified here, so a lying peer is harmless. */
  fetch(hash: Uint8Array, fromNode: Holder): Promise<Uint8Array>;
  /** Stores a rebuilt shard on `toNode`; resolves once the node has it durably. */
  store(hash: Uint8Array, data: Uint8Array, toNode: Holder): Promise<void>;
}

/** The part of @trinity/erasure's Encoder that repair uses. */
export interface StripeCodec {
  readonly dataShards: number;
  readonly parityShards: number;
  /** Fills every null entry from any k present ones (in place) and returns the full list. */
  reconstruct(shards: (Uint8Array | null | undefined)[]): Uint8Array[];
}

/** One rebuilt shard and where it now lives. */
export interface RepairedShard {
  shardIndex: number;
  hash: string;
  holders: Holder[];
}

export interface StripeRepairResult {
  taskId: string;
  objectId: string;
  stripeIndex: number;
  /** Shards rebuilt, verified and stored: feed them to `updateHolders`. */
  repaired: RepairedShard[];
  /** Shards rebuilt and verified whose target refused or failed to store them. */
  failed: { shardIndex: number; hash: string; target: Holder; error: string }[];
  /** Sources that failed or sent bytes that did not match their hash (for reputation). */
  badSources: { shardIndex: number; nodeId: string; reason: string }[];
  bytesFetched: number;
  bytesStored: number;
}

const codecCacheMax = 64;
const codecCache = new Map<string, StripeCodec>();

/** A cached @trinity/erasure encoder for RS(k, m). */
export function defaultStripeCodec(dataShards: number, parityShards: number): StripeCodec {
  const key = `${dataShards}/${parityShards}`;
  let codec = codecCache.get(key);
  if (codec === undefined) {
    codec = createEncoder({ dataShards, parityShards });
    if (codecCache.size >= codecCacheMax) codecCache.delete(codecCache.keys().next().value as string);
    codecCache.set(key, codec);
  }
  return codec;
}

type Fetched = { kind: 'ok'; data: Uint8Array } | { kind: 'bad'; nodeId: string; reason: string };

async function fetchFromHolder(
  io: RepairIo,
  source: RepairSource,
  holder: Holder,
  shardBytes: number,
): Promise<Fetched> {
  let data: unknown;
  try {
    data = await io.fetch(parseShardHash(source.hash), holder);
  } catch (error) {
    return {
      kind: 'bad',
      nodeId: holder.nodeId,
      reason: `fetch failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (!(data instanceof Uint8Array))
    return { kind: 'bad', nodeId: holder.nodeId, reason: `sent ${describe(data)}` };
  if (data.length !== shardBytes) {
    return {
      kind: 'bad',
      nodeId: holder.nodeId,
      reason: `sent ${data.length} bytes, expected ${shardBytes}`,
    };
  }
  if (toHex(sha256(data)) !== source.hash)
    return { kind: 'bad', nodeId: holder.nodeId, reason: 'hash mismatch' };
  return { kind: 'ok', data };
}

/** Tries one source's holders in order; the first valid copy wins. */
async function fetchSource(
  io: RepairIo,
  source: RepairSource,
  shardBytes: number,
  result: StripeRepairResult,
): Promise<Uint8Array | undefined> {
  for (const holder of source.holders) {
    const fetched = await fetchFromHolder(io, source, holder, shardBytes);
    if (fetched.kind === 'ok') {
      result.bytesFetched += fetched.data.length;
      return fetched.data;
    }
    result.badSources.push({ shardIndex: source.shardIndex, nodeId: fetched.nodeId, reason: fetched.reason });
  }
  return undefined;
}

/** Fetches k valid shards: the planned sources first, spares for each one that fails, `need` at a time. */
async function fetchK(
  task: RepairTask,
  io: RepairIo,
  result: StripeRepairResult,
): Promise<Map<number, Uint8Array>> {
  const { dataShards, shardBytes } = task.erasure;
  const queue = [...task.sources, ...task.spares];
  const valid = new Map<number, Uint8Array>();
  while (valid.size < dataShards && queue.length > 0) {
    const batch = queue.splice(0, dataShards - valid.size);
    const fetched = await Promise.all(batch.map((source) => fetchSource(io, source, shardBytes, result)));
    for (const [i, data] of fetched.entries()) if (data !== undefined) valid.set(batch[i]!.shardIndex, data);
  }
  if (valid.size < dataShards) throw new InsufficientShardsError(task.stripeIndex, valid.size, dataShards);
  return valid;
}

/**
 * Repairs one stripe: fetches any k valid shards (verifying each against the manifest hash, trying
 * other holders and spare shards when one fails), rebuilds the missing ones with Reed-Solomon,
 * checks every rebuilt shard against the manifest hash (RepairVerificationError, nothing stored,
 * if one differs), stores each on its planned target and returns the new holders.
 */
export async function executeStripeRepair(
  task: RepairTask,
  io: RepairIo,
  codec: StripeCodec = defaultStripeCodec(task.erasure.dataShards, task.erasure.parityShards),
): Promise<StripeRepairResult> {
  const { dataShards, parityShards } = task.erasure;
  if (codec.dataShards !== dataShards || codec.parityShards !== parityShards) {
    throw new RangeError(
      `codec is RS(${codec.dataShards},${codec.parityShards}), task needs RS(${dataShards},${parityShards})`,
    );
  }
  const result: StripeRepairResult = {
    taskId: task.id,
    objectId: task.objectId,
    stripeIndex: task.stripeIndex,
    repaired: [],
    failed: [],
    badSources: [],
    bytesFetched: 0,
    bytesStored: 0,
  };
  const valid = await fetchK(task, io, result);
  const shards: (Uint8Array | null)[] = Array.from(
    { length: dataShards + parityShards },
    (_, i) => valid.get(i) ?? null,
  );
  const rebuilt = codec.reconstruct(shards);
  const outputs = task.rebuild.map((target) => {
    const data = rebuilt[target.shardIndex];
    const actual = data === undefined ? 'nothing' : toHex(sha256(data));
    if (data === undefined || actual !== target.hash) {
      throw new RepairVerificationError(task.stripeIndex, target.shardIndex, target.hash, actual);
    }
    return { target, data };
  });
  await Promise.all(
    outputs.map(async ({ target, data }) => {
      try {
        await io.store(parseShardHash(target.hash), data, target.target);
        result.bytesStored += data.length;
        result.repaired.push({
          shardIndex: target.shardIndex,
          hash: target.hash,
          holders: [{ ...target.target }],
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        result.failed.push({
          shardIndex: target.shardIndex,
          hash: target.hash,
          target: target.target,
          error: message,
        });
      }
    }),
  );
  result.repaired.sort((a, b) => a.shardIndex - b.shardIndex);
  return result;
}
