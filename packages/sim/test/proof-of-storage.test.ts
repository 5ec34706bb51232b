import { currentReceipts } from '@trinity/storage';
import { describe, expect, it } from 'vitest';
import { type ProofOfStorageOptions, runScenario, type ScenarioResult } from '../src/index.js';
import { everyReceipt, lateAcceptingCheck } from './planted/broken-pos.js';

const replay = (nodes: number, seed: number) =>
  `replay: pnpm sim proof-of-storage --nodes ${nodes} --seed ${seed}`;

function run(options: ProofOfStorageOptions): ScenarioResult {
  return runScenario<ProofOfStorageOptions>('proof-of-storage', options);
}

/** Runs seeds 1..100 until one fails; that seed, its failures, and the seeds run. */
function firstFailingSeed(
  options: Omit<ProofOfStorageOptions, 'seed'>,
): { seed: number; failures: readonly string[] } | undefined {
  for (let seed = 1; seed <= 100; seed++) {
    const result = run({ ...options, seed });
    if (result.checks.failed > 0) return { seed, failures: result.failures };
  }
  return undefined;
}

describe('proof-of-storage scenario', () => {
  it('same seed, same trace', () => {
    const a = run({ nodes: 20, seed: 9 });
    const b = run({ nodes: 20, seed: 9 });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.events).toBe(a.events);
    expect(b.counts).toEqual(a.counts);
  });

  it('every cheater is caught and slashed, no honest node ever fails, economics converge (many seeds)', () => {
    const totals = { deleter: 0, treeOnly: 0, fetcher: 0, moves: 0, refusals: 0, disputes: 0, votes: 0 };
    const configs = [
      ...Array.from({ length: 8 }, (_, i) => ({ nodes: 30, seed: 100 + i })),
      { nodes: 50, seed: 200 },
    ];
    for (const { nodes, seed } of configs) {
      const result = run({ nodes, seed });
      expect(result.failures, replay(nodes, seed)).toEqual([]);
      const c = result.counts;
      const cheaters = c['cheaters.deleter']! + c['cheaters.tree-only']! + c['cheaters.fetcher']!;
      expect(result.checksByName['every-cheater-slashed']!.passed, replay(nodes, seed)).toBe(cheaters);
      expect(result.checksByName.converged!.passed).toBe(nodes);
      expect(result.checksByName['supply-conserved']!.passed).toBe(nodes);
      expect(result.checksByName['cheater-less-reputable']!.passed).toBe(cheaters);
      totals.deleter += c['cheaters.deleter']!;
      totals.treeOnly += c['cheaters.tree-only']!;
      totals.fetcher += c['cheaters.fetcher']!;
      totals.moves += result.faults.moves!;
      totals.refusals += c.refusals!;
      totals.disputes += c.disputes!;
      totals.votes += c.votes!;
    }
    // Every kind of cheater, honest moves and busy refusals were exercised.
    expect(totals.deleter).toBeGreaterThan(1);
    expect(totals.treeOnly).toBeGreaterThan(1);
    expect(totals.fetcher).toBeGreaterThan(1);
    expect(totals.moves).toBeGreaterThan(30);
    expect(totals.refusals).toBeGreaterThan(3);
    expect(totals.disputes).toBeGreaterThan(0);
    expect(totals.votes).toBeGreaterThan(0);
  });

  it('currentReceipts keeps only the newest receipt of each position', () => {
    const receipts = [
      { stripe: 0, shard: 0, storedAtMs: 0, holder: 1 },
      { stripe: 0, shard: 1, storedAtMs: 0, holder: 2 },
      { stripe: 0, shard: 0, storedAtMs: 5, holder: 3 },
    ];
    expect(currentReceipts(receipts).map((r) => r.holder)).toEqual([2, 3]);
  });
});

describe('planted proof-of-storage bugs are caught within 100 seeds', () => {
  const nodes = 30;

  it('a challenger that accepts late answers lets the on-demand fetcher escape', () => {
    // Every cheater a fetcher, so that the first seeds have some.
    const fetchers = { nodes, cheaterKinds: ['fetcher'] } as const;
    const caught = firstFailingSeed({ ...fetchers, checkAnswer: lateAcceptingCheck });
    expect(caught, 'the simulator missed the late-accepting challenger').toBeDefined();
    expect(caught!.failures.some((f) => /^every-cheater-caught: fetcher /.test(f))).toBe(true);
    const real = run({ ...fetchers, seed: caught!.seed });
    expect(real.failures, `${replay(nodes, caught!.seed)} (fetchers only)`).toEqual([]);
    expect(real.checksByName['fetcher-always-late']!.passed).toBeGreaterThan(0);
  });

  it('a challenger that asks superseded receipts fails honest nodes after moves', () => {
    const caught = firstFailingSeed({ nodes, challengeable: everyReceipt });
    expect(caught, 'the simulator missed the superseded-receipt challenger').toBeDefined();
    expect(caught!.failures.some((f) => /^no-false-positive: honest .*: not-held$/.test(f))).toBe(true);
    expect(run({ nodes, seed: caught!.seed }).failures, replay(nodes, caught!.seed)).toEqual([]);
  });
});
