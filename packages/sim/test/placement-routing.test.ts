import { describe, expect, it } from 'vitest';
import { runScenario } from '../src/index.js';

describe('placement-routing scenario', () => {
  it('same seed, same trace; different seeds differ', () => {
    const a = runScenario('placement-routing', { nodes: 100, seed: 5 });
    const b = runScenario('placement-routing', { nodes: 100, seed: 5 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.counts).toEqual(a.counts);
    expect(runScenario('placement-routing', { nodes: 100, seed: 6 }).traceHash).not.toBe(a.traceHash);
  });

  it('every check holds over 12 seeds at 200 nodes with crashes and region outages', () => {
    let outages = 0;
    let reads = 0;
    let routerChecks = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const result = runScenario('placement-routing', { nodes: 200, seed });
      expect(result.failures, `replay: pnpm sim placement-routing --nodes 200 --seed ${seed}`).toEqual([]);
      expect(result.counts.acknowledged).toBeGreaterThan(80);
      outages += result.faults.regionOutages!;
      reads += result.counts.readsOk!;
      routerChecks += result.checksByName['router-exact-best']!.passed;
      expect(result.checksByName['readable-without-any-one-region']!.passed).toBe(
        9 * result.counts.acknowledged!,
      );
    }
    expect(outages).toBeGreaterThan(10);
    expect(reads).toBeGreaterThan(3_000);
    expect(routerChecks).toBeGreaterThan(1_000);
  });

  it('without faults every object is acknowledged and every read succeeds', () => {
    const result = runScenario('placement-routing', { nodes: 200, seed: 2, faults: false });
    expect(result.failures).toEqual([]);
    expect(result.counts.acknowledged).toBe(200);
    expect(result.counts.readsOk).toBe(600);
  });
});
