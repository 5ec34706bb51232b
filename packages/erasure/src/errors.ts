import { TrinityError } from '@trinity/core';

/** Every `code` an error of @trinity/erasure carries; stable across releases. */
export type ErasureErrorCode =
  | 'ERASURE_INVALID_SHARD_COUNT'
  | 'ERASURE_TOO_FEW_SHARDS'
  | 'ERASURE_SHARD_SIZE'
  | 'ERASURE_SHARD_TYPE'
  | 'ERASURE_SHARD_OVERLAP'
  | 'ERASURE_DATA_SIZE'
  | 'ERASURE_STRIPE_FORMAT'
  | 'ERASURE_SINGULAR_MATRIX'
  | 'ERASURE_BACKEND_UNAVAILABLE'
  | 'ERASURE_NO_FEASIBLE_PARAMETERS';

/** The base of every error @trinity/erasure throws on purpose; match on `code` or `name`. */
export class ErasureError<Code extends ErasureErrorCode = ErasureErrorCode> extends TrinityError<Code> {}

/** dataShards / parityShards out of range (1 <= k, 1 <= m, k + m <= 256), or a shard array of the wrong length. */
export class InvalidShardCountError extends ErasureError<'ERASURE_INVALID_SHARD_COUNT'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERASURE_INVALID_SHARD_COUNT', message, details === undefined ? {} : { details });
  }
}

/** Fewer than dataShards usable shards: the data cannot be rebuilt. */
export class TooFewShardsError extends ErasureError<'ERASURE_TOO_FEW_SHARDS'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERASURE_TOO_FEW_SHARDS', message, details === undefined ? {} : { details });
  }
}

/** Shards of unequal or zero length, or longer than the configured maximum. */
export class ShardSizeError extends ErasureError<'ERASURE_SHARD_SIZE'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERASURE_SHARD_SIZE', message, details === undefined ? {} : { details });
  }
}

/** A shard (or a shard list) that is not what the API takes: not an array, not a Uint8Array. */
export class ShardTypeError extends ErasureError<'ERASURE_SHARD_TYPE'> {
  constructor(message: string) {
    super('ERASURE_SHARD_TYPE', message);
  }
}

/** An output shard shares memory with another shard, so writing it would corrupt an input. */
export class ShardOverlapError extends ErasureError<'ERASURE_SHARD_OVERLAP'> {
  constructor(message: string) {
    super('ERASURE_SHARD_OVERLAP', message);
  }
}

/** Data to split or join that is not bytes, empty, or a size that does not fit the shards. */
export class DataSizeError extends ErasureError<'ERASURE_DATA_SIZE'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERASURE_DATA_SIZE', message, details === undefined ? {} : { details });
  }
}

/** A stripe handed to the decoder is malformed (hash list of the wrong shape, bad dataBytes). */
export class StripeFormatError extends ErasureError<'ERASURE_STRIPE_FORMAT'> {
  constructor(message: string) {
    super('ERASURE_STRIPE_FORMAT', message);
  }
}

/** A matrix that has no inverse. Never happens for the code's own matrices (they are MDS). */
export class SingularMatrixError extends ErasureError<'ERASURE_SINGULAR_MATRIX'> {
  constructor(message = 'matrix is singular') {
    super('ERASURE_SINGULAR_MATRIX', message);
  }
}

/** `backend: 'wasm'` was asked for on a host without WebAssembly SIMD. */
export class BackendUnavailableError extends ErasureError<'ERASURE_BACKEND_UNAVAILABLE'> {
  constructor(message: string) {
    super('ERASURE_BACKEND_UNAVAILABLE', message);
  }
}

/** No (k, m) meets the durability target within the node count and overhead limit. */
export class NoFeasibleParametersError extends ErasureError<'ERASURE_NO_FEASIBLE_PARAMETERS'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERASURE_NO_FEASIBLE_PARAMETERS', message, details === undefined ? {} : { details });
  }
}
