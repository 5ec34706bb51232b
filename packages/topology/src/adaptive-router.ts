import { assertInt, ConfigError } from '@trinity/core';
import type { AdaptiveRouterConfigInput, RouterConfigInput } from './config.js';
import { type LeastSquaresReport, LeastSquaresWeights, nearestWeightSet } from './least-squares-weights.js';
import {
  type RankedCandidate,
  RegionRouter,
  type RegionRouterOptions,
  type RouteOptions,
  type RouterNode,
  type ScoredNode,
} from './region-router.js';
import type { RegionId } from './regions.js';
import { type ArmReport, type FetchOutcome, fetchReward, WeightBandit } from './weight-bandit.js';

/** A routing decision and the weight set (arm) that made it. */
export interface AdaptiveDecision<T> {
  readonly arm: number;
  readonly result: T;
}

/** Which decision a fetch outcome belongs to. */
export interface DecisionRef {
  readonly arm: number;
  /** The node the fetch went to. */
  readonly nodeId: string;
  readonly requesterRegion: RegionId;
}

export interface AdaptiveReport {
  readonly enabled: boolean;
  readonly policy: 'least-squares' | 'bandit';
  /** The arm the next decision will use. */
  readonly nextArm: number;
  readonly arms: ArmReport[];
  readonly leastSquares: LeastSquaresReport;
}

type Options = Omit<RouteOptions, 'weightSet'>;

/**
 * The router with learned weights (the seed's "adaptive router" next step), off by default. A
 * RegionRouter indexes every configured weight set, so each decision stays exact and fast; the policy
 * picks the set per decision: by default the one nearest to a least-squares fit of fetch reward on
 * the three signals (LeastSquaresWeights), or a discounted-UCB bandit over the sets (WeightBandit).
 * Disabled, it always uses the first set: the seed's fixed 0.4 / 0.4 / 0.2.
 */
export class AdaptiveRegionRouter {
  readonly router: RegionRouter;
  readonly bandit: WeightBandit;
  readonly learner: LeastSquaresWeights;

  constructor(
    config: {
      router?: Omit<RouterConfigInput, 'weights' | 'extraWeightSets'>;
      adaptive?: AdaptiveRouterConfigInput;
    } = {},
    options: RegionRouterOptions = {},
  ) {
    // The adaptive settings go under `adaptive`: `{ enabled: true }` at the top would be ignored silently.
    for (const key of Object.keys(config)) {
      if (key !== 'router' && key !== 'adaptive') {
        const rule = 'unknown key: router settings go under `router`, adaptive ones under `adaptive`';
        throw new ConfigError(`invalid adaptive router config: ${key}: ${rule}`, [
          { path: key, rule, received: typeof (config as Record<string, unknown>)[key] },
        ]);
      }
    }
    this.bandit = new WeightBandit(config.adaptive ?? {});
    const [first, ...rest] = this.bandit.config.weightSets;
    this.router = new RegionRouter({ ...config.router, weights: first, extraWeightSets: rest }, options);
    this.learner = new LeastSquaresWeights(this.bandit.config.forgetting, first!);
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

  /** The weight set the next decision uses. */
  selectArm(): number {
    const config = this.bandit.config;
    if (!config.enabled) return 0;
    if (config.policy === 'bandit') return this.bandit.select();
    return nearestWeightSet(config.weightSets, this.learner.weights());
  }

  best(requesterRegion: RegionId, options: Options = {}): AdaptiveDecision<ScoredNode | undefined> {
    const arm = this.selectArm();
    return { arm, result: this.router.best(requesterRegion, { ...options, weightSet: arm }) };
  }

  topN(requesterRegion: RegionId, n: number, options: Options = {}): AdaptiveDecision<ScoredNode[]> {
    const arm = this.selectArm();
    return { arm, result: this.router.topN(requesterRegion, n, { ...options, weightSet: arm }) };
  }

  rankCandidates(
    requesterRegion: RegionId,
    candidateIds: readonly string[],
    options: Options = {},
  ): AdaptiveDecision<RankedCandidate[]> {
    const arm = this.selectArm();
    return {
      arm,
      result: this.router.rankCandidates(requesterRegion, candidateIds, { ...options, weightSet: arm }),
    };
  }

  /** Learns from a fetch: the bandit credits the arm, the fit takes the node's signals and the reward. */
  recordOutcome(decision: DecisionRef, outcome: FetchOutcome): void {
    assertInt(decision.arm, 'arm', 0, this.bandit.arms - 1);
    // Every check before either learner changes: a bad region must not credit the bandit alone.
    this.router.topology.indexOf(decision.requesterRegion, 'requesterRegion');
    const reward = fetchReward(outcome, this.bandit.config.rewardScaleMs);
    const features = this.router.features(decision.nodeId, decision.requesterRegion);
    this.bandit.update(decision.arm, outcome);
    if (features !== undefined) this.learner.update(features, reward);
  }

  explain(): AdaptiveReport {
    const config = this.bandit.config;
    return {
      enabled: config.enabled,
      policy: config.policy,
      nextArm: this.selectArm(),
      arms: this.bandit.explain(),
      leastSquares: this.learner.report(),
    };
  }
}
