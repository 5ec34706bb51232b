import { assert, assertInt, assertNumber, isTrinityError, parseConfig } from '@trinity/core';
import { type RebalanceConfig, type RebalanceConfigInput, rebalanceConfigSchema } from './config.js';
import { InvalidNodeError } from './errors.js';
import { assertPeerId } from './latency-tracker.js';
import { type PlacementNode, type PlacementRules, StripePlacer } from './placement.js';
import type { RegionId } from './regions.js';
import { _rendezvousTop } from './rendezvous.js';

/** Where the shards of one stripe are now. */
export interface StripeLayout {
  readonly id: string;
  readonly clientRegion: RegionId;
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardBytes: number;
  /** The node of each shard index (length k + m); null for a shard with no holder. */
  readonly holders: readonly (string | null)[];
}

export type MoveReason = 'holder-lost' | 'node-cap' | 'region-cap' | 'spread';

/** One shard to put on another node. */
export interface ShardMove {
  readonly stripeId: string;
  readonly shardIndex: number;
  /** The current holder; null or a node that left when the shard must be rebuilt (`repair`). */
  readonly from: string | null;
  readonly to: string;
  readonly bytes: number;
  /** `repair`: rebuild from any k other shards; `move`: copy from `from`, then delete there. */
  readonly kind: 'repair' | 'move';
  readonly reason: MoveReason;
}

export interface RebalancePlan {
  /** The moves for this interval, most endangered stripes first. */
  readonly moves: ShardMove[];
  readonly bytesPlanned: number;
  /** Moves needed but left for a later interval by the byte or move budget. */
  readonly deferredMoves: number;
  readonly deferredBytes: number;
  /** Stripes whose rules cannot be restored with the nodes there are, and why. */
  readonly blocked: { readonly stripeId: string; readonly reason: string }[];
}

interface Cluster {
  readonly byId: Map<string, PlacementNode>;
  readonly byRegion: Map<RegionId, PlacementNode[]>;
  readonly counts: Map<RegionId, number>;
  /** Bytes already promised to planned moves, per node. */
  readonly reserved: Map<string, number>;
}

interface Pending {
  readonly shardIndex: number;
  readonly from: string | null;
  readonly reason: MoveReason;
}

const stripesMax = 10_000_000;

/**
 * Plans the fewest shard moves that bring every stripe back under the placement rules after nodes
 * joined or left: shards on departed nodes (repair), shards over the per-node or per-region cap, and
 * stripes spanning fewer regions than the rules want. Shards in valid positions never move, and a
 * stripe placed under a fallback (few nodes) is tightened once joins allow it. Moves are ordered most
 * endangered stripe first (fewest spare shards) and cut at the interval's byte and move budget.
 * Latency is not a reason to move. Pure: the caller applies the moves and plans again next interval.
 */
export class Rebalancer {
  readonly config: RebalanceConfig;
  readonly placer: StripePlacer;

  constructor(config: RebalanceConfigInput = {}, placer: StripePlacer = new StripePlacer()) {
    this.config = parseConfig(rebalanceConfigSchema, config, 'rebalance config');
    this.placer = placer;
  }

  plan(stripes: readonly StripeLayout[], nodes: readonly PlacementNode[]): RebalancePlan {
    if (!Array.isArray(stripes) || stripes.length > stripesMax) {
      throw new RangeError(`stripes must be an array of at most ${stripesMax}`);
    }
    const byRegion = this.placer.eligibleByRegion(nodes, 0);
    const byId = new Map<string, PlacementNode>();
    for (const list of byRegion.values()) for (const node of list) byId.set(node.id, node);
    const cluster: Cluster = {
      byId,
      byRegion,
      counts: new Map([...byRegion].map(([region, list]) => [region, list.length])),
      reserved: new Map(),
    };
    // A stripe listed twice would get its moves planned twice: the caller would rebuild a shard twice.
    const ids = new Set<string>();
    const order = stripes.map((stripe) => {
      validateStripe(stripe);
      if (ids.has(stripe.id)) throw new InvalidNodeError(`stripe "${stripe.id}" listed twice`);
      ids.add(stripe.id);
      return { stripe, spare: spareShards(stripe, byId) };
    });
    order.sort((a, b) => a.spare - b.spare);
    return this.#planAll(
      order.map((entry) => entry.stripe),
      cluster,
    );
  }

  #planAll(stripes: readonly StripeLayout[], cluster: Cluster): RebalancePlan {
    const moves: ShardMove[] = [];
    const blocked: { stripeId: string; reason: string }[] = [];
    const rulesCache = new Map<string, PlacementRules | string>();
    let bytesPlanned = 0;
    let deferredMoves = 0;
    let deferredBytes = 0;
    for (const stripe of stripes) {
      const rules = this.#rules(stripe, cluster, rulesCache);
      if (typeof rules === 'string') {
        blocked.push({ stripeId: stripe.id, reason: rules });
        continue;
      }
      const pending = mustMove(stripe, rules, cluster, this.placer.config.minRegionsPerShard);
      if (pending.length === 0) continue;
      let budgetLeft = Math.min(
        this.config.maxMovesPerInterval - moves.length,
        Math.floor((this.config.maxBytesPerInterval - bytesPlanned) / Math.max(stripe.shardBytes, 1)),
      );
      // A shard larger than the whole byte budget still moves, alone, or it would never move.
      if (moves.length === 0) budgetLeft = Math.max(budgetLeft, 1);
      const planned = pending.slice(0, Math.max(0, budgetLeft));
      deferredMoves += pending.length - planned.length;
      deferredBytes += (pending.length - planned.length) * stripe.shardBytes;
      const placed = chooseTargets(stripe, planned, rules, cluster, this.placer.config.minRegionsPerShard);
      if (placed.length < planned.length)
        blocked.push({ stripeId: stripe.id, reason: 'insufficient-capacity' });
      for (const move of placed) {
        moves.push(move);
        bytesPlanned += move.bytes;
      }
    }
    assert(
      bytesPlanned <= this.config.maxBytesPerInterval || moves.length <= 1,
      'rebalance: byte budget exceeded',
    );
    return { moves, bytesPlanned, deferredMoves, deferredBytes, blocked };
  }

  #rules(stripe: StripeLayout, cluster: Cluster, cache: Map<string, PlacementRules | string>) {
    const key = `${stripe.clientRegion}/${stripe.dataShards}/${stripe.parityShards}`;
    let rules = cache.get(key);
    if (rules === undefined) {
      try {
        rules = this.placer.rules(
          stripe.clientRegion,
          cluster.counts,
          stripe.dataShards,
          stripe.parityShards,
        );
      } catch (error) {
        if (!isTrinityError(error)) throw error;
        rules = String((error.details as { reason?: string } | undefined)?.reason ?? error.code);
      }
      cache.set(key, rules);
    }
    return rules;
  }
}

/** Plans moves with default or given configs; see Rebalancer. */
export function planRebalance(input: {
  readonly stripes: readonly StripeLayout[];
  readonly nodes: readonly PlacementNode[];
  readonly placer?: StripePlacer;
  readonly config?: RebalanceConfigInput;
}): RebalancePlan {
  return new Rebalancer(input.config ?? {}, input.placer ?? new StripePlacer()).plan(
    input.stripes,
    input.nodes,
  );
}

function validateStripe(stripe: StripeLayout): void {
  if (typeof stripe !== 'object' || stripe === null) throw new InvalidNodeError('a stripe must be an object');
  assertPeerId(stripe.id, 'stripe id');
  assertInt(stripe.dataShards, 'dataShards', 1, 255);
  assertInt(stripe.parityShards, 'parityShards', 1, 255);
  assertNumber(stripe.shardBytes, 'shardBytes', 0);
  if (!Array.isArray(stripe.holders) || stripe.holders.length !== stripe.dataShards + stripe.parityShards) {
    throw new RangeError(`stripe ${stripe.id}: holders must list k + m entries`);
  }
  for (const holder of stripe.holders)
    if (holder !== null) assertPeerId(holder, `stripe ${stripe.id} holder`);
}

/** Shards alive beyond the k needed: 0 means one more loss loses data. Negative: already lost. */
function spareShards(stripe: StripeLayout, alive: ReadonlyMap<string, PlacementNode>): number {
  let count = 0;
  for (const holder of stripe.holders) if (holder !== null && alive.has(holder)) count++;
  return count - stripe.dataShards;
}

/** The shards that must move, the fewest that can restore the rules (see Rebalancer). */
function mustMove(
  stripe: StripeLayout,
  rules: PlacementRules,
  cluster: Cluster,
  minRegions: number,
): Pending[] {
  const pending: Pending[] = [];
  const kept = new Map<number, PlacementNode>();
  stripe.holders.forEach((holder, index) => {
    const node = holder === null ? undefined : cluster.byId.get(holder);
    if (node === undefined) pending.push({ shardIndex: index, from: holder, reason: 'holder-lost' });
    else kept.set(index, node);
  });
  const take = (index: number, reason: MoveReason) => {
    pending.push({ shardIndex: index, from: kept.get(index)!.id, reason });
    kept.delete(index);
  };
  for (const [, indices] of groupBy(kept, (node) => node.id)) {
    for (const index of indices.slice(rules.nodeCap).reverse()) take(index, 'node-cap');
  }
  for (const [, indices] of groupBy(kept, (node) => node.region)) {
    const excess = indices.length - rules.regionCap;
    for (let i = 0; i < excess; i++) take(busiestShard(kept, indices), 'region-cap');
  }
  const n = stripe.holders.length;
  const wanted = Math.min(minRegions, rules.regions.length, n);
  let spreadNeeded = wanted - groupBy(kept, (node) => node.region).size - pending.length;
  while (spreadNeeded > 0) {
    const regions = [...groupBy(kept, (node) => node.region).values()].filter((list) => list.length >= 2);
    assert(regions.length > 0, 'rebalance: no region has two shards to spread from');
    regions.sort((a, b) => b.length - a.length);
    take(busiestShard(kept, regions[0]!), 'spread');
    spreadNeeded--;
  }
  return pending;
}

/** Of `indices` still kept, the highest shard index on the node holding the most of them. */
function busiestShard(kept: ReadonlyMap<number, PlacementNode>, indices: readonly number[]): number {
  const live = indices.filter((index) => kept.has(index));
  const perNode = groupBy(new Map(live.map((index) => [index, kept.get(index)!])), (node) => node.id);
  let best = -1;
  let bestLoad = -1;
  for (const list of perNode.values()) {
    const top = list[list.length - 1]!;
    if (list.length > bestLoad || (list.length === bestLoad && top > best))
      [best, bestLoad] = [top, list.length];
  }
  assert(best >= 0, 'rebalance: nothing to take');
  return best;
}

/** Shard indices (ascending) grouped by a key of their node. */
function groupBy(kept: ReadonlyMap<number, PlacementNode>, key: (node: PlacementNode) => string) {
  const groups = new Map<string, number[]>();
  for (const [index, node] of [...kept].sort((a, b) => a[0] - b[0])) {
    const k = key(node);
    const list = groups.get(k);
    if (list === undefined) groups.set(k, [index]);
    else list.push(index);
  }
  return groups;
}

/**
 * Targets for the planned moves: first regions the stripe does not span yet (until it spans enough),
 * then the region with the fewest of its shards, preferring the rules' regions in order; within a
 * region the rendezvous-best node with room under the node cap and enough free bytes. Shards whose
 * move was deferred count where they are, so an interval's moves never push a node or region over
 * its cap.
 */
function chooseTargets(
  stripe: StripeLayout,
  planned: readonly Pending[],
  rules: PlacementRules,
  cluster: Cluster,
  minRegions: number,
): ShardMove[] {
  const moving = new Set(planned.map((p) => p.shardIndex));
  const perRegion = new Map<RegionId, number>();
  const perNode = new Map<string, number>();
  stripe.holders.forEach((holder, index) => {
    const node = holder === null ? undefined : cluster.byId.get(holder);
    if (moving.has(index) || node === undefined) return;
    perRegion.set(node.region, (perRegion.get(node.region) ?? 0) + 1);
    perNode.set(node.id, (perNode.get(node.id) ?? 0) + 1);
  });
  const wanted = Math.min(minRegions, rules.regions.length, stripe.holders.length);
  const order = [...rules.regions, ...[...cluster.byRegion.keys()].filter((r) => !rules.regions.includes(r))];
  const moves: ShardMove[] = [];
  for (const item of planned) {
    const spanning = perRegion.size < wanted;
    const candidates = order
      .map((region, rank) => ({ region, rank, have: perRegion.get(region) ?? 0 }))
      .filter((c) => c.have < rules.regionCap && (!spanning || c.have === 0))
      .sort((a, b) => a.have - b.have || a.rank - b.rank);
    const target = firstNodeWithRoom(stripe, candidates, rules, cluster, perNode);
    if (target === undefined) continue;
    perRegion.set(target.region, (perRegion.get(target.region) ?? 0) + 1);
    perNode.set(target.id, (perNode.get(target.id) ?? 0) + 1);
    cluster.reserved.set(target.id, (cluster.reserved.get(target.id) ?? 0) + stripe.shardBytes);
    const sourceGone = item.from === null || !cluster.byId.has(item.from);
    moves.push({
      stripeId: stripe.id,
      shardIndex: item.shardIndex,
      from: item.from,
      to: target.id,
      bytes: stripe.shardBytes,
      kind: sourceGone ? 'repair' : 'move',
      reason: item.reason,
    });
  }
  return moves;
}

function firstNodeWithRoom(
  stripe: StripeLayout,
  candidates: readonly { region: RegionId }[],
  rules: PlacementRules,
  cluster: Cluster,
  perNode: ReadonlyMap<string, number>,
): PlacementNode | undefined {
  for (const { region } of candidates) {
    const open = cluster.byRegion.get(region)!.filter((node) => {
      if ((perNode.get(node.id) ?? 0) >= rules.nodeCap) return false;
      if (node.freeBytes === undefined) return true;
      return node.freeBytes - (cluster.reserved.get(node.id) ?? 0) >= stripe.shardBytes;
    });
    const [best] = _rendezvousTop(stripe.id, open, 1, (node) =>
      Math.max(1, node.freeBytes ?? node.capacityBytes ?? 1),
    );
    if (best !== undefined) return best;
  }
  return undefined;
}
