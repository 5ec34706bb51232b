import { describe, expect, it } from 'vitest';
import { describeFailure, enumerateCrashPoints, simConfig } from './sim/enumerate.js';
import { type SimConfig, SimWorld } from './sim/world.js';

// Replay one failure: TX_SIM_CASE='<json printed by the failure>'. Run one seed: TX_SIM_SEED=<n>.
const replayCase = process.env.TX_SIM_CASE;
const onlySeed = process.env.TX_SIM_SEED === undefined ? undefined : Number(process.env.TX_SIM_SEED);
const seeds = (first: number, count: number) =>
  onlySeed === undefined ? Array.from({ length: count }, (_, i) => first + i) : [onlySeed];

describe.runIf(replayCase !== undefined)('replay', () => {
  it('replays TX_SIM_CASE with a trace', () => {
    const config = { ...(JSON.parse(replayCase!) as SimConfig), trace: true };
    const result = new SimWorld(config).run();
    console.log(result.trace.join('\n'));
    expect(result.violations).toEqual([]);
  });
});

// Exhaustive crash enumeration: bounded by seeds and steps, not by time. One test takes 10-50 s on a
// busy 2-core machine, so the limit only catches a hang.
describe.runIf(replayCase === undefined)('deterministic simulation', { timeout: 600_000 }, () => {
  it('is deterministic: the same seed gives the same run, step for step', () => {
    const config = simConfig(7, { randomCrashes: 2, transactions: 3, sharedShards: true });
    const a = new SimWorld({ ...config, trace: true }).run();
    const b = new SimWorld({ ...config, trace: true }).run();
    expect(a.trace).toEqual(b.trace);
    expect(a.trace.length).toBeGreaterThan(50);
  });

  it('crashes every node at every step of one transaction (3 participants, lossy network)', () => {
    let runs = 0;
    for (const seed of seeds(1, 12)) {
      const result = enumerateCrashPoints(simConfig(seed));
      runs += result.runs;
      expect(result.failures, result.failures.join('\n')).toEqual([]);
    }
    expect(runs).toBeGreaterThan(onlySeed === undefined ? 5_000 : 10);
  });

  it('crashes every node at every step of two contending transactions (3–4 participants)', () => {
    for (const seed of seeds(100, 5)) {
      const config = simConfig(seed, { participants: 3 + (seed % 2), transactions: 2, sharedShards: true });
      const result = enumerateCrashPoints(config);
      expect(result.failures, result.failures.join('\n')).toEqual([]);
    }
  });

  it('crashes every node at every step of one transaction over 5 participants, clocks skewed', () => {
    for (const seed of seeds(300, 2)) {
      const result = enumerateCrashPoints(
        simConfig(seed, { participants: 5, shardsPerNodeMax: 1, clockSkewMs: 100 }),
      );
      expect(result.failures, result.failures.join('\n')).toEqual([]);
    }
  });

  it('crashes every node at every step with the lock table lost on restart', () => {
    for (const seed of seeds(200, 2)) {
      const config = simConfig(seed, { locksSurviveCrash: false, transactions: 2, sharedShards: true });
      const result = enumerateCrashPoints(config);
      expect(result.failures, result.failures.join('\n')).toEqual([]);
    }
  });

  it('sampled: 3–64 participants, concurrent transactions, random crashes, clock skew, many seeds', () => {
    let committed = 0;
    let aborted = 0;
    let crashes = 0;
    for (const seed of seeds(1_000, 800)) {
      const participants = [3, 5, 8, 16, 32, 64][seed % 6]!;
      const config = simConfig(seed, {
        participants,
        transactions: 1 + (seed % 4),
        sharedShards: seed % 3 === 0,
        shardsPerNodeMax: participants > 32 ? 1 : 2,
        randomCrashes: seed % 5,
        locksSurviveCrash: seed % 7 !== 0,
        lossRate: (seed % 4) * 0.05,
        dupRate: 0.1,
        clockSkewMs: [0, 50, 300, 1_000][Math.floor(seed / 7) % 4]!,
      });
      const result = new SimWorld(config).run();
      if (result.violations.length > 0) expect.fail(describeFailure(config, result.violations));
      committed += result.committed;
      aborted += result.aborted;
      crashes += result.crashes;
    }
    if (onlySeed === undefined) {
      // The runs must exercise both outcomes and crashes, or they prove little.
      expect(committed).toBeGreaterThan(100);
      expect(aborted).toBeGreaterThan(50);
      expect(crashes).toBeGreaterThan(300);
    }
  });
});
