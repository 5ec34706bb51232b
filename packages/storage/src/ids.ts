import { describe, fromHex, isHex, isTxIdHex, toHex } from '@trinity/core';
import { InvalidShardHashError, InvalidTxIdError } from './errors.js';

/** Bytes in a shard hash (SHA-256). */
export const shardHashBytes = 32;

/**
 * The 32-byte hash named by `hex`, for ids that come from outside (URLs, peers, files). Anything
 * but exactly 64 lower-case hex characters (`../x`, upper case, padding) throws InvalidShardHashError.
 */
export function parseShardHash(hex: string): Uint8Array {
  if (!isHex(hex, shardHashBytes)) {
    throw new InvalidShardHashError(`shard hash must be 64 lower-case hex characters, got ${describe(hex)}`);
  }
  return fromHex(hex);
}

/** Lower-case hex of a shard hash, checking it is 32 bytes (InvalidShardHashError if not). */
export function shardHashHex(hash: Uint8Array): string {
  if (!(hash instanceof Uint8Array) || hash.length !== shardHashBytes) {
    throw new InvalidShardHashError(`shard hash must be a 32-byte Uint8Array, got ${describe(hash)}`);
  }
  return toHex(hash);
}

/** True when `hex` is a valid shard hash in hex. */
export function isShardHashHex(hex: unknown): hex is string {
  return isHex(hex, shardHashBytes);
}

/** Checks a transaction id (8-64 lower-case hex characters); it names a folder, so nothing else passes. */
export function assertTxId(txId: unknown): asserts txId is string {
  if (!isTxIdHex(txId)) {
    throw new InvalidTxIdError(
      `transaction id must be 8-64 lower-case hex characters, got ${describe(txId)}`,
    );
  }
}

/** True when `txId` is a valid transaction id. */
export function isTxId(txId: unknown): txId is string {
  return isTxIdHex(txId);
}
