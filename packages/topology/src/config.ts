import { z } from 'zod';
import { _deepFreeze } from './regions.js';

const regionIdPattern = /^[a-z][a-z0-9-]{0,31}$/;

/** A region id: lowercase letters, digits and dashes, 1-32 characters, starting with a letter. */
export const regionIdSchema = z
  .string()
  .regex(regionIdPattern, 'region ids are 1-32 lowercase letters, digits or dashes, starting with a letter');

const rttMsSchema = z.number().min(0).max(10_000);

/** A region beyond the nine built-in ones, with its round-trip time to every other region. */
export const customRegionSchema = z
  .object({
    id: regionIdSchema,
    name: z.string().max(64).default(''),
    /** RTT in ms to other regions by id; together with the other custom regions it must cover every pair. */
    latencyMs: z.record(regionIdSchema, rttMsSchema).default({}),
  })
  .strict();

/** Regions and the latency matrix. */
export const topologyConfigSchema = z
  .object({
    customRegions: z.array(customRegionSchema).max(64).default([]),
    /** Measured corrections to the static matrix: `{ a, b, latencyMs }`, applied symmetrically. */
    latencyOverrides: z
      .array(z.object({ a: regionIdSchema, b: regionIdSchema, latencyMs: rttMsSchema }).strict())
      .max(4096)
      .default([]),
    /** Boundary between the near and far zones (seed: 100 ms). */
    nearThresholdMs: z.number().min(1).max(10_000).default(100),
    /** RTT assumed between two nodes of one region when nothing was measured. */
    intraRegionRttMs: z.number().min(0).max(1_000).default(5),
  })
  .strict();

/** Per-peer EMA of measured round-trip times. */
export const latencyTrackerConfigSchema = z
  .object({
    /** EMA gain per sample; 1/8 is TCP's smoothed-RTT gain (RFC 6298). */
    alpha: z.number().min(0.001).max(1).default(0.125),
    /** Peers tracked at most; the least recently observed is forgotten first. */
    maxPeers: z.number().int().min(1).max(10_000_000).default(100_000),
    /** Samples above this are rejected as bogus (a lost reply is not a latency). */
    maxRttMs: z.number().min(1).max(600_000).default(60_000),
    /** A peer not observed for this long reads as unknown (0: never stale). */
    staleAfterMs: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400_000)
      .default(600_000),
  })
  .strict();

/** Stripe placement rules. */
export const placementConfigSchema = z
  .object({
    /** Distinct regions a stripe spans when the cluster has them (seed: 3). */
    minRegionsPerShard: z.number().int().min(1).max(64).default(3),
    /** Regions farther than this from the client are used only as a last resort (seed: 300 ms). */
    maxWriteLatencyMs: z.number().min(0).max(10_000).default(300),
    /** Shards of one stripe per node when there are enough nodes; raised up to m only when needed. */
    maxShardsPerNode: z.number().int().min(1).max(256).default(1),
    /** Throw instead of using regions beyond `maxWriteLatencyMs`. */
    strictLatency: z.boolean().default(false),
    /**
     * Allow more than m shards of a stripe in one region when there are too few regions (a one-region
     * dev network). A region outage can then lose the stripe: never on for a real network.
     */
    allowRegionConcentration: z.boolean().default(false),
  })
  .strict();

const weight = z.number().min(0).max(1);

/** Weights of the composite score; they must add up to 1 so that scores stay in [0, 1]. */
export const routerWeightsSchema = z
  .object({ latency: weight.default(0.4), reputation: weight.default(0.4), locality: weight.default(0.2) })
  .strict()
  .refine((w) => Math.abs(w.latency + w.reputation + w.locality - 1) < 1e-9, 'weights must add up to 1');

/** The region-aware router. */
export const routerConfigSchema = z
  .object({
    weights: routerWeightsSchema.prefault({}),
    /** Extra weight sets indexed alongside `weights` (set 0), for the adaptive router. */
    extraWeightSets: z.array(routerWeightsSchema).max(15).default([]),
    /** Nodes with a lower reputation are never routed to. */
    minReputation: z.number().min(0).max(1).default(0.2),
    /** RTTs up to this count as perfect: LAN noise is not worth telling apart. */
    latencyGraceMs: z.number().min(0).max(1_000).default(4),
    /** Latency score = 1 / (1 + max(0, ms - grace) / scale): it halves at grace + scale ms. */
    latencyScaleMs: z.number().min(1).max(10_000).default(100),
    /** A local holder within this RTT is read from first (seed: 50 ms). */
    localReadPreferenceMs: z.number().min(0).max(10_000).default(50),
    /** Nodes held at most. */
    maxNodes: z.number().int().min(1).max(10_000_000).default(1_000_000),
    tracker: latencyTrackerConfigSchema.omit({ maxPeers: true }).prefault({}),
  })
  .strict();

/**
 * Weight sets the adaptive router chooses among by default: the seed's first, then sets leaning
 * towards each signal. Each set is one more index in the router (memory and update cost grow with it).
 */
export const DEFAULT_WEIGHT_SETS = _deepFreeze([
  { latency: 0.4, reputation: 0.4, locality: 0.2 },
  { latency: 0.7, reputation: 0.2, locality: 0.1 },
  { latency: 0.2, reputation: 0.7, locality: 0.1 },
  { latency: 0.3, reputation: 0.3, locality: 0.4 },
  { latency: 0.55, reputation: 0.4, locality: 0.05 },
  { latency: 0.4, reputation: 0.55, locality: 0.05 },
  { latency: 0.9, reputation: 0.05, locality: 0.05 },
  { latency: 0.05, reputation: 0.9, locality: 0.05 },
] as const);

/** The adaptive router: learned weights from fetch outcomes, chosen among indexed weight sets. */
export const adaptiveRouterConfigSchema = z
  .object({
    /** Off by default: then set 0 (the fixed seed weights) is always used. */
    enabled: z.boolean().default(false),
    /**
     * `least-squares`: fit reward on (latency score, reputation, locality) with forgetting, use the
     * indexed set nearest to the fitted weights. `bandit`: discounted UCB over the sets.
     */
    policy: z.enum(['least-squares', 'bandit']).default('least-squares'),
    /** The indexed weight sets; the first is used while disabled. */
    weightSets: z
      .array(routerWeightsSchema)
      .min(1)
      .max(16)
      .default(() => DEFAULT_WEIGHT_SETS.map((set) => ({ ...set }))),
    /** Least squares: per-outcome forgetting factor (memory ~ 1/(1-forgetting) outcomes). */
    forgetting: z.number().min(0.5).max(1).default(0.999),
    /** Bandit: per-outcome discount of past rewards (horizon ~ 1/(1-discount)). */
    discount: z.number().min(0.5).max(1).default(0.995),
    /** Bandit: exploration strength of the UCB bonus. */
    exploration: z.number().min(0).max(10).default(0.25),
    /** Reward of a successful fetch = 1 / (1 + latencyMs / rewardScaleMs); a failure earns 0. */
    rewardScaleMs: z.number().min(1).max(60_000).default(100),
  })
  .strict();

/** Rebalancing plans. */
export const rebalanceConfigSchema = z
  .object({
    /** Bytes of shard moves planned per call (one interval); the rest is deferred. */
    maxBytesPerInterval: z
      .number()
      .int()
      .min(1)
      .max(2 ** 50)
      .default(1024 ** 3),
    /** Moves planned per call at most, whatever their size. */
    maxMovesPerInterval: z.number().int().min(1).max(10_000_000).default(100_000),
  })
  .strict();

/** An options type with every default filled in: each field required, documentation kept. */
type Filled<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

/** A region beyond the nine built-in ones (`customRegionSchema`), as written in a config. */
export interface CustomRegionInput {
  /** The region id: 1-32 lowercase letters, digits or dashes, starting with a letter. Required. */
  readonly id: string;
  /**
   * A human-readable name, at most 64 characters.
   * @defaultValue ''
   */
  readonly name?: string | undefined;
  /**
   * RTT in ms (0 to 10,000) to other regions by id; together with the other custom regions it must
   * cover every pair.
   * @defaultValue `{}`
   */
  readonly latencyMs?: Record<string, number> | undefined;
}

/** A parsed custom region: `CustomRegionInput` with every default filled in. */
export type CustomRegion = Filled<CustomRegionInput>;

/** A measured correction to the static latency matrix, applied symmetrically. */
export interface LatencyOverride {
  /** One region id. */
  readonly a: string;
  /** The other region id. */
  readonly b: string;
  /** The round-trip time between them in ms, 0 to 10,000. */
  readonly latencyMs: number;
}

/** Regions and the latency matrix (`topologyConfigSchema`), taken by `Topology`. Every field is optional. */
export interface TopologyConfigInput {
  /**
   * Regions beyond the nine built-in ones, at most 64.
   * @defaultValue `[]`
   */
  readonly customRegions?: CustomRegionInput[] | undefined;
  /**
   * Measured corrections to the static matrix, at most 4,096.
   * @defaultValue `[]`
   */
  readonly latencyOverrides?: LatencyOverride[] | undefined;
  /**
   * Boundary between the near and far zones, 1 to 10,000 ms.
   * @defaultValue 100
   */
  readonly nearThresholdMs?: number | undefined;
  /**
   * RTT assumed between two nodes of one region when nothing was measured, 0 to 1,000 ms.
   * @defaultValue 5
   */
  readonly intraRegionRttMs?: number | undefined;
}

/** The parsed topology settings: `TopologyConfigInput` with every default filled in. */
export interface TopologyConfig extends Omit<Filled<TopologyConfigInput>, 'customRegions'> {
  /** Regions beyond the nine built-in ones, each with its defaults filled in. */
  readonly customRegions: CustomRegion[];
}

/** The per-peer EMA of measured round-trip times (`latencyTrackerConfigSchema`). Every field is optional. */
export interface LatencyTrackerConfigInput {
  /**
   * EMA gain per sample, 0.001 to 1; 1/8 is TCP's smoothed-RTT gain (RFC 6298).
   * @defaultValue 0.125
   */
  readonly alpha?: number | undefined;
  /**
   * Peers tracked at most, 1 to 10,000,000; the least recently observed is forgotten first.
   * @defaultValue 100_000
   */
  readonly maxPeers?: number | undefined;
  /**
   * Samples above this are rejected as bogus (a lost reply is not a latency), 1 to 600,000 ms.
   * @defaultValue 60_000 (1 minute)
   */
  readonly maxRttMs?: number | undefined;
  /**
   * A peer not observed for this long reads as unknown, 0 to 7 days in ms (0: never stale).
   * @defaultValue 600_000 (10 minutes)
   */
  readonly staleAfterMs?: number | undefined;
}

/** The parsed tracker settings: `LatencyTrackerConfigInput` with every default filled in. */
export type LatencyTrackerConfig = Filled<LatencyTrackerConfigInput>;

/** Stripe placement rules (`placementConfigSchema`). Every field is optional. */
export interface PlacementConfigInput {
  /**
   * Distinct regions a stripe spans when the cluster has them, 1 to 64.
   * @defaultValue 3
   */
  readonly minRegionsPerShard?: number | undefined;
  /**
   * Regions farther than this from the client are used only as a last resort, 0 to 10,000 ms.
   * @defaultValue 300
   */
  readonly maxWriteLatencyMs?: number | undefined;
  /**
   * Shards of one stripe per node when there are enough nodes, 1 to 256; raised up to m only when needed.
   * @defaultValue 1
   */
  readonly maxShardsPerNode?: number | undefined;
  /**
   * Throw PlacementError instead of using regions beyond `maxWriteLatencyMs`.
   * @defaultValue false
   */
  readonly strictLatency?: boolean | undefined;
  /**
   * Allow more than m shards of a stripe in one region when there are too few regions (a one-region
   * dev network). A region outage can then lose the stripe: never on for a real network.
   * @defaultValue false
   */
  readonly allowRegionConcentration?: boolean | undefined;
}

/** The parsed placement rules: `PlacementConfigInput` with every default filled in. */
export type PlacementConfig = Filled<PlacementConfigInput>;

/** Weights of the composite score (`routerWeightsSchema`), each 0 to 1; they must add up to 1. */
export interface RouterWeightsInput {
  /**
   * Weight of the latency score.
   * @defaultValue 0.4
   */
  readonly latency?: number | undefined;
  /**
   * Weight of the node's reputation.
   * @defaultValue 0.4
   */
  readonly reputation?: number | undefined;
  /**
   * Weight of the locality score (same region, near zone, far zone).
   * @defaultValue 0.2
   */
  readonly locality?: number | undefined;
}

/** Parsed score weights: `RouterWeightsInput` with every default filled in. */
export type RouterWeights = Filled<RouterWeightsInput>;

/** The region-aware router (`routerConfigSchema`). Every field is optional. */
export interface RouterConfigInput {
  /**
   * Weights of the composite score (set 0); a missing weight takes its own default.
   * @defaultValue `{ latency: 0.4, reputation: 0.4, locality: 0.2 }`
   */
  readonly weights?: RouterWeightsInput | undefined;
  /**
   * Extra weight sets indexed alongside `weights`, at most 15, for the adaptive router.
   * @defaultValue `[]`
   */
  readonly extraWeightSets?: RouterWeightsInput[] | undefined;
  /**
   * Nodes with a lower reputation (0 to 1) are never routed to.
   * @defaultValue 0.2
   */
  readonly minReputation?: number | undefined;
  /**
   * RTTs up to this count as perfect (LAN noise is not worth telling apart), 0 to 1,000 ms.
   * @defaultValue 4
   */
  readonly latencyGraceMs?: number | undefined;
  /**
   * Latency score = 1 / (1 + max(0, ms - grace) / scale): it halves at grace + scale ms; 1 to 10,000.
   * @defaultValue 100
   */
  readonly latencyScaleMs?: number | undefined;
  /**
   * A local holder within this RTT is read from first, 0 to 10,000 ms.
   * @defaultValue 50
   */
  readonly localReadPreferenceMs?: number | undefined;
  /**
   * Nodes held at most, 1 to 10,000,000.
   * @defaultValue 1_000_000
   */
  readonly maxNodes?: number | undefined;
  /**
   * The router's latency tracker; its peer bound is `maxNodes`.
   * @defaultValue `{}` (every `LatencyTrackerConfigInput` default)
   */
  readonly tracker?: Omit<LatencyTrackerConfigInput, 'maxPeers'> | undefined;
}

/** The parsed router settings: `RouterConfigInput` with every default filled in. */
export interface RouterConfig
  extends Omit<Filled<RouterConfigInput>, 'weights' | 'extraWeightSets' | 'tracker'> {
  /** Weights of the composite score (set 0). */
  readonly weights: RouterWeights;
  /** Extra weight sets indexed alongside `weights`. */
  readonly extraWeightSets: RouterWeights[];
  /** The router's latency tracker settings. */
  readonly tracker: Omit<LatencyTrackerConfig, 'maxPeers'>;
}

/** The adaptive router (`adaptiveRouterConfigSchema`). Every field is optional. */
export interface AdaptiveRouterConfigInput {
  /**
   * Off by default: then set 0 (the fixed seed weights) is always used.
   * @defaultValue false
   */
  readonly enabled?: boolean | undefined;
  /**
   * `least-squares`: fit reward on (latency score, reputation, locality) with forgetting, use the
   * indexed set nearest to the fitted weights. `bandit`: discounted UCB over the sets.
   * @defaultValue 'least-squares'
   */
  readonly policy?: 'least-squares' | 'bandit' | undefined;
  /**
   * The indexed weight sets, 1 to 16; the first is used while disabled.
   * @defaultValue a copy of `DEFAULT_WEIGHT_SETS`
   */
  readonly weightSets?: RouterWeightsInput[] | undefined;
  /**
   * Least squares: per-outcome forgetting factor, 0.5 to 1 (memory ~ 1/(1-forgetting) outcomes).
   * @defaultValue 0.999
   */
  readonly forgetting?: number | undefined;
  /**
   * Bandit: per-outcome discount of past rewards, 0.5 to 1 (horizon ~ 1/(1-discount)).
   * @defaultValue 0.995
   */
  readonly discount?: number | undefined;
  /**
   * Bandit: exploration strength of the UCB bonus, 0 to 10.
   * @defaultValue 0.25
   */
  readonly exploration?: number | undefined;
  /**
   * Reward of a successful fetch = 1 / (1 + latencyMs / rewardScaleMs), 1 to 60,000; a failure earns 0.
   * @defaultValue 100
   */
  readonly rewardScaleMs?: number | undefined;
}

/** The parsed adaptive router settings: `AdaptiveRouterConfigInput` with every default filled in. */
export interface AdaptiveRouterConfig extends Omit<Filled<AdaptiveRouterConfigInput>, 'weightSets'> {
  /** The indexed weight sets; the first is used while disabled. */
  readonly weightSets: RouterWeights[];
}

/** Rebalancing plans (`rebalanceConfigSchema`). Every field is optional. */
export interface RebalanceConfigInput {
  /**
   * Bytes of shard moves planned per call (one interval), 1 to 2^50; the rest is deferred.
   * @defaultValue 1024 ** 3 (1 GiB)
   */
  readonly maxBytesPerInterval?: number | undefined;
  /**
   * Moves planned per call at most, whatever their size; 1 to 10,000,000.
   * @defaultValue 100_000
   */
  readonly maxMovesPerInterval?: number | undefined;
}

/** The parsed rebalancing settings: `RebalanceConfigInput` with every default filled in. */
export type RebalanceConfig = Filled<RebalanceConfigInput>;
