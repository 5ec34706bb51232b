import { ConfigError, isTrinityError, KeyUnwrapError, ReadCapError } from '@trinity/core';
import {
  EconomicsLimitError,
  EventFormatError,
  EventFromFutureError,
  EventReplayError,
  EventSequenceError,
  EventSignatureError,
  EventTooLargeError,
} from '@trinity/economics';
import { MetricDefinitionError, MetricLabelError } from '@trinity/metrics';
import {
  CapacityExceededError,
  InvalidShardHashError,
  InvalidTxIdError,
  ManifestInvalidError,
  ManifestNotFoundError,
  ObjectDeletedError,
  ShardNotFoundError,
  ShardTooLargeError,
  SignatureInvalidError,
  SignedObjectInvalidError,
} from '@trinity/storage';
import { InvalidNodeError, RegionConfigError } from '@trinity/topology';
import { TxMessageError, TxNotFoundError } from '@trinity/tx';
import { HypervectorFormatError, IndexFileError, LockNotFoundError } from '@trinity/vsa';
import { NodeError } from '../errors.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The HTTP status of a library error, by its class. The daemon's own errors (NodeError) carry their
 * status; a TrinityError of a class not listed here is the node's fault (500).
 */
const statusByClass: readonly (readonly [ErrorClass, number])[] = [
  [ShardNotFoundError, 404],
  [ManifestNotFoundError, 404],
  [TxNotFoundError, 404],
  [LockNotFoundError, 404],
  [ConfigError, 400],
  [ManifestInvalidError, 400],
  [InvalidShardHashError, 400],
  [InvalidTxIdError, 400],
  [TxMessageError, 400],
  [InvalidNodeError, 400],
  [RegionConfigError, 400],
  [HypervectorFormatError, 400],
  [IndexFileError, 400],
  [MetricDefinitionError, 400],
  [MetricLabelError, 400],
  [ObjectDeletedError, 410],
  [SignatureInvalidError, 400],
  [SignedObjectInvalidError, 400],
  [ReadCapError, 400],
  [KeyUnwrapError, 403],
  [CapacityExceededError, 507],
  [EventFormatError, 400],
  [EventTooLargeError, 400],
  [EventSignatureError, 400],
  [EventReplayError, 409],
  [EventSequenceError, 409],
  [EventFromFutureError, 409],
  [EconomicsLimitError, 507],
  [ShardTooLargeError, 507],
];

/** Maps any error to an HTTP status and the `{ code, message }` of the JSON error body. */
export function errorStatus(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof NodeError) return { status: error.status, code: error.code, message: error.message };
  if (isTrinityError(error)) {
    const status = statusByClass.find(([type]) => error instanceof type)?.[1] ?? 500;
    return { status, code: error.code, message: error.message };
  }
  return { status: 500, code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}
