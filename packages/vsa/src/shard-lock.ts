import { assert, assertBytes, assertInt, assertNumber, equalBytes, parseConfig, toHex } from '@trinity/core';
import { type ShardLockConfig, type ShardLockConfigInput, shardLockConfigSchema } from './config.js';
import {
  AlreadyLockedError,
  LockLimitError,
  LockNotFoundError,
  NotLockHolderError,
  StaleFencingTokenError,
} from './errors.js';
import { type Hypervector, hypervectorsEqual } from './hypervector.js';
import { deserializeHypervector } from './hypervector-codec.js';
import {
  hypervectorLockBindingBytes,
  lockHolderVector,
  recoverLockHolderVector,
  sha256LockBinding,
} from './lock-binding.js';

/** What a granted lock gives its holder. */
export interface LockGrant {
  /** The binding of holder to shard: SHA-256(shard XOR holder), or a serialized bound hypervector. */
  readonly binding: Uint8Array;
  /** Strictly increasing per shard across grants; the shard store rejects writes with an older one. */
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

/** A live lock as `ShardLockManager.get` describes it. */
export interface LockInfo extends LockGrant {
  readonly shardHash: Uint8Array;
  readonly holderId: Uint8Array;
  readonly txId: string;
  readonly acquiredAtMs: number;
}

interface LockRecord {
  readonly shardHash: Uint8Array;
  readonly holderId: Uint8Array;
  readonly holderHex: string;
  readonly txId: string;
  readonly binding: Uint8Array;
  readonly fencingToken: number;
  readonly acquiredAtMs: number;
  expiresAtMs: number;
}

/** Longest transaction id accepted (UTF-16 code units). */
export const txIdLengthMax = 256;

/**
 * The shard lock table of seed v2.1 as a sans-IO state machine (time is always an argument):
 * `acquire` binds a holder to a shard for `lockTimeoutMs`, `release` only by the holder whose binding
 * matches, `verify`, `releaseTransaction`, expiry after which anyone may acquire, at most
 * `maxLocksPerHolder` locks per holder. Beyond the seed, every grant carries a fencing token that is
 * strictly increasing per shard (one counter for the table, never below floor(nowMs) ×
 * `fencingTokensPerMs` nor `firstFencingToken`), and the binding may be a full bound hypervector
 * (`binding: 'hypervector'`) from which `unbind` recovers the holder.
 *
 * Re-acquiring a lock you hold (same holder, same transaction) extends it: a new expiry, the same
 * binding and fencing token. Expired locks are dropped lazily when touched, and by `expire(nowMs)`.
 */
export class ShardLockManager {
  readonly config: ShardLockConfig;
  readonly #locks = new Map<string, LockRecord>();
  readonly #byHolder = new Map<string, Set<string>>();
  readonly #byTx = new Map<string, Set<string>>();
  /** Token of the latest grant per shard, also after release; at most `maxLocks` remembered. */
  readonly #latestTokens = new Map<string, number>();
  #lastToken = 0;

  constructor(config: ShardLockConfigInput = {}) {
    this.config = parseConfig(shardLockConfigSchema, config, 'shard lock config');
  }

  /** Locks held, counting expired ones not yet dropped (see `activeCount` and `expire`). */
  get size(): number {
    return this.#locks.size;
  }

  /** The last fencing token granted by this table (0 before the first grant). */
  get lastFencingToken(): number {
    return this.#lastToken;
  }

  /**
   * Locks `shardHash` for `holderId` within transaction `txId` until nowMs + lockTimeoutMs. Throws
   * AlreadyLockedError when another holder or transaction holds it, LockLimitError when the holder
   * (or the table) is at its limit.
   */
  acquire(shardHash: Uint8Array, holderId: Uint8Array, txId: string, nowMs: number): LockGrant {
    assertIds(shardHash, holderId);
    assertTxId(txId);
    assertNowMs(nowMs);
    const key = toHex(shardHash);
    const held = this.#live(key, nowMs);
    if (held !== undefined) {
      if (held.txId !== txId || !equalBytes(held.holderId, holderId)) {
        throw new AlreadyLockedError(shardHash, held.expiresAtMs);
      }
      held.expiresAtMs = nowMs + this.config.lockTimeoutMs;
      return grantOf(held);
    }
    const holderHex = toHex(holderId);
    this.#checkLimits(holderHex, nowMs);
    const record: LockRecord = {
      shardHash: shardHash.slice(),
      holderId: holderId.slice(),
      holderHex,
      txId,
      binding: this.#binding(shardHash, holderId),
      fencingToken: this.#nextToken(nowMs),
      acquiredAtMs: nowMs,
      expiresAtMs: nowMs + this.config.lockTimeoutMs,
    };
    this.#insert(key, record);
    return grantOf(record);
  }

  /**
   * Releases the lock on `shardHash` held by `holderId`. Throws LockNotFoundError when the shard has no
   * live lock, NotLockHolderError when the binding of `holderId` is not the lock's.
   */
  release(shardHash: Uint8Array, holderId: Uint8Array, nowMs: number): void {
    assertIds(shardHash, holderId);
    assertNowMs(nowMs);
    const key = toHex(shardHash);
    const held = this.#live(key, nowMs);
    if (held === undefined) throw new LockNotFoundError(shardHash);
    if (!this.#bindingMatches(held, holderId)) throw new NotLockHolderError(shardHash);
    this.#remove(key, held);
  }

  /** `release` that returns whether it released instead of throwing. */
  tryRelease(shardHash: Uint8Array, holderId: Uint8Array, nowMs: number): boolean {
    assertIds(shardHash, holderId);
    assertNowMs(nowMs);
    const key = toHex(shardHash);
    const held = this.#live(key, nowMs);
    if (held === undefined || !this.#bindingMatches(held, holderId)) return false;
    this.#remove(key, held);
    return true;
  }

  /** True when `claimedHolder` holds a live lock on `shardHash` (its binding matches the stored one). */
  verify(shardHash: Uint8Array, claimedHolder: Uint8Array, nowMs: number): boolean {
    assertIds(shardHash, claimedHolder);
    assertNowMs(nowMs);
    const held = this.#live(toHex(shardHash), nowMs);
    return held !== undefined && this.#bindingMatches(held, claimedHolder);
  }

  /** Releases every lock of transaction `txId` at once; returns how many were live. */
  releaseTransaction(txId: string, nowMs: number): number {
    assertTxId(txId);
    assertNowMs(nowMs);
    const keys = this.#byTx.get(txId);
    if (keys === undefined) return 0;
    let released = 0;
    for (const key of [...keys]) {
      const record = this.#locks.get(key);
      assert(record !== undefined && record.txId === txId, 'lock index out of step');
      if (record.expiresAtMs > nowMs) released++;
      this.#remove(key, record);
    }
    return released;
  }

  /** The fencing token of the latest grant on `shardHash`: 0 if never granted (or forgotten, see maxLocks). */
  latestFencingToken(shardHash: Uint8Array): number {
    assertBytes(shardHash, 'shardHash', 32);
    const key = toHex(shardHash);
    return this.#locks.get(key)?.fencingToken ?? this.#latestTokens.get(key) ?? 0;
  }

  /**
   * For a store beside this table: throws StaleFencingTokenError unless `fencingToken` is the token of
   * the live lock on `shardHash`, so a writer whose lock expired (or was taken over) cannot write.
   */
  assertFencingToken(shardHash: Uint8Array, fencingToken: number, nowMs: number): void {
    assertBytes(shardHash, 'shardHash', 32);
    assertInt(fencingToken, 'fencingToken', 0);
    assertNowMs(nowMs);
    const held = this.#live(toHex(shardHash), nowMs);
    const current = held?.fencingToken ?? 0;
    if (current === 0 || current !== fencingToken)
      throw new StaleFencingTokenError(shardHash, fencingToken, current);
  }

  /** The live lock on `shardHash`, or undefined. */
  get(shardHash: Uint8Array, nowMs: number): LockInfo | undefined {
    assertBytes(shardHash, 'shardHash', 32);
    assertNowMs(nowMs);
    const held = this.#live(toHex(shardHash), nowMs);
    if (held === undefined) return undefined;
    const { shardHash: shard, holderId, txId, acquiredAtMs } = held;
    return { ...grantOf(held), shardHash: shard.slice(), holderId: holderId.slice(), txId, acquiredAtMs };
  }

  /**
   * With `binding: 'hypervector'`: the holder vector unbound from the live lock's binding (equal to
   * `lockHolderVector(holderId, bindingDims)` of the holder). Undefined when not locked or for 'sha256'.
   */
  recoverHolderVector(shardHash: Uint8Array, nowMs: number): Hypervector | undefined {
    assertBytes(shardHash, 'shardHash', 32);
    assertNowMs(nowMs);
    const held = this.#live(toHex(shardHash), nowMs);
    if (held === undefined || this.config.binding !== 'hypervector') return undefined;
    return recoverLockHolderVector(deserializeHypervector(held.binding), shardHash);
  }

  /** Live locks held by `holderId`. */
  heldBy(holderId: Uint8Array, nowMs: number): number {
    assertBytes(holderId, 'holderId', 32);
    assertNowMs(nowMs);
    return this.#purgeHolder(toHex(holderId), nowMs);
  }

  /** Locks that have not expired at `nowMs`. */
  activeCount(nowMs: number): number {
    assertNowMs(nowMs);
    let count = 0;
    for (const record of this.#locks.values()) if (record.expiresAtMs > nowMs) count++;
    return count;
  }

  /** Drops every lock expired at `nowMs` (an O(size) sweep); returns how many. */
  expire(nowMs: number): number {
    assertNowMs(nowMs);
    let dropped = 0;
    for (const [key, record] of this.#locks) {
      if (record.expiresAtMs > nowMs) continue;
      this.#remove(key, record);
      dropped++;
    }
    return dropped;
  }

  #binding(shardHash: Uint8Array, holderId: Uint8Array): Uint8Array {
    if (this.config.binding === 'sha256') return sha256LockBinding(shardHash, holderId);
    return hypervectorLockBindingBytes(shardHash, holderId, this.config.bindingDims);
  }

  /** SHA-256: recompute and compare. Hypervector: unbind the shard and compare with the holder's vector. */
  #bindingMatches(record: LockRecord, holderId: Uint8Array): boolean {
    if (this.config.binding === 'sha256')
      return equalBytes(record.binding, sha256LockBinding(record.shardHash, holderId));
    const recovered = recoverLockHolderVector(deserializeHypervector(record.binding), record.shardHash);
    return hypervectorsEqual(recovered, lockHolderVector(holderId, this.config.bindingDims));
  }

  #nextToken(nowMs: number): number {
    const fromClock = Math.floor(nowMs) * this.config.fencingTokensPerMs;
    if (!Number.isSafeInteger(fromClock))
      throw new RangeError(`nowMs ${nowMs} is too large for fencing tokens`);
    const token = Math.max(this.#lastToken + 1, this.config.firstFencingToken, fromClock);
    assert(Number.isSafeInteger(token), 'fencing tokens exhausted');
    this.#lastToken = token;
    return token;
  }

  #checkLimits(holderHex: string, nowMs: number): void {
    if ((this.#byHolder.get(holderHex)?.size ?? 0) >= this.config.maxLocksPerHolder) {
      if (this.#purgeHolder(holderHex, nowMs) >= this.config.maxLocksPerHolder) {
        throw new LockLimitError('holder', this.config.maxLocksPerHolder);
      }
    }
    if (this.#locks.size >= this.config.maxLocks) {
      this.expire(nowMs);
      if (this.#locks.size >= this.config.maxLocks) throw new LockLimitError('table', this.config.maxLocks);
    }
  }

  /** Drops the holder's expired locks; returns how many live ones it holds. */
  #purgeHolder(holderHex: string, nowMs: number): number {
    const keys = this.#byHolder.get(holderHex);
    if (keys === undefined) return 0;
    for (const key of [...keys]) this.#live(key, nowMs);
    return this.#byHolder.get(holderHex)?.size ?? 0;
  }

  /** The unexpired lock under `key`; an expired one is dropped on the way. */
  #live(key: string, nowMs: number): LockRecord | undefined {
    const record = this.#locks.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAtMs > nowMs) return record;
    this.#remove(key, record);
    return undefined;
  }

  #insert(key: string, record: LockRecord): void {
    this.#locks.set(key, record);
    addToIndex(this.#byHolder, record.holderHex, key);
    addToIndex(this.#byTx, record.txId, key);
    this.#latestTokens.delete(key);
    this.#latestTokens.set(key, record.fencingToken);
    if (this.#latestTokens.size > this.config.maxLocks) {
      this.#latestTokens.delete(this.#latestTokens.keys().next().value!);
    }
  }

  #remove(key: string, record: LockRecord): void {
    assert(this.#locks.get(key) === record, 'removing a lock that is not in the table');
    this.#locks.delete(key);
    removeFromIndex(this.#byHolder, record.holderHex, key);
    removeFromIndex(this.#byTx, record.txId, key);
  }
}

function grantOf(record: LockRecord): LockGrant {
  return {
    binding: record.binding.slice(),
    fencingToken: record.fencingToken,
    expiresAtMs: record.expiresAtMs,
  };
}

function addToIndex(index: Map<string, Set<string>>, id: string, key: string): void {
  let keys = index.get(id);
  if (keys === undefined) index.set(id, (keys = new Set()));
  keys.add(key);
}

function removeFromIndex(index: Map<string, Set<string>>, id: string, key: string): void {
  const keys = index.get(id);
  const removed = keys?.delete(key) ?? false;
  assert(removed, 'lock index out of step');
  if (keys!.size === 0) index.delete(id);
}

function assertIds(shardHash: Uint8Array, holderId: Uint8Array): void {
  assertBytes(shardHash, 'shardHash', 32);
  assertBytes(holderId, 'holderId', 32);
}

function assertTxId(txId: string): void {
  if (typeof txId !== 'string') throw new TypeError(`txId must be a string, got ${typeof txId}`);
  if (txId.length === 0 || txId.length > txIdLengthMax) {
    throw new RangeError(`txId must be 1 to ${txIdLengthMax} characters, got ${txId.length}`);
  }
}

function assertNowMs(nowMs: number): void {
  assertNumber(nowMs, 'nowMs', 0);
}
