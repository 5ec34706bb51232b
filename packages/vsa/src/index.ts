export { wasmKernelAvailable } from './_kernel.js';
export { type BundleOptions, bundle, bundleVectorsMax } from './bundle.js';
export { Codebook, codebookNonzeros, defaultCodebookSeed } from './codebook.js';
export {
  type FingerprintConfig,
  type FingerprintConfigInput,
  fingerprintConfigSchema,
  type KernelChoice,
  lockBindingDimsMin,
  type SemanticIndexConfig,
  type SemanticIndexConfigInput,
  type ShardLockConfig,
  type ShardLockConfigInput,
  semanticIndexConfigSchema,
  shardLockConfigSchema,
} from './config.js';
export {
  AlreadyLockedError,
  DimensionMismatchError,
  FingerprinterFinishedError,
  FingerprintInputTooLargeError,
  HypervectorFormatError,
  IndexFileError,
  IndexFileUnavailableError,
  IndexFullError,
  KernelUnavailableError,
  LockLimitError,
  LockNotFoundError,
  NotLockHolderError,
  StaleFencingTokenError,
  VsaError,
  type VsaErrorCode,
} from './errors.js';
export {
  createFingerprinter,
  FingerprintEncoder,
  Fingerprinter,
  fingerprint,
  fingerprintInputBytesMax,
} from './fingerprint.js';
export {
  assertDims,
  assertHypervector,
  bind,
  cloneHypervector,
  dot,
  type Hypervector,
  hypervectorDimsMax,
  hypervectorDimsMin,
  hypervectorFromTrits,
  hypervectorsEqual,
  hypervectorToTrits,
  nonzeroCount,
  permute,
  randomHypervector,
  similarity,
  tritAt,
  unbind,
  zeroHypervector,
} from './hypervector.js';
export {
  deserializeHypervector,
  hypervectorFormatVersion,
  serializedHypervectorBytes,
  serializeHypervector,
} from './hypervector-codec.js';
export {
  fingerprintEncodingVersion,
  indexFileMagic,
  indexFileVersion,
} from './index-file.js';
export {
  hypervectorLockBinding,
  lockHolderVector,
  lockShardVector,
  recoverLockHolderVector,
  sha256LockBinding,
} from './lock-binding.js';
export {
  type SearchOptions,
  type SearchQuery,
  type SearchResult,
  SemanticIndex,
} from './semantic-index.js';
export { type LockGrant, type LockId, type LockInfo, ShardLockManager, txIdLengthMax } from './shard-lock.js';
