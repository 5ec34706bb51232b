import { ConfigError, seededRandom } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  AdaptiveRegionRouter,
  fetchReward,
  LeastSquaresWeights,
  nearestWeightSet,
  UnknownRegionError,
  WeightBandit,
} from '../src/index.js';

describe('WeightBandit', () => {
  it('has the seed weights first', () => {
    expect(new WeightBandit().config.weightSets[0]).toEqual({ latency: 0.4, reputation: 0.4, locality: 0.2 });
  });

  it('tries every arm, then settles on the one that earns most, and says why', () => {
    const random = seededRandom(7);
    const bandit = new WeightBandit({ enabled: true });
    const meanLatencyMs = [120, 40, 200, 150, 90, 130, 160, 110];
    const picks = new Array(bandit.arms).fill(0);
    for (let i = 0; i < 3_000; i++) {
      const arm = bandit.select();
      picks[arm]++;
      bandit.update(arm, {
        success: random.chance(0.98),
        latencyMs: meanLatencyMs[arm]! * (0.5 + random.nextFloat()),
      });
    }
    expect(picks.every((count) => count > 0)).toBe(true);
    expect(picks[1]).toBeGreaterThan(0.6 * 3_000);
    const report = bandit.explain();
    expect(report).toHaveLength(8);
    expect(report.reduce((best, arm) => (arm.meanReward > best.meanReward ? arm : best)).arm).toBe(1);
  });

  it('follows a drift: when the best arm changes, the choice changes', () => {
    const bandit = new WeightBandit({ enabled: true, discount: 0.99 });
    const run = (good: number, rounds: number) => {
      let goodPicks = 0;
      for (let i = 0; i < rounds; i++) {
        const arm = bandit.select();
        if (arm === good) goodPicks++;
        bandit.update(arm, { success: true, latencyMs: arm === good ? 20 : 200 });
      }
      return goodPicks / rounds;
    };
    expect(run(2, 2_000)).toBeGreaterThan(0.6);
    expect(run(4, 2_000)).toBeGreaterThan(0.6);
  });

  it('scores outcomes in [0, 1] and validates its input', () => {
    expect(fetchReward({ success: false, latencyMs: 1 })).toBe(0);
    expect(fetchReward({ success: true, latencyMs: 0 })).toBe(1);
    expect(fetchReward({ success: true, latencyMs: 100 })).toBe(0.5);
    expect(() => fetchReward({ success: true, latencyMs: -1 })).toThrow(RangeError);
    const bandit = new WeightBandit();
    expect(() => bandit.update(9, { success: true, latencyMs: 1 })).toThrow(RangeError);
    expect(() => new WeightBandit({ weightSets: [{ latency: 0.9, reputation: 0.9, locality: 0 }] })).toThrow(
      ConfigError,
    );
    expect(() => new WeightBandit({ weightSets: [] })).toThrow(ConfigError);
  });
});

describe('LeastSquaresWeights', () => {
  it('recovers the weights behind the rewards, and follows when they change', () => {
    const random = seededRandom(3);
    const learner = new LeastSquaresWeights(0.995, { latency: 0.4, reputation: 0.4, locality: 0.2 });
    expect(learner.weights()).toEqual({ latency: 0.4, reputation: 0.4, locality: 0.2 });
    const feed = (truth: [number, number, number], rounds: number) => {
      for (let i = 0; i < rounds; i++) {
        const x = {
          latency: random.nextFloat(),
          reputation: random.nextFloat(),
          locality: random.pick([1, 0.5, 0.1]),
        };
        const y = 0.05 + truth[0] * x.latency + truth[1] * x.reputation + truth[2] * x.locality;
        learner.update(x, Math.min(1, Math.max(0, y + 0.05 * (random.nextFloat() - 0.5))));
      }
    };
    feed([0.6, 0, 0.15], 3_000);
    let weights = learner.weights();
    expect(weights.latency).toBeCloseTo(0.8, 1);
    expect(weights.reputation).toBeLessThan(0.05);
    feed([0, 0.7, 0.1], 3_000);
    weights = learner.weights();
    expect(weights.reputation).toBeGreaterThan(0.8);
    expect(learner.report().evidence).toBeGreaterThan(100);
    expect(() => learner.update({ latency: 2, reputation: 0, locality: 0 }, 0.5)).toThrow(RangeError);
  });

  it('picks the nearest indexed weight set', () => {
    const sets = [
      { latency: 0.4, reputation: 0.4, locality: 0.2 },
      { latency: 0.9, reputation: 0.05, locality: 0.05 },
    ];
    expect(nearestWeightSet(sets, { latency: 0.8, reputation: 0.1, locality: 0.1 })).toBe(1);
    expect(nearestWeightSet(sets, { latency: 0.3, reputation: 0.5, locality: 0.2 })).toBe(0);
  });
});

describe('AdaptiveRegionRouter', () => {
  function twoNodes(policy: 'bandit' | 'least-squares') {
    const router = new AdaptiveRegionRouter(
      {
        adaptive: {
          enabled: true,
          policy,
          weightSets: [{}, { latency: 0.9, reputation: 0.05, locality: 0.05 }],
        },
      },
      { selfRegion: 'us-east' },
    );
    router.upsertNode({ id: 'reputable-slow', region: 'us-east', reputation: 1 });
    router.upsertNode({ id: 'fast', region: 'us-west', reputation: 0.3 });
    router.observeLatency('reputable-slow', 150, 0);
    router.observeLatency('fast', 5, 0);
    return router;
  }

  it('refuses bad settings and outcomes before changing anything', () => {
    const flat = { enabled: true } as unknown as ConstructorParameters<typeof AdaptiveRegionRouter>[0];
    expect(() => new AdaptiveRegionRouter(flat)).toThrow(ConfigError);
    expect(() => new AdaptiveRegionRouter(flat)).toThrow(/enabled: unknown key/);
    const router = twoNodes('bandit');
    const before = JSON.stringify(router.explain());
    const decision = { arm: 1, nodeId: 'fast', requesterRegion: 'mars' };
    expect(() => router.recordOutcome(decision, { success: true, latencyMs: 5 })).toThrow(UnknownRegionError);
    const unknownNode = { ...decision, nodeId: 'gone' };
    expect(() => router.recordOutcome(unknownNode, { success: true, latencyMs: 5 })).toThrow(
      UnknownRegionError,
    );
    const truthy = { success: 'yes', latencyMs: 5 } as unknown as { success: boolean; latencyMs: number };
    expect(() => router.recordOutcome({ ...decision, requesterRegion: 'us-east' }, truthy)).toThrow(
      /success must be a boolean/,
    );
    expect(JSON.stringify(router.explain())).toBe(before);
  });

  it('is the fixed seed router while disabled', () => {
    const router = new AdaptiveRegionRouter({}, { selfRegion: 'us-east' });
    router.upsertNode({ id: 'a', region: 'us-east', reputation: 0.9 });
    for (let i = 0; i < 30; i++) {
      const decision = router.best('us-east');
      expect(decision.arm).toBe(0);
      router.recordOutcome(
        { arm: 0, nodeId: 'a', requesterRegion: 'us-east' },
        { success: false, latencyMs: 9 },
      );
    }
    expect(router.explain()).toMatchObject({ enabled: false, nextArm: 0 });
  });

  for (const policy of ['bandit', 'least-squares'] as const) {
    it(`learns from outcomes which weight set routes better (${policy})`, () => {
      const router = twoNodes(policy);
      expect(router.best('us-east')).toMatchObject({ arm: 0, result: { id: 'reputable-slow' } });
      const random = seededRandom(11);
      for (let i = 0; i < 300; i++) {
        // Explore a little so that both nodes are seen, as retries and hedged reads do.
        const decision = router.rankCandidates('us-east', ['reputable-slow', 'fast']);
        const chosen = random.chance(0.2) ? decision.result[1]! : decision.result[0]!;
        const fast = chosen.id === 'fast';
        const ref = { arm: decision.arm, nodeId: chosen.id, requesterRegion: 'us-east' };
        router.recordOutcome(ref, { success: true, latencyMs: fast ? 5 : 150 });
      }
      expect(router.best('us-east').result?.id).toBe('fast');
      expect(router.explain().nextArm).toBe(1);
    });
  }

  it('passes the rest through to the router', () => {
    const router = twoNodes('least-squares');
    expect(router.topN('us-east', 2).result).toHaveLength(2);
    expect(router.removeNode('fast')).toBe(true);
    expect(() =>
      router.recordOutcome(
        { arm: 5, nodeId: 'x', requesterRegion: 'us-east' },
        { success: true, latencyMs: 1 },
      ),
    ).toThrow(RangeError);
  });
});
