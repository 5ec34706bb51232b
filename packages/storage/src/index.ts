export {
  BandwidthLedger,
  type BandwidthTotals,
  type PeerBandwidth,
} from './bandwidth-ledger.js';
export { type CanonicalObject, type CanonicalValue, canonicalJson } from './canonical-json.js';
export {
  type BandwidthLedgerConfig,
  type BandwidthLedgerConfigInput,
  bandwidthLedgerConfigSchema,
  type ManifestStoreConfig,
  type ManifestStoreConfigInput,
  manifestStoreConfigSchema,
  type RepairQueueConfig,
  type RepairQueueConfigInput,
  repairQueueConfigSchema,
  type ScrubberConfig,
  type ScrubberConfigInput,
  type ShardStoreConfig,
  type ShardStoreConfigInput,
  scrubberConfigSchema,
  shardStoreConfigSchema,
} from './config.js';
export {
  CapacityExceededError,
  InsufficientShardsError,
  InvalidShardHashError,
  InvalidTxIdError,
  ManifestInvalidError,
  ManifestNotFoundError,
  RepairStoreError,
  RepairVerificationError,
  ShardCorruptError,
  ShardHashMismatchError,
  ShardNotFoundError,
  ShardTooLargeError,
  StagingLimitError,
  StaleFencingTokenError,
  StorageError,
  StoreClosedError,
  StoreFormatError,
  TransactionCommittingError,
} from './errors.js';
export { assertTxId, isShardHashHex, isTxId, parseShardHash, shardHashBytes, shardHashHex } from './ids.js';
export {
  createManifest,
  decodeManifest,
  type ErasureParams,
  encodeManifest,
  erasureParamsSchema,
  type Holder,
  type HolderChange,
  holderSchema,
  type Manifest,
  type ManifestInput,
  manifestFormat,
  manifestLimits,
  manifestSchema,
  objectId,
  parseManifest,
  type ShardEntry,
  type StripeEntry,
  shardEntrySchema,
  stripeEntrySchema,
  updateHolders,
} from './manifest.js';
export { ManifestStore } from './manifest-store.js';
export {
  defaultStripeCodec,
  executeStripeRepair,
  type RepairedShard,
  type RepairIo,
  type StripeCodec,
  type StripeRepairResult,
} from './repair-executor.js';
export {
  compareEndangerment,
  type LostStripe,
  type PlanRepairOptions,
  planRepair,
  type RepairPlan,
  type RepairSource,
  type RepairTarget,
  type RepairTask,
  type ShardHealth,
} from './repair-planner.js';
export { type EnqueueResult, RepairQueue, type RepairQueueStats } from './repair-queue.js';
export { Scrubber, type ScrubberDeps, type ScrubReport, type ScrubTarget } from './scrubber.js';
export {
  ShardStore,
  type ShardStoreDeps,
  type ShardStoreStats,
  type ShardStoreStep,
  type ShardVerification,
  type ShardWriteOptions,
} from './shard-store.js';
export { TokenBucket } from './token-bucket.js';
