import { describe } from '@trinity/core';
import {
  type ErasureParams,
  type Holder,
  holderSchema,
  type Manifest,
  objectId,
  parseManifest,
} from './manifest.js';

/** The state of one shard of a stripe across all its holders: 'ok' when at least one holder has it intact. */
export type ShardHealth = 'ok' | 'missing' | 'corrupt';

/** A healthy shard to read, with the nodes that hold it. */
export interface RepairSource {
  shardIndex: number;
  hash: string;
  holders: Holder[];
}

/** A shard to rebuild and the node that is to store it. */
export interface RepairTarget {
  shardIndex: number;
  hash: string;
  target: Holder;
}

/** The repair of one stripe. */
export interface RepairTask {
  /** `<objectId>/<stripeIndex>`: the same stripe always gets the same id. */
  id: string;
  objectId: string;
  manifestVersion: number;
  stripeIndex: number;
  erasure: ErasureParams;
  dataBytes: number;
  healthy: number;
  /** healthy - dataShards: how many more shards the stripe can lose. 0 = one more loss loses data. */
  margin: number;
  /** The k shards to read first (data shards before parity, lowest index first). */
  sources: RepairSource[];
  /** The other healthy shards, read when a source fails or sends bad bytes. */
  spares: RepairSource[];
  rebuild: RepairTarget[];
  /** Bytes this repair moves: k shards fetched plus one stored per rebuilt shard. */
  bytes: number;
}

/** A stripe with fewer than k healthy shards: its data is gone unless a lost holder comes back. */
export interface LostStripe {
  stripeIndex: number;
  healthy: number;
  needed: number;
}

export interface RepairPlan {
  objectId: string;
  manifestVersion: number;
  /** Most endangered first. */
  tasks: RepairTask[];
  lost: LostStripe[];
  /** Shards that need rebuilding but found no eligible node (all candidates already hold one of the stripe). */
  unplaced: { stripeIndex: number; shardIndex: number }[];
  healthyStripes: number;
}

export interface PlanRepairOptions {
  /** Live nodes that may receive rebuilt shards. */
  candidates: readonly Holder[];
  /** Rebuilt shards one node may receive in this plan (spreads the load); default unbounded. */
  maxRebuildsPerNode?: number;
}

type HealthFn = (stripeIndex: number, shardIndex: number) => ShardHealth;

function checkCandidates(candidates: readonly Holder[]): Holder[] {
  if (!Array.isArray(candidates))
    throw new TypeError(`candidates must be an array, got ${describe(candidates)}`);
  const seen = new Map<string, Holder>();
  for (const [i, candidate] of candidates.entries()) {
    const parsed = holderSchema.safeParse(candidate);
    if (!parsed.success)
      throw new RangeError(`candidates[${i}] is not a valid holder: ${describe(candidate)}`);
    if (!seen.has(parsed.data.nodeId)) seen.set(parsed.data.nodeId, parsed.data);
  }
  return [...seen.values()];
}

function readHealth(health: HealthFn, stripeIndex: number, shardIndex: number): ShardHealth {
  const value = health(stripeIndex, shardIndex);
  if (value !== 'ok' && value !== 'missing' && value !== 'corrupt') {
    throw new TypeError(`health(${stripeIndex}, ${shardIndex}) returned ${describe(value)}`);
  }
  return value;
}

/**
 * Decides what to rebuild and where. Per stripe: the shards that are not 'ok', the k healthy
 * sources to read, and for each rebuilt shard a candidate that holds no shard of that stripe yet,
 * preferring the region with the fewest healthy shards of the stripe, then the node given the
 * fewest rebuilds so far, then the lowest node id. Tasks come most endangered first; stripes with
 * fewer than k healthy shards are reported as lost. Pure: same input, same plan.
 */
export function planRepair(manifest: Manifest, health: HealthFn, options: PlanRepairOptions): RepairPlan {
  const checked = parseManifest(manifest);
  if (typeof health !== 'function') throw new TypeError(`health must be a function, got ${describe(health)}`);
  const candidates = checkCandidates(options.candidates);
  const maxRebuildsPerNode = options.maxRebuildsPerNode ?? Number.POSITIVE_INFINITY;
  const id = objectId(checked);
  const plan: RepairPlan = {
    objectId: id,
    manifestVersion: checked.version,
    tasks: [],
    lost: [],
    unplaced: [],
    healthyStripes: 0,
  };
  const load = new Map<string, number>();
  const { dataShards } = checked.erasure;
  for (const [stripeIndex, stripe] of checked.stripes.entries()) {
    const states = stripe.shards.map((_, shardIndex) => readHealth(health, stripeIndex, shardIndex));
    const healthyIndexes = states.flatMap((state, i) => (state === 'ok' ? [i] : []));
    const brokenIndexes = states.flatMap((state, i) => (state === 'ok' ? [] : [i]));
    if (brokenIndexes.length === 0) {
      plan.healthyStripes++;
      continue;
    }
    if (healthyIndexes.length < dataShards) {
      plan.lost.push({ stripeIndex, healthy: healthyIndexes.length, needed: dataShards });
      continue;
    }
    const placed = placeStripe(
      checked,
      stripeIndex,
      healthyIndexes,
      brokenIndexes,
      candidates,
      load,
      maxRebuildsPerNode,
    );
    for (const shardIndex of placed.unplaced) plan.unplaced.push({ stripeIndex, shardIndex });
    if (placed.rebuild.length === 0) continue;
    const sources = healthyIndexes.map((shardIndex) => ({
      shardIndex,
      hash: stripe.shards[shardIndex]!.hash,
      holders: [...stripe.shards[shardIndex]!.holders],
    }));
    plan.tasks.push({
      id: `${id}/${stripeIndex}`,
      objectId: id,
      manifestVersion: checked.version,
      stripeIndex,
      erasure: { ...checked.erasure },
      dataBytes: stripe.dataBytes,
      healthy: healthyIndexes.length,
      margin: healthyIndexes.length - dataShards,
      sources: sources.slice(0, dataShards),
      spares: sources.slice(dataShards),
      rebuild: placed.rebuild,
      bytes: (dataShards + placed.rebuild.length) * checked.erasure.shardBytes,
    });
  }
  plan.tasks.sort(compareEndangerment);
  return plan;
}

/** Most endangered first: smallest margin, then most shards to rebuild, then object id and stripe order. */
export function compareEndangerment(a: RepairTask, b: RepairTask): number {
  if (a.margin !== b.margin) return a.margin - b.margin;
  if (a.rebuild.length !== b.rebuild.length) return b.rebuild.length - a.rebuild.length;
  if (a.objectId !== b.objectId) return a.objectId < b.objectId ? -1 : 1;
  return a.stripeIndex - b.stripeIndex;
}

function placeStripe(
  manifest: Manifest,
  stripeIndex: number,
  healthyIndexes: readonly number[],
  brokenIndexes: readonly number[],
  candidates: readonly Holder[],
  load: Map<string, number>,
  maxRebuildsPerNode: number,
): { rebuild: RepairTarget[]; unplaced: number[] } {
  const stripe = manifest.stripes[stripeIndex]!;
  // Every node named for any shard of the stripe is off limits for another shard, the holders of
  // broken shards too: one node must never end up with two shards of a stripe. The one exception is
  // a broken shard's own live holder, which may take that same shard back (below).
  const occupied = new Set(stripe.shards.flatMap((shard) => shard.holders.map((h) => h.nodeId)));
  const regionCount = new Map<string, number>();
  for (const shardIndex of healthyIndexes) {
    for (const holder of stripe.shards[shardIndex]!.holders) {
      regionCount.set(holder.region, (regionCount.get(holder.region) ?? 0) + 1);
    }
  }
  const rebuild: RepairTarget[] = [];
  const unplaced: number[] = [];
  const candidateIds = new Set(candidates.map((candidate) => candidate.nodeId));
  const holdsOtherShard = (nodeId: string, shardIndex: number) =>
    stripe.shards.some((shard, i) => i !== shardIndex && shard.holders.some((h) => h.nodeId === nodeId));
  const underLoad = (nodeId: string) => (load.get(nodeId) ?? 0) < maxRebuildsPerNode;
  for (const shardIndex of brokenIndexes) {
    // A live holder that lost its copy (a corrupt file quarantined, a disk replaced) takes the same
    // shard back: it ends up holding one shard of the stripe, as before.
    const ownHolder = stripe.shards[shardIndex]!.holders.find(
      (holder) =>
        candidateIds.has(holder.nodeId) &&
        !holdsOtherShard(holder.nodeId, shardIndex) &&
        underLoad(holder.nodeId),
    );
    let best: Holder | undefined = candidates.find((candidate) => candidate.nodeId === ownHolder?.nodeId);
    if (best === undefined) {
      for (const candidate of candidates) {
        if (occupied.has(candidate.nodeId) || !underLoad(candidate.nodeId)) continue;
        if (best === undefined || compareCandidates(candidate, best, regionCount, load) < 0) best = candidate;
      }
    }
    if (best === undefined) {
      unplaced.push(shardIndex);
      continue;
    }
    occupied.add(best.nodeId);
    regionCount.set(best.region, (regionCount.get(best.region) ?? 0) + 1);
    load.set(best.nodeId, (load.get(best.nodeId) ?? 0) + 1);
    rebuild.push({ shardIndex, hash: stripe.shards[shardIndex]!.hash, target: { ...best } });
  }
  return { rebuild, unplaced };
}

function compareCandidates(
  a: Holder,
  b: Holder,
  regionCount: ReadonlyMap<string, number>,
  load: ReadonlyMap<string, number>,
): number {
  const regionDiff = (regionCount.get(a.region) ?? 0) - (regionCount.get(b.region) ?? 0);
  if (regionDiff !== 0) return regionDiff;
  const loadDiff = (load.get(a.nodeId) ?? 0) - (load.get(b.nodeId) ?? 0);
  if (loadDiff !== 0) return loadDiff;
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0;
}
