import { assertInt, assertNumber, parseConfig } from '@trinity/core';
import { _bestFirst, type _WalkSource } from './best-first.js';
import {
  type RouterConfig,
  type RouterConfigInput,
  type RouterWeights,
  routerConfigSchema,
} from './config.js';
import { InvalidNodeError, TopologyLimitError, UnknownRegionError } from './errors.js';
import { compositeScore, latencyScore, staticScore } from './latency-score.js';
import { assertIdSet, assertPeerId, LatencyTracker } from './latency-tracker.js';
import type { RouteFeatures } from './least-squares-weights.js';
import type { RegionId } from './regions.js';
import { _ScoreHeap } from './score-heap.js';
import { builtinTopology, type Topology } from './topology.js';

/** A node the router can send requests to. */
export interface RouterNode {
  readonly id: string;
  readonly region: RegionId;
  /** Reputation in [0, 1] (from @trinity/economics). */
  readonly reputation: number;
}

export interface RouteOptions {
  /** Node ids not to return (already tried, busy). */
  readonly exclude?: ReadonlySet<string>;
  /** Raises the configured minimum reputation for this query (it cannot lower it). */
  readonly minReputation?: number;
  /** Which weight set to score with: 0 is `weights`, 1.. are `extraWeightSets` (default 0). */
  readonly weightSet?: number;
}

export interface ScoredNode {
  readonly id: string;
  readonly region: RegionId;
  readonly score: number;
}

export interface RankedCandidate {
  readonly id: string;
  /** The composite score, or -1 for an id the router does not hold or will not route to. */
  readonly score: number;
  /** True when the candidate is in the requester's region within `localReadPreferenceMs`: read it first. */
  readonly preferredLocal: boolean;
}

export interface RegionRouterOptions {
  readonly topology?: Topology;
  /** The region of the node running the router: the latency prior for nodes not yet pinged. */
  readonly selfRegion?: RegionId;
}

interface NodeEntry {
  region: RegionId;
  reputation: number;
}

const topNMax = 10_000;
const candidatesMax = 100_000;

/**
 * The seed's region-aware router, exact at any size. composite = 0.4 latency + 0.4 reputation +
 * 0.2 locality (weights configurable). Latency is this node's EMA of its pings to the candidate
 * (`latencyScore`), or for a node not yet pinged the matrix RTT from `selfRegion`. Locality depends only
 * on the requester's region and the candidate's, so each region keeps a heap ordered by the rest of the
 * score, and a query walks the regions' heaps best-first with each region's locality term added:
 * `best` costs O(regions), `topN` O((n + skipped) log), updates O(log nodes). Sans-IO.
 */
export class RegionRouter {
  readonly config: RouterConfig;
  readonly topology: Topology;
  readonly tracker: LatencyTracker;
  #selfRegion: RegionId | undefined;
  readonly weightSets: readonly RouterWeights[];
  readonly #nodes = new Map<string, NodeEntry>();
  /** Per weight set, per region: nodes at or above minReputation ordered by static score. */
  readonly #indexes: Map<RegionId, _ScoreHeap>[];

  constructor(config: RouterConfigInput = {}, options: RegionRouterOptions = {}) {
    this.config = parseConfig(routerConfigSchema, config, 'router config');
    this.topology = options.topology ?? builtinTopology();
    if (options.selfRegion !== undefined) this.topology.indexOf(options.selfRegion, 'selfRegion');
    this.#selfRegion = options.selfRegion;
    // A peer dropped from the tracker (prune, forget, eviction) falls back to the prior: re-score it.
    this.tracker = new LatencyTracker(
      { ...this.config.tracker, maxPeers: this.config.maxNodes },
      {
        onDrop: (id) => {
          if (this.#nodes.has(id)) this.#reindex(id);
        },
      },
    );
    this.weightSets = [this.config.weights, ...this.config.extraWeightSets];
    this.#indexes = this.weightSets.map(() => new Map());
  }

  get size(): number {
    return this.#nodes.size;
  }

  /** The region the latency prior is taken from (undefined: a neutral prior). */
  get selfRegion(): RegionId | undefined {
    return this.#selfRegion;
  }

  /**
   * Sets this node's region once it is known (configured late or found by `detectRegion`): nodes not
   * pinged yet are re-scored with the matrix RTT from it. O(nodes log nodes).
   */
  setSelfRegion(region: RegionId): void {
    this.topology.indexOf(region, 'selfRegion');
    if (region === this.#selfRegion) return;
    this.#selfRegion = region;
    for (const id of this.#nodes.keys()) if (this.tracker.latencyMs(id) === undefined) this.#reindex(id);
  }

  /** Adds a node or updates its region and reputation. */
  upsertNode(node: RouterNode): void {
    validateRouterNode(node, this.topology);
    const old = this.#nodes.get(node.id);
    if (old === undefined && this.#nodes.size >= this.config.maxNodes) {
      throw new TopologyLimitError(`router holds at most ${this.config.maxNodes} nodes`, { id: node.id });
    }
    if (old !== undefined && old.region !== node.region) this.#unindex(node.id, old.region);
    this.#nodes.set(node.id, { region: node.region, reputation: node.reputation });
    this.#reindex(node.id);
  }

  removeNode(id: string): boolean {
    const old = this.#nodes.get(id);
    if (old === undefined) return false;
    this.#unindex(id, old.region);
    this.#nodes.delete(id);
    this.tracker.forget(id);
    return true;
  }

  has(id: string): boolean {
    return this.#nodes.has(id);
  }

  /** The node's region, reputation and the latency the router uses for it. */
  node(id: string): (RouterNode & { readonly latencyMs: number; readonly measured: boolean }) | undefined {
    const entry = this.#nodes.get(id);
    if (entry === undefined) return undefined;
    const measuredMs = this.tracker.latencyMs(id);
    const latencyMs = measuredMs ?? this.#priorMs(entry.region);
    return {
      id,
      region: entry.region,
      reputation: entry.reputation,
      latencyMs,
      measured: measuredMs !== undefined,
    };
  }

  /** Feeds one ping RTT (also for a node not registered yet); returns the new EMA or undefined if rejected. */
  observeLatency(id: string, rttMs: number, nowMs: number): number | undefined {
    const ema = this.tracker.observe(id, rttMs, nowMs);
    if (ema !== undefined && this.#nodes.has(id)) this.#reindex(id);
    return ema;
  }

  /** The best node for a requester in `requesterRegion`, or undefined if none qualifies. */
  best(requesterRegion: RegionId, options: RouteOptions = {}): ScoredNode | undefined {
    return this.topN(requesterRegion, 1, options)[0];
  }

  /** The n best nodes, best first (ties by id). Exact: the same as scoring every node. */
  topN(requesterRegion: RegionId, n: number, options: RouteOptions = {}): ScoredNode[] {
    assertInt(n, 'n', 0, topNMax);
    const set = this.#weightSet(options);
    const weights = this.weightSets[set]!;
    this.topology.indexOf(requesterRegion, 'requesterRegion');
    const sources: (_WalkSource & { region: RegionId })[] = [];
    for (const [region, heap] of this.#indexes[set]!) {
      const bonus = weights.locality * this.topology.locality(requesterRegion, region);
      sources.push({ heap, bonus, region });
    }
    return this.#walk(sources, n, options);
  }

  /** For a multi-region transaction: the best node in each target region (undefined where none qualifies). */
  bestPerRegion(
    requesterRegion: RegionId,
    regions: readonly RegionId[],
    options: RouteOptions = {},
  ): Map<RegionId, ScoredNode | undefined> {
    const set = this.#weightSet(options);
    const weights = this.weightSets[set]!;
    this.topology.indexOf(requesterRegion, 'requesterRegion');
    const out = new Map<RegionId, ScoredNode | undefined>();
    for (const region of regions) {
      this.topology.indexOf(region, 'regions');
      const heap = this.#indexes[set]!.get(region);
      const bonus = weights.locality * this.topology.locality(requesterRegion, region);
      out.set(region, heap === undefined ? undefined : this.#walk([{ heap, bonus }], 1, options)[0]);
    }
    return out;
  }

  /**
   * Orders the holders of a stripe for reading: local holders within `localReadPreferenceMs` first, then
   * by composite score; ids the router does not hold or will not route to come last with score -1.
   */
  rankCandidates(requesterRegion: RegionId, candidateIds: readonly string[], options: RouteOptions = {}) {
    if (!Array.isArray(candidateIds)) throw new TypeError(`candidateIds must be an array of node ids`);
    if (candidateIds.length > candidatesMax) throw new RangeError(`at most ${candidatesMax} candidates`);
    const set = this.#weightSet(options);
    const floor = Math.max(this.config.minReputation, options.minReputation ?? 0);
    const ranked: RankedCandidate[] = candidateIds.map((id) => {
      const entry = this.#nodes.get(id);
      if (entry === undefined || entry.reputation < floor || options.exclude?.has(id) === true) {
        return { id, score: -1, preferredLocal: false };
      }
      const score = this.#score(id, entry, requesterRegion, set);
      const preferredLocal =
        entry.region === requesterRegion && this.#latencyMs(id, entry) <= this.config.localReadPreferenceMs;
      return { id, score, preferredLocal };
    });
    return ranked.sort(
      (a, b) =>
        Number(b.preferredLocal) - Number(a.preferredLocal) || b.score - a.score || compareIds(a.id, b.id),
    );
  }

  /** The composite score of one node for a requester, or undefined for an unknown node. */
  score(id: string, requesterRegion: RegionId, weightSet = 0): number | undefined {
    const entry = this.#nodes.get(id);
    if (entry === undefined) return undefined;
    this.topology.indexOf(requesterRegion, 'requesterRegion');
    assertInt(weightSet, 'weightSet', 0, this.weightSets.length - 1);
    return this.#score(id, entry, requesterRegion, weightSet);
  }

  /** The three scored signals of a node for a requester (what the adaptive router learns from). */
  features(id: string, requesterRegion: RegionId): RouteFeatures | undefined {
    const entry = this.#nodes.get(id);
    if (entry === undefined) return undefined;
    const locality = this.topology.locality(requesterRegion, entry.region);
    return { latency: this.#latencyScore(id, entry), reputation: entry.reputation, locality };
  }

  /** Every node, for a brute-force cross-check or a snapshot. */
  *nodes(): IterableIterator<RouterNode> {
    for (const [id, entry] of this.#nodes) yield { id, region: entry.region, reputation: entry.reputation };
  }

  #walk(sources: readonly _WalkSource[], n: number, options: RouteOptions): ScoredNode[] {
    const floor = Math.max(this.config.minReputation, options.minReputation ?? 0);
    const out: ScoredNode[] = [];
    _bestFirst(sources, n, (id, score) => {
      const entry = this.#nodes.get(id)!;
      if (options.exclude?.has(id) === true || entry.reputation < floor) return false;
      out.push({ id, region: entry.region, score });
      return true;
    });
    return out;
  }

  #weightSet(options: RouteOptions): number {
    const set = options.weightSet ?? 0;
    assertInt(set, 'weightSet', 0, this.weightSets.length - 1);
    if (options.minReputation !== undefined) assertNumber(options.minReputation, 'minReputation', 0, 1);
    assertIdSet(options.exclude, 'exclude');
    return set;
  }

  #score(id: string, entry: NodeEntry, requesterRegion: RegionId, set: number): number {
    const weights = this.weightSets[set]!;
    const locality = this.topology.locality(requesterRegion, entry.region);
    return compositeScore(this.#latencyScore(id, entry), entry.reputation, locality, weights);
  }

  #latencyMs(id: string, entry: NodeEntry): number {
    return this.tracker.latencyMs(id) ?? this.#priorMs(entry.region);
  }

  #latencyScore(id: string, entry: NodeEntry): number {
    const options = { graceMs: this.config.latencyGraceMs, scaleMs: this.config.latencyScaleMs };
    return latencyScore(this.#latencyMs(id, entry), options);
  }

  /** Without a measurement: the matrix RTT from our region, or a neutral score's worth without one. */
  #priorMs(region: RegionId): number {
    if (this.#selfRegion === undefined) return this.config.latencyGraceMs + this.config.latencyScaleMs;
    return this.topology.expectedRttMs(this.#selfRegion, region);
  }

  #reindex(id: string): void {
    const entry = this.#nodes.get(id)!;
    if (entry.reputation < this.config.minReputation) {
      this.#unindex(id, entry.region);
      return;
    }
    const latency = this.#latencyScore(id, entry);
    for (const [set, index] of this.#indexes.entries()) {
      let heap = index.get(entry.region);
      if (heap === undefined) index.set(entry.region, (heap = new _ScoreHeap()));
      heap.set(id, staticScore(latency, entry.reputation, this.weightSets[set]!));
    }
  }

  #unindex(id: string, region: RegionId): void {
    for (const index of this.#indexes) {
      const heap = index.get(region);
      if (heap === undefined) continue;
      heap.delete(id);
      if (heap.size === 0) index.delete(region);
    }
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function validateRouterNode(node: RouterNode, topology: Topology): void {
  if (typeof node !== 'object' || node === null) throw new InvalidNodeError('a node must be an object');
  try {
    assertPeerId(node.id, 'node id');
    assertNumber(node.reputation, 'reputation', 0, 1);
  } catch (error) {
    throw new InvalidNodeError((error as Error).message, { id: node.id });
  }
  if (!topology.has(node.region)) throw new UnknownRegionError(String(node.region), `node ${node.id}`);
}
