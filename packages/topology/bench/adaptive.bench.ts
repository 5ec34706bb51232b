import { type Random, seededRandom } from '@trinity/core';
import { AdaptiveRegionRouter, DEFAULT_WEIGHT_SETS, REGIONS, Topology } from '../src/index.js';
import type { Row } from './_report.js';

const nodesPerRegion = 50;
const fetches = 60_000;
const timeoutMs = 500;

interface SimNode {
  id: string;
  baseMs: number;
  drift: number;
  reliability: number;
  region: string;
}

/** A world whose latencies drift and whose reputations go stale, driven by its own seed. */
class World {
  readonly nodes: SimNode[] = [];
  readonly random: Random;
  congested: string | undefined;

  constructor(seed: number, topology: Topology) {
    this.random = seededRandom(seed);
    for (const region of REGIONS) {
      for (let i = 0; i < nodesPerRegion; i++) {
        const baseMs = topology.expectedRttMs('us-east', region) * (0.8 + 0.7 * this.random.nextFloat()) + 2;
        const reliability = this.random.chance(0.3) ? 0.3 + 0.5 * this.random.nextFloat() : 0.995;
        this.nodes.push({ id: `${region}-${i}`, baseMs, drift: 1, reliability, region });
      }
    }
  }

  latencyMs(node: SimNode): number {
    return node.baseMs * node.drift * (node.region === this.congested ? 4 : 1);
  }

  /**
   * One step: a log random walk of some nodes' latency, a congested region (x4) now and then, and at
   * half time the flaky nodes change (30% flaky before, 5% after) while reputations lag behind.
   */
  step(t: number): void {
    for (let n = 0; n < 20; n++) {
      const node = this.random.pick(this.nodes);
      node.drift = Math.min(4, Math.max(0.5, node.drift * Math.exp(0.15 * (this.random.nextFloat() - 0.5))));
    }
    if (t % 6_000 === 0) this.congested = this.random.chance(0.5) ? this.random.pick(REGIONS) : undefined;
    if (t === fetches / 2) {
      for (const node of this.nodes)
        node.reliability = this.random.chance(0.05) ? 0.5 + 0.4 * this.random.nextFloat() : 0.995;
    }
  }
}

/** Mean time to get one shard (failures cost a timeout and a retry on the next holder) and first-try success. */
function simulate(
  adaptive: false | 'least-squares' | 'bandit',
  weightSets: readonly object[],
): { meanMs: number; successPct: number } {
  const topology = new Topology();
  const world = new World(1234, topology);
  const outcomes = seededRandom(99);
  const router = new AdaptiveRegionRouter(
    {
      router: { minReputation: 0 },
      adaptive: {
        enabled: adaptive !== false,
        policy: adaptive || 'least-squares',
        weightSets: weightSets as never,
      },
    },
    { selfRegion: 'us-east', topology },
  );
  // Reputations are what the network last agreed on: refreshed rarely, so they lag reliability.
  const refreshReputations = () => {
    for (const node of world.nodes)
      router.upsertNode({ id: node.id, region: node.region, reputation: node.reliability });
  };
  refreshReputations();
  let totalMs = 0;
  let firstTry = 0;
  for (let t = 1; t <= fetches; t++) {
    world.step(t);
    if (t % 25_000 === 0) refreshReputations();
    for (let p = 0; p < 5; p++) {
      const node = world.random.pick(world.nodes);
      router.observeLatency(node.id, world.latencyMs(node) * (0.9 + 0.2 * world.random.nextFloat()), t);
    }
    const holders = Array.from({ length: 6 }, () => world.random.pick(world.nodes));
    const byId = new Map(holders.map((node) => [node.id, node]));
    const decision = router.rankCandidates('us-east', [...byId.keys()]);
    for (const [attempt, candidate] of decision.result.entries()) {
      const node = byId.get(candidate.id)!;
      const ok = outcomes.chance(node.reliability);
      const latencyMs = world.latencyMs(node) * Math.exp(0.2 * (outcomes.nextFloat() - 0.5));
      if (attempt === 0) {
        const ref = { arm: decision.arm, nodeId: node.id, requesterRegion: 'us-east' };
        router.recordOutcome(ref, { success: ok, latencyMs });
        if (ok) firstTry++;
      }
      totalMs += ok ? latencyMs : timeoutMs;
      if (ok) break;
    }
  }
  return { meanMs: totalMs / fetches, successPct: (100 * firstTry) / fetches };
}

export function adaptiveBench(): Row[] {
  const rows: Row[] = [];
  const params = { nodes: nodesPerRegion * REGIONS.length, fetches };
  const arms = DEFAULT_WEIGHT_SETS.map((set) => ({ ...set }));
  const push = (impl: string, result: { meanMs: number; successPct: number }) => {
    rows.push({ bench: 'drifting workload fetch', impl, params, value: result.meanMs, unit: 'ms' });
    rows.push({
      bench: 'drifting workload first-try success',
      impl,
      params,
      value: result.successPct,
      unit: '%',
    });
  };
  push('fixed 0.4/0.4/0.2 (seed)', simulate(false, arms));
  push(`adaptive least squares, ${arms.length} sets`, simulate('least-squares', arms));
  push(`adaptive D-UCB bandit, ${arms.length} sets`, simulate('bandit', arms));
  for (const set of arms.slice(1)) {
    push(`fixed ${set.latency}/${set.reputation}/${set.locality}`, simulate(false, [set]));
  }
  return rows;
}
