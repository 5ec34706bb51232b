import type { Logger } from '@trinity/core';
import {
  AdaptiveRegionRouter,
  type AdaptiveRouterConfigInput,
  builtinTopology,
  detectRegion,
  PlacementError,
  type RegionId,
  RegionRouter,
  type StripePlacement,
  StripePlacer,
  type Topology,
} from '@trinity/topology';
import { NotEnoughNodesError } from '../../errors.js';
import type { PeerRecord } from '../membership/membership.js';
import { type NodeRef, spreadShards } from './placement.js';

/**
 * Reputation of a peer no evidence is known of until the economics service says otherwise (it
 * replaces this with @trinity/economics's no-evidence score at its first tick).
 */
const reputationPriorDefault = 0.4;

export interface GeographyInit {
  readonly selfId: string;
  /** The configured region; undefined: detected from RTTs to peers of known region. */
  readonly region: string | undefined;
  /** Region-aware placement and routing; off: shards spread over distinct nodes, reads by RTT. */
  readonly regionTopology: boolean;
  /**
   * Each region's shards of a stripe go first to that region's best node (the router's
   * `bestPerRegion`: latency, reputation, locality), so a put's 2PC participants are the best node
   * of every region it writes to (plus others only where a region takes more shards than one node may).
   */
  readonly bestPerRegion?: boolean;
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardBytes: number;
  /** `adaptive`: reads are ranked by the AdaptiveRegionRouter, which learns from `onFetch`. */
  readonly routing?: {
    readonly mode: 'static' | 'adaptive';
    readonly adaptive?: Omit<AdaptiveRouterConfigInput, 'enabled'>;
  };
}

/** Told when placement had to relax a rule (the placement-fallback counter). */
export interface GeographyEvents {
  onPlacementFallback?(rule: string): void;
}

export interface GeographyComponents {
  readonly logger: Logger;
  readonly events?: GeographyEvents;
}

/** The geography service's factory: `geography(init)(components)`. */
export function geography(init: GeographyInit): (components: GeographyComponents) => Geography {
  return (components) => new Geography(init, components);
}

/**
 * Where nodes are and whom to ask: the region of this node (configured or detected), region-aware
 * placement (@trinity/topology's StripePlacer), read routing (its RegionRouter: latency, reputation,
 * locality). Reputation is the network's (@trinity/economics, through the economics service's
 * `setReputations`): proof-of-storage pass rate, uptime and bandwidth, agreed by many reporters.
 */
export class Geography {
  readonly topology: Topology = builtinTopology();
  readonly router: RegionRouter;
  /** The learning router around `router` (`routing.mode: 'adaptive'`), else undefined. */
  readonly adaptive: AdaptiveRegionRouter | undefined;
  /** The weight set (arm) of the last ranking, credited with the fetches that follow it. */
  #arm = 0;
  readonly #options: GeographyInit;
  readonly #c: GeographyComponents;
  readonly #placer: StripePlacer;
  #reputation = new Map<string, number>();
  #reputationPrior = reputationPriorDefault;
  readonly #rtts = new Map<string, number>();
  readonly #regions = new Map<string, RegionId>();
  #region: RegionId | undefined;

  constructor(options: GeographyInit, components: GeographyComponents) {
    this.#options = options;
    this.#c = components;
    // An unknown region is a config mistake: UnknownRegionError names the known ones.
    if (options.region !== undefined) this.topology.indexOf(options.region, 'region');
    this.#region = options.region as RegionId | undefined;
    const routerOptions = this.#region === undefined ? {} : { selfRegion: this.#region };
    if (options.routing?.mode === 'adaptive') {
      this.adaptive = new AdaptiveRegionRouter(
        { adaptive: { ...options.routing.adaptive, enabled: true } },
        routerOptions,
      );
      this.router = this.adaptive.router;
    } else {
      this.adaptive = undefined;
      this.router = new RegionRouter({}, routerOptions);
    }
    // Small networks may have fewer regions than the rules want: concentrate rather than refuse, and count it.
    this.#placer = new StripePlacer({ allowRegionConcentration: true }, this.topology);
  }

  get region(): RegionId | undefined {
    return this.#region;
  }

  reputation(peer: string): number {
    return this.#reputation.get(peer) ?? this.#reputationPrior;
  }

  /** Every reputation known, for the min/avg/max gauges. */
  reputations(): number[] {
    return [...this.#regions.keys()].map((peer) => this.reputation(peer));
  }

  onPeer(record: PeerRecord): void {
    if (record.region === undefined || !this.topology.has(record.region)) return;
    this.#regions.set(record.id, record.region);
    this.router.upsertNode({ id: record.id, region: record.region, reputation: this.reputation(record.id) });
    this.#detect();
  }

  onPeerGone(peer: string): void {
    this.#regions.delete(peer);
    this.#rtts.delete(peer);
    this.router.removeNode(peer);
  }

  onRtt(peer: string, rttMs: number, nowMs: number): void {
    this.#rtts.set(peer, rttMs);
    if (this.router.has(peer)) this.router.observeLatency(peer, rttMs, nowMs);
    this.#detect();
  }

  /**
   * The network's reputation of every peer with evidence (by peer id), and the score of a peer
   * without: the router's and the placer's reputation input. Peers whose score moved are re-ranked.
   */
  setReputations(scores: ReadonlyMap<string, number>, priorScore: number): void {
    const before = this.#reputation;
    const priorBefore = this.#reputationPrior;
    this.#reputation = new Map(scores);
    this.#reputationPrior = priorScore;
    for (const [peer, region] of this.#regions) {
      const next = this.reputation(peer);
      if (next !== (before.get(peer) ?? priorBefore))
        this.router.upsertNode({ id: peer, region, reputation: next });
    }
  }

  /**
   * The read path fetched a shard from `peer`: with the adaptive router, a fetch's latency is a
   * latency sample of that peer, and the outcome is credited to the weight set that ranked it.
   */
  onFetch(peer: string, ok: boolean, latencyMs: number, nowMs: number): void {
    const region = this.#region;
    if (this.adaptive === undefined || region === undefined || !this.router.has(peer)) return;
    if (ok) this.router.observeLatency(peer, Math.max(0, latencyMs), nowMs);
    this.adaptive.recordOutcome(
      { arm: this.#arm, nodeId: peer, requesterRegion: region },
      { success: ok, latencyMs: Math.max(0, latencyMs) },
    );
  }

  /**
   * Node ids for the `count` shards of one stripe of object upload `uploadKey`. k is the configured
   * `dataShards`; the parity m is what the count leaves (adaptive erasure may raise it per put).
   */
  place(uploadKey: string, stripeIndex: number, count: number, candidates: readonly NodeRef[]): string[] {
    const { dataShards, shardBytes } = this.#options;
    const nodes = this.#reputable(candidates, count);
    const parityShards = count - dataShards;
    if (parityShards < 1)
      throw new RangeError(`a stripe of ${count} shards has no parity over k = ${dataShards}`);
    const clientRegion = this.#region;
    if (!this.#options.regionTopology || clientRegion === undefined) {
      return spreadShards(stripeIndex, count, nodes, parityShards);
    }
    const placed = nodes.filter((node) => this.topology.has(node.region));
    try {
      const plan = this.#placer.plan({
        clientRegion,
        nodes: placed.map((node) => ({ id: node.id, region: node.region as RegionId })),
        dataShards,
        parityShards,
        shardBytes,
        stripeKey: `${uploadKey}/${stripeIndex}`,
      });
      if (!plan.regionLossSafe) this.#c.events?.onPlacementFallback?.('region-concentration');
      if (plan.latencyRelaxed) this.#c.events?.onPlacementFallback?.('write-latency');
      return this.#options.bestPerRegion === true
        ? this.#bestPerRegion(plan, placed, clientRegion)
        : [...plan.nodeIds];
    } catch (error) {
      if (error instanceof PlacementError) throw new NotEnoughNodesError(error.message);
      throw error;
    }
  }

  /**
   * The candidates whose reputation reaches the router's floor (`minReputation`), this node always
   * among them: the placer's reputation input. When too few remain for a stripe, all of them (a
   * small network places on what it has; the fallback is counted).
   */
  #reputable(nodes: readonly NodeRef[], count: number): readonly NodeRef[] {
    const floor = this.router.config.minReputation;
    const kept = nodes.filter(
      (node) => node.id === this.#options.selfId || this.reputation(node.id) >= floor,
    );
    if (kept.length === nodes.length) return nodes;
    if (kept.length >= Math.min(count, nodes.length)) return kept;
    this.#c.events?.onPlacementFallback?.('reputation');
    return nodes;
  }

  /**
   * The plan with each region's best node among its holders: where the plan left it out, it takes
   * the place of the region's last-ranked holder (same shard count, so the caps still hold).
   */
  #bestPerRegion(plan: StripePlacement, nodes: readonly NodeRef[], clientRegion: RegionId): string[] {
    const regionOf = new Map(nodes.map((node) => [node.id, node.region]));
    const ids = [...plan.nodeIds];
    const best = this.router.bestPerRegion(clientRegion, [...plan.shardsPerRegion.keys()]);
    for (const [region, scored] of best) {
      const chosen = scored?.id;
      if (chosen === undefined || regionOf.get(chosen) !== region) continue;
      const used = [...new Set(ids.filter((id) => regionOf.get(id) === region))];
      if (used.length === 0 || used.includes(chosen)) continue;
      const replaced = used[used.length - 1];
      for (let i = 0; i < ids.length; i++) if (ids[i] === replaced) ids[i] = chosen;
    }
    return ids;
  }

  /** Holders ordered for reading: this node first, then by the router's composite score. */
  rank(ids: readonly string[]): string[] {
    const self = this.#options.selfId;
    const others = ids.filter((id) => id !== self);
    const region = this.#region;
    let ordered: string[];
    if (this.#options.regionTopology && region !== undefined) {
      let ranked: { id: string }[];
      if (this.adaptive === undefined) ranked = this.router.rankCandidates(region, others);
      else {
        const decision = this.adaptive.rankCandidates(region, others);
        this.#arm = decision.arm;
        ranked = decision.result;
      }
      // Nodes the router does not know (no region yet) stay usable, after the ones it scored.
      ordered = ranked.map((candidate) => candidate.id);
    } else {
      ordered = [...others].sort((a, b) => (this.#rtts.get(a) ?? 1e9) - (this.#rtts.get(b) ?? 1e9));
    }
    return ids.includes(self) ? [self, ...ordered] : ordered;
  }

  #detect(): void {
    if (this.#region !== undefined) return;
    const detection = detectRegion(this.#rtts, this.#regions, { topology: this.topology });
    if (detection === undefined) return;
    this.#region = detection.region;
    this.router.setSelfRegion(detection.region);
    this.#c.logger.info(
      { region: detection.region, meanErrorMs: detection.meanErrorMs, peers: detection.peersUsed },
      'region detected from RTTs',
    );
  }
}
