import { assert, assertInt, assertNumber } from '@trinity/core';
import type { Topology } from '@trinity/topology';
import type { SimRandom } from './random.js';
import type { Scheduler } from './scheduler.js';

/** How the simulated network behaves. Rates are per message; times are ms; defaults in `defaultNetworkConfig`. */
export interface NetworkConfig {
  /** Round trip between two nodes of one region (the matrix says 0 there). */
  readonly intraRegionRttMs: number;
  /** Each message's one-way time grows by up to this share of it, uniformly drawn. */
  readonly jitterFraction: number;
  /** ... plus up to this many ms, so that even local messages reorder a little. */
  readonly jitterMsMax: number;
  /** Each node's uplink: a message occupies it for bytes / this many ms, queued behind earlier ones. */
  readonly uplinkBytesPerMs: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  /** Share of messages held back by up to `reorderDelayMsMax` (they arrive after later ones). */
  readonly reorderRate: number;
  readonly reorderDelayMsMax: number;
  /** Largest message accepted (a bigger one is a bug in the scenario: RangeError). */
  readonly messageBytesMax: number;
}

export const defaultNetworkConfig: NetworkConfig = {
  intraRegionRttMs: 2,
  jitterFraction: 0.1,
  jitterMsMax: 1,
  uplinkBytesPerMs: 12_500, // 100 Mbit/s
  dropRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMsMax: 200,
  messageBytesMax: 64 * 1024 * 1024,
};

/** What the network did, for the summary. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  bytes: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Dropped because sender and receiver were on different sides of a partition or in a dark region. */
  cut: number;
  /** Dropped because the receiver was down when the message arrived. */
  toDownNode: number;
}

export interface SimNetworkInit<M> {
  readonly scheduler: Scheduler;
  readonly random: SimRandom;
  readonly topology: Topology;
  /** The region of each node, as an index into `topology.regions`. */
  readonly regionOf: readonly number[];
  readonly config?: Partial<NetworkConfig>;
  /** Called when a message arrives at an up node. */
  readonly deliver: (to: number, from: number, message: M) => void;
}

/**
 * A simulated message network between nodes numbered 0..n-1. A message takes half the region
 * round trip of the latency matrix, plus seeded jitter, plus its transmission time on the sender's
 * uplink (queued behind what the sender is already sending). Faults: random drop, duplication and
 * reordering; partitions (nodes in different groups cannot talk); dark regions (a whole region cut
 * off); down nodes (messages arriving at them are lost). Cuts are checked when a message is sent
 * and again when it arrives, as a connection broken in between would lose it.
 */
export class SimNetwork<M> {
  #config: NetworkConfig;
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    bytes: 0,
    dropped: 0,
    duplicated: 0,
    reordered: 0,
    cut: 0,
    toDownNode: 0,
  };
  readonly #scheduler: Scheduler;
  readonly #random: SimRandom;
  readonly #regionOf: Int32Array;
  readonly #regions: number;
  /** One-way base latency between regions, row-major. */
  readonly #oneWayMs: Float64Array;
  readonly #uplinkFreeMs: Float64Array;
  readonly #up: Uint8Array;
  readonly #group: Int32Array;
  readonly #darkRegion: Uint8Array;
  readonly #deliverKind: number;
  readonly #deliver: (to: number, from: number, message: M) => void;
  #partitioned = false;
  #darkRegions = 0;

  constructor(init: SimNetworkInit<M>) {
    this.#config = checkConfig({ ...defaultNetworkConfig, ...init.config });
    this.#scheduler = init.scheduler;
    this.#random = init.random;
    const regions = init.topology.regions;
    this.#regions = regions.length;
    this.#regionOf = Int32Array.from(init.regionOf);
    for (const r of this.#regionOf) assert(r >= 0 && r < regions.length, `region index ${r} out of range`);
    this.#oneWayMs = new Float64Array(regions.length * regions.length);
    for (let a = 0; a < regions.length; a++) {
      for (let b = 0; b < regions.length; b++) {
        const rtt =
          a === b ? this.#config.intraRegionRttMs : init.topology.latencyMs(regions[a]!, regions[b]!);
        this.#oneWayMs[a * regions.length + b] = rtt / 2;
      }
    }
    const n = this.#regionOf.length;
    this.#uplinkFreeMs = new Float64Array(n);
    this.#up = new Uint8Array(n).fill(1);
    this.#group = new Int32Array(n);
    this.#darkRegion = new Uint8Array(regions.length);
    this.#deliver = init.deliver;
    this.#deliverKind = init.scheduler.register('net-deliver', (to, from, message) =>
      this.#arrive(to, from, message as M),
    );
  }

  get config(): NetworkConfig {
    return this.#config;
  }

  /** Changes the fault rates (a scenario turns faults on and off as it goes). */
  setRates(rates: Partial<Pick<NetworkConfig, 'dropRate' | 'duplicateRate' | 'reorderRate'>>): void {
    this.#config = checkConfig({ ...this.#config, ...rates });
  }

  get nodeCount(): number {
    return this.#regionOf.length;
  }

  regionOf(node: number): number {
    return this.#regionOf[node]!;
  }

  /** The one-way latency between two nodes before jitter and transmission. */
  baseLatencyMs(from: number, to: number): number {
    return this.#oneWayMs[this.#regionOf[from]! * this.#regions + this.#regionOf[to]!]!;
  }

  /**
   * Sends `message` of `bytes` from `from` to `to`. Returns false when it was lost at once (drop
   * or cut); a message may still be lost on arrival. A node sending to itself skips the network.
   */
  send(from: number, to: number, message: M, bytes: number): boolean {
    if (!(bytes >= 0 && bytes <= this.#config.messageBytesMax))
      assertInt(bytes, 'bytes', 0, this.#config.messageBytesMax);
    const stats = this.stats;
    stats.sent++;
    stats.bytes += bytes;
    const scheduler = this.#scheduler;
    const now = scheduler.nowMs;
    if (from === to) {
      scheduler.at(now, this.#deliverKind, to, from, message);
      return true;
    }
    if (this.#isCut(from, to)) {
      stats.cut++;
      return false;
    }
    const random = this.#random;
    const config = this.#config;
    if (random.chance(config.dropRate)) {
      stats.dropped++;
      return false;
    }
    // The uplink sends one message at a time: this one leaves when the ones before it have.
    const leaveMs = Math.max(now, this.#uplinkFreeMs[from]!) + bytes / config.uplinkBytesPerMs;
    this.#uplinkFreeMs[from] = leaveMs;
    const base = this.baseLatencyMs(from, to);
    const copies = random.chance(config.duplicateRate) ? 2 : 1;
    if (copies === 2) stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let arriveMs = leaveMs + base + random.float() * (base * config.jitterFraction + config.jitterMsMax);
      if (random.chance(config.reorderRate)) {
        stats.reordered++;
        arriveMs += random.float() * config.reorderDelayMsMax;
      }
      scheduler.at(arriveMs, this.#deliverKind, to, from, message);
    }
    return true;
  }

  /** Marks a node up or down: messages arriving at a down node are lost. */
  setUp(node: number, up: boolean): void {
    this.#up[node] = up ? 1 : 0;
  }

  isUp(node: number): boolean {
    return this.#up[node] === 1;
  }

  /** Splits the network: each node talks only to nodes of the same group (`groups[node]`). */
  partition(groups: readonly number[]): void {
    assert(groups.length === this.nodeCount, 'partition: one group per node');
    this.#group.set(groups);
    this.#partitioned = true;
  }

  /** Ends a partition. */
  heal(): void {
    this.#group.fill(0);
    this.#partitioned = false;
  }

  /** Cuts a whole region off (`dark`) or brings it back. */
  setRegionDark(region: number, dark: boolean): void {
    assert(region >= 0 && region < this.#regions, `region index ${region} out of range`);
    if ((this.#darkRegion[region] === 1) === dark) return;
    this.#darkRegion[region] = dark ? 1 : 0;
    this.#darkRegions += dark ? 1 : -1;
  }

  isRegionDark(region: number): boolean {
    return this.#darkRegion[region] === 1;
  }

  /** True when `from` cannot reach `to` now (partition or a dark region). */
  isCut(from: number, to: number): boolean {
    return this.#isCut(from, to);
  }

  #isCut(from: number, to: number): boolean {
    if (this.#partitioned && this.#group[from] !== this.#group[to]) return true;
    if (this.#darkRegions > 0) {
      if (this.#darkRegion[this.#regionOf[from]!] === 1 || this.#darkRegion[this.#regionOf[to]!] === 1)
        return true;
    }
    return false;
  }

  #arrive(to: number, from: number, message: M): void {
    if (this.#up[to] === 0) {
      this.stats.toDownNode++;
      return;
    }
    if (from !== to && this.#isCut(from, to)) {
      this.stats.cut++;
      return;
    }
    this.stats.delivered++;
    this.#deliver(to, from, message);
  }
}

function checkConfig(config: NetworkConfig): NetworkConfig {
  assertNumber(config.intraRegionRttMs, 'intraRegionRttMs', 0);
  assertNumber(config.jitterFraction, 'jitterFraction', 0);
  assertNumber(config.jitterMsMax, 'jitterMsMax', 0);
  assertNumber(config.uplinkBytesPerMs, 'uplinkBytesPerMs', Number.MIN_VALUE);
  for (const name of ['dropRate', 'duplicateRate', 'reorderRate'] as const) {
    assertNumber(config[name], name, 0, 1);
  }
  assertNumber(config.reorderDelayMsMax, 'reorderDelayMsMax', 0);
  assertInt(config.messageBytesMax, 'messageBytesMax', 1);
  return config;
}
