import { seededRandom } from '@trinity/core';
import { compositeScore, latencyScore, REGIONS, RegionRouter, SEED_WEIGHTS, Topology } from '../src/index.js';
import { type Row, timeMs } from './_report.js';

/**
 * Routing decision time at 1k, 10k and 100k nodes: our per-region index (exact), a brute-force scan
 * over flat arrays (exact, O(n)), and the seed's approach of scoring at most 20 candidates (inexact:
 * the miss rate says how often it did not return the best node).
 */
export function routerBench(sizes = [1_000, 10_000, 100_000]): Row[] {
  const rows: Row[] = [];
  const topology = new Topology();
  for (const nodes of sizes) {
    const random = seededRandom(nodes);
    const router = new RegionRouter({ minReputation: 0 }, { selfRegion: 'us-east', topology });
    const region: string[] = [];
    const regionList: readonly string[] = REGIONS;
    const reputation = new Float64Array(nodes);
    const latency = new Float64Array(nodes);
    for (let i = 0; i < nodes; i++) {
      region.push(random.pick(REGIONS));
      reputation[i] = random.nextFloat();
      router.upsertNode({ id: `node-${i}`, region: region[i]!, reputation: reputation[i]! });
      const rtt = topology.expectedRttMs('us-east', region[i]!) * (0.5 + random.nextFloat());
      router.observeLatency(`node-${i}`, rtt, 0);
      latency[i] = latencyScore(router.tracker.latencyMs(`node-${i}`)!);
    }
    const requesters: string[] = Array.from({ length: 64 }, () => random.pick(REGIONS));
    const locality = new Map(requesters.map((r) => [r, REGIONS.map((to) => topology.locality(r, to))]));
    const regionIndex = region.map((r) => regionList.indexOf(r));
    const scan = (requester: string) => {
      const loc = locality.get(requester)!;
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < nodes; i++) {
        const score = compositeScore(latency[i]!, reputation[i]!, loc[regionIndex[i]!]!, SEED_WEIGHTS);
        if (score > bestScore) [best, bestScore] = [i, score];
      }
      return best;
    };
    const sample20 = (requester: string) => {
      const loc = locality.get(requester)!;
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < 20; c++) {
        const i = random.int(0, nodes - 1);
        const score = compositeScore(latency[i]!, reputation[i]!, loc[regionIndex[i]!]!, SEED_WEIGHTS);
        if (score > bestScore) [best, bestScore] = [i, score];
      }
      return best;
    };
    let misses = 0;
    for (let q = 0; q < 1_000; q++) {
      const requester = requesters[q % requesters.length]!;
      const exact = router.best(requester)!.id;
      if (exact !== `node-${scan(requester)}`) throw new Error('router and scan disagree');
      if (`node-${sample20(requester)}` !== exact) misses++;
    }
    const params = { nodes };
    const pick = (i: number) => requesters[i % requesters.length]!;
    rows.push(
      {
        bench: 'route best',
        impl: '@trinity/topology',
        params,
        value: timeMs((i) => router.best(pick(i))),
        unit: 'ms',
      },
      {
        bench: 'route best',
        impl: 'brute-force scan',
        params,
        value: timeMs((i) => scan(pick(i))),
        unit: 'ms',
      },
      {
        bench: 'route best',
        impl: 'seed 20 candidates',
        params,
        value: timeMs((i) => sample20(pick(i))),
        unit: 'ms',
      },
      { bench: 'route best miss rate', impl: 'seed 20 candidates', params, value: misses / 10, unit: '%' },
      {
        bench: 'route top10',
        impl: '@trinity/topology',
        params,
        value: timeMs((i) => router.topN(pick(i), 10)),
        unit: 'ms',
      },
      {
        bench: 'observe latency',
        impl: '@trinity/topology',
        params,
        value: timeMs((i) => router.observeLatency(`node-${i % nodes}`, 20 + (i % 200), 1 + i)),
        unit: 'ms',
      },
    );
  }
  return rows;
}
