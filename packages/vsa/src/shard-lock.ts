import { assert, assertBytes, assertInt, assertNumber, fromHex, parseConfig, toHex } from '@trinity/core';
import {
  _shardLockConfigFast,
  type ShardLockConfig,
  type ShardLockConfigInput,
  shardLockConfigSchema,
} from './config.js';
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

/** A shard hash or holder id: 32 bytes, or the same as 64 lowercase hex characters. */
export type LockId = Uint8Array | string;

interface LockRecord {
  /** The table key: the shard hash in hex. */
  readonly key: string;
  readonly holderHex: string;
  readonly txId: string;
  /** Computed when first asked for (`bindingOf`): the hot path of a transaction never reads it. */
  binding: Uint8Array | undefined;
  readonly fencingToken: number;
  readonly acquiredAtMs: number;
  expiresAtMs: number;
}

/** A grant whose binding is computed (once) when read. */
class Grant implements LockGrant {
  readonly fencingToken: number;
  readonly expiresAtMs: number;
  readonly #record: LockRecord;
  readonly #bindingOf: (record: LockRecord) => Uint8Array;

  constructor(record: LockRecord, bindingOf: (record: LockRecord) => Uint8Array) {
    this.fencingToken = record.fencingToken;
    this.expiresAtMs = record.expiresAtMs;
    this.#record = record;
    this.#bindingOf = bindingOf;
  }

  get binding(): Uint8Array {
    return this.#bindingOf(this.#record).slice();
  }

  toJSON(): { binding: string; fencingToken: number; expiresAtMs: number } {
    return { binding: toHex(this.binding), fencingToken: this.fencingToken, expiresAtMs: this.expiresAtMs };
  }
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
  /** The locks of each holder and of each transaction (see `LockIndex`). */
  readonly #byHolder: LockIndex = new Map();
  readonly #byTx: LockIndex = new Map();
  readonly #bindingOf = (record: LockRecord): Uint8Array => {
    record.binding ??= this.#binding(fromHex(record.key), fromHex(record.holderHex));
    return record.binding;
  };
  /** Token of the last grant of recently released shards; at most `rememberedTokens`, oldest dropped first. */
  readonly #releasedTokens = new Map<string, number>();
  /** The same releases in order, as a ring (a Map's own order would cost a scan past deleted entries). */
  readonly #releasedKeys: string[] = [];
  readonly #releasedTokenRing: number[] = [];
  #releasedHead = 0;
  #lastToken = 0;
  /**
   * No lock expires before this (a lower bound: set by each sweep, lowered by grants; extending only
   * raises an expiry). A full table refuses without its O(size) sweep until then, so a stream of
   * refused acquires cannot cost a scan of a million locks each.
   */
  #expiresAtMsMin = Number.POSITIVE_INFINITY;

  constructor(config: ShardLockConfigInput = {}) {
    this.config =
      _shardLockConfigFast(config) ?? parseConfig(shardLockConfigSchema, config, 'shard lock config');
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
  acquire(shardHash: LockId, holderId: LockId, txId: string, nowMs: number): LockGrant {
    const key = idHex(shardHash, 'shardHash');
    const holderHex = idHex(holderId, 'holderId');
    assertTxId(txId);
    assertNowMs(nowMs);
    const held = this.#live(key, nowMs);
    if (held !== undefined) {
      if (held.txId !== txId || held.holderHex !== holderHex) {
        throw new AlreadyLockedError(fromHex(key), held.expiresAtMs);
      }
      // Extends, never shortens: a re-acquire with an older nowMs must not break the expiry an
      // earlier grant promised (another holder could take the shard while this one still writes).
      held.expiresAtMs = Math.max(held.expiresAtMs, nowMs + this.config.lockTimeoutMs);
      return new Grant(held, this.#bindingOf);
    }
    this.#checkLimits(holderHex, nowMs);
    const record: LockRecord = {
      key,
      holderHex,
      txId,
      // The hypervector binding is the lock's content (it is unbound later): made now. SHA-256 on demand.
      binding:
        this.config.binding === 'hypervector' ? this.#binding(fromHex(key), fromHex(holderHex)) : undefined,
      fencingToken: this.#nextToken(nowMs),
      acquiredAtMs: nowMs,
      expiresAtMs: nowMs + this.config.lockTimeoutMs,
    };
    this.#insert(record);
    return new Grant(record, this.#bindingOf);
  }

  /**
   * Releases the lock on `shardHash` held by `holderId`. Throws LockNotFoundError when the shard has no
   * live lock, NotLockHolderError when the binding of `holderId` is not the lock's.
   */
  release(shardHash: LockId, holderId: LockId, nowMs: number): void {
    const key = idHex(shardHash, 'shardHash');
    const holderHex = idHex(holderId, 'holderId');
    assertNowMs(nowMs);
    const held = this.#live(key, nowMs);
    if (held === undefined) throw new LockNotFoundError(fromHex(key));
    if (!this.#bindingMatches(held, holderHex)) throw new NotLockHolderError(fromHex(key));
    this.#remove(held);
  }

  /** `release` that returns whether it released instead of throwing. */
  tryRelease(shardHash: LockId, holderId: LockId, nowMs: number): boolean {
    const key = idHex(shardHash, 'shardHash');
    const holderHex = idHex(holderId, 'holderId');
    assertNowMs(nowMs);
    const held = this.#live(key, nowMs);
    if (held === undefined || !this.#bindingMatches(held, holderHex)) return false;
    this.#remove(held);
    return true;
  }

  /** True when `claimedHolder` holds a live lock on `shardHash` (its binding matches the stored one). */
  verify(shardHash: LockId, claimedHolder: LockId, nowMs: number): boolean {
    const key = idHex(shardHash, 'shardHash');
    const holderHex = idHex(claimedHolder, 'holderId');
    assertNowMs(nowMs);
    const held = this.#live(key, nowMs);
    return held !== undefined && this.#bindingMatches(held, holderHex);
  }

  /** Releases every lock of transaction `txId` at once; returns how many were live. */
  releaseTransaction(txId: string, nowMs: number): number {
    assertTxId(txId);
    assertNowMs(nowMs);
    const entry = this.#byTx.get(txId);
    if (entry === undefined) return 0;
    this.#byTx.delete(txId);
    if (!Array.isArray(entry)) return this.#drop(entry, nowMs);
    let released = 0;
    for (const record of entry) released += this.#drop(record, nowMs);
    return released;
  }

  /**
   * The fencing token of the latest grant on `shardHash`: the live lock's, else the last one of a
   * recently released shard (see `rememberedTokens`), else 0 (never granted, or forgotten).
   */
  latestFencingToken(shardHash: LockId): number {
    const key = idHex(shardHash, 'shardHash');
    return this.#locks.get(key)?.fencingToken ?? this.#releasedTokens.get(key) ?? 0;
  }

  /**
   * For a store beside this table: throws StaleFencingTokenError unless `fencingToken` is the token of
   * the live lock on `shardHash`, so a writer whose lock expired (or was taken over) cannot write.
   */
  assertFencingToken(shardHash: LockId, fencingToken: number, nowMs: number): void {
    const key = idHex(shardHash, 'shardHash');
    assertInt(fencingToken, 'fencingToken', 0);
    assertNowMs(nowMs);
    const held = this.#live(key, nowMs);
    const current = held?.fencingToken ?? 0;
    if (current === 0 || current !== fencingToken)
      throw new StaleFencingTokenError(fromHex(key), fencingToken, current);
  }

  /** The live lock on `shardHash`, or undefined. */
  get(shardHash: LockId, nowMs: number): LockInfo | undefined {
    const key = idHex(shardHash, 'shardHash');
    assertNowMs(nowMs);
    const held = this.#live(key, nowMs);
    if (held === undefined) return undefined;
    const { holderHex, txId, acquiredAtMs, fencingToken, expiresAtMs } = held;
    return {
      binding: this.#bindingOf(held).slice(),
      fencingToken,
      expiresAtMs,
      shardHash: fromHex(key),
      holderId: fromHex(holderHex),
      txId,
      acquiredAtMs,
    };
  }

  /**
   * With `binding: 'hypervector'`: the holder vector unbound from the live lock's binding (equal to
   * `lockHolderVector(holderId, bindingDims)` of the holder). Undefined when not locked or for 'sha256'.
   */
  recoverHolderVector(shardHash: LockId, nowMs: number): Hypervector | undefined {
    const key = idHex(shardHash, 'shardHash');
    assertNowMs(nowMs);
    const held = this.#live(key, nowMs);
    if (held === undefined || this.config.binding !== 'hypervector') return undefined;
    return recoverLockHolderVector(deserializeHypervector(this.#bindingOf(held)), fromHex(key));
  }

  /** Live locks held by `holderId`. */
  heldBy(holderId: LockId, nowMs: number): number {
    const holderHex = idHex(holderId, 'holderId');
    assertNowMs(nowMs);
    return this.#purgeHolder(holderHex, nowMs);
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
    let expiresAtMsMin = Number.POSITIVE_INFINITY;
    for (const record of this.#locks.values()) {
      if (record.expiresAtMs > nowMs) {
        expiresAtMsMin = Math.min(expiresAtMsMin, record.expiresAtMs);
        continue;
      }
      this.#remove(record);
      dropped++;
    }
    this.#expiresAtMsMin = expiresAtMsMin;
    return dropped;
  }

  #binding(shardHash: Uint8Array, holderId: Uint8Array): Uint8Array {
    if (this.config.binding === 'sha256') return sha256LockBinding(shardHash, holderId);
    return hypervectorLockBindingBytes(shardHash, holderId, this.config.bindingDims);
  }

  /** SHA-256: recompute and compare. Hypervector: unbind the shard and compare with the holder's vector. */
  #bindingMatches(record: LockRecord, holderHex: string): boolean {
    // SHA-256(shard XOR a) equals SHA-256(shard XOR b) exactly when a equals b (short of a SHA-256
    // collision): comparing the holders answers the same as recomputing the binding.
    if (this.config.binding === 'sha256') return record.holderHex === holderHex;
    const binding = deserializeHypervector(this.#bindingOf(record));
    const recovered = recoverLockHolderVector(binding, fromHex(record.key));
    return hypervectorsEqual(recovered, lockHolderVector(fromHex(holderHex), this.config.bindingDims));
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
    if (indexedCount(this.#byHolder, holderHex) >= this.config.maxLocksPerHolder) {
      if (this.#purgeHolder(holderHex, nowMs) >= this.config.maxLocksPerHolder) {
        throw new LockLimitError('holder', this.config.maxLocksPerHolder);
      }
    }
    if (this.#locks.size >= this.config.maxLocks) {
      if (nowMs >= this.#expiresAtMsMin) this.expire(nowMs);
      if (this.#locks.size >= this.config.maxLocks) throw new LockLimitError('table', this.config.maxLocks);
    }
  }

  /** Drops the holder's expired locks; returns how many live ones it holds. */
  #purgeHolder(holderHex: string, nowMs: number): number {
    for (const record of indexed(this.#byHolder, holderHex)) this.#live(record.key, nowMs);
    return indexedCount(this.#byHolder, holderHex);
  }

  /** The unexpired lock under `key`; an expired one is dropped on the way. */
  #live(key: string, nowMs: number): LockRecord | undefined {
    const record = this.#locks.get(key);
    if (record === undefined) return undefined;
    if (record.expiresAtMs > nowMs) return record;
    this.#remove(record);
    return undefined;
  }

  #insert(record: LockRecord): void {
    this.#locks.set(record.key, record);
    this.#expiresAtMsMin = Math.min(this.#expiresAtMsMin, record.expiresAtMs);
    addToIndex(this.#byHolder, record.holderHex, record);
    addToIndex(this.#byTx, record.txId, record);
  }

  #remove(record: LockRecord): void {
    removeFromIndex(this.#byTx, record.txId, record);
    this.#drop(record, 0);
  }

  /** Removes `record` from the table and the holder index (the caller did the transaction index); 1 if it was live at `nowMs`. */
  #drop(record: LockRecord, nowMs: number): number {
    assert(this.#locks.get(record.key) === record, 'lock index out of step');
    this.#locks.delete(record.key);
    removeFromIndex(this.#byHolder, record.holderHex, record);
    this.#rememberToken(record.key, record.fencingToken);
    return record.expiresAtMs > nowMs ? 1 : 0;
  }

  #rememberToken(key: string, token: number): void {
    const limit = this.config.rememberedTokens;
    if (limit === 0) return;
    this.#releasedTokens.set(key, token);
    const keys = this.#releasedKeys;
    if (keys.length < limit) {
      keys.push(key);
      this.#releasedTokenRing.push(token);
      return;
    }
    const head = this.#releasedHead;
    // Forget the oldest release unless the shard was released again since (then its entry is newer).
    if (this.#releasedTokens.get(keys[head]!) === this.#releasedTokenRing[head])
      this.#releasedTokens.delete(keys[head]!);
    keys[head] = key;
    this.#releasedTokenRing[head] = token;
    this.#releasedHead = (head + 1) % limit;
  }
}

/**
 * Locks by holder or transaction id: one record as itself, more as an array (a transaction usually
 * locks one shard per node, so most entries are single and cost no array).
 */
type LockIndex = Map<string, LockRecord | LockRecord[]>;

function addToIndex(index: LockIndex, id: string, record: LockRecord): void {
  const entry = index.get(id);
  if (entry === undefined) index.set(id, record);
  else if (Array.isArray(entry)) entry.push(record);
  else index.set(id, [entry, record]);
}

function removeFromIndex(index: LockIndex, id: string, record: LockRecord): void {
  const entry = index.get(id);
  if (entry === record) {
    index.delete(id);
    return;
  }
  const at = Array.isArray(entry) ? entry.lastIndexOf(record) : -1;
  assert(at >= 0, 'lock index out of step');
  const records = entry as LockRecord[];
  if (records.length === 2) index.set(id, records[1 - at]!);
  else records.splice(at, 1);
}

/** The records under `id`, as a copy the caller may remove them from the index while reading. */
function indexed(index: LockIndex, id: string): readonly LockRecord[] {
  const entry = index.get(id);
  if (entry === undefined) return [];
  return Array.isArray(entry) ? entry.slice() : [entry];
}

function indexedCount(index: LockIndex, id: string): number {
  const entry = index.get(id);
  return entry === undefined ? 0 : Array.isArray(entry) ? entry.length : 1;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The table's key for a shard hash or holder id given as bytes or hex (validated either way). */
function idHex(id: LockId, name: string): string {
  if (typeof id !== 'string') {
    assertBytes(id, name, 32);
    return toHex(id);
  }
  if (!HEX64.test(id)) throw new RangeError(`${name} must be 32 bytes or 64 lowercase hex characters`);
  return id;
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
