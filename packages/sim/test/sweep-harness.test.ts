import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli.js';
import { nodesOf, replayCommand, sweepSeeds } from './sweep/sweep.js';

describe('seed sweep harness', () => {
  it('TRINITY_SIM_SWEEP_SEEDS: 200 unless set, an integer in [1, 100000]', () => {
    expect(sweepSeeds(undefined)).toBe(200);
    expect(sweepSeeds('')).toBe(200);
    expect(sweepSeeds('2000')).toBe(2000);
    for (const bad of ['0', '-1', '1.5', 'x', '100001']) expect(() => sweepSeeds(bad)).toThrow(RangeError);
  });

  it('the replay command is one the CLI parses back to the same run', () => {
    const options = { activeMs: 1_000, voteEvery: 4, settleDelayMs: 10_000 };
    const command = replayCommand('economics', 300, 17, options);
    expect(command).toBe(
      'pnpm sim economics --nodes 300 --seed 17 --active-ms 1000 --vote-every 4 --settle-delay-ms 10000',
    );
    const args = parseArgs(command.split(' ').slice(2));
    expect(args).toMatchObject({ scenario: 'economics', nodes: 300, seeds: [17], extra: options });
  });

  it('seeds cycle through the node counts', () => {
    const plan = { scenario: 'locks', nodes: [50, 100, 200, 300] };
    expect([1, 2, 3, 4, 5, 200].map((seed) => nodesOf(plan, seed))).toEqual([50, 100, 200, 300, 50, 300]);
  });
});
