export { defaultBackend } from './backend.js';
export {
  type Backend,
  backendChoices,
  type ErasureConfig,
  type ErasureOptions,
  erasureConfigSchema,
  totalShardsMax,
} from './config.js';
export {
  chooseErasureParameters,
  type ErasureParameters,
  type ErasurePolicy,
  type ErasurePolicyInput,
  erasurePolicySchema,
  logStripeLossProbability,
  stripeLossProbability,
} from './durability.js';
export {
  BackendUnavailableError,
  DataSizeError,
  ErasureError,
  type ErasureErrorCode,
  InvalidShardCountError,
  NoFeasibleParametersError,
  ShardOverlapError,
  ShardSizeError,
  ShardTypeError,
  SingularMatrixError,
  StripeFormatError,
  TooFewShardsError,
} from './errors.js';
export {
  GF256_POLYNOMIAL,
  gfAdd,
  gfDiv,
  gfExp,
  gfInv,
  gfLog,
  gfMul,
  gfMulSlice,
  gfMulSliceXor,
  gfPow,
  gfSub,
} from './gf256.js';
export type { KernelName } from './kernel.js';
export {
  createMatrix,
  encodingMatrix,
  identityMatrix,
  invertMatrix,
  type Matrix,
  matrixDimensionMax,
  multiplyMatrices,
  selectRows,
  vandermondeMatrix,
} from './matrix.js';
export { createEncoder, type Encoder, type EncoderStats } from './reed-solomon.js';
export type { ShardList } from './shards.js';
export {
  type DecodeStripeOptions,
  decodeStripe,
  decodeStripes,
  type EncodedStripe,
  encodeStripes,
  ShardPool,
  type StoredStripe,
  type StripeConfig,
  type StripeOptions,
  stripeOptionsSchema,
  stripeShardBytesMax,
} from './stripes.js';
