import { describe, expect, it } from 'vitest';
import { _lockHolderHexOf, lockHolderHex } from '../src/shard-locks.js';

describe('lock holder ids', () => {
  it("a node's holder function gives lockHolderHex, for generated and other transaction ids", () => {
    const txIds = [
      '0123456789abcdef0123456789abcdef',
      'ffffffffffffffff0000000000000001',
      'tx-7',
      'ABCDEF0123456789ABCDEF0123456789',
    ];
    const seen = new Set<string>();
    for (const nodeId of ['n1', 'n2', 'node-with-a-longer-name']) {
      const holderOf = _lockHolderHexOf(nodeId);
      for (const txId of txIds) {
        const holder = holderOf(txId);
        expect(holder).toBe(lockHolderHex(nodeId, txId));
        expect(holder).toMatch(/^[0-9a-f]{64}$/);
        seen.add(holder);
      }
    }
    // Distinct per (node, transaction).
    expect(seen.size).toBe(3 * txIds.length);
  });
});
