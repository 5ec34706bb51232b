import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/index.js';

describe('churn scenario', () => {
  it('same seed, same trace', () => {
    const a = runScenario('churn', { nodes: 60, seed: 5 });
    expect(runScenario('churn', { nodes: 60, seed: 5 }).traceHash).toBe(a.traceHash);
    expect(runScenario('churn', { nodes: 60, seed: 6 }).traceHash).not.toBe(a.traceHash);
  });

  it('the rebalancer restores the placement rules after joins and leaves, within budget, over 12 seeds', () => {
    let moves = 0;
    let leaves = 0;
    let converged = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const nodes = [60, 150, 300][seed % 3]!;
      const result = runScenario('churn', { nodes, seed });
      expect(result.failures, `replay: pnpm sim churn --nodes ${nodes} --seed ${seed}`).toEqual([]);
      moves += result.counts.moves!;
      leaves += result.faults.leaves!;
      converged += result.checksByName.converged!.passed;
      // Stripes kept (not lost) all had their rules checked.
      expect(result.checksByName['region-loss-safe']!.passed).toBe(
        result.counts.stripes! - result.counts.lost!,
      );
    }
    expect(converged).toBe(12);
    expect(leaves).toBeGreaterThan(200);
    expect(moves).toBeGreaterThan(1_000);
  });
});
