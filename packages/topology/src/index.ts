export { type AdaptiveDecision, AdaptiveRegionRouter } from './adaptive-router.js';
export {
  type AdaptiveRouterConfig,
  type AdaptiveRouterConfigInput,
  adaptiveRouterConfigSchema,
  type CustomRegion,
  type CustomRegionInput,
  customRegionSchema,
  DEFAULT_WEIGHT_SETS,
  type LatencyOverride,
  type LatencyTrackerConfig,
  type LatencyTrackerConfigInput,
  latencyTrackerConfigSchema,
  type PlacementConfig,
  type PlacementConfigInput,
  placementConfigSchema,
  type RebalanceConfig,
  type RebalanceConfigInput,
  type RouterConfig,
  type RouterConfigInput,
  type RouterWeights,
  type RouterWeightsInput,
  rebalanceConfigSchema,
  regionIdSchema,
  routerConfigSchema,
  routerWeightsSchema,
  type TopologyConfig,
  type TopologyConfigInput,
  topologyConfigSchema,
} from './config.js';
export {
  InvalidNodeError,
  PlacementError,
  type PlacementFailure,
  RegionConfigError,
  TopologyError,
  type TopologyErrorCode,
  TopologyLimitError,
  UnknownNodeError,
  UnknownRegionError,
} from './errors.js';
export {
  compositeScore,
  type LatencyScoreOptions,
  latencyScore,
  SEED_WEIGHTS,
  staticScore,
} from './latency-score.js';
export { LatencyTracker, type LatencyTrackerOptions, type PeerLatency } from './latency-tracker.js';
export { LatencyZone, latencyZone, localityScore, NEAR_THRESHOLD_MS } from './latency-zone.js';
export {
  type LeastSquaresReport,
  LeastSquaresWeights,
  nearestWeightSet,
  type RouteFeatures,
} from './least-squares-weights.js';
export {
  type PlacementNode,
  PlacementNodeSet,
  type PlacementRules,
  type PlaceStripeInput,
  placeStripe,
  type StripePlacement,
  StripePlacer,
} from './placement.js';
export {
  type MoveReason,
  planRebalance,
  type RebalancePlan,
  Rebalancer,
  type ShardMove,
  type StripeLayout,
} from './rebalance.js';
export { type DetectRegionOptions, detectRegion, type RegionDetection } from './region-detection.js';
export {
  type RankedCandidate,
  RegionRouter,
  type RegionRouterOptions,
  type RouteOptions,
  type RouterNode,
  type ScoredNode,
} from './region-router.js';
export {
  BUILTIN_LATENCY_MS,
  type BuiltinRegion,
  isBuiltinRegion,
  REGION_NAMES,
  REGIONS,
  type RegionId,
  regionLatencyMs,
} from './regions.js';
export { builtinTopology, Topology } from './topology.js';
export { type ArmReport, type FetchOutcome, fetchReward, WeightBandit } from './weight-bandit.js';
