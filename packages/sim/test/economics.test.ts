import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/index.js';

describe('economics scenario', () => {
  it('same seed, same trace', () => {
    const a = runScenario('economics', { nodes: 20, seed: 4 });
    const b = runScenario('economics', { nodes: 20, seed: 4 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.counts).toEqual(a.counts);
  });

  it('every node converges to one state, supply is conserved and escrows follow the rules, under faults', () => {
    let escrows = 0;
    let crashes = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const result = runScenario('economics', { nodes: 30, seed });
      expect(result.failures, `replay: pnpm sim economics --nodes 30 --seed ${seed}`).toEqual([]);
      expect(result.checksByName.converged!.passed).toBe(30);
      expect(result.checksByName['supply-conserved']!.passed).toBe(30);
      escrows += result.checksByName['escrow-resolved']?.passed ?? 0;
      crashes += result.faults.crashes!;
    }
    expect(escrows).toBeGreaterThan(5);
    expect(crashes).toBeGreaterThan(20);
  });

  it('without faults too, with disputes and votes', () => {
    const result = runScenario('economics', { nodes: 30, seed: 1, faults: false });
    expect(result.failures).toEqual([]);
    expect(result.counts.votes).toBeGreaterThan(0);
  });
});
