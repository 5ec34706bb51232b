import { MemoryMetrics, toHex } from '@trinity/core';
import { registerTrinityMetrics } from '@trinity/metrics';
import { lockHolderId } from '@trinity/tx';
import { ShardLockManager } from '@trinity/vsa';
import { describe, expect, it } from 'vitest';
import { MeteredShardLocks } from '../src/services/tx/metered-locks.js';
import { objectLockKey } from '../src/services/tx/object-locks.js';

describe('the lock table with its metrics', () => {
  it('counts grants, conflicts, limits and expiries, and the held gauge follows the table', () => {
    const registry = new MemoryMetrics();
    const locks = new MeteredShardLocks(
      new ShardLockManager({ lockTimeoutMs: 1_000, maxLocksPerHolder: 1 }),
      registerTrinityMetrics(registry),
    );
    const owner = 'ab'.repeat(32);
    const key = objectLockKey('node-a', { id: '00'.repeat(32), owner, name: 'x' });
    const other = objectLockKey('node-a', { id: '00'.repeat(32), owner, name: 'y' });
    const [a, b] = ['1'.repeat(32), '2'.repeat(32)];
    const lockHolderHex = (node: string, txId: string) => toHex(lockHolderId(node, txId));
    const count = (result: string) => registry.value('trinity_lock_acquisitions_total', { result });

    locks.acquire(key, lockHolderHex('node-a', a), a, 0);
    expect(() => locks.acquire(key, lockHolderHex('node-a', b), b, 10)).toThrow(/already locked/);
    expect(() => locks.acquire(other, lockHolderHex('node-a', a), a, 10)).toThrow(/limit/);
    expect([count('granted'), count('conflict'), count('limit')]).toEqual([1, 1, 1]);
    expect(registry.value('trinity_locks_held')).toBe(1);

    expect(locks.expire(2_000)).toBe(1);
    expect(registry.value('trinity_locks_expired_total')).toBe(1);
    expect(registry.value('trinity_locks_held')).toBe(0);

    locks.acquire(key, lockHolderHex('node-a', b), b, 2_000);
    expect(locks.releaseTransaction(b, 2_001)).toBe(1);
    expect([count('granted'), registry.value('trinity_locks_held')]).toEqual([2, 0]);
  });

  it('keys two puts of one object alike on a node, and apart across nodes, names and owners', () => {
    const owner = 'ab'.repeat(32);
    const object = { id: '00'.repeat(32), owner, name: 'report.pdf' };
    const key = objectLockKey('node-a', object);
    expect(objectLockKey('node-a', { ...object, id: '11'.repeat(32) })).toBe(key);
    expect(objectLockKey('node-b', object)).not.toBe(key);
    expect(objectLockKey('node-a', { ...object, name: 'other.pdf' })).not.toBe(key);
    expect(objectLockKey('node-a', { ...object, owner: 'cd'.repeat(32) })).not.toBe(key);
    // Unnamed objects lock their id.
    const unnamed = { id: '00'.repeat(32), owner };
    expect(objectLockKey('node-a', unnamed)).not.toBe(
      objectLockKey('node-a', { ...unnamed, id: '11'.repeat(32) }),
    );
  });
});
