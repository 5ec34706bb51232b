import { describe, expect, it } from 'vitest';
import { type LocksOptions, runScenario } from '../src/index.js';

describe('locks scenario', () => {
  it('same seed, same trace', () => {
    const a = runScenario('locks', { nodes: 60, seed: 9 });
    expect(runScenario('locks', { nodes: 60, seed: 9 }).traceHash).toBe(a.traceHash);
    expect(runScenario('locks', { nodes: 60, seed: 10 }).traceHash).not.toBe(a.traceHash);
  });

  it('never two valid holders over 20 seeds at 50 to 300 nodes, with stalls and stale writes refused', () => {
    let stale = 0;
    let serverCrashes = 0;
    let grants = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const nodes = [50, 150, 300][seed % 3]!;
      const result = runScenario('locks', { nodes, seed, requests: 800 });
      expect(
        result.failures,
        `replay: pnpm sim locks --nodes ${nodes} --seed ${seed} --requests 800`,
      ).toEqual([]);
      stale += result.counts.staleWritesRefused!;
      serverCrashes += result.faults.serverCrashes!;
      grants += result.counts.grants!;
    }
    expect(serverCrashes).toBeGreaterThan(10);
    expect(grants).toBeGreaterThan(3_000);
    // Fencing did real work: writers whose lease had lapsed were refused by the store.
    expect(stale).toBeGreaterThan(0);
  });

  it('a lock server that grants at once after a restart (no grace) is caught within 100 seeds', () => {
    let caughtAt: number | undefined;
    for (let seed = 1; seed <= 100 && caughtAt === undefined; seed++) {
      const planted: LocksOptions = { nodes: 60, seed, requests: 600, restartGraceMs: 0 };
      const result = runScenario('locks', planted);
      if (result.failures.some((f) => f.startsWith('one-valid-holder:'))) caughtAt = seed;
    }
    expect(caughtAt, 'the simulator missed the missing restart grace').toBeDefined();
    // The correct server passes that same seed.
    expect(runScenario('locks', { nodes: 60, seed: caughtAt!, requests: 600 }).failures).toEqual([]);
  });
});
