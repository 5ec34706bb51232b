import { SharedApply } from '@trinity/economics';
import { describe, expect, it } from 'vitest';
import { type EconomicsOptions, runScenario } from '../src/index.js';
import { ParentBlindShare } from './planted/broken-share.js';

/**
 * The economics and proof-of-storage worlds share the work of applying the same events between
 * their nodes (`SharedApply`). A run with sharing must be the run without it: same trace, same
 * counts, same checks, and every node's state the same at every sample (`digestEveryMs`: each
 * node's state hash, time, events held and waiting, every 2-3 s of virtual time and at the end).
 */
function compare(scenario: string, options: EconomicsOptions) {
  let made: SharedApply | undefined;
  const shared = runScenario<EconomicsOptions>(scenario, {
    ...options,
    shareApply: (init: ConstructorParameters<typeof SharedApply>[0]) => {
      made = new SharedApply(init);
      return made;
    },
  });
  const alone = runScenario<EconomicsOptions>(scenario, { ...options, shareApply: false });
  return { shared, alone, stats: made!.stats };
}

describe('shared apply against every node applying alone', () => {
  it('economics: same trace, counts, checks and per-node states on every sample (faults, late events, restarts)', () => {
    for (const [nodes, seed] of [
      [30, 1],
      [40, 2],
      [30, 3],
    ] as const) {
      const { shared, alone, stats } = compare('economics', {
        nodes,
        seed,
        activeMs: 10_000,
        digestEveryMs: 2_000,
      });
      const replay = `replay: pnpm sim economics --nodes ${nodes} --seed ${seed} --active-ms 10000`;
      expect(shared.failures, replay).toEqual([]);
      expect(shared.counts.statesDigest, replay).toBeGreaterThan(0);
      expect(shared.counts, replay).toEqual(alone.counts);
      expect(shared.traceHash, replay).toBe(alone.traceHash);
      expect(shared.checksByName, replay).toEqual(alone.checksByName);
      // It shared: most events were applied once for all the nodes that applied them.
      expect(stats.stepsShared).toBeGreaterThan(10 * stats.steps);
      expect(stats.hashesShared).toBeGreaterThan(stats.hashes);
    }
  });

  it('proof-of-storage: the same', () => {
    const { shared, alone, stats } = compare('proof-of-storage', {
      nodes: 30,
      seed: 2,
      digestEveryMs: 3_000,
    });
    expect(shared.failures).toEqual([]);
    expect(shared.counts).toEqual(alone.counts);
    expect(shared.traceHash).toBe(alone.traceHash);
    expect(shared.checksByName).toEqual(alone.checksByName);
    expect(stats.stepsShared).toBeGreaterThan(10 * stats.steps);
  });

  it('a planted bug in the sharing (results found by the event alone, whatever ledger) is caught', () => {
    const caught: number[] = [];
    for (let seed = 1; seed <= 3; seed++) {
      const options = { nodes: 30, seed, activeMs: 10_000, digestEveryMs: 2_000 };
      const alone = runScenario<EconomicsOptions>('economics', { ...options, shareApply: false });
      try {
        const broken = runScenario<EconomicsOptions>('economics', {
          ...options,
          shareApply: (init: ConstructorParameters<typeof SharedApply>[0]) => new ParentBlindShare(init),
        });
        if (broken.counts.statesDigest !== alone.counts.statesDigest || broken.failures.length > 0)
          caught.push(seed);
      } catch (error) {
        // Or a state's own assertion trips (a late event's re-execution not finding it).
        expect(String(error)).toMatch(/re-executed/);
        caught.push(seed);
      }
    }
    expect(caught).toEqual([1, 2, 3]);
  });
});
