import type { CrashPoint, SimConfig } from './world.js';
import { SimWorld } from './world.js';

/** Small timeouts so that deadlines, retries and lock expiry all happen within a run. */
export const simTxConfig = {
  prepareTimeoutMs: 400,
  commitRetryIntervalMs: 50,
  statusQueryIntervalMs: 50,
  clockSkewMarginMs: 100,
  lockRenewMarginMs: 100,
} as const;

export function simConfig(seed: number, overrides: Partial<SimConfig> = {}): SimConfig {
  return {
    seed,
    participants: 3,
    transactions: 1,
    shardsPerNodeMax: 2,
    sharedShards: false,
    coordinatorHoldsShards: seed % 2 === 0,
    lossRate: 0.1,
    dupRate: 0.1,
    delayMaxMs: 20,
    longDelayRate: 0.03,
    stageFailRate: 0.03,
    faultsUntilMs: 3_000,
    randomCrashes: 0,
    locksSurviveCrash: true,
    clockSkewMs: seed % 3 === 0 ? 150 : 0,
    checkpointEveryMs: seed % 2 === 0 ? 0 : 61,
    lockTtlMs: 300,
    txConfig: simTxConfig,
    ...overrides,
  };
}

/** Crash downtimes that land before, around and well after the prepare deadline and lock expiry. */
const downtimesMs = [3, 120, 450, 900];

/** A failed run, printed so that it replays: `TX_SIM_CASE='<json>' pnpm --filter @trinity/tx test simulation`. */
export function describeFailure(config: SimConfig, violations: readonly string[]): string {
  const crash = config.crash === undefined ? '' : `, crash ${JSON.stringify(config.crash)}`;
  return (
    `simulation failed (seed ${config.seed}${crash}): ${violations.slice(0, 5).join('; ')}\n` +
    `  replay: TX_SIM_CASE='${JSON.stringify(config)}'`
  );
}

/**
 * Runs `base` once without a crash, then once for every crash point of that run: after every
 * step, each node crashes (the one that handled the step also after each of its effects), with
 * its unsynced log records lost or kept. Returns the failures (and how many runs there were).
 */
export function enumerateCrashPoints(base: SimConfig, maxFailures = 3): { runs: number; failures: string[] } {
  const failures: string[] = [];
  const baseline = new SimWorld(base).run();
  if (baseline.violations.length > 0)
    return { runs: 1, failures: [describeFailure(base, baseline.violations)] };
  const nodes = ['c', ...Array.from({ length: base.participants }, (_, i) => `p${i}`)];
  let runs = 1;
  baseline.steps.forEach((step, afterStep) => {
    const points: Omit<CrashPoint, 'survivors' | 'downMs'>[] = nodes.map((node) => ({ afterStep, node }));
    for (let k = 0; k < step.effects; k++) points.push({ afterStep, node: step.node, afterEffects: k });
    points.forEach((point, i) => {
      for (const survivors of ['none', 'all'] as const) {
        if (failures.length >= maxFailures) return;
        const downMs = downtimesMs[(afterStep + i) % downtimesMs.length]!;
        const config: SimConfig = { ...base, crash: { ...point, survivors, downMs } };
        const result = new SimWorld(config).run();
        runs++;
        if (result.violations.length > 0) failures.push(describeFailure(config, result.violations));
      }
    });
  });
  return { runs, failures };
}
