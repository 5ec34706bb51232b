import { assert, assertNumber, parseConfig } from '@trinity/core';
import { type TopologyConfig, type TopologyConfigInput, topologyConfigSchema } from './config.js';
import { RegionConfigError, UnknownRegionError } from './errors.js';
import { LatencyZone, localityScore } from './latency-zone.js';
import { BUILTIN_LATENCY_MS, REGIONS, type RegionId } from './regions.js';

/**
 * The regions a network knows (the nine built-in ones plus custom ones from config) and one complete,
 * symmetric round-trip matrix between them. Immutable after construction.
 */
export class Topology {
  readonly config: TopologyConfig;
  /** Every region id: the built-in ones in seed order, then custom ones in config order. */
  readonly regions: readonly RegionId[];
  readonly #index: Map<RegionId, number>;
  readonly #matrixMs: Float64Array;
  /** `nearest(from)` without a latency bound, per region index, computed on first use (the matrix never changes). */
  readonly #nearestAll: (readonly RegionId[] | undefined)[] = [];

  constructor(config: TopologyConfigInput = {}) {
    this.config = parseConfig(topologyConfigSchema, config, 'topology config');
    const custom = this.config.customRegions.map((region) => region.id);
    this.regions = Object.freeze([...REGIONS, ...custom]);
    this.#index = new Map();
    for (const [index, region] of this.regions.entries()) {
      if (this.#index.has(region)) {
        throw new RegionConfigError(`region ${JSON.stringify(region)} is defined twice`, { region });
      }
      this.#index.set(region, index);
    }
    this.#matrixMs = buildMatrix(this.config, this.regions, this.#index);
  }

  /** How many regions there are. */
  get size(): number {
    return this.regions.length;
  }

  has(region: unknown): region is RegionId {
    return typeof region === 'string' && this.#index.has(region);
  }

  /** The position of a region in `regions`; throws UnknownRegionError for an unknown one. */
  indexOf(region: RegionId, where?: string): number {
    const index = this.#index.get(region);
    if (index === undefined) throw new UnknownRegionError(String(region), where);
    return index;
  }

  /** The matrix round-trip time between two regions (0 for a region with itself). */
  latencyMs(a: RegionId, b: RegionId): number {
    return this.#matrixMs[this.indexOf(a) * this.size + this.indexOf(b)]!;
  }

  /** The RTT to expect between a node of `a` and a node of `b` when nothing was measured. */
  expectedRttMs(a: RegionId, b: RegionId): number {
    return a === b ? this.config.intraRegionRttMs : this.latencyMs(a, b);
  }

  /** Local for the same region, near below `nearThresholdMs`, far otherwise. */
  zone(a: RegionId, b: RegionId): LatencyZone {
    if (a === b) {
      this.indexOf(a);
      return LatencyZone.local;
    }
    return this.latencyMs(a, b) < this.config.nearThresholdMs ? LatencyZone.near : LatencyZone.far;
  }

  /** The seed's locality score between two regions: 1.0 local, 0.5 near, 0.1 far. */
  locality(a: RegionId, b: RegionId): number {
    return localityScore(this.zone(a, b));
  }

  /**
   * Every region ordered by RTT from `from` (itself first, ties in `regions` order), only those
   * within `maxLatencyMs` when given.
   */
  nearest(from: RegionId, maxLatencyMs = Number.POSITIVE_INFINITY): RegionId[] {
    if (maxLatencyMs !== Number.POSITIVE_INFINITY) {
      assertNumber(maxLatencyMs, 'maxLatencyMs', 0);
      return this.#nearestOrder(from, maxLatencyMs);
    }
    // Placement asks this for every stripe: sorted once per region, a copy handed out.
    const at = this.indexOf(from);
    let order = this.#nearestAll[at];
    if (order === undefined) {
      order = this.#nearestOrder(from, maxLatencyMs);
      this.#nearestAll[at] = order;
    }
    return order.slice();
  }

  #nearestOrder(from: RegionId, maxLatencyMs: number): RegionId[] {
    const row = this.indexOf(from) * this.size;
    const order = this.regions
      .map((region, index) => ({ region, index, ms: this.#matrixMs[row + index]! }))
      .filter((entry) => entry.ms <= maxLatencyMs || entry.region === from);
    order.sort((x, y) => (x.region === from ? -1 : y.region === from ? 1 : x.ms - y.ms || x.index - y.index));
    return order.map((entry) => entry.region);
  }
}

function buildMatrix(config: TopologyConfig, regions: readonly RegionId[], index: Map<RegionId, number>) {
  const n = regions.length;
  const matrix = new Float64Array(n * n).fill(Number.NaN);
  const set = (a: RegionId, b: RegionId, ms: number, source: string, overwrite: boolean) => {
    const i = index.get(a);
    const j = index.get(b);
    if (i === undefined || j === undefined) {
      throw new RegionConfigError(
        `${source} names unknown region ${JSON.stringify(i === undefined ? a : b)}`,
      );
    }
    if (i === j) {
      if (ms !== 0)
        throw new RegionConfigError(`${source}: a region's RTT to itself must be 0`, { region: a });
      return;
    }
    const old = matrix[i * n + j]!;
    if (!overwrite && !Number.isNaN(old) && old !== ms) {
      throw new RegionConfigError(`${source}: ${a} <-> ${b} given as both ${old} and ${ms} ms`, { a, b });
    }
    matrix[i * n + j] = ms;
    matrix[j * n + i] = ms;
  };
  for (let i = 0; i < n; i++) matrix[i * n + i] = 0;
  for (const [i, row] of BUILTIN_LATENCY_MS.entries()) {
    for (const [j, ms] of row.entries()) matrix[i * n + j] = ms;
  }
  for (const region of config.customRegions) {
    for (const [other, ms] of Object.entries(region.latencyMs)) {
      set(region.id, other, ms, `custom region ${region.id}`, false);
    }
  }
  // Overrides replace the built-in and custom figures, but two overrides of one pair must agree.
  const overridden = new Map<string, number>();
  for (const { a, b, latencyMs } of config.latencyOverrides) {
    const pair = a < b ? `${a} <-> ${b}` : `${b} <-> ${a}`;
    const earlier = overridden.get(pair);
    if (earlier !== undefined && earlier !== latencyMs) {
      throw new RegionConfigError(`latency override: ${pair} given as both ${earlier} and ${latencyMs} ms`, {
        a,
        b,
      });
    }
    overridden.set(pair, latencyMs);
    set(a, b, latencyMs, 'latency override', true);
  }
  const missing = firstMissing(matrix, regions);
  if (missing !== undefined) {
    throw new RegionConfigError(
      `no latency between ${missing[0]} and ${missing[1]}: every custom region needs an RTT to every other region`,
      { a: missing[0], b: missing[1] },
    );
  }
  assert(isSymmetric(matrix, n), 'latency matrix must be symmetric');
  return matrix;
}

function firstMissing(matrix: Float64Array, regions: readonly RegionId[]): [RegionId, RegionId] | undefined {
  const n = regions.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (Number.isNaN(matrix[i * n + j]!)) return [regions[i]!, regions[j]!];
    }
  }
  return undefined;
}

function isSymmetric(matrix: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) if (matrix[i * n + j] !== matrix[j * n + i]) return false;
  }
  return true;
}

let builtin: Topology | undefined;

/** The shared topology of the nine built-in regions and the default settings. */
export function builtinTopology(): Topology {
  builtin ??= new Topology();
  return builtin;
}
