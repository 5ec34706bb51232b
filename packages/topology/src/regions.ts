/**
 * The nine built-in regions of the seed, in the seed's order. Custom regions are added through
 * `topologyConfigSchema` (see Topology). Frozen, as are the other exported tables: every Topology
 * indexes the latency matrix by this order, so a caller's `REGIONS.sort()` must not reorder it.
 */
export const REGIONS = Object.freeze([
  'us-east',
  'us-west',
  'eu-west',
  'eu-east',
  'asia-east',
  'asia-south',
  'oceania',
  'south-america',
  'africa',
] as const);

/** One of the nine built-in region ids. Custom regions are plain strings (see `RegionId`). */
export type BuiltinRegion = (typeof REGIONS)[number];

/** A region id: built-in or custom (lowercase letters, digits and dashes, 1-32 characters). */
export type RegionId = string;

/** Human names of the built-in regions, for logs and dashboards. */
export const REGION_NAMES: Readonly<Record<BuiltinRegion, string>> = Object.freeze({
  'us-east': 'US East',
  'us-west': 'US West',
  'eu-west': 'EU West',
  'eu-east': 'EU East',
  'asia-east': 'Asia East',
  'asia-south': 'Asia South',
  oceania: 'Oceania',
  'south-america': 'South America',
  africa: 'Africa',
});

/**
 * Round-trip times between built-in regions in ms, rows and columns in `REGIONS` order.
 *
 * The first five rows are the seed's (v2.0 release notes). The seed left the asia-south, oceania,
 * south-america and africa rows out; by symmetry their entries towards the first five regions are
 * the seed's columns, and the six pairs among them are filled with published round-trip medians,
 * rounded to 10 ms:
 * - asia-south <-> oceania 150: AWS ap-south-1 (Mumbai) <-> ap-southeast-2 (Sydney), CloudPing p50 ~145-150.
 * - asia-south <-> south-america 300: AWS ap-south-1 <-> sa-east-1 (Sao Paulo), CloudPing p50 ~300-305.
 * - asia-south <-> africa 120: Mumbai <-> Nairobi/Mombasa over the direct SEACOM/TEAMS cables,
 *   WonderNetwork ping statistics ~110-130 (the seed's "africa" is east/north Africa: 80 ms to eu-east).
 * - oceania <-> south-america 310: AWS ap-southeast-2 <-> sa-east-1, CloudPing p50 ~310-320
 *   (and 322 ms in the widely quoted 2017 inter-region table).
 * - oceania <-> africa 280: Sydney <-> Johannesburg via Perth and the Indian Ocean, WonderNetwork ~270-290.
 * - south-america <-> africa 220: Sao Paulo <-> Johannesburg/Luanda; direct SACS paths are ~130 ms but
 *   most traffic still transits Europe or Miami (~300+), so a middle figure.
 */
export const BUILTIN_LATENCY_MS: readonly (readonly number[])[] = _deepFreeze([
  // us-e us-w eu-w eu-e as-e as-s  oce   sa   af
  [0, 60, 80, 100, 180, 200, 220, 120, 160], // us-east (seed)
  [60, 0, 140, 160, 120, 180, 140, 160, 200], // us-west (seed)
  [80, 140, 0, 30, 200, 140, 260, 180, 100], // eu-west (seed)
  [100, 160, 30, 0, 160, 120, 240, 200, 80], // eu-east (seed)
  [180, 120, 200, 160, 0, 80, 100, 240, 220], // asia-east (seed)
  [200, 180, 140, 120, 80, 0, 150, 300, 120], // asia-south
  [220, 140, 260, 240, 100, 150, 0, 310, 280], // oceania
  [120, 160, 180, 200, 240, 300, 310, 0, 220], // south-america
  [160, 200, 100, 80, 220, 120, 280, 220, 0], // africa
]);

const builtinIndex = new Map<string, number>(REGIONS.map((region, index) => [region, index]));

/** True when `region` is one of the nine built-in region ids. */
export function isBuiltinRegion(region: unknown): region is BuiltinRegion {
  return typeof region === 'string' && builtinIndex.has(region);
}

/**
 * Round-trip time in ms between two built-in regions from the static matrix (0 for a region with
 * itself). Throws RangeError for a region that is not built in; use `Topology.latencyMs` for custom ones.
 */
export function regionLatencyMs(a: string, b: string): number {
  const i = builtinIndex.get(a);
  const j = builtinIndex.get(b);
  if (i === undefined) throw new RangeError(`unknown built-in region ${JSON.stringify(a)}`);
  if (j === undefined) throw new RangeError(`unknown built-in region ${JSON.stringify(b)}`);
  return BUILTIN_LATENCY_MS[i]![j]!;
}

/** Freezes an array of arrays or objects and each of its elements. */
export function _deepFreeze<T extends object>(items: readonly T[]): readonly Readonly<T>[] {
  for (const item of items) Object.freeze(item);
  return Object.freeze(items);
}
