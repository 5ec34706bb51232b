import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/index.js';

describe('two-phase-commit scenario', () => {
  it('same seed, same trace hash and result; different seeds, different traces', () => {
    const a = runScenario('two-phase-commit', { nodes: 60, seed: 7 });
    const b = runScenario('two-phase-commit', { nodes: 60, seed: 7 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.events).toBe(a.events);
    expect(b.counts).toEqual(a.counts);
    expect(b.faults).toEqual(a.faults);
    const c = runScenario('two-phase-commit', { nodes: 60, seed: 8 });
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('every check holds over 30 seeds at 50 to 300 nodes, with faults actually injected', () => {
    let crashes = 0;
    let torn = 0;
    let partitions = 0;
    let outages = 0;
    let committed = 0;
    let aborted = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const nodes = [50, 120, 300][seed % 3]!;
      const result = runScenario('two-phase-commit', { nodes, seed, transactions: 150 });
      expect(
        result.failures,
        `replay: pnpm sim two-phase-commit --nodes ${nodes} --seed ${seed} --transactions 150`,
      ).toEqual([]);
      expect(result.checks.passed).toBeGreaterThan(1_000);
      crashes += result.faults.crashes!;
      torn += result.faults.tornWrites!;
      partitions += result.faults.partitions!;
      outages += result.faults.regionOutages!;
      committed += result.counts.committed!;
      aborted += result.counts.aborted!;
    }
    // The faults the checkers are meant to survive did happen, and both outcomes occurred.
    expect(crashes).toBeGreaterThan(100);
    expect(torn).toBeGreaterThan(0);
    expect(partitions).toBeGreaterThan(5);
    expect(outages).toBeGreaterThan(2);
    expect(committed).toBeGreaterThan(1_000);
    expect(aborted).toBeGreaterThan(100);
  });

  it('without faults every transaction is answered and most commit', () => {
    const result = runScenario('two-phase-commit', { nodes: 100, seed: 3, faults: false });
    expect(result.failures).toEqual([]);
    expect(result.counts.unknownToClient).toBe(0);
    expect(result.faults.crashes).toBe(0);
    expect(result.counts.committed).toBeGreaterThan(150);
  });

  it('rejects a node count outside the scenario’s bounds and an unknown scenario', () => {
    expect(() => runScenario('two-phase-commit', { nodes: 3, seed: 1 })).toThrow(RangeError);
    expect(() => runScenario('no-such', { nodes: 10, seed: 1 })).toThrow(/unknown scenario/);
  });
});

describe('full-pipeline scenario (2PC placed by StripePlacer, routed by RegionRouter)', () => {
  it('every check holds over 8 seeds at 100 to 300 nodes, placement rules included', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const nodes = [100, 300][seed % 2]!;
      const result = runScenario('full-pipeline', { nodes, seed });
      expect(result.failures, `replay: pnpm sim full-pipeline --nodes ${nodes} --seed ${seed}`).toEqual([]);
      expect(result.checksByName['placement-region-loss-safe']!.passed).toBeGreaterThan(200);
      expect(result.checksByName['routed-to-live-reputable-node']!.passed).toBeGreaterThan(200);
      expect(result.counts.committed).toBeGreaterThan(100);
    }
  });

  it('is reproducible from its seed', () => {
    const a = runScenario('full-pipeline', { nodes: 100, seed: 11 });
    expect(runScenario('full-pipeline', { nodes: 100, seed: 11 }).traceHash).toBe(a.traceHash);
  });
});
