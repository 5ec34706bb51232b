import { ConfigError } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_LATENCY_MS,
  builtinTopology,
  DEFAULT_WEIGHT_SETS,
  LatencyZone,
  latencyZone,
  localityScore,
  REGION_NAMES,
  REGIONS,
  RegionConfigError,
  regionLatencyMs,
  Topology,
  UnknownRegionError,
} from '../src/index.js';

// The seed's rows (v2.0 release notes), verbatim.
const seedRows: Record<string, number[]> = {
  'us-east': [0, 60, 80, 100, 180, 200, 220, 120, 160],
  'us-west': [60, 0, 140, 160, 120, 180, 140, 160, 200],
  'eu-west': [80, 140, 0, 30, 200, 140, 260, 180, 100],
  'eu-east': [100, 160, 30, 0, 160, 120, 240, 200, 80],
  'asia-east': [180, 120, 200, 160, 0, 80, 100, 240, 220],
};

describe('built-in regions', () => {
  it('has the nine regions of the seed', () => {
    expect(REGIONS).toEqual([
      'us-east',
      'us-west',
      'eu-west',
      'eu-east',
      'asia-east',
      'asia-south',
      'oceania',
      'south-america',
      'africa',
    ]);
  });

  it('exports frozen tables, so a caller cannot reorder the matrix every Topology indexes', () => {
    const mutable = (value: unknown) => value as unknown[] & Record<string, unknown>;
    expect(() => mutable(REGIONS).sort()).toThrow(TypeError);
    expect(() => (mutable(REGION_NAMES)['us-east'] = 'x')).toThrow(TypeError);
    expect(() => (mutable(BUILTIN_LATENCY_MS[0])[2] = 1)).toThrow(TypeError);
    expect(() => (mutable(DEFAULT_WEIGHT_SETS[0]).latency = 1)).toThrow(TypeError);
    expect(() => mutable(builtinTopology().regions).push('mars')).toThrow(TypeError);
    expect(new Topology().latencyMs('us-east', 'eu-west')).toBe(80);
    expect(builtinTopology().size).toBe(9);
  });

  it('keeps the seed rows verbatim', () => {
    for (const [region, row] of Object.entries(seedRows)) {
      for (const [j, other] of REGIONS.entries()) expect(regionLatencyMs(region, other)).toBe(row[j]);
    }
  });

  it('is a complete symmetric matrix with a zero diagonal and plausible entries', () => {
    expect(BUILTIN_LATENCY_MS).toHaveLength(9);
    for (const [i, a] of REGIONS.entries()) {
      expect(BUILTIN_LATENCY_MS[i]).toHaveLength(9);
      for (const b of REGIONS) {
        const ms = regionLatencyMs(a, b);
        expect(ms).toBe(regionLatencyMs(b, a));
        if (a === b) expect(ms).toBe(0);
        else expect(ms).toBeGreaterThanOrEqual(30);
        expect(ms).toBeLessThanOrEqual(320);
      }
    }
  });

  it('rejects unknown regions', () => {
    expect(() => regionLatencyMs('us-east', 'mars')).toThrow(RangeError);
    expect(() => builtinTopology().latencyMs('mars', 'us-east')).toThrow(UnknownRegionError);
  });
});

describe('latency zones', () => {
  it('classifies as the seed does: local 0, near < 100 ms, far >= 100 ms', () => {
    expect(latencyZone(0)).toBe(LatencyZone.local);
    expect(latencyZone(99.9)).toBe(LatencyZone.near);
    expect(latencyZone(100)).toBe(LatencyZone.far);
    expect(localityScore(LatencyZone.local)).toBe(1);
    expect(localityScore(LatencyZone.near)).toBe(0.5);
    expect(localityScore(LatencyZone.far)).toBe(0.1);
    expect(() => latencyZone(-1)).toThrow(RangeError);
  });

  it('zones regions from the matrix', () => {
    const topology = builtinTopology();
    expect(topology.zone('us-east', 'us-east')).toBe(LatencyZone.local);
    expect(topology.zone('us-east', 'eu-west')).toBe(LatencyZone.near);
    expect(topology.zone('us-east', 'eu-east')).toBe(LatencyZone.far);
    expect(topology.nearest('us-east', 300).slice(0, 3)).toEqual(['us-east', 'us-west', 'eu-west']);
  });
});

describe('custom regions', () => {
  const allBuiltin = Object.fromEntries(REGIONS.map((region, i) => [region, 50 + i * 10]));

  it('adds a region with a full row and keeps the matrix symmetric', () => {
    const topology = new Topology({ customRegions: [{ id: 'mars-base', latencyMs: allBuiltin }] });
    expect(topology.regions).toContain('mars-base');
    expect(topology.latencyMs('mars-base', 'eu-west')).toBe(70);
    expect(topology.latencyMs('eu-west', 'mars-base')).toBe(70);
    expect(topology.zone('mars-base', 'us-east')).toBe(LatencyZone.near);
  });

  it('lets two custom regions give their pair from either side', () => {
    const topology = new Topology({
      customRegions: [
        { id: 'lab-a', latencyMs: { ...allBuiltin, 'lab-b': 12 } },
        { id: 'lab-b', latencyMs: allBuiltin },
      ],
    });
    expect(topology.latencyMs('lab-b', 'lab-a')).toBe(12);
  });

  it('rejects a missing pair, a conflict, a duplicate and a bad id with clear errors', () => {
    const { 'us-east': _, ...missingOne } = allBuiltin;
    expect(() => new Topology({ customRegions: [{ id: 'x', latencyMs: missingOne }] })).toThrow(
      /no latency between us-east and x/,
    );
    expect(
      () =>
        new Topology({
          customRegions: [
            { id: 'a', latencyMs: { ...allBuiltin, b: 1 } },
            { id: 'b', latencyMs: { ...allBuiltin, a: 2 } },
          ],
        }),
    ).toThrow(RegionConfigError);
    expect(() => new Topology({ customRegions: [{ id: 'us-east', latencyMs: allBuiltin }] })).toThrow(
      /defined twice/,
    );
    expect(() => new Topology({ customRegions: [{ id: 'Bad Id' }] })).toThrow(ConfigError);
    expect(
      () => new Topology({ customRegions: [{ id: 'y', latencyMs: { ...allBuiltin, nowhere: 5 } }] }),
    ).toThrow(/unknown region "nowhere"/);
  });

  it('applies measured overrides symmetrically', () => {
    const topology = new Topology({ latencyOverrides: [{ a: 'eu-east', b: 'africa', latencyMs: 95 }] });
    expect(topology.latencyMs('africa', 'eu-east')).toBe(95);
    expect(builtinTopology().latencyMs('africa', 'eu-east')).toBe(80);
    const twice = [
      { a: 'eu-east', b: 'africa', latencyMs: 95 },
      { a: 'africa', b: 'eu-east', latencyMs: 95 },
    ];
    expect(new Topology({ latencyOverrides: twice }).latencyMs('eu-east', 'africa')).toBe(95);
    const contradictory = [twice[0]!, { ...twice[1]!, latencyMs: 70 }];
    expect(() => new Topology({ latencyOverrides: contradictory })).toThrow(
      /africa <-> eu-east given as both 95 and 70 ms/,
    );
  });

  it('refuses a latency bound that is not a number of ms', () => {
    expect(builtinTopology().nearest('us-east', 100)).toEqual(['us-east', 'us-west', 'eu-west', 'eu-east']);
    expect(() => builtinTopology().nearest('us-east', Number.NaN)).toThrow(TypeError);
    expect(() => builtinTopology().nearest('us-east', -1)).toThrow(RangeError);
  });
});
