import { ManualClock } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  SAGA_STEPS_MAX,
  SagaCompensationError,
  SagaRunner,
  type SagaStep,
  TxLimitError,
  TxStats,
} from '../src/index.js';

/** Lets pending promise callbacks run, then moves virtual time on. */
async function settle(clock: ManualClock, ms: number) {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  clock.advance(ms);
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

function step(name: string, log: string[], options: { failRun?: boolean; compensateFailures?: number } = {}) {
  let failures = options.compensateFailures ?? 0;
  return {
    name,
    run: async () => {
      log.push(`run ${name}`);
      if (options.failRun) throw new Error(`${name} failed`);
    },
    compensate: async () => {
      log.push(`undo ${name}`);
      if (failures-- > 0) throw new Error(`undo ${name} failed`);
    },
  } satisfies SagaStep<void>;
}

describe('SagaRunner', () => {
  it('runs every step in order when all succeed', async () => {
    const log: string[] = [];
    const runner = new SagaRunner({ clock: new ManualClock() });
    const result = await runner.run('put', [step('a', log), step('b', log)], undefined);
    expect(result).toEqual({ outcome: 'completed' });
    expect(log).toEqual(['run a', 'run b']);
  });

  it('compensates the completed steps in reverse order when one fails', async () => {
    const log: string[] = [];
    const stats = new TxStats();
    const runner = new SagaRunner({ clock: new ManualClock(), stats });
    const steps = [step('a', log), step('b', log), step('c', log, { failRun: true }), step('d', log)];
    const result = await runner.run('put', steps, undefined);
    expect(result).toMatchObject({ outcome: 'compensated', failedStep: 'c', compensated: ['b', 'a'] });
    expect(log).toEqual(['run a', 'run b', 'run c', 'undo b', 'undo a']);
    expect(stats.rolledBack).toBe(1);
    expect(stats.rollbacks).toBe(2);
  });

  it('retries a failing compensation with doubling backoff and succeeds within the limit', async () => {
    const log: string[] = [];
    const clock = new ManualClock();
    const runner = new SagaRunner({ clock, config: { compensationBackoffMs: 100 } });
    const running = runner.run(
      'put',
      [step('a', log, { compensateFailures: 2 }), step('b', log, { failRun: true })],
      undefined,
    );
    await settle(clock, 99);
    expect(log.filter((l) => l === 'undo a')).toHaveLength(1);
    await settle(clock, 1); // first retry at 100 ms
    expect(log.filter((l) => l === 'undo a')).toHaveLength(2);
    await settle(clock, 200); // second retry 200 ms later
    expect(await running).toMatchObject({ outcome: 'compensated', compensated: ['a'] });
    expect(log.filter((l) => l === 'undo a')).toHaveLength(3);
  });

  it('gives up after 3 retries (4 attempts) and throws SagaCompensationError naming the step', async () => {
    const log: string[] = [];
    const clock = new ManualClock();
    const stats = new TxStats();
    const runner = new SagaRunner({ clock, stats, config: { compensationBackoffMs: 10 } });
    const steps = [
      step('a', log),
      step('b', log, { compensateFailures: 100 }),
      step('c', log, { failRun: true }),
    ];
    const running = runner.run('put', steps, undefined).catch((error: unknown) => error);
    for (let i = 0; i < 10; i++) await settle(clock, 1_000);
    const error = await running;
    expect(error).toBeInstanceOf(SagaCompensationError);
    expect((error as SagaCompensationError).failedCompensations).toEqual(['b']);
    expect(log.filter((l) => l === 'undo b')).toHaveLength(4);
    // The other completed step is still undone.
    expect(log).toContain('undo a');
    expect(stats.rollbacks).toBe(5);
    expect(stats.rolledBack).toBe(0);
  });

  it('honours a configured retry limit and rejects too many steps', async () => {
    const log: string[] = [];
    const runner = new SagaRunner({ clock: new ManualClock(), config: { maxCompensationRetries: 0 } });
    const error = await runner
      .run('x', [step('a', log, { compensateFailures: 1 }), step('b', log, { failRun: true })], undefined)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SagaCompensationError);
    expect(log.filter((l) => l === 'undo a')).toHaveLength(1);
    const many = Array.from({ length: SAGA_STEPS_MAX + 1 }, (_, i) => step(`s${i}`, log));
    await expect(runner.run('big', many, undefined)).rejects.toBeInstanceOf(TxLimitError);
  });
});
