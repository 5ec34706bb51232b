import { assert, type Clock, type Logger, noopLogger, parseConfig } from '@trinity/core';
import { type TxConfig, type TxConfigInput, txConfigSchema } from './config.js';
import { SagaCompensationError, TxLimitError } from './errors.js';
import { TxStats } from './stats.js';

/** Most steps one saga may have. */
export const SAGA_STEPS_MAX = 256;

/**
 * One step of a saga: `run` does the work, `compensate` undoes it once it succeeded. A step that
 * fails must leave nothing behind (it is not compensated); a compensation must be idempotent,
 * since it is retried.
 */
export interface SagaStep<C> {
  readonly name: string;
  run(context: C): Promise<void>;
  compensate(context: C): Promise<void>;
}

export type SagaResult =
  | { readonly outcome: 'completed' }
  | {
      readonly outcome: 'compensated';
      readonly failedStep: string;
      readonly error: unknown;
      /** Steps undone, in the order they were undone (reverse of running). */
      readonly compensated: readonly string[];
    };

export interface SagaRunnerInit {
  /** Waits between compensation retries. */
  readonly clock: Clock;
  readonly config?: TxConfigInput;
  readonly stats?: TxStats;
  readonly logger?: Logger;
}

/**
 * Runs sagas: ordered steps, each with a compensation, for work that must not hold locks across
 * nodes. When a step fails, the steps that completed are compensated in reverse order; each
 * compensation is retried at most `maxCompensationRetries` times (seed: 3) with exponential
 * backoff from `compensationBackoffMs` up to `compensationBackoffMaxMs`.
 */
export class SagaRunner {
  readonly config: TxConfig;
  readonly stats: TxStats;
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(init: SagaRunnerInit) {
    this.config = parseConfig(txConfigSchema, init.config ?? {}, 'tx config');
    this.stats = init.stats ?? new TxStats();
    this.#clock = init.clock;
    this.#logger = (init.logger ?? noopLogger).child({ component: 'saga' });
  }

  /**
   * Runs `steps` in order. Resolves `completed`, or `compensated` (with the failure) once every
   * completed step was undone. Rejects with SagaCompensationError if a compensation still fails
   * after its retries (the others are still attempted), TxLimitError beyond SAGA_STEPS_MAX steps.
   */
  async run<C>(name: string, steps: readonly SagaStep<C>[], context: C): Promise<SagaResult> {
    if (steps.length > SAGA_STEPS_MAX) throw new TxLimitError(`a saga has at most ${SAGA_STEPS_MAX} steps`);
    const done: SagaStep<C>[] = [];
    for (const step of steps) {
      try {
        await step.run(context);
      } catch (error) {
        this.#logger.warn({ saga: name, step: step.name }, 'saga step failed: compensating');
        return await this.#compensateAll(name, done, context, step.name, error);
      }
      done.push(step);
    }
    return { outcome: 'completed' };
  }

  async #compensateAll<C>(
    name: string,
    done: readonly SagaStep<C>[],
    context: C,
    failedStep: string,
    error: unknown,
  ): Promise<SagaResult> {
    const compensated: string[] = [];
    const failed: string[] = [];
    let lastError: unknown;
    for (const step of [...done].reverse()) {
      const result = await this.#compensate(step, context);
      if (result === undefined) compensated.push(step.name);
      else {
        failed.push(step.name);
        lastError = result;
      }
    }
    if (failed.length > 0) throw new SagaCompensationError(name, failed, lastError);
    this.stats.rolledBackOne();
    return { outcome: 'compensated', failedStep, error, compensated };
  }

  /** Undoes one step, retrying; undefined on success, else the last error. */
  async #compensate<C>(step: SagaStep<C>, context: C): Promise<unknown> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.config.maxCompensationRetries; attempt++) {
      if (attempt > 0) await this.#sleep(this.#backoffMs(attempt));
      this.stats.compensationRun();
      try {
        await step.compensate(context);
        return undefined;
      } catch (error) {
        lastError = error ?? new Error(`compensation of ${step.name} failed`);
        this.#logger.warn({ step: step.name, attempt }, 'compensation failed');
      }
    }
    assert(lastError !== undefined, 'saga: a failed compensation has an error');
    return lastError;
  }

  /** Delay before retry `attempt` (1-based): base · 2^(attempt-1), capped. */
  #backoffMs(attempt: number): number {
    const base = this.config.compensationBackoffMs * 2 ** (attempt - 1);
    return Math.min(base, this.config.compensationBackoffMaxMs);
  }

  #sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.#clock.setTimeout(resolve, delayMs));
  }
}
