import { describe, expect, it } from 'vitest';
import { runScenario, summaryLines, type TwoPhaseCommitOptions } from '../src/index.js';
import { AbortBlindCoordinator, ForgetfulParticipant } from './planted/broken-2pc.js';

/** Runs seeds 1..100 until one fails its checks; returns that seed (undefined: none did). */
function firstFailingSeed(
  options: Omit<TwoPhaseCommitOptions, 'seed'>,
): { seed: number; failures: readonly string[] } | undefined {
  for (let seed = 1; seed <= 100; seed++) {
    const result = runScenario('two-phase-commit', { ...options, seed });
    if (result.checks.failed > 0) return { seed, failures: result.failures };
  }
  return undefined;
}

const small = { nodes: 50, transactions: 100, concurrency: 20 } as const;

describe('planted bugs are caught within 100 seeds', () => {
  it('a coordinator that commits although a participant voted abort breaks atomicity', () => {
    const caught = firstFailingSeed({ ...small, makeCoordinator: (init) => new AbortBlindCoordinator(init) });
    expect(caught, 'the simulator missed the abort-blind coordinator').toBeDefined();
    expect(caught!.failures.some((f) => f.startsWith('atomic:') || f.startsWith('commit-point:'))).toBe(true);
  });

  it('a participant that forgets its prepared state on restart is caught', () => {
    const caught = firstFailingSeed({ ...small, makeParticipant: (init) => new ForgetfulParticipant(init) });
    expect(caught, 'the simulator missed the forgetful participant').toBeDefined();
    // Printed so a failure of the real implementation on the same seed can be replayed by hand.
    expect(caught!.seed).toBeLessThanOrEqual(100);
  });

  it('a failing seed prints the command that replays it', () => {
    const result = runScenario<TwoPhaseCommitOptions>('two-phase-commit', {
      ...small,
      seed: 1,
      makeCoordinator: (init) => new AbortBlindCoordinator(init),
    });
    const lines = summaryLines(result, ['--transactions', '100', '--concurrency', '20']);
    expect(lines.some((l) => l.startsWith('  FAIL atomic:'))).toBe(true);
    expect(lines.at(-1)).toBe(
      'replay: pnpm sim two-phase-commit --nodes 50 --seed 1 --transactions 100 --concurrency 20',
    );
  });

  it('the real coordinator and participant pass the seeds that catch them', () => {
    const blind = firstFailingSeed({ ...small, makeCoordinator: (init) => new AbortBlindCoordinator(init) })!;
    const forgetful = firstFailingSeed({
      ...small,
      makeParticipant: (init) => new ForgetfulParticipant(init),
    })!;
    for (const seed of new Set([blind.seed, forgetful.seed])) {
      const result = runScenario('two-phase-commit', { ...small, seed });
      expect(result.failures, `seed ${seed}: pnpm sim two-phase-commit --nodes 50 --seed ${seed}`).toEqual(
        [],
      );
      expect(result.checks.passed).toBeGreaterThan(100);
    }
  });
});
