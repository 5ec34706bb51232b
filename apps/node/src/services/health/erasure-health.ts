import type { Clock, Logger } from '@trinity/core';
import { chooseErasureParameters, NoFeasibleParametersError } from '@trinity/erasure';
import type { Startable } from '../../startable.js';
import type { LiveNodes } from '../membership/membership.js';

/** Bounds and target of adaptive erasure (`erasure.adaptive` in the node config). */
export interface AdaptiveErasureConfig {
  readonly enabled: boolean;
  readonly minParityShards: number;
  readonly maxParityShards: number;
  /** Probability a stripe must survive one repair window. */
  readonly targetDurability: number;
  /** The failure probability assumed of a network that shows no failure at all. */
  readonly nodeFailureProbabilityMin: number;
  /** A peer that left counts as failed for this long (then it is forgotten). */
  readonly downWindowMs: number;
}

export interface ErasureHealthInit {
  readonly selfId: string;
  /** The configured k and m: k is kept, m is the fallback and the value while adaptive is off. */
  readonly dataShards: number;
  readonly parityShards: number;
  readonly adaptive: AdaptiveErasureConfig;
}

export interface ErasureHealthComponents {
  readonly nodes: LiveNodes;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** What the network looks like now, and the shape chosen from it. */
export interface ErasureChoice {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly liveNodes: number;
  /** Peers that left within `downWindowMs` and have not come back. */
  readonly downNodes: number;
  /** The estimated probability that one holder loses its shard before repair. */
  readonly nodeFailureProbability: number;
}

/** Weight of the newest outcome in a peer's failure-rate moving average. */
const outcomeSmoothing = 0.1;
/** Most peers remembered (down or with a failure rate); the oldest are forgotten first. */
const peersMax = 10_000;

/** The health service's factory: `erasureHealth(init)(components)`. */
export function erasureHealth(
  init: ErasureHealthInit,
): (components: ErasureHealthComponents) => ErasureHealth {
  return (components) => new ErasureHealth(init, components);
}

/**
 * Erasure parameters from measured network health (@trinity/erasure's chooseErasureParameters): the
 * probability that a holder fails is estimated as the larger of the share of known nodes that left
 * recently and the mean failure rate of requests to live peers (never below a floor), and the
 * cheapest parity m within [minParityShards, maxParityShards] that keeps a stripe of k + m shards
 * alive with `targetDurability` is chosen for new puts (k stays as configured). When no shape meets
 * the target, the most durable one within the bounds is used.
 */
export class ErasureHealth implements Startable {
  readonly #init: ErasureHealthInit;
  readonly #c: ErasureHealthComponents;
  /** Peers that left, by the time they left. */
  readonly #goneAtMs = new Map<string, number>();
  /** Failure rate of requests to each peer (moving average, 0 = never failed). */
  readonly #failureRate = new Map<string, number>();
  #last: ErasureChoice | undefined;

  constructor(init: ErasureHealthInit, components: ErasureHealthComponents) {
    const { minParityShards, maxParityShards } = init.adaptive;
    if (minParityShards > maxParityShards) {
      throw new RangeError('erasure.adaptive.minParityShards must not exceed maxParityShards');
    }
    this.#init = init;
    this.#c = components;
  }

  start(): void {}

  stop(): void {}

  onPeer(peer: string): void {
    this.#goneAtMs.delete(peer);
  }

  onPeerGone(peer: string): void {
    if (peer === this.#init.selfId) return;
    bounded(this.#goneAtMs).set(peer, this.#c.clock.nowMs());
  }

  /** A request to `peer` succeeded or failed. */
  onOutcome(peer: string, ok: boolean): void {
    const rate = this.#failureRate.get(peer) ?? 0;
    bounded(this.#failureRate).set(peer, rate + outcomeSmoothing * ((ok ? 0 : 1) - rate));
  }

  /** (k, m) for the next put: the configured pair, or the adaptive choice when enabled. */
  parameters(): { dataShards: number; parityShards: number } {
    if (!this.#init.adaptive.enabled) {
      return { dataShards: this.#init.dataShards, parityShards: this.#init.parityShards };
    }
    const choice = this.choose();
    return { dataShards: choice.dataShards, parityShards: choice.parityShards };
  }

  /** The last choice made (undefined before the first adaptive put). */
  lastChoice(): ErasureChoice | undefined {
    return this.#last;
  }

  /** Measures the network and chooses m; see the class comment. */
  choose(): ErasureChoice {
    const { dataShards: k, adaptive } = this.#init;
    const live = this.#c.nodes.liveNodes().map((node) => node.id);
    const liveSet = new Set(live);
    const nowMs = this.#c.clock.nowMs();
    let down = 0;
    for (const [peer, goneAtMs] of this.#goneAtMs) {
      if (liveSet.has(peer) || nowMs - goneAtMs > adaptive.downWindowMs) this.#goneAtMs.delete(peer);
      else down++;
    }
    const rates = live.filter((id) => id !== this.#init.selfId).map((id) => this.#failureRate.get(id) ?? 0);
    const meanRate = rates.length === 0 ? 0 : rates.reduce((a, b) => a + b, 0) / rates.length;
    const p = Math.min(
      1,
      Math.max(adaptive.nodeFailureProbabilityMin, down / (down + live.length), meanRate),
    );
    const parityShards = this.#parity(k, live.length, p);
    const choice = {
      dataShards: k,
      parityShards,
      liveNodes: live.length,
      downNodes: down,
      nodeFailureProbability: p,
    };
    if (this.#last?.parityShards !== parityShards) {
      this.#c.logger.info({ ...choice }, 'erasure parameters chosen from network health');
    }
    this.#last = choice;
    return choice;
  }

  #parity(k: number, liveNodes: number, p: number): number {
    const { minParityShards, maxParityShards, targetDurability } = this.#init.adaptive;
    try {
      const chosen = chooseErasureParameters({
        healthyNodes: Math.max(1, liveNodes),
        nodeFailureProbability: p,
        targetDurability,
        maxOverhead: (k + maxParityShards) / k,
        minDataShards: k,
        maxDataShards: k,
        maxTotalShards: Math.min(256, k + maxParityShards),
        allowBelowTarget: true,
      });
      return Math.min(maxParityShards, Math.max(minParityShards, chosen.parityShards));
    } catch (error) {
      // Fewer than k + 1 live nodes: no shape fits; keep the configured parity within the bounds.
      if (!(error instanceof NoFeasibleParametersError)) throw error;
      return Math.min(maxParityShards, Math.max(minParityShards, this.#init.parityShards));
    }
  }
}

/** `map`, with its oldest entry forgotten when it is full. */
function bounded<V>(map: Map<string, V>): Map<string, V> {
  if (map.size >= peersMax) map.delete(map.keys().next().value!);
  return map;
}
