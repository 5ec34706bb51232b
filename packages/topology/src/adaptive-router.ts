import type { AdaptiveRouterConfigInput, RouterConfigInput } from './config.js';
import {
  type RankedCandidate,
  RegionRouter,
  type RegionRouterOptions,
  type RouteOptions,
  type RouterNode,
  type ScoredNode,
} from './region-router.js';
import type { RegionId } from './regions.js';
import { type ArmReport, type FetchOutcome, WeightBandit } from './weight-bandit.js';

/** A routing decision and the arm (weight set) that made it: hand the arm back with the outcome. */
export interface AdaptiveDecision<T> {
  readonly arm: number;
  readonly result: T;
}

/**
 * The router with learned weights (the seed's "adaptive router" next step), off by default. A
 * RegionRouter indexes every weight set of the bandit (so each decision stays exact and fast), the
 * WeightBandit picks the set per decision, and `recordOutcome` feeds what the fetch cost back.
 * Disabled, it always uses the first set: the seed's fixed 0.4 / 0.4 / 0.2.
 */
export class AdaptiveRegionRouter {
  readonly router: RegionRouter;
  readonly bandit: WeightBandit;

  constructor(
    config: {
      router?: Omit<RouterConfigInput, 'weights' | 'extraWeightSets'>;
      adaptive?: AdaptiveRouterConfigInput;
    } = {},
    options: RegionRouterOptions = {},
  ) {
    this.bandit = new WeightBandit(config.adaptive ?? {});
    const [first, ...rest] = this.bandit.config.weightSets;
    this.router = new RegionRouter({ ...config.router, weights: first, extraWeightSets: rest }, options);
  }

  upsertNode(node: RouterNode): void {
    this.router.upsertNode(node);
  }

  removeNode(id: string): boolean {
    return this.router.removeNode(id);
  }

  observeLatency(id: string, rttMs: number, nowMs: number): number | undefined {
    return this.router.observeLatency(id, rttMs, nowMs);
  }

  best(
    requesterRegion: RegionId,
    options: Omit<RouteOptions, 'weightSet'> = {},
  ): AdaptiveDecision<ScoredNode | undefined> {
    const arm = this.bandit.select();
    return { arm, result: this.router.best(requesterRegion, { ...options, weightSet: arm }) };
  }

  topN(
    requesterRegion: RegionId,
    n: number,
    options: Omit<RouteOptions, 'weightSet'> = {},
  ): AdaptiveDecision<ScoredNode[]> {
    const arm = this.bandit.select();
    return { arm, result: this.router.topN(requesterRegion, n, { ...options, weightSet: arm }) };
  }

  rankCandidates(
    requesterRegion: RegionId,
    candidateIds: readonly string[],
    options: Omit<RouteOptions, 'weightSet'> = {},
  ): AdaptiveDecision<RankedCandidate[]> {
    const arm = this.bandit.select();
    return {
      arm,
      result: this.router.rankCandidates(requesterRegion, candidateIds, { ...options, weightSet: arm }),
    };
  }

  /** Learns from a fetch made on a decision of `arm`. */
  recordOutcome(arm: number, outcome: FetchOutcome): void {
    this.bandit.update(arm, outcome);
  }

  explain(): ArmReport[] {
    return this.bandit.explain();
  }
}
