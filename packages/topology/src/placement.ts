import { assert, assertInt, assertNumber, parseConfig } from '@trinity/core';
import { type PlacementConfig, type PlacementConfigInput, placementConfigSchema } from './config.js';
import { InvalidNodeError, PlacementError } from './errors.js';
import { assertIdSet, assertPeerId } from './latency-tracker.js';
import type { RegionId } from './regions.js';
import {
  _hashString,
  type _RendezvousPool,
  _rendezvousTop,
  _rendezvousTopOf,
  _uniformWeight,
} from './rendezvous.js';
import { builtinTopology, type Topology } from './topology.js';

/** A node that can hold shards. */
export interface PlacementNode {
  readonly id: string;
  readonly region: RegionId;
  /** Free bytes: nodes with less than `shardBytes` are skipped; also the node's weight when spreading. */
  readonly freeBytes?: number;
  /** The node's weight when spreading if `freeBytes` is not given. Give every node the same kind of weight. */
  readonly capacityBytes?: number;
}

export interface PlaceStripeInput {
  readonly clientRegion: RegionId;
  /** The nodes, or a `PlacementNodeSet` from `prepare` (validated once, for placing many stripes). */
  readonly nodes: readonly PlacementNode[] | PlacementNodeSet;
  readonly dataShards: number;
  readonly parityShards: number;
  /** Bytes of one shard (default 0). */
  readonly shardBytes?: number;
  /** Spreads stripes over the nodes of a region by rendezvous hashing: same key, same nodes. */
  readonly stripeKey?: string;
  /** Node ids never to use (down, draining). */
  readonly exclude?: ReadonlySet<string>;
}

/** The caps and regions a stripe is placed under, as resolved for one cluster. */
export interface PlacementRules {
  /** Shards of one stripe per region at most: m unless `allowRegionConcentration` had to raise it. */
  readonly regionCap: number;
  /** Shards of one stripe per node at most. */
  readonly nodeCap: number;
  /** The regions to use, in preference order (client's own first, then nearest). */
  readonly regions: readonly RegionId[];
  /** True when regions beyond `maxWriteLatencyMs` had to be used. */
  readonly latencyRelaxed: boolean;
}

export interface StripePlacement extends PlacementRules {
  /** The node of each shard index, length k + m; data shards go to the nearest regions. */
  readonly nodeIds: readonly string[];
  readonly shardsPerRegion: ReadonlyMap<RegionId, number>;
  /** True when losing any one whole region loses at most m shards of the stripe. */
  readonly regionLossSafe: boolean;
}

/**
 * A node list validated once and grouped by region (`StripePlacer.prepare`): placing a stripe over
 * it skips the per-call validation and grouping, which dominate at thousands of nodes. Immutable: a
 * snapshot of the list it was made from.
 */
export class PlacementNodeSet {
  readonly size: number;
  readonly #byRegion: ReadonlyMap<RegionId, RegionPool>;
  readonly #regionOf: ReadonlyMap<string, RegionId>;
  /** The topology the regions were checked against. */
  readonly topology: Topology;

  /** @internal Use `StripePlacer.prepare`. */
  constructor(byRegion: Map<RegionId, PlacementNode[]>, topology: Topology) {
    const regionOf = new Map<string, RegionId>();
    const pools = new Map<RegionId, RegionPool>();
    let size = 0;
    for (const [region, list] of byRegion) {
      let minFree = Number.POSITIVE_INFINITY;
      const free = new Float64Array(list.length);
      const weights = new Float64Array(list.length);
      const idHashes = new Uint32Array(list.length);
      for (const [i, node] of list.entries()) {
        regionOf.set(node.id, region);
        free[i] = node.freeBytes ?? Number.NaN;
        if (node.freeBytes !== undefined && node.freeBytes < minFree) minFree = node.freeBytes;
        weights[i] = weightOf(node);
        idHashes[i] = _hashString(node.id);
      }
      const nodes = Object.freeze(list);
      pools.set(region, {
        nodes,
        ids: nodes.map((node) => node.id),
        idHashes,
        weights,
        uniformWeight: _uniformWeight(weights),
        free,
        minFree,
      });
      size += list.length;
    }
    this.#byRegion = pools;
    this.#regionOf = regionOf;
    this.size = size;
    this.topology = topology;
  }

  /**
   * Eligible nodes per region for one stripe: their counts now, and a region's best by rendezvous
   * when asked, skipping excluded nodes and nodes short of `shardBytes` (no list is copied).
   */
  eligible(shardBytes: number, exclude: ReadonlySet<string> | undefined): EligibleNodes {
    const excludedIn = new Map<RegionId, number>();
    if (exclude !== undefined) {
      for (const id of exclude) {
        const region = this.#regionOf.get(id);
        if (region !== undefined) excludedIn.set(region, (excludedIn.get(region) ?? 0) + 1);
      }
    }
    const skipOf = (pool: RegionPool, region: RegionId): ((i: number) => boolean) | undefined => {
      const short = pool.minFree < shardBytes;
      const excluded = excludedIn.has(region) ? exclude : undefined;
      if (!short && excluded === undefined) return undefined;
      return (i) => (short && pool.free[i]! < shardBytes) || excluded?.has(pool.ids[i]!) === true;
    };
    const counts = new Map<RegionId, number>();
    for (const [region, pool] of this.#byRegion) {
      let count: number;
      if (pool.minFree < shardBytes) {
        const skip = skipOf(pool, region)!;
        count = 0;
        for (let i = 0; i < pool.ids.length; i++) if (!skip(i)) count++;
      } else count = pool.ids.length - (excludedIn.get(region) ?? 0);
      if (count > 0) counts.set(region, count);
    }
    return {
      counts,
      top: (region, key, count) => {
        const pool = this.#byRegion.get(region);
        if (pool === undefined) return [];
        return _rendezvousTopOf(key, pool, count, skipOf(pool, region)).map((i) => pool.nodes[i]!);
      },
    };
  }
}

/** One region's nodes in a `PlacementNodeSet`, with what ranking them needs computed once. */
interface RegionPool extends _RendezvousPool {
  readonly nodes: readonly PlacementNode[];
  /** Each node's `freeBytes` (NaN when not given: never short). */
  readonly free: Float64Array;
  /** The smallest `freeBytes` given (Infinity when no node gives one). */
  readonly minFree: number;
}

/** The nodes a stripe may use: how many per region, and a region's `count` best for a stripe key. */
interface EligibleNodes {
  readonly counts: ReadonlyMap<RegionId, number>;
  readonly top: (region: RegionId, stripeKey: string, count: number) => readonly PlacementNode[];
}

function eligibleOf(byRegion: ReadonlyMap<RegionId, readonly PlacementNode[]>): EligibleNodes {
  return {
    counts: new Map([...byRegion].map(([region, nodes]) => [region, nodes.length])),
    top: (region, key, count) => _rendezvousTop(key, byRegion.get(region) ?? [], count, weightOf),
  };
}

const nodesMax = 10_000_000;
const shardsMax = 256;

/**
 * Region-aware stripe placement. Rules, strongest first:
 * 1. at most m shards of a stripe in one region, so losing any one region loses at most m shards
 *    (relaxed only with `allowRegionConcentration`, for one-region dev networks);
 * 2. at most `maxShardsPerNode` (default 1) shards per node, raised one step at a time up to m only when
 *    the eligible nodes are too few;
 * 3. the client's region always, then the nearest regions, at least `minRegionsPerShard` of them when the
 *    cluster has that many (fewer are accepted when rule 1 still holds);
 * 4. only regions within `maxWriteLatencyMs` of the client, unless those cannot hold the stripe under
 *    rules 1-2: then the nearest farther regions are added (`latencyRelaxed`), or with `strictLatency`
 *    a PlacementError is thrown.
 * Shards are spread evenly over the chosen regions; within a region, by weighted rendezvous hashing.
 */
export class StripePlacer {
  readonly config: PlacementConfig;
  readonly topology: Topology;

  constructor(config: PlacementConfigInput = {}, topology: Topology = builtinTopology()) {
    this.config = parseConfig(placementConfigSchema, config, 'placement config');
    this.topology = topology;
  }

  /** The node id per shard index (length k + m); throws PlacementError when the rules cannot hold. */
  place(input: PlaceStripeInput): string[] {
    return [...this.plan(input).nodeIds];
  }

  /** `place` with the rules it resolved and the resulting spread. */
  plan(input: PlaceStripeInput): StripePlacement {
    const { dataShards: k, parityShards: m } = input;
    assertShape(k, m);
    const shardBytes = input.shardBytes ?? 0;
    assertNumber(shardBytes, 'shardBytes', 0);
    assertIdSet(input.exclude, 'exclude');
    this.topology.indexOf(input.clientRegion, 'clientRegion');
    const { counts, top } =
      input.nodes instanceof PlacementNodeSet
        ? this.#eligibleFromSet(input.nodes, shardBytes, input.exclude)
        : eligibleOf(this.eligibleByRegion(input.nodes, shardBytes, input.exclude));
    const rules = this.rules(input.clientRegion, counts, k, m);
    const perRegion = allocate(rules, counts, k + m);
    const nodeIds: string[] = [];
    for (const [region, shards] of perRegion) {
      const ranked = top(region, input.stripeKey ?? '', Math.min(shards, counts.get(region) ?? 0));
      for (let i = 0; i < shards; i++) nodeIds.push(ranked[i % ranked.length]!.id);
    }
    const placement = {
      ...rules,
      nodeIds,
      shardsPerRegion: perRegion,
      regionLossSafe: maxOf(perRegion) <= m,
    };
    checkPlacement(placement, k + m);
    return placement;
  }

  /**
   * The caps and regions for a stripe of RS(k, m) written from `clientRegion`, given how many eligible
   * nodes each region has. Throws PlacementError when no caps satisfy the rules.
   */
  rules(
    clientRegion: RegionId,
    nodesPerRegion: ReadonlyMap<RegionId, number>,
    k: number,
    m: number,
  ): PlacementRules {
    assertShape(k, m);
    const n = k + m;
    const order = this.topology
      .nearest(clientRegion)
      .filter((region) => (nodesPerRegion.get(region) ?? 0) > 0);
    if (order.length === 0) throw new PlacementError('no-nodes', 'no eligible node to place a stripe on');
    const maxMs = this.config.maxWriteLatencyMs;
    const within = order.filter((region) => this.topology.latencyMs(clientRegion, region) <= maxMs);
    const pools = this.config.strictLatency || within.length === order.length ? [within] : [within, order];
    const regionCaps = [m];
    if (this.config.allowRegionConcentration) for (let cap = m + 1; cap <= n; cap++) regionCaps.push(cap);
    for (const regionCap of regionCaps) {
      for (const [poolIndex, pool] of pools.entries()) {
        for (
          let nodeCap = Math.min(this.config.maxShardsPerNode, regionCap);
          nodeCap <= regionCap;
          nodeCap++
        ) {
          const caps = { regionCap, nodeCap };
          const regions = chooseRegions(pool, nodesPerRegion, caps, n, this.config.minRegionsPerShard);
          if (regions !== undefined) return { ...caps, regions, latencyRelaxed: poolIndex > 0 };
        }
      }
    }
    throw infeasible(order.length, within.length, k, m, this.config.strictLatency);
  }

  /**
   * `nodes` validated (unique ids, known regions, sane sizes) and grouped once, for `place` / `plan`
   * of many stripes over the same nodes; a copy, so later changes to `nodes` do not reach it.
   */
  prepare(nodes: readonly PlacementNode[]): PlacementNodeSet {
    const grouped = this.eligibleByRegion(nodes, 0);
    for (const [region, list] of grouped)
      grouped.set(
        region,
        list.map((node) => Object.freeze({ ...node })),
      );
    return new PlacementNodeSet(grouped, this.topology);
  }

  #eligibleFromSet(
    set: PlacementNodeSet,
    shardBytes: number,
    exclude: ReadonlySet<string> | undefined,
  ): EligibleNodes {
    if (set.topology !== this.topology)
      throw new InvalidNodeError('the node set was prepared by a placer with another topology');
    return set.eligible(shardBytes, exclude);
  }

  /** Eligible nodes grouped by region (validated: unique ids, known regions, enough free space). */
  eligibleByRegion(
    nodes: readonly PlacementNode[],
    shardBytes: number,
    exclude?: ReadonlySet<string>,
  ): Map<RegionId, PlacementNode[]> {
    if (!Array.isArray(nodes)) throw new InvalidNodeError('nodes must be an array');
    if (nodes.length > nodesMax) throw new InvalidNodeError(`at most ${nodesMax} nodes, got ${nodes.length}`);
    const seen = new Set<string>();
    const byRegion = new Map<RegionId, PlacementNode[]>();
    for (const node of nodes) {
      validateNode(node, seen, this.topology);
      if (exclude?.has(node.id) === true) continue;
      if (node.freeBytes !== undefined && node.freeBytes < shardBytes) continue;
      const list = byRegion.get(node.region);
      if (list === undefined) byRegion.set(node.region, [node]);
      else list.push(node);
    }
    return byRegion;
  }
}

function assertShape(k: number, m: number): void {
  assertInt(k, 'dataShards', 1, shardsMax - 1);
  assertInt(m, 'parityShards', 1, shardsMax - 1);
  if (k + m > shardsMax)
    throw new RangeError(`dataShards + parityShards must be <= ${shardsMax}, got ${k + m}`);
}

function validateNode(node: PlacementNode, seen: Set<string>, topology: Topology): void {
  if (typeof node !== 'object' || node === null) throw new InvalidNodeError('a node must be an object');
  try {
    assertPeerId(node.id, 'node id');
    for (const field of ['freeBytes', 'capacityBytes'] as const) {
      if (node[field] !== undefined) assertNumber(node[field], `node ${field}`, 0);
    }
  } catch (error) {
    throw new InvalidNodeError((error as Error).message, { id: node.id });
  }
  if (seen.has(node.id)) throw new InvalidNodeError(`node ${JSON.stringify(node.id)} listed twice`);
  seen.add(node.id);
  if (!topology.has(node.region)) {
    throw new InvalidNodeError(
      `node ${JSON.stringify(node.id)} has unknown region ${JSON.stringify(node.region)}`,
    );
  }
}

function weightOf(node: PlacementNode): number {
  return Math.max(1, node.freeBytes ?? node.capacityBytes ?? 1);
}

/** The shortest prefix of `pool` with room for n shards under the caps and at least minRegions regions. */
function chooseRegions(
  pool: readonly RegionId[],
  nodesPerRegion: ReadonlyMap<RegionId, number>,
  caps: { regionCap: number; nodeCap: number },
  n: number,
  minRegions: number,
): RegionId[] | undefined {
  let room = 0;
  const chosen: RegionId[] = [];
  for (const region of pool) {
    if (room >= n && chosen.length >= minRegions) break;
    chosen.push(region);
    room += regionRoom(nodesPerRegion.get(region) ?? 0, caps);
  }
  return room >= n ? chosen : undefined;
}

/** Shards of one stripe a region with `nodes` eligible nodes can hold under the caps. */
export function _regionRoom(nodes: number, caps: { regionCap: number; nodeCap: number }): number {
  return Math.min(caps.regionCap, nodes * caps.nodeCap);
}
const regionRoom = _regionRoom;

/** Spreads n shards over the chosen regions as evenly as their room allows, nearer regions first on ties. */
function allocate(
  rules: PlacementRules,
  counts: ReadonlyMap<RegionId, number>,
  n: number,
): Map<RegionId, number> {
  const rooms = rules.regions.map((region) => regionRoom(counts.get(region)!, rules));
  const given = rules.regions.map(() => 0);
  for (let shard = 0; shard < n; shard++) {
    let pick = -1;
    for (let i = 0; i < given.length; i++) {
      if (given[i]! < rooms[i]! && (pick < 0 || given[i]! < given[pick]!)) pick = i;
    }
    assert(pick >= 0, 'placement: chosen regions have no room left');
    given[pick]!++;
  }
  return new Map(rules.regions.map((region, i) => [region, given[i]!] as const).filter(([, s]) => s > 0));
}

function maxOf(values: ReadonlyMap<unknown, number>): number {
  let max = 0;
  for (const value of values.values()) max = Math.max(max, value);
  return max;
}

function checkPlacement(placement: StripePlacement, n: number): void {
  assert(placement.nodeIds.length === n, 'placement: one node per shard');
  const perNode = new Map<string, number>();
  for (const id of placement.nodeIds) perNode.set(id, (perNode.get(id) ?? 0) + 1);
  assert(maxOf(perNode) <= placement.nodeCap, 'placement: node cap exceeded');
  assert(maxOf(placement.shardsPerRegion) <= placement.regionCap, 'placement: region cap exceeded');
}

function infeasible(
  regions: number,
  withinBound: number,
  k: number,
  m: number,
  strict: boolean,
): PlacementError {
  const n = k + m;
  const needed = Math.ceil(n / m);
  if (regions < needed) {
    return new PlacementError(
      'too-few-regions',
      `RS(${k},${m}) needs nodes in at least ${needed} regions so that losing one region loses at most ${m} shards; ` +
        `nodes are in ${regions}`,
      { regions, needed, dataShards: k, parityShards: m },
    );
  }
  assert(strict, 'placement: only the latency bound can fail here');
  return new PlacementError(
    'latency-bound',
    `RS(${k},${m}) needs ${needed} regions within the write latency bound; ${withinBound} have nodes (strictLatency)`,
    { regions, withinBound, needed, dataShards: k, parityShards: m },
  );
}

const defaultPlacers = new WeakMap<Topology, StripePlacer>();

/**
 * Places one stripe: the node id of each shard index (length k + m). See StripePlacer for the rules
 * and their fallbacks; throws PlacementError when they cannot be met.
 */
export function placeStripe(
  input: PlaceStripeInput & { readonly topology?: Topology; readonly config?: PlacementConfigInput },
): string[] {
  const topology = input.topology ?? builtinTopology();
  let placer: StripePlacer;
  if (input.config !== undefined) placer = new StripePlacer(input.config, topology);
  else {
    placer = defaultPlacers.get(topology) ?? new StripePlacer({}, topology);
    defaultPlacers.set(topology, placer);
  }
  return placer.place(input);
}
