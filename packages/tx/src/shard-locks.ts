import { fromHex, sha256, utf8ToBytes } from '@trinity/core';

/** What a granted lock carries. */
export interface LockGrant {
  /** SHA-256(shardHash XOR holderId): proof of who holds it. */
  readonly binding: Uint8Array;
  /** Increases with every grant of the shard; a write with an older token is stale. */
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

/**
 * The shard lock table a participant locks through: the shape of @trinity/vsa's ShardLockManager,
 * which is what a node passes. Sans-IO: time comes in as `nowMs`. `acquire` throws a TrinityError
 * (already locked, holder limit) when the lock cannot be granted; the participant then votes abort.
 * `release` may throw a TrinityError for a lock that is already gone; that is ignored.
 */
export interface ShardLocks {
  acquire(shardHash: Uint8Array, holderId: Uint8Array, txId: string, nowMs: number): LockGrant;
  release(shardHash: Uint8Array, holderId: Uint8Array, nowMs: number): unknown;
  verify(shardHash: Uint8Array, claimedHolder: Uint8Array, nowMs: number): boolean;
  releaseTransaction(txId: string, nowMs: number): number;
  latestFencingToken(shardHash: Uint8Array): number;
}

const HEX32 = /^[0-9a-f]{32}$/;
const nodeTags = new Map<string, Uint8Array>();

/**
 * The lock holder id of one participant node in one transaction, 32 bytes, distinct per (node,
 * transaction). For a generated id (32 hex characters) it is the id's 16 bytes followed by a
 * 16-byte tag of the node (no hashing per transaction); otherwise SHA-256(nodeId "/" txId).
 */
export function lockHolderId(nodeId: string, txId: string): Uint8Array {
  if (!HEX32.test(txId)) return sha256(utf8ToBytes(`${nodeId}/${txId}`));
  let tag = nodeTags.get(nodeId);
  if (tag === undefined) {
    tag = sha256(utf8ToBytes(`trinity-tx-holder/${nodeId}`)).subarray(0, 16);
    if (nodeTags.size < 1_024) nodeTags.set(nodeId, tag);
  }
  const holder = new Uint8Array(32);
  holder.set(fromHex(txId), 0);
  holder.set(tag, 16);
  return holder;
}
