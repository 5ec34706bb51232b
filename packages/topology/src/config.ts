import { z } from 'zod';

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
export const DEFAULT_WEIGHT_SETS = [
  { latency: 0.4, reputation: 0.4, locality: 0.2 },
  { latency: 0.7, reputation: 0.2, locality: 0.1 },
  { latency: 0.2, reputation: 0.7, locality: 0.1 },
  { latency: 0.3, reputation: 0.3, locality: 0.4 },
  { latency: 0.55, reputation: 0.4, locality: 0.05 },
  { latency: 0.4, reputation: 0.55, locality: 0.05 },
  { latency: 0.9, reputation: 0.05, locality: 0.05 },
  { latency: 0.05, reputation: 0.9, locality: 0.05 },
] as const;

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

export type TopologyConfig = z.output<typeof topologyConfigSchema>;
export type TopologyConfigInput = z.input<typeof topologyConfigSchema>;
export type CustomRegion = z.output<typeof customRegionSchema>;
export type LatencyTrackerConfig = z.output<typeof latencyTrackerConfigSchema>;
export type LatencyTrackerConfigInput = z.input<typeof latencyTrackerConfigSchema>;
export type PlacementConfig = z.output<typeof placementConfigSchema>;
export type PlacementConfigInput = z.input<typeof placementConfigSchema>;
export type RouterWeights = z.output<typeof routerWeightsSchema>;
export type RouterConfig = z.output<typeof routerConfigSchema>;
export type RouterConfigInput = z.input<typeof routerConfigSchema>;
export type AdaptiveRouterConfig = z.output<typeof adaptiveRouterConfigSchema>;
export type AdaptiveRouterConfigInput = z.input<typeof adaptiveRouterConfigSchema>;
export type RebalanceConfig = z.output<typeof rebalanceConfigSchema>;
export type RebalanceConfigInput = z.input<typeof rebalanceConfigSchema>;
