import { assertNumber } from '@trinity/core';
import type { RegionId } from './regions.js';
import { builtinTopology, type Topology } from './topology.js';

/** The outcome of `detectRegion`. */
export interface RegionDetection {
  readonly region: RegionId;
  /** Mean absolute difference between the measured RTTs and the matrix row of `region`. */
  readonly meanErrorMs: number;
  /** The second-best region and its error: a small gap means an uncertain guess. */
  readonly runnerUp: RegionId | undefined;
  readonly runnerUpErrorMs: number;
  /** Peers of known region whose RTT was used, and how many distinct regions they cover. */
  readonly peersUsed: number;
  readonly regionsSeen: number;
}

export interface DetectRegionOptions {
  readonly topology?: Topology;
  /** No answer when even the best region is this far off on average (default 40 ms). */
  readonly maxMeanErrorMs?: number;
  /** No answer from fewer measured peers of known region than this (default 1). */
  readonly minPeers?: number;
}

/**
 * Classifies a node with no configured region from its measured RTTs to peers whose region is known.
 * Per region seen it keeps the smallest RTT (the nearest peer there, the least queueing), then picks
 * the region whose expected RTTs (the matrix row, `intraRegionRttMs` for its own region) are closest
 * in mean absolute error. Returns undefined when there is too little evidence or nothing fits.
 */
export function detectRegion(
  rtts: ReadonlyMap<string, number>,
  knownRegions: ReadonlyMap<string, RegionId>,
  options: DetectRegionOptions = {},
): RegionDetection | undefined {
  const topology = options.topology ?? builtinTopology();
  const maxMeanErrorMs = options.maxMeanErrorMs ?? 40;
  const minPeers = options.minPeers ?? 1;
  assertNumber(maxMeanErrorMs, 'maxMeanErrorMs', 0);
  assertNumber(minPeers, 'minPeers', 1);
  const { minRttByRegion, peersUsed } = nearestPerRegion(rtts, knownRegions, topology);
  if (peersUsed < minPeers || minRttByRegion.size === 0) return undefined;
  const ranked = topology.regions
    .map((candidate, index) => ({ candidate, index, error: meanError(candidate, minRttByRegion, topology) }))
    .sort((a, b) => a.error - b.error || a.index - b.index);
  const best = ranked[0]!;
  if (best.error > maxMeanErrorMs) return undefined;
  const second = ranked[1];
  return {
    region: best.candidate,
    meanErrorMs: best.error,
    runnerUp: second?.candidate,
    runnerUpErrorMs: second?.error ?? Number.POSITIVE_INFINITY,
    peersUsed,
    regionsSeen: minRttByRegion.size,
  };
}

function nearestPerRegion(
  rtts: ReadonlyMap<string, number>,
  knownRegions: ReadonlyMap<string, RegionId>,
  topology: Topology,
): { minRttByRegion: Map<RegionId, number>; peersUsed: number } {
  const minRttByRegion = new Map<RegionId, number>();
  let peersUsed = 0;
  for (const [peerId, rttMs] of rtts) {
    const region = knownRegions.get(peerId);
    if (region === undefined || !topology.has(region)) continue;
    if (typeof rttMs !== 'number' || !Number.isFinite(rttMs) || rttMs < 0) continue;
    peersUsed++;
    const old = minRttByRegion.get(region);
    if (old === undefined || rttMs < old) minRttByRegion.set(region, rttMs);
  }
  return { minRttByRegion, peersUsed };
}

function meanError(candidate: RegionId, measured: ReadonlyMap<RegionId, number>, topology: Topology): number {
  let sum = 0;
  for (const [region, rttMs] of measured) sum += Math.abs(rttMs - topology.expectedRttMs(candidate, region));
  return sum / measured.size;
}
