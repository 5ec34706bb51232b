import { sha256, toHex, utf8ToBytes } from '@trinity/core';

/** What a put's lock is derived from: the object's owner and name, or its id when it has no name. */
export interface LockedObject {
  readonly id: string;
  readonly owner: string;
  readonly name?: string | undefined;
}

/**
 * The lock key `node` takes for `object` in a put: SHA-256 of the owner and the name (so two puts of
 * one name by one owner contend; an unnamed object locks its id). The node is part of the key because
 * each node has its own lock table and a transaction lists every lock once.
 */
export function objectLockKey(node: string, object: LockedObject): string {
  const what = object.name === undefined ? ['id', object.id] : ['name', object.name];
  return toHex(sha256(utf8ToBytes(JSON.stringify(['trinity-object-lock/1', node, object.owner, ...what]))));
}

/** The distinct lock keys `node` takes for a put of `objects`, sorted. */
export function objectLockKeys(node: string, objects: readonly LockedObject[]): string[] {
  return [...new Set(objects.map((object) => objectLockKey(node, object)))].sort();
}

/** A lock a participant node takes in a put: the lock key, with the node's bundle digest as `ref`. */
export interface PutLock {
  readonly node: string;
  readonly shardHash: string;
  readonly ref: string;
}
