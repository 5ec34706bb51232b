import type { Topology } from '@trinity/topology';
import type { Checks } from '../checks.js';
import { type NetworkStats, SimNetwork } from '../network.js';
import { SimRandom } from '../random.js';
import type { ScenarioOptions, ScenarioOutcome, TimeSeries } from '../scenario.js';
import type { Scheduler } from '../scheduler.js';

/**
 * What the scenario worlds are built from: the seeded streams, the simulated network, the nodes'
 * regions and the outcome a run reports. Every helper here draws from the streams it is given in a
 * fixed order, so a world that calls them where it used to do the same work inline keeps its trace.
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
export function withDefaults<O extends ScenarioOptions, E extends object>(
  options: O,
  extra: E,
): Required<ScenarioOptions> & E {
  return { nodes: options.nodes, seed: options.seed, faults: options.faults ?? true, ...extra };
}

/** The root stream of a run and the two streams forked first: the workload's and the faults'. */
export interface ScenarioStreams {
  readonly root: SimRandom;
  readonly workload: SimRandom;
  readonly faults: SimRandom;
}

export function scenarioStreams(seed: number): ScenarioStreams {
  const root = new SimRandom(seed);
  const workload = root.fork('workload');
  const faults = root.fork('faults');
  return { root, workload, faults };
}

/** A network over nodes placed in `regionOf`, its randomness forked from `root` now (as 'network'). */
export function scenarioNetwork<M>(
  scheduler: Scheduler,
  root: SimRandom,
  topology: Topology,
  regionOf: readonly number[],
  deliver: (to: number, from: number, message: M) => void,
): SimNetwork<M> {
  return new SimNetwork<M>({ scheduler, random: root.fork('network'), topology, regionOf, deliver });
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

/** What a scenario reports beside the scheduler's and the network's totals. */
export interface OutcomeParts {
  readonly faults: Readonly<Record<string, number>>;
  readonly counts: Readonly<Record<string, number>>;
  readonly checks: Checks;
  readonly series?: TimeSeries;
}

/** The outcome of a finished run: events, virtual time and trace from the scheduler, traffic from the network. */
export function scenarioOutcome<M>(
  scheduler: Scheduler,
  network: SimNetwork<M>,
  parts: OutcomeParts,
): ScenarioOutcome {
  return {
    events: scheduler.events,
    virtualMs: scheduler.nowMs,
    traceHash: scheduler.traceHash,
    messages: network.stats.sent,
    bytes: network.stats.bytes,
    ...parts,
  };
}
