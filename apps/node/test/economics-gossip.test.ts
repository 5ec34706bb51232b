import { describe, expect, it } from 'vitest';
import { until } from './helpers.js';
import { withNodes } from './with-nodes.js';

/** Economics events between in-process nodes over real libp2p streams (push and anti-entropy). */
describe('economics gossip over libp2p', () => {
  const nodes = withNodes('trinity-econ-gossip-', 3, () => ({
    fsync: false,
    economics: { settleDelayMs: 200, tickMs: 200, antiEntropyMs: 500 },
  }));

  it('a proof-of-storage result recorded on one node reaches the others (an unstaked reporter carries no reputation weight)', async () => {
    const [a, b, c] = nodes as [(typeof nodes)[0], (typeof nodes)[0], (typeof nodes)[0]];
    const before = c!.economics.reputationOf(b!.peerId);
    for (let i = 0; i < 4; i++)
      await a!.economics.recordPosResult({ holder: b!.peerId, shard: `${i}`.repeat(64), passed: true });
    for (const node of [b, c]) {
      await until(
        'the results to arrive',
        async () => (node!.economics.state.lastSeqOf(a!.economics.nodeId) === 4 ? true : undefined),
        240_000,
      );
    }
    // Node a is not staked (no genesis here): its reports are held but carry no weight yet.
    expect(c!.economics.reputationOf(b!.peerId)).toBe(before);
    // The state includes its clock (each node's timer advances it on its own schedule), so the nodes
    // are compared at one common time, in one synchronous step no timer can interleave with.
    await until(
      'every node to reach the same state',
      async () => {
        const common = Math.max(...nodes.map((n) => n.clock.nowMs())) + 1_000;
        for (const n of nodes) n.economics.state.advanceTo(common);
        return new Set(nodes.map((n) => n.economics.state.stateHash())).size === 1 &&
          nodes.every((n) => n.economics.state.pendingCount === 0)
          ? true
          : undefined;
      },
      240_000,
    );
    expect(c!.economics.state.counters().posPassed).toBe(4);
  }, 600_000);

  it('a node restarted from its log catches up by anti-entropy on what it missed while down', async () => {
    const [a, , c] = nodes;
    const dataDir = c!.config.dataDir;
    const config = c!.config;
    await c!.stop();
    await a!.economics.recordPosResult({ holder: nodes[1]!.peerId, shard: 'ef'.repeat(32), passed: false });
    const { TrinityNode } = await import('../src/node/trinity-node.js');
    const { MemoryLogger } = await import('@trinity/core');
    const restarted = await TrinityNode.create({ ...config, dataDir }, new MemoryLogger());
    await restarted.start();
    nodes[2] = restarted;
    // Its own log gives back what it had (4 events of a), anti-entropy the fifth.
    expect(restarted.economics.state.lastSeqOf(a!.economics.nodeId)).toBeGreaterThanOrEqual(4);
    await until(
      'the restarted node to catch up',
      async () => (restarted.economics.state.lastSeqOf(a!.economics.nodeId) === 5 ? true : undefined),
      240_000,
    );
    await until(
      'the failure to settle',
      async () => (restarted.economics.state.counters().posFailed === 1 ? true : undefined),
      240_000,
    );
  }, 600_000);
});
