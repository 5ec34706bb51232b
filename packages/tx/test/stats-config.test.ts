import { MemoryMetrics, parseConfig } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { registerTxMetrics, TxStats, txConfigSchema } from '../src/index.js';

describe('TxStats and trinity_tx_* metrics', () => {
  it('exports every seed statistic under its trinity_tx_* name', () => {
    const metrics = new MemoryMetrics();
    const stats = registerTxMetrics(metrics);
    stats.began();
    stats.addParticipants(6);
    stats.addVotes(6);
    stats.decided('committed', 250);
    stats.addCommitAcks(6);
    stats.began();
    stats.decided('aborted', 50);
    stats.compensationRun();
    stats.rolledBackOne();
    stats.setActive(3);
    expect(metrics.value('trinity_tx_total')).toBe(2);
    expect(metrics.value('trinity_tx_committed_total')).toBe(1);
    expect(metrics.value('trinity_tx_aborted_total')).toBe(1);
    expect(metrics.value('trinity_tx_rolled_back_total')).toBe(1);
    expect(metrics.value('trinity_tx_rollbacks_total')).toBe(1);
    expect(metrics.value('trinity_tx_participants_total')).toBe(6);
    expect(metrics.value('trinity_tx_votes_total')).toBe(6);
    expect(metrics.value('trinity_tx_commit_acks_total')).toBe(6);
    expect(metrics.value('trinity_tx_active')).toBe(3);
    expect(metrics.count('trinity_tx_duration_seconds')).toBe(2);
    expect(metrics.value('trinity_tx_duration_seconds')).toBeCloseTo(0.3);
    expect(stats.averageDurationMs).toBe(150);
  });

  it('attaches to an existing TxStats', () => {
    const stats = new TxStats();
    stats.setActive(5);
    const metrics = new MemoryMetrics();
    expect(registerTxMetrics(metrics, stats)).toBe(stats);
    expect(metrics.value('trinity_tx_active')).toBe(5);
  });
});

describe('txConfigSchema', () => {
  it('has the seed defaults', () => {
    expect(parseConfig(txConfigSchema, {})).toMatchObject({
      maxConcurrentTransactions: 256,
      maxShardsPerTransaction: 64,
      maxCompensationRetries: 3,
    });
  });

  it('rejects unknown fields and out-of-bound values with one readable line', () => {
    expect(() => parseConfig(txConfigSchema, { prepareTimeoutMs: 0 }, 'tx config')).toThrow(
      /invalid tx config: prepareTimeoutMs/,
    );
    expect(() => parseConfig(txConfigSchema, { prepareTimeoutMS: 10 })).toThrow(/prepareTimeoutMS/);
  });
});
