import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/index.js';

describe('corruption-repair scenario', () => {
  it('same seed, same trace', () => {
    const a = runScenario('corruption-repair', { nodes: 30, seed: 3 });
    expect(runScenario('corruption-repair', { nodes: 30, seed: 3 }).traceHash).toBe(a.traceHash);
    expect(runScenario('corruption-repair', { nodes: 30, seed: 4 }).traceHash).not.toBe(a.traceHash);
  });

  it('finds every rotten shard, repairs what it can and loses no object with at most m shards damaged', () => {
    let flips = 0;
    let rebuilt = 0;
    let readable = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const nodes = [40, 80][seed % 2]!;
      const result = runScenario('corruption-repair', { nodes, seed });
      expect(result.failures, `replay: pnpm sim corruption-repair --nodes ${nodes} --seed ${seed}`).toEqual(
        [],
      );
      flips += result.faults.bitFlips!;
      rebuilt += result.counts.shardsRebuilt!;
      readable += result.checksByName['readable-if-at-most-m-damaged']!.passed;
    }
    expect(flips).toBeGreaterThan(500);
    expect(rebuilt).toBeGreaterThan(flips);
    expect(readable).toBeGreaterThan(300);
  });

  it('without faults nothing is repaired and everything reads back', () => {
    const result = runScenario('corruption-repair', { nodes: 30, seed: 1, faults: false });
    expect(result.failures).toEqual([]);
    expect(result.counts.repairs).toBe(0);
    expect(result.checksByName['readable-if-at-most-m-damaged']!.passed).toBe(30);
  });

  it('a scrubber stuck on the first files of each node is caught within 100 seeds', () => {
    let caughtAt: number | undefined;
    for (let seed = 1; seed <= 100 && caughtAt === undefined; seed++) {
      const result = runScenario('corruption-repair', { nodes: 30, seed, scrubAdvances: false });
      if (result.failures.some((f) => f.startsWith('every-rot-found:'))) caughtAt = seed;
    }
    expect(caughtAt, 'the simulator missed the stuck scrubber').toBeDefined();
    expect(runScenario('corruption-repair', { nodes: 30, seed: caughtAt! }).failures).toEqual([]);
  });
});
