import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reporterScore, trimCount, trimmedMean } from '../src/index.js';
import { DAY, evidence, TestNet } from './helpers.js';

describe('trimmed mean (reputation consensus)', () => {
  it('known answers', () => {
    expect(trimmedMean([0.5])).toBe(0.5);
    expect(trimmedMean([0.2, 0.4])).toBeCloseTo(0.3, 12);
    expect(trimmedMean([0, 0.5, 1])).toBeCloseTo(0.5, 12); // n = 3 tolerates no faulty report: plain mean
    expect(trimmedMean([1, 0.5, 0.5, 0])).toBe(0.5); // n = 4 drops one at each end
    expect(trimCount(7)).toBe(2);
    expect(Number.isNaN(trimmedMean([]))).toBe(true);
  });

  it('fewer than a third of adversarial reporters cannot move it outside the honest range', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.constantFrom(0, 1, 0.5, 1e-9, 1 - 1e-9), { maxLength: 40 }),
        fc.nat(),
        (honest, adversaryChoices, shuffleSeed) => {
          // The most faulty reporters the rule claims to tolerate with this many reporters in total.
          let faulty = 0;
          while (faulty < adversaryChoices.length && faulty + 1 <= trimCount(honest.length + faulty + 1))
            faulty++;
          const reports = [...honest, ...adversaryChoices.slice(0, faulty)];
          // Any order: the result must not depend on it.
          const shuffled = reports
            .map((x, i) => [x, (i * 7919 + shuffleSeed) % 104729] as const)
            .sort((a, b) => a[1] - b[1])
            .map(([x]) => x);
          const score = trimmedMean(shuffled);
          expect(score).toBeGreaterThanOrEqual(Math.min(...honest) - 1e-12);
          expect(score).toBeLessThanOrEqual(Math.max(...honest) + 1e-12);
          expect(score).toBeCloseTo(trimmedMean(reports), 12);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the bound is tight: one more faulty reporter than tolerated can drag it out', () => {
    // 3 honest at 0.9, 2 liars at 0: trimCount(5) = 1 < 2 faulty.
    expect(trimmedMean([0.9, 0.9, 0.9, 0, 0])).toBeLessThan(0.9);
  });
});

describe('reputation from signed evidence', () => {
  const pos = (net: TestNet, reporter: number, subject: number, passed: boolean) =>
    net.ok(reporter, { type: 'pos-result', holder: net.id(subject), shard: evidence(1), passed });

  it('a node nobody reported has the no-evidence score; passes raise it, failures lower it', () => {
    const net = new TestNet(3);
    const neutral = net.state.reputationOf(net.id(1));
    expect(neutral).toEqual({ score: 0.4, reporters: 0 }); // 0.5·0.5 + 0.3·0.5 + 0.2·0
    for (let i = 0; i < 20; i++) pos(net, 0, 1, true);
    for (let i = 0; i < 20; i++) pos(net, 0, 2, false);
    const good = net.state.reputationOf(net.id(1));
    const bad = net.state.reputationOf(net.id(2));
    expect(good.reporters).toBe(1);
    // pos rate (20 + 1) / (20 + 2) with the 2-observation prior; no uptime or bandwidth evidence.
    // Weighted 0.5·(21/22) + 0.3·0.5 = 0.627…, under its cap 21/22.
    expect(good.score).toBeCloseTo(0.5 * (21 / 22) + 0.3 * 0.5, 9);
    // Weighted 0.5·(1/22) + 0.3·0.5 = 0.172…, capped by the pass rate (0 + 1) / (20 + 2).
    expect(bad.score).toBeCloseTo(1 / 22, 9);
  });

  it('combines pass rate, uptime and bandwidth with the configured weights, score within [0, 1]', () => {
    const net = new TestNet(2);
    for (let i = 0; i < 30; i++) {
      net.ok(0, { type: 'uptime', subject: net.id(1), up: i % 3 !== 0 });
      pos(net, 0, 1, true);
    }
    net.ok(0, { type: 'bandwidth', subject: net.id(1), bytes: 1024 * (1 << 20) }); // 1 GiB = the half point
    const { score } = net.state.reputationOf(net.id(1));
    expect(score).toBeCloseTo(0.5 * (31 / 32) + 0.3 * (21 / 32) + 0.2 * 0.5, 9);
  });

  it('old evidence decays with the half-life: a node that failed long ago recovers toward the prior', () => {
    const net = new TestNet(2, { config: { reputationHalfLifeMs: DAY } });
    for (let i = 0; i < 40; i++) pos(net, 0, 1, false);
    const fresh = net.state.reputationOf(net.id(1)).score;
    const later = net.state.reputationOf(net.id(1), net.nowMs + DAY).score;
    const muchLater = net.state.reputationOf(net.id(1), net.nowMs + 30 * DAY).score;
    expect(later).toBeGreaterThan(fresh);
    expect(muchLater).toBeGreaterThan(later);
    expect(muchLater).toBeCloseTo(0.4, 3);
    // Capped by the pass rate: (0 + 1) / (40 + 2) now; one half-life halves the weight of the
    // 40 failures: (0 + 1) / (20 + 2).
    expect(fresh).toBeCloseTo(1 / 42, 3);
    expect(later).toBeCloseTo(1 / 22, 3);
  });

  it('failing every proof of storage sinks a node below the router floor however well it stays up', () => {
    const net = new TestNet(4);
    // Three reporters see node 0 always up and serving 1 GiB each, and every challenge failing.
    for (let r = 1; r <= 3; r++) {
      net.ok(r, { type: 'bandwidth', subject: net.id(0), bytes: 1024 * (1 << 20) });
      for (let i = 0; i < 10; i++) {
        net.ok(r, { type: 'uptime', subject: net.id(0), up: true });
        pos(net, r, 0, false);
      }
    }
    // Weighted 0.5·(1/12) + 0.3·(11/12) + 0.2·0.5 = 0.4166… (above the floor 0.2, as before the
    // cap); capped by the pass rate (0 + 1) / (10 + 2).
    const rep = net.state.reputationOf(net.id(0));
    expect(rep).toEqual({ score: expect.closeTo(1 / 12, 9), reporters: 3 });
    expect(rep.score).toBeLessThan(0.2);
    // A reporter that never challenged it caps what it vouches for at the prior's 0.5.
    const unproven = new TestNet(2);
    unproven.ok(0, { type: 'bandwidth', subject: unproven.id(1), bytes: 1024 * (1 << 20) });
    for (let i = 0; i < 10; i++) unproven.ok(0, { type: 'uptime', subject: unproven.id(1), up: true });
    // Weighted 0.5·0.5 + 0.3·(11/12) + 0.2·0.5 = 0.625.
    expect(unproven.state.reputationOf(unproven.id(1)).score).toBe(0.5);
  });

  it("score in [0, 1], within the honest reporters' range with under a third of liars, never lowered by a pass", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(5), fc.nat(5), fc.nat(5), fc.nat(5)), { minLength: 3, maxLength: 7 }),
        fc.boolean(),
        (honest, lieHigh) => {
          // Honest reporters' own views (passes, fails, ups, downs); liars claim all-pass or all-fail.
          const liars = Math.floor((honest.length - 1) / 3);
          const net = new TestNet(1 + honest.length + liars);
          const scores = honest.map(([passes, fails, ups, downs], k) => {
            for (let i = 0; i < passes; i++) pos(net, 1 + k, 0, true);
            for (let i = 0; i < fails; i++) pos(net, 1 + k, 0, false);
            for (let i = 0; i < ups + downs; i++)
              net.ok(1 + k, { type: 'uptime', subject: net.id(0), up: i < ups });
            const o = 1024;
            const e = {
              posPassed: passes * o,
              posTotal: (passes + fails) * o,
              upProbes: ups * o,
              probes: (ups + downs) * o,
              bandwidthKiB: 0,
              step: 0,
            };
            return passes + fails + ups + downs === 0 ? undefined : reporterScore(net.state.config, e);
          });
          for (let l = 0; l < liars; l++)
            for (let i = 0; i < 5; i++) pos(net, 1 + honest.length + l, 0, lieHigh);
          const honestScores = scores.filter((x) => x !== undefined);
          const { score } = net.state.reputationOf(net.id(0));
          expect(score).toBeGreaterThanOrEqual(0);
          expect(score).toBeLessThanOrEqual(1);
          if (honestScores.length === honest.length) {
            expect(score).toBeGreaterThanOrEqual(Math.min(...honestScores) - 1e-12);
            expect(score).toBeLessThanOrEqual(Math.max(...honestScores) + 1e-12);
          }
          // One more pass reported by a reporter that counts already never lowers the score.
          if (scores[0] !== undefined) {
            pos(net, 1, 0, true);
            expect(net.state.reputationOf(net.id(0)).score).toBeGreaterThanOrEqual(score - 1e-12);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a third of lying reporters cannot sink an honest node; unstaked reporters do not count', () => {
    const net = new TestNet(11);
    // Reporters 1..7 see node 0 pass everything; reporters 8..10 claim it fails everything.
    for (let r = 1; r <= 10; r++) for (let i = 0; i < 10; i++) pos(net, r, 0, r <= 7);
    const honest = reporterScore(net.state.config, {
      posPassed: 10 * 1024,
      posTotal: 10 * 1024,
      upProbes: 0,
      probes: 0,
      bandwidthKiB: 0,
      step: 0,
    });
    const rep = net.state.reputationOf(net.id(0));
    expect(rep.reporters).toBe(10);
    expect(rep.score).toBeCloseTo(honest, 9);
    for (const r of [1, 2, 3, 4, 5]) net.ok(r, { type: 'unstake', amount: 100_000n });
    expect(net.state.reputationOf(net.id(0)).reporters).toBe(5);
  });

  it('self-reports are refused', () => {
    const net = new TestNet(2);
    expect(net.emit(0, { type: 'uptime', subject: net.id(0), up: true }).rejection).toBe('SELF_REPORT');
  });

  it('reputationScores gives the router a score per reported node', () => {
    const net = new TestNet(3);
    pos(net, 0, 1, true);
    pos(net, 0, 2, false);
    const scores = net.state.reputationScores();
    expect([...scores.keys()].sort()).toEqual([net.id(1), net.id(2)].sort());
    expect(scores.get(net.id(1))!).toBeGreaterThan(scores.get(net.id(2))!);
  });
});
