import { seededRandom } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidNodeError,
  latencyScore,
  REGIONS,
  RegionRouter,
  type ScoredNode,
  TopologyLimitError,
  UnknownRegionError,
} from '../src/index.js';

describe('the seed worked example', () => {
  it('scores A, B, C as 0.976, 0.684, 0.504 for a US-East requester (to 0.005)', () => {
    const router = new RegionRouter({}, { selfRegion: 'us-east' });
    router.upsertNode({ id: 'A', region: 'us-east', reputation: 0.95 });
    router.upsertNode({ id: 'B', region: 'eu-west', reputation: 0.9 });
    router.upsertNode({ id: 'C', region: 'asia-east', reputation: 0.85 });
    router.observeLatency('A', 5, 0);
    router.observeLatency('B', 80, 0);
    router.observeLatency('C', 180, 0);
    const ranked = router.topN('us-east', 3);
    expect(ranked.map((node) => node.id)).toEqual(['A', 'B', 'C']);
    expect(Math.abs(ranked[0]!.score - 0.976)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(ranked[1]!.score - 0.684)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(ranked[2]!.score - 0.504)).toBeLessThanOrEqual(0.005);
    expect(router.best('us-east')?.id).toBe('A');
  });

  it('has a latency score that is the seed 0.99, 0.56, 0.36 at 5, 80, 180 ms (to 0.01)', () => {
    expect(latencyScore(5)).toBeCloseTo(0.99, 2);
    expect(Math.abs(latencyScore(80) - 0.56)).toBeLessThan(0.01);
    expect(Math.abs(latencyScore(180) - 0.36)).toBeLessThan(0.01);
    expect(latencyScore(0)).toBe(1);
    expect(latencyScore(104)).toBe(0.5);
  });
});

type Op =
  | { kind: 'upsert'; id: number; region: number; reputation: number }
  | { kind: 'remove'; id: number }
  | { kind: 'ping'; id: number; rttMs: number }
  | { kind: 'prune' }
  | { kind: 'forget'; id: number };

const arbitraryOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('upsert' as const),
      id: fc.nat(60),
      region: fc.nat(REGIONS.length - 1),
      reputation: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0.5, 0.9)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), id: fc.nat(60) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('ping' as const),
      id: fc.nat(60),
      rttMs: fc.oneof(fc.double({ min: 0, max: 400, noNaN: true }), fc.constantFrom(5, 80)),
    }),
  },
  // Through the tracker, as the README suggests for stale measurements.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prune' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), id: fc.nat(60) }) },
);

function bruteForce(
  router: RegionRouter,
  requester: string,
  floor: number,
  exclude: Set<string>,
  weightSet = 0,
) {
  const all: ScoredNode[] = [];
  for (const node of router.nodes()) {
    if (node.reputation < floor || exclude.has(node.id)) continue;
    all.push({ id: node.id, region: node.region, score: router.score(node.id, requester, weightSet)! });
  }
  return all.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe('exactness against a brute-force scan', () => {
  it('topN, best and bestPerRegion equal scoring every node, after any sequence of updates', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryOp, { maxLength: 300 }),
        fc.constantFrom(...REGIONS),
        fc.nat(20),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.nat(60), { maxLength: 10 }),
        (ops, requester, n, minReputation, excluded) => {
          const router = new RegionRouter(
            {
              minReputation: 0.1,
              extraWeightSets: [{ latency: 0.7, reputation: 0.2, locality: 0.1 }],
              tracker: { staleAfterMs: 20 },
            },
            { selfRegion: 'eu-west' },
          );
          let now = 0;
          for (const op of ops) {
            const id = op.kind === 'prune' ? '' : `n${op.id}`;
            if (op.kind === 'upsert')
              router.upsertNode({ id, region: REGIONS[op.region]!, reputation: op.reputation });
            else if (op.kind === 'remove') router.removeNode(id);
            else if (op.kind === 'prune') router.tracker.prune(now);
            else if (op.kind === 'forget') router.tracker.forget(id);
            else router.observeLatency(id, op.rttMs, now++);
          }
          const exclude = new Set(excluded.map((i) => `n${i}`));
          const floor = Math.max(0.1, minReputation);
          for (const weightSet of [0, 1]) {
            const expected = bruteForce(router, requester, floor, exclude, weightSet);
            const got = router.topN(requester, n, { exclude, minReputation, weightSet });
            expect(got.map((node) => node.score)).toEqual(expected.slice(0, n).map((node) => node.score));
            for (const node of got) expect(router.score(node.id, requester, weightSet)).toBe(node.score);
            expect(router.best(requester, { exclude, minReputation, weightSet })?.score).toBe(
              expected[0]?.score,
            );
          }
          const perRegion = router.bestPerRegion(requester, REGIONS, { exclude, minReputation });
          const expected = bruteForce(router, requester, floor, exclude);
          for (const region of REGIONS) {
            expect(perRegion.get(region)?.score).toBe(expected.find((node) => node.region === region)?.score);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('exactness at 100,000 nodes', () => {
  it('topN(20) equals a full scan for every requester region', () => {
    const random = seededRandom(100_000);
    const router = new RegionRouter({ minReputation: 0.3 }, { selfRegion: 'asia-south' });
    for (let i = 0; i < 100_000; i++) {
      const id = `node-${i}`;
      router.upsertNode({
        id,
        region: random.pick(REGIONS),
        reputation: Math.round(random.nextFloat() * 100) / 100,
      });
      if (random.chance(0.8)) router.observeLatency(id, random.nextFloat() * 300, 0);
    }
    for (const requester of REGIONS) {
      const top: ScoredNode[] = [];
      for (const node of router.nodes()) {
        if (node.reputation < 0.3) continue;
        const score = router.score(node.id, requester)!;
        if (top.length === 20 && score < top[19]!.score) continue;
        top.push({ id: node.id, region: node.region, score });
        top.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
        if (top.length > 20) top.pop();
      }
      expect(router.topN(requester, 20).map((n) => n.score)).toEqual(top.map((n) => n.score));
      expect(router.best(requester)?.score).toBe(top[0]!.score);
    }
  });
});

describe('RegionRouter', () => {
  it('excludes nodes under the minimum reputation and can only raise the floor per query', () => {
    const router = new RegionRouter({ minReputation: 0.5 });
    router.upsertNode({ id: 'low', region: 'us-east', reputation: 0.4 });
    router.upsertNode({ id: 'mid', region: 'us-east', reputation: 0.6 });
    expect(router.topN('us-east', 5).map((node) => node.id)).toEqual(['mid']);
    expect(router.topN('us-east', 5, { minReputation: 0.7 })).toEqual([]);
    expect(router.topN('us-east', 5, { minReputation: 0 }).map((node) => node.id)).toEqual(['mid']);
    router.upsertNode({ id: 'low', region: 'us-east', reputation: 0.9 });
    expect(router.best('us-east')?.id).toBe('low');
  });

  it('prefers local holders within 50 ms when ordering a stripe for reading', () => {
    const router = new RegionRouter({}, { selfRegion: 'us-east' });
    router.upsertNode({ id: 'local-ok', region: 'us-east', reputation: 0.3 });
    router.upsertNode({ id: 'local-slow', region: 'us-east', reputation: 0.99 });
    router.upsertNode({ id: 'remote', region: 'us-west', reputation: 1 });
    router.observeLatency('local-ok', 40, 0);
    router.observeLatency('local-slow', 60, 0);
    router.observeLatency('remote', 60, 0);
    const ranked = router.rankCandidates('us-east', ['remote', 'ghost', 'local-slow', 'local-ok']);
    expect(ranked.map((c) => c.id)).toEqual(['local-ok', 'local-slow', 'remote', 'ghost']);
    expect(ranked[0]!.preferredLocal).toBe(true);
    expect(ranked[1]!.preferredLocal).toBe(false);
    expect(ranked[3]!.score).toBe(-1);
  });

  it('uses the matrix RTT from its own region for nodes not pinged yet', () => {
    const router = new RegionRouter({}, { selfRegion: 'us-east' });
    router.upsertNode({ id: 'x', region: 'eu-west', reputation: 0.5 });
    expect(router.node('x')).toMatchObject({ latencyMs: 80, measured: false });
    router.observeLatency('x', 20, 1);
    expect(router.node('x')).toMatchObject({ latencyMs: 20, measured: true });
  });

  it('re-scores unmeasured nodes when its own region becomes known', () => {
    const router = new RegionRouter();
    router.upsertNode({ id: 'near', region: 'us-west', reputation: 0.5 });
    router.upsertNode({ id: 'far', region: 'oceania', reputation: 0.6 });
    expect(router.node('near')).toMatchObject({ latencyMs: 104, measured: false });
    expect(router.best('eu-west')?.id).toBe('far');
    router.setSelfRegion('us-east');
    expect(router.selfRegion).toBe('us-east');
    expect(router.node('near')).toMatchObject({ latencyMs: 60 });
    expect(router.best('eu-west')?.id).toBe('near');
    expect(() => router.setSelfRegion('mars')).toThrow(UnknownRegionError);
  });

  it('re-scores a node whose measurement the tracker prunes or forgets', () => {
    const router = new RegionRouter({ tracker: { staleAfterMs: 1_000 } }, { selfRegion: 'us-east' });
    router.upsertNode({ id: 'a', region: 'us-east', reputation: 0.9 });
    router.upsertNode({ id: 'b', region: 'us-east', reputation: 0.8 });
    router.upsertNode({ id: 'c', region: 'us-east', reputation: 0.7 });
    router.observeLatency('a', 2_000, 0);
    router.observeLatency('c', 2_000, 4_900);
    expect(router.best('us-east')?.id).toBe('b');
    expect(router.tracker.prune(5_000)).toBe(1);
    expect(router.best('us-east')).toEqual({
      id: 'a',
      region: 'us-east',
      score: router.score('a', 'us-east'),
    });
    router.tracker.forget('c');
    expect(router.topN('us-east', 3).map((node) => node.score)).toEqual(
      ['a', 'b', 'c'].map((id) => router.score(id, 'us-east')),
    );
  });

  it('says exclude must be a Set when given an array', () => {
    const router = new RegionRouter();
    router.upsertNode({ id: 'a', region: 'us-east', reputation: 0.9 });
    const exclude = ['a'] as unknown as ReadonlySet<string>;
    expect(() => router.best('us-east', { exclude })).toThrow(/exclude must be a Set of node ids/);
    expect(() => router.rankCandidates('us-east', ['a'], { exclude })).toThrow(TypeError);
    expect(() => router.rankCandidates('us-east', 'a' as unknown as string[])).toThrow(/must be an array/);
    expect(router.best('us-east', { exclude: new Set(['a']) })).toBeUndefined();
  });

  it('moves a node between regions and forgets removed nodes', () => {
    const router = new RegionRouter();
    router.upsertNode({ id: 'a', region: 'us-east', reputation: 0.9 });
    router.upsertNode({ id: 'a', region: 'africa', reputation: 0.9 });
    expect(router.bestPerRegion('africa', ['us-east', 'africa']).get('us-east')).toBeUndefined();
    expect(router.bestPerRegion('africa', ['us-east', 'africa']).get('africa')?.id).toBe('a');
    expect(router.removeNode('a')).toBe(true);
    expect(router.removeNode('a')).toBe(false);
    expect(router.best('africa')).toBeUndefined();
    expect(router.size).toBe(0);
  });

  it('rejects bad input with typed errors and enforces its node limit', () => {
    const router = new RegionRouter({ maxNodes: 2 });
    expect(() => router.upsertNode({ id: 'a', region: 'atlantis', reputation: 0.5 })).toThrow(
      UnknownRegionError,
    );
    expect(() => router.upsertNode({ id: 'a', region: 'us-east', reputation: 1.5 })).toThrow(
      InvalidNodeError,
    );
    expect(() => router.upsertNode({ id: '', region: 'us-east', reputation: 0.5 })).toThrow(InvalidNodeError);
    router.upsertNode({ id: 'a', region: 'us-east', reputation: 0.5 });
    router.upsertNode({ id: 'b', region: 'us-east', reputation: 0.5 });
    expect(() => router.upsertNode({ id: 'c', region: 'us-east', reputation: 0.5 })).toThrow(
      TopologyLimitError,
    );
    expect(() => router.topN('us-east', -1)).toThrow(RangeError);
    expect(() => router.best('mars')).toThrow(UnknownRegionError);
    expect(() => router.best('us-east', { weightSet: 3 })).toThrow(RangeError);
  });
});
