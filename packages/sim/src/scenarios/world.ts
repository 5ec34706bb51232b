import type { Topology } from '@trinity/topology';
import { Checks } from '../checks.js';
import { type NetworkConfig, type NetworkStats, SimNetwork } from '../network.js';
import { SimRandom } from '../random.js';
import type { ScenarioOptions, ScenarioOutcome, TimeSeries } from '../scenario.js';
import { Scheduler } from '../scheduler.js';

/**
 * What the scenario worlds are built from: virtual time, the checks, the seeded root stream, the
 * simulated network, the nodes' regions and the outcome a run reports. Nothing here draws a random
 * number or forks a stream unless called: a world forks its streams in its own fixed order (a fork
 * advances the root), so the order of the calls in its constructor is part of its trace.
 */

/** The stripe shape the daemon stores, RS(4,2): any 4 of 6 shards rebuild the object. */
export const dataShards = 4;
export const parityShards = 2;

/** Options of the scenarios that store objects as stripes (`--objects N`). */
export interface StripeScenarioOptions extends ScenarioOptions {
  /** Objects stored, one stripe each (default: the node count). */
  readonly objects?: number;
}

/** The options every scenario shares, with their defaults, and the scenario's own defaults after. */
export function withDefaults<E extends object>(
  options: ScenarioOptions,
  extra: E,
): Required<ScenarioOptions> & E {
  return { nodes: options.nodes, seed: options.seed, faults: options.faults ?? true, ...extra };
}

/** What a world reports beside the totals of its scheduler and network and its checks. */
export interface OutcomeParts {
  readonly faults: Readonly<Record<string, number>>;
  readonly counts: Readonly<Record<string, number>>;
  readonly series?: TimeSeries;
}

/**
 * A scenario world carrying messages of type M: one scheduler, one tally of checks, the root stream
 * of the seed, and (once `connect` ran) the network. A subclass builds its nodes and runs them.
 */
export abstract class ScenarioWorld<M> {
  protected readonly scheduler = new Scheduler();
  protected readonly checks = new Checks();
  /** The seed's stream: every other stream of the run is forked from it. */
  protected readonly root: SimRandom;
  /** Set by `connect`, in the constructor of the world. */
  protected network!: SimNetwork<M>;

  protected constructor(seed: number) {
    this.root = new SimRandom(seed);
  }

  abstract run(): ScenarioOutcome;

  /** Builds the network over nodes placed in `regionOf` (default config unless given); forks its stream from the root now (as 'network'). */
  protected connect(
    topology: Topology,
    regionOf: readonly number[],
    deliver: (to: number, from: number, message: M) => void,
    config?: Partial<NetworkConfig>,
  ): void {
    const random = this.root.fork('network');
    this.network = new SimNetwork<M>({
      scheduler: this.scheduler,
      random,
      topology,
      regionOf,
      deliver,
      ...(config === undefined ? {} : { config }),
    });
  }

  /** The outcome of the finished run: events, virtual time and trace of the scheduler, the network's traffic. */
  protected outcome(parts: OutcomeParts): ScenarioOutcome {
    return {
      events: this.scheduler.events,
      virtualMs: this.scheduler.nowMs,
      traceHash: this.scheduler.traceHash,
      messages: this.network.stats.sent,
      bytes: this.network.stats.bytes,
      checks: this.checks,
      ...parts,
    };
  }
}

/** Each of `count` nodes in a region drawn at random. */
export function randomRegions(count: number, topology: Topology, random: SimRandom): number[] {
  return Array.from({ length: count }, () => random.int(0, topology.regions.length - 1));
}

/** Node i in region i for the first nodes, so every region has one; the rest drawn at random. */
export function everyRegionThenRandom(count: number, topology: Topology, random: SimRandom): number[] {
  const regions = topology.regions.length;
  return Array.from({ length: count }, (_, i) => (i < regions ? i : random.int(0, regions - 1)));
}

/** How many shards of a stripe stand in each region (or on each node): the placement checkers' count. */
export function shardsPer<K>(places: Iterable<K>): Map<K, number> {
  const counts = new Map<K, number>();
  for (const place of places) counts.set(place, (counts.get(place) ?? 0) + 1);
  return counts;
}

/** The network's injected message faults, as a run reports them beside its own. */
export function messageFaults(stats: NetworkStats): Record<'dropped' | 'duplicated' | 'reordered', number> {
  return { dropped: stats.dropped, duplicated: stats.duplicated, reordered: stats.reordered };
}
