import { seededRandom } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectRegion, REGIONS, regionLatencyMs, Topology } from '../src/index.js';

/** RTTs a node of `region` would measure to `peersPerRegion` peers in each region, with jitter and queueing. */
function measured(region: string, peersPerRegion: number, seed: number) {
  const random = seededRandom(seed);
  const rtts = new Map<string, number>();
  const known = new Map<string, string>();
  for (const other of REGIONS) {
    for (let i = 0; i < peersPerRegion; i++) {
      const id = `${other}-${i}`;
      const base = other === region ? 5 : regionLatencyMs(region, other);
      rtts.set(id, base * (0.95 + 0.1 * random.nextFloat()) + 30 * random.nextFloat() ** 4);
      known.set(id, other);
    }
  }
  return { rtts, known };
}

describe('detectRegion', () => {
  it('classifies a node of every region from noisy RTTs to known peers (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REGIONS),
        fc.integer({ min: 1, max: 4 }),
        fc.integer(),
        (region, peers, seed) => {
          const { rtts, known } = measured(region, peers, seed);
          const detection = detectRegion(rtts, known);
          expect(detection?.region).toBe(region);
          expect(detection!.meanErrorMs).toBeLessThan(detection!.runnerUpErrorMs);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('works from a few regions only, and ignores peers of unknown region', () => {
    const rtts = new Map([
      ['p1', 62],
      ['p2', 139],
      ['p3', 4],
      ['stranger', 1],
    ]);
    const known = new Map([
      ['p1', 'us-east'],
      ['p2', 'eu-west'],
      ['stranger', 'atlantis'],
    ]);
    const detection = detectRegion(rtts, known);
    expect(detection).toMatchObject({ region: 'us-west', peersUsed: 2, regionsSeen: 2 });
  });

  it('gives no answer without evidence or when nothing fits', () => {
    expect(detectRegion(new Map(), new Map())).toBeUndefined();
    expect(detectRegion(new Map([['a', 5]]), new Map([['a', 'us-east']]), { minPeers: 2 })).toBeUndefined();
    const far = new Map([
      ['a', 900],
      ['b', 900],
    ]);
    const known = new Map([
      ['a', 'us-east'],
      ['b', 'eu-west'],
    ]);
    expect(detectRegion(far, known)).toBeUndefined();
  });

  it('detects custom regions', () => {
    const row = Object.fromEntries(REGIONS.map((r) => [r, 250]));
    const topology = new Topology({
      customRegions: [{ id: 'antarctica', latencyMs: { ...row, oceania: 90 } }],
    });
    const rtts = new Map([
      ['o', 92],
      ['u', 248],
    ]);
    const known = new Map([
      ['o', 'oceania'],
      ['u', 'us-east'],
    ]);
    expect(detectRegion(rtts, known, { topology })?.region).toBe('antarctica');
  });
});
