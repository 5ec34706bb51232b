import { assert, assertInt, assertNumber, parseConfig } from '@trinity/core';
import {
  type AdaptiveRouterConfig,
  type AdaptiveRouterConfigInput,
  adaptiveRouterConfigSchema,
  type RouterWeights,
} from './config.js';

/** What a fetch routed to a node turned out like. */
export interface FetchOutcome {
  readonly success: boolean;
  /** Time to first byte (or to the whole shard): the same measure for every fetch. */
  readonly latencyMs: number;
}

/** One arm as `explain()` shows it. */
export interface ArmReport {
  readonly arm: number;
  readonly weights: RouterWeights;
  /** Discounted mean reward: what this weight set has earned lately. */
  readonly meanReward: number;
  /** Discounted number of outcomes behind the mean. */
  readonly evidence: number;
  /** meanReward plus the exploration bonus: the arm with the highest is chosen next. */
  readonly upperBound: number;
}

/** The reward of a fetch in [0, 1]: 1 / (1 + latencyMs / scaleMs) on success, 0 on failure. */
export function fetchReward(outcome: FetchOutcome, scaleMs = 100): number {
  if (typeof outcome.success !== 'boolean')
    throw new TypeError(`success must be a boolean, got ${typeof outcome.success}`);
  assertNumber(outcome.latencyMs, 'latencyMs', 0);
  return outcome.success ? 1 / (1 + outcome.latencyMs / scaleMs) : 0;
}

/**
 * Discounted UCB (Garivier and Moulines, 2011) over a few fixed weight sets. Bounded and explainable:
 * the state is two numbers per arm (discounted reward sum and count), every choice is the arm with the
 * highest mean + exploration bonus, and `explain()` prints both. The discount forgets old outcomes so
 * that the choice follows drifting latencies. Deterministic: no randomness, no clock.
 */
export class WeightBandit {
  readonly config: AdaptiveRouterConfig;
  readonly #sums: Float64Array;
  readonly #counts: Float64Array;

  constructor(config: AdaptiveRouterConfigInput = {}) {
    this.config = parseConfig(adaptiveRouterConfigSchema, config, 'adaptive router config');
    this.#sums = new Float64Array(this.config.weightSets.length);
    this.#counts = new Float64Array(this.config.weightSets.length);
  }

  get arms(): number {
    return this.config.weightSets.length;
  }

  /** The arm to use for the next decision: the best upper bound (untried arms first). */
  select(): number {
    for (let arm = 0; arm < this.arms; arm++) if (this.#counts[arm]! < 1e-9) return arm;
    let best = 0;
    let bestBound = Number.NEGATIVE_INFINITY;
    for (let arm = 0; arm < this.arms; arm++) {
      const bound = this.#upperBound(arm);
      if (bound > bestBound) [best, bestBound] = [arm, bound];
    }
    return best;
  }

  /** Learns from the outcome of a decision made with `arm`. */
  update(arm: number, outcome: FetchOutcome): void {
    assertInt(arm, 'arm', 0, this.arms - 1);
    const reward = fetchReward(outcome, this.config.rewardScaleMs);
    const discount = this.config.discount;
    for (let i = 0; i < this.arms; i++) {
      this.#sums[i]! *= discount;
      this.#counts[i]! *= discount;
    }
    this.#sums[arm]! += reward;
    this.#counts[arm]! += 1;
    assert(this.#sums[arm]! <= this.#counts[arm]! + 1e-9, 'bandit: mean reward above 1');
  }

  /** Every arm's weights, mean reward, evidence and upper bound. */
  explain(): ArmReport[] {
    return this.config.weightSets.map((weights, arm) => ({
      arm,
      weights,
      meanReward: this.#mean(arm),
      evidence: this.#counts[arm]!,
      upperBound: this.#counts[arm]! < 1e-9 ? Number.POSITIVE_INFINITY : this.#upperBound(arm),
    }));
  }

  #mean(arm: number): number {
    const count = this.#counts[arm]!;
    return count < 1e-9 ? 0 : this.#sums[arm]! / count;
  }

  #upperBound(arm: number): number {
    let total = 0;
    for (let i = 0; i < this.arms; i++) total += this.#counts[i]!;
    const count = this.#counts[arm]!;
    return this.#mean(arm) + this.config.exploration * Math.sqrt(Math.log(Math.max(total, 1)) / count);
  }
}
