import { TrinityError, toHex } from '@trinity/core';

/** Every `code` an error of @trinity/vsa carries; stable across releases. */
export type VsaErrorCode =
  | 'ALREADY_LOCKED'
  | 'LOCK_LIMIT_REACHED'
  | 'NOT_LOCK_HOLDER'
  | 'LOCK_NOT_FOUND'
  | 'STALE_FENCING_TOKEN'
  | 'DIMENSION_MISMATCH'
  | 'HYPERVECTOR_INVALID'
  | 'INDEX_FILE_INVALID'
  | 'INDEX_FULL'
  | 'FINGERPRINT_INPUT_TOO_LARGE'
  | 'FINGERPRINTER_FINISHED'
  | 'KERNEL_UNAVAILABLE'
  | 'INDEX_FILE_UNAVAILABLE';

/** The base of every error @trinity/vsa throws on purpose; match on `code` or `name`. */
export class VsaError<Code extends VsaErrorCode = VsaErrorCode> extends TrinityError<Code> {}

function shortHex(bytes: Uint8Array): string {
  return `${toHex(bytes.subarray(0, 8))}…`;
}

/** The shard is locked by another holder (or another transaction) and the lock has not expired. */
export class AlreadyLockedError extends VsaError<'ALREADY_LOCKED'> {
  readonly expiresAtMs: number;

  constructor(shardHash: Uint8Array, expiresAtMs: number) {
    super('ALREADY_LOCKED', `shard ${shortHex(shardHash)} is already locked until ${expiresAtMs} ms`, {
      details: { shard: toHex(shardHash), expiresAtMs },
    });
    this.expiresAtMs = expiresAtMs;
  }
}

/** A lock limit was reached: the holder's (`scope: 'holder'`) or the whole table's (`scope: 'table'`). */
export class LockLimitError extends VsaError<'LOCK_LIMIT_REACHED'> {
  readonly scope: 'holder' | 'table';
  readonly limit: number;

  constructor(scope: 'holder' | 'table', limit: number) {
    const what = scope === 'holder' ? 'holder already holds' : 'lock table already holds';
    super('LOCK_LIMIT_REACHED', `${what} ${limit} locks (the limit)`, { details: { scope, limit } });
    this.scope = scope;
    this.limit = limit;
  }
}

/** The caller tried to release a lock whose binding is not its own. */
export class NotLockHolderError extends VsaError<'NOT_LOCK_HOLDER'> {
  constructor(shardHash: Uint8Array) {
    super('NOT_LOCK_HOLDER', `shard ${shortHex(shardHash)} is locked by another holder`, {
      details: { shard: toHex(shardHash) },
    });
  }
}

/** No live lock on the shard (never taken, released, or expired). */
export class LockNotFoundError extends VsaError<'LOCK_NOT_FOUND'> {
  constructor(shardHash: Uint8Array) {
    super(
      'LOCK_NOT_FOUND',
      `shard ${shortHex(shardHash)} is not locked (never locked, released or expired)`,
      {
        details: { shard: toHex(shardHash) },
      },
    );
  }
}

/** A write carried a fencing token that is not the one of the shard's live lock. */
export class StaleFencingTokenError extends VsaError<'STALE_FENCING_TOKEN'> {
  constructor(shardHash: Uint8Array, token: number, currentToken: number) {
    const current =
      currentToken === 0 ? 'the shard is not locked' : `the live lock has token ${currentToken}`;
    super(
      'STALE_FENCING_TOKEN',
      `fencing token ${token} for shard ${shortHex(shardHash)} is stale: ${current}`,
      {
        details: { shard: toHex(shardHash), token, currentToken },
      },
    );
  }
}

/** Two hypervectors (or a vector and an index) have different dimensions. */
export class DimensionMismatchError extends VsaError<'DIMENSION_MISMATCH'> {
  constructor(expected: number, actual: number, what = 'hypervector') {
    super('DIMENSION_MISMATCH', `${what} has ${actual} dimensions, expected ${expected}`, {
      details: { expected, actual },
    });
  }
}

/** Bytes that should hold a serialized hypervector do not. */
export class HypervectorFormatError extends VsaError<'HYPERVECTOR_INVALID'> {
  constructor(reason: string) {
    super('HYPERVECTOR_INVALID', `invalid serialized hypervector: ${reason}`);
  }
}

/** A semantic index file is not one, is of an unknown version, is truncated or fails its checksum. */
export class IndexFileError extends VsaError<'INDEX_FILE_INVALID'> {
  readonly path: string;

  constructor(path: string, reason: string, options: { cause?: unknown } = {}) {
    super('INDEX_FILE_INVALID', `semantic index file ${path}: ${reason}`, {
      ...options,
      details: { path },
    });
    this.path = path;
  }
}

/** The semantic index is at its configured (or addressable) maximum number of entries. */
export class IndexFullError extends VsaError<'INDEX_FULL'> {
  constructor(limit: number) {
    super('INDEX_FULL', `semantic index is full (${limit} entries)`, { details: { limit } });
  }
}

/** A fingerprint stream went past the largest input one fingerprint covers. */
export class FingerprintInputTooLargeError extends VsaError<'FINGERPRINT_INPUT_TOO_LARGE'> {
  constructor(limitBytes: number) {
    super('FINGERPRINT_INPUT_TOO_LARGE', `a fingerprint covers at most ${limitBytes} bytes of input`, {
      details: { limitBytes },
    });
  }
}

/** A streaming fingerprinter was used after `digest()`. */
export class FingerprinterFinishedError extends VsaError<'FINGERPRINTER_FINISHED'> {
  constructor() {
    super('FINGERPRINTER_FINISHED', 'this fingerprinter already returned its digest; create a new one');
  }
}

/** `kernel: 'wasm'` was asked for but this host cannot run the WebAssembly SIMD kernel. */
export class KernelUnavailableError extends VsaError<'KERNEL_UNAVAILABLE'> {
  constructor() {
    super(
      'KERNEL_UNAVAILABLE',
      "the WebAssembly SIMD kernel is not available on this host; use kernel 'auto' or 'js'",
    );
  }
}

/** `save` / `load` of a SemanticIndex on a host without node:fs (a browser, say). */
export class IndexFileUnavailableError extends VsaError<'INDEX_FILE_UNAVAILABLE'> {
  constructor(operation: 'save' | 'load') {
    super(
      'INDEX_FILE_UNAVAILABLE',
      `SemanticIndex.${operation} needs node:fs, which this host does not have; elsewhere keep the fingerprints and add them back with addVector`,
      { details: { operation } },
    );
  }
}
