import { Buffer } from 'node:buffer';
import {
  assertBytes,
  assertInt,
  equalBytes,
  sha256,
  TrinityError,
  toHex,
  utf8ToBytes,
  xorBytes,
} from '@trinity/core';

/** What a granted lock carries. */
export interface LockGrant {
  /** SHA-256(shardHash XOR holderId): proof of who holds it. */
  readonly binding: Uint8Array;
  /** Increases with every grant of the shard; a write with an older token is stale. */
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

/**
 * The shard lock table a participant locks through: the shape of @trinity/vsa's ShardLockManager
 * (which satisfies it as is). Sans-IO: time comes in as `nowMs`. `acquire` throws a TrinityError
 * (already locked, holder limit) when the lock cannot be granted.
 */
export interface ShardLocks {
  acquire(shardHash: Uint8Array, holderId: Uint8Array, txId: string, nowMs: number): LockGrant;
  release(shardHash: Uint8Array, holderId: Uint8Array, nowMs: number): unknown;
  verify(shardHash: Uint8Array, claimedHolder: Uint8Array, nowMs: number): boolean;
  releaseTransaction(txId: string, nowMs: number): number;
  latestFencingToken(shardHash: Uint8Array): number;
}

/** The shard is held by another holder and has not expired. */
export class ShardLockedError extends TrinityError {
  constructor(shardHex: string) {
    super('SHARD_ALREADY_LOCKED', `shard ${shardHex.slice(0, 16)}… is already locked`, {
      details: { shard: shardHex },
    });
  }
}

/** The holder already holds its maximum number of locks. */
export class ShardLockLimitError extends TrinityError {
  constructor(limit: number) {
    super('SHARD_LOCK_LIMIT', `holder already holds ${limit} shard locks`, { details: { limit } });
  }
}

interface HeldLock {
  readonly holderKey: string;
  readonly binding: Uint8Array;
  readonly txId: string;
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

/**
 * An in-memory `ShardLocks` (the stand-in until @trinity/vsa's ShardLockManager is used): expiry,
 * a per-holder limit, release by transaction, and fencing tokens from one counter that starts at
 * `firstFencingToken` (give it the highest token the store has seen after a restart).
 */
export class MemoryShardLocks implements ShardLocks {
  /** Shards whose latest token is remembered after their lock went; the oldest are forgotten first. */
  static readonly latestTokensMax = 100_000;
  readonly ttlMs: number;
  readonly maxLocksPerHolder: number;
  readonly #locks = new Map<string, HeldLock>();
  readonly #latest = new Map<string, number>();
  /** Locks per holder, expired ones included until they are swept. */
  readonly #perHolder = new Map<string, number>();
  #nextToken: number;

  constructor(options: { ttlMs?: number; maxLocksPerHolder?: number; firstFencingToken?: number } = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxLocksPerHolder = options.maxLocksPerHolder ?? 64;
    this.#nextToken = options.firstFencingToken ?? 1;
    assertInt(this.ttlMs, 'ttlMs', 1);
    assertInt(this.maxLocksPerHolder, 'maxLocksPerHolder', 1);
    assertInt(this.#nextToken, 'firstFencingToken', 1);
  }

  acquire(shardHash: Uint8Array, holderId: Uint8Array, txId: string, nowMs: number): LockGrant {
    const key = lockKey(shardHash, holderId);
    const held = this.#live(key, nowMs);
    if (held !== undefined) throw new ShardLockedError(toHex(shardHash));
    const holderKey = keyOf(holderId);
    if ((this.#perHolder.get(holderKey) ?? 0) >= this.maxLocksPerHolder) this.#sweep(nowMs);
    if ((this.#perHolder.get(holderKey) ?? 0) >= this.maxLocksPerHolder) {
      throw new ShardLockLimitError(this.maxLocksPerHolder);
    }
    const lock: HeldLock = {
      holderKey,
      binding: bindingOf(shardHash, holderId),
      txId,
      fencingToken: this.#nextToken++,
      expiresAtMs: nowMs + this.ttlMs,
    };
    this.#locks.set(key, lock);
    this.#perHolder.set(holderKey, (this.#perHolder.get(holderKey) ?? 0) + 1);
    this.#latest.delete(key);
    this.#latest.set(key, lock.fencingToken);
    if (this.#latest.size > MemoryShardLocks.latestTokensMax) {
      this.#latest.delete(this.#latest.keys().next().value!);
    }
    return { binding: lock.binding, fencingToken: lock.fencingToken, expiresAtMs: lock.expiresAtMs };
  }

  /**
   * Releases the lock if `holderId` holds it; returns whether it did. For one shard the binding
   * matches exactly when the holder does, so the holder is compared (without hashing again).
   */
  release(shardHash: Uint8Array, holderId: Uint8Array, nowMs: number): boolean {
    const key = lockKey(shardHash, holderId);
    const held = this.#live(key, nowMs);
    if (held === undefined || held.holderKey !== keyOf(holderId)) return false;
    this.#delete(key, held);
    return true;
  }

  verify(shardHash: Uint8Array, claimedHolder: Uint8Array, nowMs: number): boolean {
    const held = this.#live(lockKey(shardHash, claimedHolder), nowMs);
    return held !== undefined && equalBytes(held.binding, bindingOf(shardHash, claimedHolder));
  }

  releaseTransaction(txId: string, nowMs: number): number {
    let released = 0;
    for (const [key, lock] of this.#locks) {
      if (lock.txId !== txId) continue;
      this.#delete(key, lock);
      if (lock.expiresAtMs > nowMs) released++;
    }
    return released;
  }

  latestFencingToken(shardHash: Uint8Array): number {
    assertBytes(shardHash, 'shardHash', 32);
    return this.#latest.get(keyOf(shardHash)) ?? 0;
  }

  /** Unexpired locks, for tests and leak checks. */
  heldCount(nowMs: number): number {
    let count = 0;
    for (const lock of this.#locks.values()) if (lock.expiresAtMs > nowMs) count++;
    return count;
  }

  /** The latest expiry among unexpired locks (undefined when none is held). */
  lastExpiryMs(nowMs: number): number | undefined {
    let last: number | undefined;
    for (const lock of this.#locks.values()) {
      if (lock.expiresAtMs > nowMs) last = Math.max(last ?? 0, lock.expiresAtMs);
    }
    return last;
  }

  #live(key: string, nowMs: number): HeldLock | undefined {
    const held = this.#locks.get(key);
    if (held === undefined) return undefined;
    if (held.expiresAtMs > nowMs) return held;
    this.#delete(key, held);
    return undefined;
  }

  #delete(key: string, lock: HeldLock): void {
    this.#locks.delete(key);
    const count = (this.#perHolder.get(lock.holderKey) ?? 1) - 1;
    if (count <= 0) this.#perHolder.delete(lock.holderKey);
    else this.#perHolder.set(lock.holderKey, count);
  }

  /** Drops every expired lock (so a holder's count is exact before refusing it). */
  #sweep(nowMs: number): void {
    for (const [key, lock] of this.#locks) if (lock.expiresAtMs <= nowMs) this.#delete(key, lock);
  }
}

/** A map key for 32 bytes: one latin1 character per byte, decoded natively (much cheaper than hex). */
function keyOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

function lockKey(shardHash: Uint8Array, holderId: Uint8Array): string {
  assertBytes(shardHash, 'shardHash', 32);
  assertBytes(holderId, 'holderId', 32);
  return keyOf(shardHash);
}

function bindingOf(shardHash: Uint8Array, holderId: Uint8Array): Uint8Array {
  return sha256(xorBytes(shardHash, holderId));
}

/** The lock holder id of one participant node in one transaction: SHA-256(nodeId "/" txId). */
export function lockHolderId(nodeId: string, txId: string): Uint8Array {
  return sha256(utf8ToBytes(`${nodeId}/${txId}`));
}
