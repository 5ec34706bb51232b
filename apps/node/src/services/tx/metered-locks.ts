import type { NodeMetrics } from '@trinity/metrics';
import type { LockGrant, ShardLocks } from '@trinity/tx';
import { AlreadyLockedError, LockLimitError, type ShardLockManager } from '@trinity/vsa';

/** The lock metrics a node keeps (acquisitions by result, locks held, locks expired). */
export type LockMetrics = Pick<NodeMetrics, 'lockAcquisitions' | 'locksHeld' | 'locksExpired'>;

/** Why a lock request ended as it did: the `result` label of trinity_lock_acquisitions_total. */
export type LockResult = 'granted' | 'conflict' | 'limit';

/**
 * The participant's lock table with its metrics: every acquire is counted by result (granted, a
 * conflict with another transaction's lock, a per-holder or table limit) and the held gauge follows
 * the table after every change. The metrics are the node's (the registry its /metrics serves).
 */
export class MeteredShardLocks implements ShardLocks {
  readonly table: ShardLockManager;
  readonly #metrics: LockMetrics;

  constructor(table: ShardLockManager, metrics: LockMetrics) {
    this.table = table;
    this.#metrics = metrics;
    metrics.locksHeld.set(table.size);
  }

  acquire(shardHash: string, holderId: string, txId: string, nowMs: number): LockGrant {
    try {
      const grant = this.table.acquire(shardHash, holderId, txId, nowMs);
      this.#count('granted');
      return grant;
    } catch (error) {
      if (error instanceof AlreadyLockedError) this.#count('conflict');
      else if (error instanceof LockLimitError) this.#count('limit');
      throw error;
    } finally {
      this.#held();
    }
  }

  release(shardHash: string, holderId: string, nowMs: number): void {
    try {
      this.table.release(shardHash, holderId, nowMs);
    } finally {
      this.#held();
    }
  }

  verify(shardHash: string, claimedHolder: string, nowMs: number): boolean {
    return this.table.verify(shardHash, claimedHolder, nowMs);
  }

  releaseTransaction(txId: string, nowMs: number): number {
    const released = this.table.releaseTransaction(txId, nowMs);
    this.#held();
    return released;
  }

  /** Drops the locks expired at `nowMs` (their holders stopped renewing them) and counts them. */
  expire(nowMs: number): number {
    const expired = this.table.expire(nowMs);
    if (expired > 0) this.#metrics.locksExpired.inc(expired);
    this.#held();
    return expired;
  }

  latestFencingToken(shardHash: string): number {
    return this.table.latestFencingToken(shardHash);
  }

  #count(result: LockResult): void {
    this.#metrics.lockAcquisitions.inc(1, { result });
  }

  #held(): void {
    this.#metrics.locksHeld.set(this.table.size);
  }
}
