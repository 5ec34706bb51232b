import { TrinityError } from '@trinity/core';

type ErrorOptions = { cause?: unknown; details?: Record<string, unknown> };

/** Every `code` a @trinity/storage error carries; stable across releases. */
export type StorageErrorCode =
  | 'SHARD_HASH_INVALID'
  | 'TX_ID_INVALID'
  | 'SHARD_HASH_MISMATCH'
  | 'CAPACITY_EXCEEDED'
  | 'SHARD_TOO_LARGE'
  | 'SHARD_NOT_FOUND'
  | 'SHARD_CORRUPT'
  | 'FENCING_TOKEN_STALE'
  | 'STAGING_LIMIT'
  | 'STAGING_MISMATCH'
  | 'TX_COMMITTING'
  | 'STORE_CLOSED'
  | 'STORE_FORMAT'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_NOT_FOUND'
  | 'INSUFFICIENT_SHARDS'
  | 'REPAIR_VERIFICATION_FAILED'
  | 'REPAIR_STORE_FAILED'
  | 'SIGNED_OBJECT_INVALID'
  | 'SIGNATURE_INVALID'
  | 'OBJECT_DELETED'
  | 'CHALLENGE_INVALID';

/** The base of every error @trinity/storage throws on purpose. Match on `code` or `name`. */
export class StorageError extends TrinityError {
  declare readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

/** A shard id from outside (hex string or bytes) is not a 32-byte SHA-256 in lower-case hex. */
export class InvalidShardHashError extends StorageError {
  constructor(message: string) {
    super('SHARD_HASH_INVALID', message);
  }
}

/** A transaction id is not 8 to 64 lower-case hex characters, so it is never used as a path. */
export class InvalidTxIdError extends StorageError {
  constructor(message: string) {
    super('TX_ID_INVALID', message);
  }
}

/** The bytes offered do not hash to the hash the caller (or peer) said they would. */
export class ShardHashMismatchError extends StorageError {
  constructor(expectedHex: string, actualHex: string) {
    super('SHARD_HASH_MISMATCH', `shard hash mismatch: expected ${expectedHex}, got ${actualHex}`, {
      details: { expected: expectedHex, actual: actualHex },
    });
  }
}

/** Storing this would exceed the configured capacity (or the shard-count limit). */
export class CapacityExceededError extends StorageError {
  constructor(message: string, details: Record<string, unknown>) {
    super('CAPACITY_EXCEEDED', message, { details });
  }
}

/** A shard is larger than `maxShardBytes`. */
export class ShardTooLargeError extends StorageError {
  constructor(sizeBytes: number, maxShardBytes: number) {
    super('SHARD_TOO_LARGE', `shard is ${sizeBytes} bytes, over the limit of ${maxShardBytes}`, {
      details: { sizeBytes, maxShardBytes },
    });
  }
}

/** No shard with this hash is in the store. */
export class ShardNotFoundError extends StorageError {
  constructor(hashHex: string) {
    super('SHARD_NOT_FOUND', `shard ${hashHex} not found`, { details: { hash: hashHex } });
  }
}

/** The bytes on disk no longer hash to the shard's name; the file was quarantined, never served. */
export class ShardCorruptError extends StorageError {
  constructor(hashHex: string, reason: string) {
    super('SHARD_CORRUPT', `shard ${hashHex} is corrupt on disk (${reason}); quarantined`, {
      details: { hash: hashHex, reason },
    });
  }
}

/** A write carried a fencing token lower than the highest one this store has seen for that shard. */
export class StaleFencingTokenError extends StorageError {
  constructor(hashHex: string, token: number, highestToken: number) {
    super(
      'FENCING_TOKEN_STALE',
      `stale fencing token ${token} for shard ${hashHex}: a write with token ${highestToken} was already seen`,
      { details: { hash: hashHex, token, highestToken } },
    );
  }
}

/** A new staged transaction or staged shard would exceed the configured limits. */
export class StagingLimitError extends StorageError {
  constructor(message: string, details: Record<string, unknown>) {
    super('STAGING_LIMIT', message, { details });
  }
}

/** At prepare, what is staged under a transaction is not what its coordinator asks to lock: vote abort. */
export class StagingMismatchError extends StorageError {
  constructor(message: string, txId: string) {
    super('STAGING_MISMATCH', message, { details: { txId } });
  }
}

/** abortStaged on a transaction whose commit has begun: the decision was commit, it can only be completed. */
export class TransactionCommittingError extends StorageError {
  constructor(txId: string) {
    super('TX_COMMITTING', `transaction ${txId} has started committing and cannot be aborted`, {
      details: { txId },
    });
  }
}

/** The store (or manifest store) was used after close(). */
export class StoreClosedError extends StorageError {
  constructor(what = 'shard store') {
    super('STORE_CLOSED', `${what} is closed`);
  }
}

/** The data directory holds a store laid out differently (format or fan-out) from what was asked. */
export class StoreFormatError extends StorageError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('STORE_FORMAT', message, options);
  }
}

/** Manifest bytes or a manifest object broke the schema, the bounds, canonical form or the expected id. */
export class ManifestInvalidError extends StorageError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('MANIFEST_INVALID', message, options);
  }
}

/** No manifest with this id is stored. */
export class ManifestNotFoundError extends StorageError {
  constructor(id: string) {
    super('MANIFEST_NOT_FOUND', `manifest ${id} not found`, { details: { id } });
  }
}

/** Fewer than k valid shards of a stripe could be fetched, so it cannot be rebuilt now. */
export class InsufficientShardsError extends StorageError {
  constructor(stripeIndex: number, valid: number, needed: number) {
    super(
      'INSUFFICIENT_SHARDS',
      `stripe ${stripeIndex}: only ${valid} valid shards could be fetched, ${needed} needed`,
      { details: { stripeIndex, valid, needed } },
    );
  }
}

/** A rebuilt shard did not hash to the manifest's hash: the sources or the codec are wrong; nothing stored. */
export class RepairVerificationError extends StorageError {
  constructor(stripeIndex: number, shardIndex: number, expectedHex: string, actualHex: string) {
    super(
      'REPAIR_VERIFICATION_FAILED',
      `stripe ${stripeIndex} shard ${shardIndex}: rebuilt bytes hash to ${actualHex}, manifest says ${expectedHex}`,
      { details: { stripeIndex, shardIndex, expected: expectedHex, actual: actualHex } },
    );
  }
}

/** Every target a rebuilt shard could go to failed to store it. */
export class RepairStoreError extends StorageError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('REPAIR_STORE_FAILED', message, options);
  }
}

/** Which owner- or holder-signed object an error is about. */
export type SignedObjectKind = 'descriptor' | 'receipt' | 'tombstone' | 'put-intent' | 'proof-answer';

/**
 * A signed object (descriptor, receipt, tombstone, put intent) broke its schema, its bounds, its
 * canonical form or the id it was expected to have. Nothing about its signature was trusted.
 */
export class SignedObjectInvalidError extends StorageError {
  readonly kind: SignedObjectKind;

  constructor(kind: SignedObjectKind, message: string, options: ErrorOptions = {}) {
    super('SIGNED_OBJECT_INVALID', `invalid ${kind}: ${message}`, {
      ...options,
      details: { kind, ...options.details },
    });
    this.kind = kind;
  }
}

/** A well-formed signed object whose signature does not verify under the key it names. */
export class SignatureInvalidError extends StorageError {
  readonly kind: SignedObjectKind;

  constructor(kind: SignedObjectKind, message: string) {
    super('SIGNATURE_INVALID', `${kind} signature invalid: ${message}`, { details: { kind } });
    this.kind = kind;
  }
}

/** The object was deleted by an owner-signed tombstone that is still remembered; nothing was stored. */
export class ObjectDeletedError extends StorageError {
  constructor(id: string, expiresAtMs: number) {
    super('OBJECT_DELETED', `object ${id} was deleted by its owner (tombstone kept until ${expiresAtMs})`, {
      details: { id, expiresAtMs },
    });
  }
}

/** A proof-of-storage challenge could not be created or answered as asked (bad window, wrong shard). */
export class ChallengeInvalidError extends StorageError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CHALLENGE_INVALID', message, details === undefined ? {} : { details });
  }
}
