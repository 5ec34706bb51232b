import { assert, assertNumber } from '@trinity/core';
import type { RouterWeights } from './config.js';

/** The features of a routed node, as scored: each in [0, 1]. */
export interface RouteFeatures {
  readonly latency: number;
  readonly reputation: number;
  readonly locality: number;
}

/** What the learner currently believes, for logs and dashboards. */
export interface LeastSquaresReport {
  /** Fitted reward = intercept + coefficients . features. */
  readonly intercept: number;
  readonly coefficients: RouteFeatures;
  /** The coefficients clipped at 0 and scaled to add up to 1: the weights the learner asks for. */
  readonly weights: RouterWeights;
  /** Discounted number of outcomes behind the fit. */
  readonly evidence: number;
}

const dims = 4;
const traceMax = 1e6;

/**
 * Recursive least squares with exponential forgetting: fits fetch reward ~ intercept + b . (latency
 * score, reputation, locality) over the outcomes seen, old ones fading by `forgetting` per outcome so
 * that the fit follows drift. Bounded: a 4x4 matrix and a 4-vector; the covariance is kept from
 * blowing up when the features stop varying (its trace is capped). Explainable: the weights asked
 * for are the fitted coefficients, clipped at zero and normalised.
 */
export class LeastSquaresWeights {
  readonly forgetting: number;
  readonly fallback: RouterWeights;
  readonly #theta = new Float64Array(dims);
  readonly #p = new Float64Array(dims * dims);
  #evidence = 0;

  constructor(forgetting: number, fallback: RouterWeights) {
    assertNumber(forgetting, 'forgetting', 0.5, 1);
    this.forgetting = forgetting;
    this.fallback = fallback;
    for (let i = 0; i < dims; i++) this.#p[i * dims + i] = 100;
  }

  update(features: RouteFeatures, reward: number): void {
    assertNumber(reward, 'reward', 0, 1);
    const x = [1, features.latency, features.reputation, features.locality];
    for (const value of x) assertNumber(value, 'feature', 0, 1);
    const p = this.#p;
    const px = new Float64Array(dims);
    let xpx = 0;
    for (let i = 0; i < dims; i++) {
      let sum = 0;
      for (let j = 0; j < dims; j++) sum += p[i * dims + j]! * x[j]!;
      px[i] = sum;
      xpx += x[i]! * sum;
    }
    const denominator = this.forgetting + xpx;
    let predicted = 0;
    for (let i = 0; i < dims; i++) predicted += this.#theta[i]! * x[i]!;
    const error = reward - predicted;
    let trace = 0;
    for (let i = 0; i < dims; i++) {
      this.#theta[i]! += (px[i]! / denominator) * error;
      for (let j = 0; j < dims; j++)
        p[i * dims + j] = (p[i * dims + j]! - (px[i]! * px[j]!) / denominator) / this.forgetting;
      trace += p[i * dims + i]!;
    }
    if (trace > traceMax) for (let i = 0; i < p.length; i++) p[i]! *= traceMax / trace;
    this.#evidence = this.#evidence * this.forgetting + 1;
    assert(this.#theta.every(Number.isFinite), 'least squares: non-finite fit');
  }

  /** The weights the fit asks for, or the fallback while it has no positive coefficient. */
  weights(): RouterWeights {
    const [latency, reputation, locality] = [1, 2, 3].map((i) => Math.max(0, this.#theta[i]!)) as [
      number,
      number,
      number,
    ];
    const sum = latency + reputation + locality;
    if (!(sum > 1e-9) || this.#evidence < 20) return this.fallback;
    return { latency: latency / sum, reputation: reputation / sum, locality: locality / sum };
  }

  report(): LeastSquaresReport {
    return {
      intercept: this.#theta[0]!,
      coefficients: { latency: this.#theta[1]!, reputation: this.#theta[2]!, locality: this.#theta[3]! },
      weights: this.weights(),
      evidence: this.#evidence,
    };
  }
}

/** The index of the weight set nearest to `target` (L1 distance; ties: the lower index). */
export function nearestWeightSet(sets: readonly RouterWeights[], target: RouterWeights): number {
  let best = 0;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const [i, set] of sets.entries()) {
    const distance =
      Math.abs(set.latency - target.latency) +
      Math.abs(set.reputation - target.reputation) +
      Math.abs(set.locality - target.locality);
    if (distance < bestDistance - 1e-12) [best, bestDistance] = [i, distance];
  }
  return best;
}
