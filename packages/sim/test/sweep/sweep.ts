/**
 * The seed sweep CI runs: every scenario over a few hundred seeds at 50 to 300 nodes, every checker
 * green. One file per scenario (`*.test.ts` beside this one), so vitest's workers can take them in
 * parallel. A failing seed fails its test with the command that replays it.
 *
 * `TRINITY_SIM_SWEEP_SEEDS` changes how many seeds each scenario runs (default 200), e.g. 2,000 for a
 * longer sweep on a quiet machine or 20 for a quick look.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/index.js';

export const sweepSeedsDefault = 200;
const sweepSeedsMax = 100_000;
/** Seeds per test: each test a few seconds at most, so the default 2-minute timeout stays a hang detector. */
const seedsPerTestDefault = 10;

/** `TRINITY_SIM_SWEEP_SEEDS` read: an integer, 1 to 100,000; 200 when unset or empty. */
export function sweepSeeds(value: string | undefined): number {
  if (value === undefined || value === '') return sweepSeedsDefault;
  const seeds = Number(value);
  if (!/^\d+$/.test(value) || seeds < 1 || seeds > sweepSeedsMax)
    throw new RangeError(
      `TRINITY_SIM_SWEEP_SEEDS takes an integer in [1, ${sweepSeedsMax}], got ${JSON.stringify(value)}`,
    );
  return seeds;
}

export interface SweepPlan {
  readonly scenario: string;
  /** Seed s runs at nodes[(s - 1) % nodes.length]. */
  readonly nodes: readonly number[];
  /** Scenario options of the sweep's runs (smaller than the defaults where a run is slow), as CLI flags take them. */
  readonly options?: Readonly<Record<string, number>>;
  /** Seeds when `TRINITY_SIM_SWEEP_SEEDS` is not set, for a scenario too slow for the default 200. */
  readonly seedsDefault?: number;
  /** Seeds per test (default 10); 1 for a scenario whose seed takes seconds. */
  readonly seedsPerTest?: number;
}

/**
 * The economics sweep's options (economics.test.ts says why): 5 s of observations, every 4th node
 * voting, a 10 s settle delay and no snapshots between.
 */
export const economicsSweepOptions: Readonly<Record<string, number>> = {
  activeMs: 5_000,
  voteEvery: 4,
  settleDelayMs: 10_000,
  snapshotEvery: 100_000,
};

/** The `pnpm sim` command that replays one run of the sweep. */
export function replayCommand(
  scenario: string,
  nodes: number,
  seed: number,
  options: Readonly<Record<string, number>> = {},
): string {
  const flags = Object.entries(options).map(
    ([name, value]) => ` --${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${value}`,
  );
  return `pnpm sim ${scenario} --nodes ${nodes} --seed ${seed}${flags.join('')}`;
}

/** The node count of seed `seed` in the plan. */
export function nodesOf(plan: SweepPlan, seed: number): number {
  return plan.nodes[(seed - 1) % plan.nodes.length]!;
}

/** Registers the sweep of `plan`: seeds 1..sweepSeeds(), ten to a test. */
export function sweep(plan: SweepPlan): void {
  const fromEnv = process.env.TRINITY_SIM_SWEEP_SEEDS;
  const seeds = fromEnv ? sweepSeeds(fromEnv) : (plan.seedsDefault ?? sweepSeedsDefault);
  const options = plan.options ?? {};
  const seedsPerTest = plan.seedsPerTest ?? seedsPerTestDefault;
  describe(`${plan.scenario}: ${seeds} seeds at ${[...new Set(plan.nodes)].join('/')} nodes`, () => {
    for (let first = 1; first <= seeds; first += seedsPerTest) {
      const last = Math.min(seeds, first + seedsPerTest - 1);
      it(`seeds ${first}..${last}`, () => {
        const failed: string[] = [];
        for (let seed = first; seed <= last; seed++) {
          const nodes = nodesOf(plan, seed);
          const result = runScenario(plan.scenario, { nodes, seed, ...options });
          if (result.checks.failed > 0 || result.checks.passed === 0)
            failed.push(
              `replay: ${replayCommand(plan.scenario, nodes, seed, options)}\n  ${
                result.checks.passed === 0 ? 'no check ran' : result.failures.slice(0, 5).join('\n  ')
              }`,
            );
        }
        expect(failed, `${failed.length} failing seeds:\n${failed.join('\n')}`).toEqual([]);
      });
    }
  });
}
