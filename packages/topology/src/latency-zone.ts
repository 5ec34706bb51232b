import { assertNumber } from '@trinity/core';

/** Latency zones of the seed: 0 local (same region), 1 near (< 100 ms), 2 far (>= 100 ms). */
export const LatencyZone = { local: 0, near: 1, far: 2 } as const;
export type LatencyZone = (typeof LatencyZone)[keyof typeof LatencyZone];

/** The seed's boundary between near and far. */
export const NEAR_THRESHOLD_MS = 100;

/**
 * The zone of a round-trip time: 0 (local) for 0 ms, 1 (near) below `nearThresholdMs`, 2 (far) at or
 * above it. Between two regions, pass the matrix latency; the same region is always local.
 */
export function latencyZone(ms: number, nearThresholdMs = NEAR_THRESHOLD_MS): LatencyZone {
  assertNumber(ms, 'ms', 0);
  assertNumber(nearThresholdMs, 'nearThresholdMs', Number.MIN_VALUE);
  if (ms === 0) return LatencyZone.local;
  return ms < nearThresholdMs ? LatencyZone.near : LatencyZone.far;
}

/** The seed's locality score of a zone: 1.0 local, 0.5 near, 0.1 far. */
export function localityScore(zone: LatencyZone): number {
  return zone === LatencyZone.local ? 1 : zone === LatencyZone.near ? 0.5 : 0.1;
}
