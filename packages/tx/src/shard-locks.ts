import { fromHex, sha256, toHex, utf8ToBytes } from '@trinity/core';

/** What a granted lock carries. */
export interface LockGrant {
  /** SHA-256(shardHash XOR holderId): proof of who holds it (the participant never reads it). */
  readonly binding: Uint8Array;
  /** Increases with every grant of the shard; a write with an older token is stale. */
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

/**
 * The shard lock table a participant locks through: the shape of @trinity/vsa's ShardLockManager,
 * which is what a node passes. Sans-IO: time comes in as `nowMs`. `acquire` throws a TrinityError
 * (already locked, holder limit) when the lock cannot be granted; the participant then votes abort.
 * `release` may throw a TrinityError for a lock that is already gone; that is ignored. Shard hashes
 * and holder ids come as 64 lowercase hex characters (ShardLockManager takes them as hex or bytes).
 */
export interface ShardLocks {
  acquire(shardHash: string, holderId: string, txId: string, nowMs: number): LockGrant;
  release(shardHash: string, holderId: string, nowMs: number): unknown;
  verify(shardHash: string, claimedHolder: string, nowMs: number): boolean;
  releaseTransaction(txId: string, nowMs: number): number;
  latestFencingToken(shardHash: string): number;
}

const HEX32 = /^[0-9a-f]{32}$/;
/**
 * 16-byte tags of node ids, in hex (bounded: ids beyond it are tagged again each time). A daemon
 * tags only its own id; a simulation of thousands of nodes in one process tags each of them.
 */
const nodeTagsMax = 65_536;
const nodeTags = new Map<string, string>();

/**
 * The lock holder id of one participant node in one transaction, 32 bytes as 64 hex characters,
 * distinct per (node, transaction). For a generated id (32 hex characters) it is the id followed by
 * a 16-byte tag of the node (no hashing per transaction); otherwise SHA-256(nodeId "/" txId).
 */
export function lockHolderHex(nodeId: string, txId: string): string {
  if (!HEX32.test(txId)) return toHex(sha256(utf8ToBytes(`${nodeId}/${txId}`)));
  return txId + nodeTag(nodeId);
}

/**
 * `lockHolderHex` of one node, as a function of the transaction id: the node's tag is looked up
 * once, not per transaction (a participant makes one for its node).
 */
export function _lockHolderHexOf(nodeId: string): (txId: string) => string {
  let tag: string | undefined;
  return (txId) => {
    if (!HEX32.test(txId)) return toHex(sha256(utf8ToBytes(`${nodeId}/${txId}`)));
    tag ??= nodeTag(nodeId);
    return txId + tag;
  };
}

function nodeTag(nodeId: string): string {
  let tag = nodeTags.get(nodeId);
  if (tag === undefined) {
    tag = toHex(sha256(utf8ToBytes(`trinity-tx-holder/${nodeId}`)).subarray(0, 16));
    if (nodeTags.size < nodeTagsMax) nodeTags.set(nodeId, tag);
  }
  return tag;
}

/** `lockHolderHex` as bytes. */
export function lockHolderId(nodeId: string, txId: string): Uint8Array {
  return fromHex(lockHolderHex(nodeId, txId));
}
