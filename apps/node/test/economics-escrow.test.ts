import { toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../src/stores/identity.js';
import { apiFetch, until } from './helpers.js';
import { withNodes } from './with-nodes.js';

const count = 7;

/**
 * Escrow governance end to end over libp2p, seven in-process nodes with --escrow on one genesis
 * (each 1,000,000 base units, 100,000 staked): a challenger's failing proof-of-storage results
 * make it propose a slash; the accused disputes over HTTP; the five other nodes check the evidence
 * and vote uphold; the slash executes when the voting round ends.
 */
describe('slashing escrow across seven nodes', () => {
  const nodes = withNodes('trinity-econ-escrow-', count, async (_i, dataDirOf) => {
    const accounts = [];
    for (let j = 0; j < count; j++) {
      const key = await loadOrCreateIdentity(dataDirOf(j));
      accounts.push({ id: toHex(key.publicKey.raw), balance: '1000000', stake: '100000' });
    }
    return {
      fsync: false,
      economics: {
        escrow: true,
        genesis: { timeMs: 0, rewardPool: '0', accounts },
        settleDelayMs: 200,
        tickMs: 200,
        antiEntropyMs: 1_000,
        disputeWindowMs: 60_000,
        votingWindowMs: 5_000,
        appealWindowMs: 0,
        uptimeReportMs: 0,
        bandwidthReportMs: 0,
      },
    };
  });

  it('proposes, disputes, votes (5 uphold) and executes', async () => {
    const [challenger, accused] = [nodes[0]!, nodes[1]!];
    for (let i = 0; i < 3; i++) {
      await challenger.economics.recordPosResult({
        holder: accused.peerId,
        shard: `${i}`.repeat(64),
        passed: false,
      });
    }
    const escrow = await until(
      'the accused to see the escrow',
      async () => accused.economics.escrows()[0],
      60_000,
    );
    expect(escrow).toMatchObject({
      accused: accused.economics.nodeId,
      reporter: challenger.economics.nodeId,
      reason: 'pos-failure',
      status: 'open',
      amount: 1_000n, // 1 % of 100,000 bonded
    });
    const dispute = await apiFetch(`${accused.apiUrl}/v1/economics/dispute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ escrowId: escrow.id, evidence: 'ee'.repeat(32) }),
    });
    expect(dispute.status).toBe(200);
    expect(await dispute.json()).toMatchObject({ outcome: 'applied' });
    const voted = await until(
      'five votes on every node',
      async () => {
        const views = nodes.map((n) => n.economics.state.escrow(escrow.id));
        return views.every((v) => v !== undefined && v.votes === 5) ? views[6] : undefined;
      },
      60_000,
    );
    expect(voted!.overturnVotes).toBe(0);
    await until(
      'the slash to execute everywhere',
      async () =>
        nodes.every((n) => n.economics.state.escrow(escrow.id)?.status === 'executed') ? true : undefined,
      60_000,
    );
    const summary = (await (await apiFetch(`${nodes[4]!.apiUrl}/v1/economics/${accused.peerId}`)).json()) as {
      stake: string;
      slashedTotal: string;
    };
    expect(summary).toMatchObject({ stake: '99000', slashedTotal: '1000' });
    // The accused's reputation dropped below the nodes that were not challenged.
    expect(nodes[5]!.economics.reputationOf(accused.peerId)).toBeLessThan(
      nodes[5]!.economics.reputationOf(nodes[2]!.peerId),
    );
    expect(nodes[5]!.geography.reputation(accused.peerId)).toBe(
      nodes[5]!.economics.reputationOf(accused.peerId),
    );
  }, 240_000);
});
