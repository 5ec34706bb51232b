import { assertNumber } from '@trinity/core';
import type { RouterWeights } from './config.js';

/** The seed's weights: 0.4 latency, 0.4 reputation, 0.2 locality. */
export const SEED_WEIGHTS: RouterWeights = Object.freeze({ latency: 0.4, reputation: 0.4, locality: 0.2 });

export interface LatencyScoreOptions {
  /** RTTs up to this count as perfect (default 4 ms). */
  readonly graceMs?: number;
  /** The score halves at `graceMs + scaleMs` (default 100 ms). */
  readonly scaleMs?: number;
}

/**
 * The latency score, an inverse of the EMA latency in (0, 1]:
 *
 *     score(ms) = 1 / (1 + max(0, ms - graceMs) / scaleMs)        (graceMs 4, scaleMs 100)
 *
 * With the defaults it gives the seed's worked example to within 0.01: 5 ms -> 0.990, 80 ms -> 0.568,
 * 180 ms -> 0.362 (the seed's 0.99, 0.56, 0.36). A plain 1 / (1 + ms / 100) fits 80 and 180 ms but
 * gives 0.952 at 5 ms: the grace makes the few ms of LAN jitter between local nodes not count.
 */
export function latencyScore(ms: number, options: LatencyScoreOptions = {}): number {
  const graceMs = options.graceMs ?? 4;
  const scaleMs = options.scaleMs ?? 100;
  assertNumber(ms, 'ms', 0);
  return 1 / (1 + Math.max(0, ms - graceMs) / scaleMs);
}

/** The part of the composite that does not depend on the requester: what the per-region index sorts by. */
export function staticScore(latency: number, reputation: number, weights: RouterWeights): number {
  return weights.latency * latency + weights.reputation * reputation;
}

/**
 * The composite score of the seed: w.latency * latency + w.reputation * reputation + w.locality * locality,
 * computed as staticScore + locality term so that the router and a brute-force scan agree bit for bit.
 */
export function compositeScore(
  latency: number,
  reputation: number,
  locality: number,
  weights: RouterWeights,
): number {
  return staticScore(latency, reputation, weights) + weights.locality * locality;
}
