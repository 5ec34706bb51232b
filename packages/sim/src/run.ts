import { assertInt } from '@trinity/core';
import { UnknownScenarioError } from './errors.js';
import type { Scenario, ScenarioOptions, ScenarioResult } from './scenario.js';
import { attackerScenario } from './scenarios/attacker.js';
import { churnScenario } from './scenarios/churn.js';
import { corruptionRepairScenario } from './scenarios/corruption-repair.js';
import { economicsScenario } from './scenarios/economics.js';
import { locksScenario } from './scenarios/locks.js';
import { placementRoutingScenario } from './scenarios/placement-routing.js';
import { proofOfStorageScenario } from './scenarios/proof-of-storage.js';
import { fullPipelineScenario, twoPhaseCommitScenario } from './scenarios/two-phase-commit.js';

/** Every scenario `runScenario` and the CLI know, by name. */
export const scenarios: ReadonlyMap<string, Scenario> = new Map<string, Scenario>(
  [
    twoPhaseCommitScenario as Scenario,
    placementRoutingScenario as Scenario,
    locksScenario as Scenario,
    economicsScenario as Scenario,
    corruptionRepairScenario as Scenario,
    fullPipelineScenario as Scenario,
    churnScenario as Scenario,
    proofOfStorageScenario as Scenario,
    attackerScenario as Scenario,
  ].map((scenario) => [scenario.name, scenario]),
);

/** Runs scenario `name` and times it; throws UnknownScenarioError or RangeError for bad options. */
export function runScenario<O extends ScenarioOptions>(name: string, options: O): ScenarioResult {
  const scenario = scenarios.get(name) as Scenario<O> | undefined;
  if (scenario === undefined) throw new UnknownScenarioError(name, [...scenarios.keys()]);
  assertInt(options.nodes, 'nodes', scenario.nodesMin, scenario.nodesMax);
  assertInt(options.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  const start = performance.now();
  const outcome = scenario.run(options);
  const wallMs = performance.now() - start;
  const { checks, series, ...totals } = outcome;
  const checksByName: Record<string, { passed: number; failed: number }> = {};
  for (const [check, tally] of checks.tallies())
    checksByName[check] = { passed: tally.passed, failed: tally.failed };
  return {
    scenario: name,
    nodes: options.nodes,
    seed: options.seed,
    ...totals,
    eventsPerSec: wallMs > 0 ? totals.events / (wallMs / 1000) : 0,
    wallMs,
    checks: { passed: checks.passed, failed: checks.failed },
    checksByName,
    failures: checks.failures(),
    series,
  };
}
