import { ConfigError } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chooseErasureParameters,
  logStripeLossProbability,
  NoFeasibleParametersError,
  stripeLossProbability,
} from '../src/index.js';

/** P[more than m of n lost] by enumerating every one of the 2^n loss patterns. */
function bruteForceLoss(k: number, m: number, p: number): number {
  const n = k + m;
  let total = 0;
  for (let mask = 0; mask < 1 << n; mask++) {
    let lost = 0;
    for (let i = 0; i < n; i++) lost += (mask >> i) & 1;
    if (lost > m) total += p ** lost * (1 - p) ** (n - lost);
  }
  return total;
}

describe('stripeLossProbability', () => {
  it('equals the sum over all loss patterns (exhaustive, n <= 12)', () => {
    for (const [k, m] of [
      [1, 1],
      [2, 1],
      [4, 2],
      [6, 3],
      [8, 4],
      [3, 9],
      [10, 4],
    ] as const) {
      for (const p of [1e-6, 0.001, 0.01, 0.1, 0.5, 0.9]) {
        const exact = bruteForceLoss(k, m, p);
        expect(Math.abs(stripeLossProbability(k, m, p) - exact)).toBeLessThanOrEqual(exact * 1e-12);
      }
    }
  });

  it('has the closed forms at the edges', () => {
    expect(stripeLossProbability(1, 1, 0.1)).toBeCloseTo(0.01, 15);
    expect(stripeLossProbability(1, 0, 0.25)).toBeCloseTo(0.25, 15);
    expect(stripeLossProbability(10, 4, 0)).toBe(0);
    expect(stripeLossProbability(10, 4, 1)).toBe(1);
    // RS(10,4) at p = 1e-3: the first term C(14,5) p^5 (1-p)^9 dominates, the next adds about 0.15 %.
    const first = 2002e-15 * 0.999 ** 9;
    expect(stripeLossProbability(10, 4, 1e-3) / first - 1).toBeGreaterThan(0.0014);
    expect(stripeLossProbability(10, 4, 1e-3) / first - 1).toBeLessThan(0.0016);
  });

  it('stays finite in log space where the probability underflows', () => {
    const nines = -logStripeLossProbability(100, 100, 1e-6) / Math.LN10;
    expect(nines).toBeGreaterThan(500);
    expect(Number.isFinite(nines)).toBe(true);
    expect(stripeLossProbability(100, 100, 1e-6)).toBe(0);
  });

  it('rises with p and falls with m (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 1e-9, max: 0.5, noNaN: true }),
        (k, m, p) => {
          expect(logStripeLossProbability(k, m, p)).toBeLessThanOrEqual(
            logStripeLossProbability(k, m - 1, p) + 1e-12,
          );
          expect(logStripeLossProbability(k, m, p)).toBeLessThanOrEqual(
            logStripeLossProbability(k, m, p * 1.5) + 1e-12,
          );
        },
      ),
    );
  });

  it('rejects bad arguments', () => {
    expect(() => stripeLossProbability(0, 1, 0.1)).toThrow(RangeError);
    expect(() => stripeLossProbability(1, 1, 1.5)).toThrow(RangeError);
    expect(() => stripeLossProbability(200, 100, 0.1)).toThrow(RangeError);
    expect(() => stripeLossProbability(4, 2, Number.NaN)).toThrow(TypeError);
  });
});

describe('chooseErasureParameters', () => {
  it('picks the cheapest shape that meets the target', () => {
    const choice = chooseErasureParameters({
      healthyNodes: 20,
      nodeFailureProbability: 0.01,
      targetDurability: 0.999999999,
      maxOverhead: 2,
    });
    expect(choice.meetsTarget).toBe(true);
    expect(choice.lossProbability).toBeLessThanOrEqual(1e-9);
    expect(choice.totalShards).toBeLessThanOrEqual(20);
    expect(choice.lossProbability).toBe(stripeLossProbability(choice.dataShards, choice.parityShards, 0.01));
    expect(choice.durability).toBe(1 - choice.lossProbability);
    expect(choice.overhead).toBe(choice.totalShards / choice.dataShards);
    expect(choice).toMatchObject({ dataShards: 14, parityShards: 6 });
  });

  it('is optimal against a brute-force search (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }),
        fc.double({ min: 1e-6, max: 0.2, noNaN: true }),
        fc.integer({ min: 2, max: 12 }),
        fc.double({ min: 1.1, max: 3, noNaN: true }),
        (healthyNodes, p, nines, maxOverhead) => {
          const target = 1 - 10 ** -nines;
          let best: { overhead: number; loss: number } | undefined;
          for (let k = 1; k <= Math.min(32, healthyNodes - 1); k++) {
            for (let m = 1; k + m <= healthyNodes && (k + m) / k <= maxOverhead + 1e-9; m++) {
              const loss = stripeLossProbability(k, m, p);
              if (loss <= 1 - target && (best === undefined || (k + m) / k < best.overhead)) {
                best = { overhead: (k + m) / k, loss };
              }
            }
          }
          const input = { healthyNodes, nodeFailureProbability: p, targetDurability: target, maxOverhead };
          if (best === undefined) {
            expect(() => chooseErasureParameters(input)).toThrow(NoFeasibleParametersError);
          } else {
            const choice = chooseErasureParameters(input);
            expect(choice.meetsTarget).toBe(true);
            expect(choice.overhead).toBeCloseTo(best.overhead, 12);
            expect(choice.lossProbability).toBeLessThanOrEqual(1 - target);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('throws when nothing meets the target, or returns the most durable shape if allowed', () => {
    const input = {
      healthyNodes: 5,
      nodeFailureProbability: 0.05,
      targetDurability: 0.999999999,
      maxOverhead: 2,
    };
    expect(() => chooseErasureParameters(input)).toThrow(NoFeasibleParametersError);
    const fallback = chooseErasureParameters({ ...input, allowBelowTarget: true });
    expect(fallback.meetsTarget).toBe(false);
    expect(fallback.totalShards).toBeLessThanOrEqual(5);
    expect(() => chooseErasureParameters({ ...input, healthyNodes: 1 })).toThrow(/fewer than 2 nodes/);
  });

  it('more parity as the network degrades', () => {
    const at = (p: number) =>
      chooseErasureParameters({ healthyNodes: 100, nodeFailureProbability: p, maxOverhead: 3 }).overhead;
    expect(at(0.001)).toBeLessThan(at(0.01));
    expect(at(0.01)).toBeLessThan(at(0.05));
  });

  it('rejects bad policy input', () => {
    expect(() => chooseErasureParameters({ healthyNodes: 0, nodeFailureProbability: 0.1 })).toThrow(
      ConfigError,
    );
    expect(() => chooseErasureParameters({ healthyNodes: 10, nodeFailureProbability: 2 })).toThrow(
      ConfigError,
    );
    expect(() => chooseErasureParameters({} as never)).toThrow(/healthyNodes/);
  });
});
