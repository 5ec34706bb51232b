export {
  AsyncSimHost,
  SchedulerClock,
  SimRpc,
  type SimRpcHandler,
  type SimRpcInit,
} from './async-host.js';
export { Checks, type CheckTally, FAILURES_KEPT_MAX } from './checks.js';
export { type DiskConfig, type DiskStats, defaultDiskConfig, SimDisk } from './disk.js';
export {
  SimError,
  type SimErrorCode,
  SimLimitError,
  SimRpcError,
  SimUsageError,
  UnknownScenarioError,
} from './errors.js';
export {
  defaultNetworkConfig,
  type NetworkConfig,
  type NetworkStats,
  SimNetwork,
  type SimNetworkInit,
} from './network.js';
export { plotSvg } from './plot.js';
export { SimRandom } from './random.js';
export { jsonLine, replayCommand, summaryLines } from './report.js';
export { runScenario, scenarios } from './run.js';
export type {
  RunTotals,
  Scenario,
  ScenarioOptions,
  ScenarioOutcome,
  ScenarioResult,
  TimeSeries,
} from './scenario.js';
export {
  type AttackerOptions,
  type AttackKind,
  attackerScenario,
  attackKinds,
  type ReceiptCheck,
  type TombstoneAcceptor,
} from './scenarios/attacker.js';
export { type ChurnOptions, churnScenario } from './scenarios/churn.js';
export { type CorruptionRepairOptions, corruptionRepairScenario } from './scenarios/corruption-repair.js';
export { type EconomicsOptions, economicsScenario, type ShareApply } from './scenarios/economics.js';
export { type LocksOptions, locksScenario } from './scenarios/locks.js';
export { type PlacementRoutingOptions, placementRoutingScenario } from './scenarios/placement-routing.js';
export {
  type AnswerCheck,
  type CheaterKind,
  type ProofOfStorageOptions,
  proofOfStorageScenario,
  type SimReceipt,
} from './scenarios/proof-of-storage.js';
export {
  fullPipelineScenario,
  type TwoPhaseCommitOptions,
  twoPhaseCommitScenario,
} from './scenarios/two-phase-commit.js';
export {
  type CoordinatorLike,
  type ParticipantLike,
  SimShardStore,
  SimTxLog,
  type StoredShard,
} from './scenarios/tx-host.js';
export type { StripeScenarioOptions } from './scenarios/world.js';
export {
  EVENT_KINDS_MAX,
  type EventHandler,
  type RunEnd,
  Scheduler,
  type SchedulerLimits,
} from './scheduler.js';
export { TraceHash } from './trace-hash.js';
