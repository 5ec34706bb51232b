import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  builtinTopology,
  InvalidNodeError,
  PlacementError,
  type PlacementNode,
  placeStripe,
  REGIONS,
  StripePlacer,
  Topology,
  UnknownRegionError,
} from '../src/index.js';

function cluster(perRegion: Record<string, number>): PlacementNode[] {
  return Object.entries(perRegion).flatMap(([region, count]) =>
    Array.from({ length: count }, (_, i) => ({ id: `${region}-${i}`, region })),
  );
}

function regionOf(id: string): string {
  return id.slice(0, id.lastIndexOf('-'));
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

describe('placeStripe', () => {
  it('follows the seed: a us-east client gets us-east, then us-west (60 ms) and eu-west (80 ms)', () => {
    const nodes = cluster(Object.fromEntries(REGIONS.map((r) => [r, 3])));
    const placement = new StripePlacer().plan({
      clientRegion: 'us-east',
      nodes,
      dataShards: 4,
      parityShards: 2,
    });
    expect(placement.regions).toEqual(['us-east', 'us-west', 'eu-west']);
    expect([...placement.shardsPerRegion]).toEqual([
      ['us-east', 2],
      ['us-west', 2],
      ['eu-west', 2],
    ]);
    expect(placement.nodeIds.slice(0, 2).map(regionOf)).toEqual(['us-east', 'us-east']);
    expect(new Set(placement.nodeIds).size).toBe(6);
    expect(placement).toMatchObject({
      regionCap: 2,
      nodeCap: 1,
      latencyRelaxed: false,
      regionLossSafe: true,
    });
  });

  it('places RS(4,2) on a 6-node, 3-region devnet so that any region outage loses at most 2 shards', () => {
    const nodes = cluster({ 'us-east': 2, 'eu-west': 2, 'asia-east': 2 });
    for (const clientRegion of ['us-east', 'eu-west', 'asia-east']) {
      for (let stripe = 0; stripe < 50; stripe++) {
        const ids = placeStripe({
          clientRegion,
          nodes,
          dataShards: 4,
          parityShards: 2,
          stripeKey: `s${stripe}`,
        });
        expect(ids).toHaveLength(6);
        expect(new Set(ids).size).toBe(6);
        for (const region of ['us-east', 'eu-west', 'asia-east']) {
          expect(ids.filter((id) => regionOf(id) === region).length).toBeLessThanOrEqual(2);
        }
      }
    }
  });

  it('raises the per-node cap only as far as needed: 3 nodes in 3 regions hold 2 shards each', () => {
    const nodes = cluster({ 'us-east': 1, 'eu-west': 1, 'asia-east': 1 });
    const placement = new StripePlacer().plan({
      clientRegion: 'us-east',
      nodes,
      dataShards: 4,
      parityShards: 2,
    });
    expect(placement.nodeCap).toBe(2);
    expect([...countBy(placement.nodeIds, (id) => id).values()]).toEqual([2, 2, 2]);
  });

  it('uses a region beyond the write latency bound only when the nearer ones cannot hold the stripe', () => {
    const nodes = cluster({ oceania: 1, 'asia-east': 1, 'south-america': 1 });
    const placement = new StripePlacer().plan({
      clientRegion: 'oceania',
      nodes,
      dataShards: 2,
      parityShards: 1,
    });
    expect(placement.latencyRelaxed).toBe(true);
    expect(placement.regions).toContain('south-america');
    expect(() =>
      new StripePlacer({ strictLatency: true }).plan({
        clientRegion: 'oceania',
        nodes,
        dataShards: 2,
        parityShards: 1,
      }),
    ).toThrow(expect.objectContaining({ code: 'PLACEMENT_IMPOSSIBLE', reason: 'latency-bound' }));
  });

  it('refuses to break the region-loss guarantee, unless concentration is allowed for a dev network', () => {
    const nodes = cluster({ 'us-east': 3, 'eu-west': 3 });
    const input = { clientRegion: 'us-east', nodes, dataShards: 4, parityShards: 2 };
    expect(() => placeStripe(input)).toThrow(PlacementError);
    expect(() => placeStripe(input)).toThrow(/needs nodes in at least 3 regions/);
    const dev = new StripePlacer({ allowRegionConcentration: true }).plan(input);
    expect(dev.regionLossSafe).toBe(false);
    expect(dev.regionCap).toBe(3);
    const single = new StripePlacer({ allowRegionConcentration: true }).plan({
      ...input,
      nodes: [{ id: 'solo', region: 'us-east' }],
    });
    expect(single.nodeIds).toEqual(Array(6).fill('solo'));
  });

  it('skips nodes without room and excluded nodes, and spreads stripes by weight', () => {
    const nodes: PlacementNode[] = [
      { id: 'full', region: 'us-east', freeBytes: 10 },
      { id: 'big', region: 'us-east', freeBytes: 3_000_000 },
      { id: 'small', region: 'us-east', freeBytes: 1_000_000 },
      ...cluster({ 'us-west': 2, 'eu-west': 2 }).map((node) => ({ ...node, freeBytes: 1_000_000 })),
    ];
    const picks = new Map<string, number>();
    for (let stripe = 0; stripe < 2_000; stripe++) {
      const ids = placeStripe({
        clientRegion: 'us-east',
        nodes,
        dataShards: 2,
        parityShards: 1,
        shardBytes: 100,
        stripeKey: `stripe-${stripe}`,
        exclude: new Set(['us-west-1']),
      });
      expect(ids).not.toContain('full');
      expect(ids).not.toContain('us-west-1');
      picks.set(ids[0]!, (picks.get(ids[0]!) ?? 0) + 1);
    }
    // Weighted rendezvous: 'big' has 3x the free space of 'small', so it takes ~75% of local shards.
    expect(picks.get('big')! / 2_000).toBeGreaterThan(0.7);
    expect(picks.get('big')! / 2_000).toBeLessThan(0.8);
  });

  it('is deterministic for a stripe key', () => {
    const nodes = cluster(Object.fromEntries(REGIONS.map((r) => [r, 5])));
    const input = { clientRegion: 'africa', nodes, dataShards: 10, parityShards: 4, stripeKey: 'k' };
    expect(placeStripe(input)).toEqual(placeStripe({ ...input, nodes: [...nodes].reverse() }));
  });

  it('rejects bad input with typed errors', () => {
    const nodes = cluster({ 'us-east': 3, 'eu-west': 3, 'asia-east': 3 });
    const base = { clientRegion: 'us-east', nodes, dataShards: 4, parityShards: 2 };
    expect(() => placeStripe({ ...base, clientRegion: 'mars' })).toThrow(UnknownRegionError);
    expect(() => placeStripe({ ...base, dataShards: 0 })).toThrow(RangeError);
    expect(() => placeStripe({ ...base, dataShards: 200, parityShards: 100 })).toThrow(RangeError);
    expect(() => placeStripe({ ...base, nodes: [...nodes, nodes[0]!] })).toThrow(InvalidNodeError);
    expect(() => placeStripe({ ...base, nodes: [{ id: 'x', region: 'atlantis' }] })).toThrow(
      /unknown region/,
    );
    expect(() => placeStripe({ ...base, nodes: [{ id: 'x', region: 'us-east', freeBytes: -1 }] })).toThrow(
      InvalidNodeError,
    );
    expect(() => placeStripe({ ...base, nodes: [] })).toThrow(
      expect.objectContaining({ reason: 'no-nodes' }),
    );
    const exclude = ['us-east-0'] as unknown as ReadonlySet<string>;
    expect(() => placeStripe({ ...base, exclude })).toThrow(/exclude must be a Set of node ids/);
  });
});

describe('placement properties', () => {
  const arbitraryCluster = fc.dictionary(fc.constantFrom(...REGIONS), fc.integer({ min: 0, max: 4 }), {
    minKeys: 1,
  });
  const arbitraryShape = fc.record({ k: fc.integer({ min: 1, max: 12 }), m: fc.integer({ min: 1, max: 5 }) });

  it('losing any one whole region loses at most m shards of any stripe, and it places whenever that is possible', () => {
    fc.assert(
      fc.property(
        arbitraryCluster,
        arbitraryShape,
        fc.constantFrom(...REGIONS),
        (perRegion, { k, m }, client) => {
          const nodes = cluster(perRegion);
          const regionsWithNodes = Object.values(perRegion).filter((count) => count > 0).length;
          const feasible = regionsWithNodes > 0 && regionsWithNodes * m >= k + m;
          let plan: ReturnType<StripePlacer['plan']>;
          try {
            plan = new StripePlacer().plan({ clientRegion: client, nodes, dataShards: k, parityShards: m });
          } catch (error) {
            expect(error).toBeInstanceOf(PlacementError);
            expect(feasible).toBe(false);
            return;
          }
          expect(feasible).toBe(true);
          expect(plan.nodeIds).toHaveLength(k + m);
          const perRegionUsed = countBy(plan.nodeIds, regionOf);
          for (const region of REGIONS) {
            // The whole region goes down: the stripe keeps at least k shards.
            const lost = perRegionUsed.get(region) ?? 0;
            expect(lost).toBeLessThanOrEqual(m);
            expect(k + m - lost).toBeGreaterThanOrEqual(k);
          }
          const perNode = countBy(plan.nodeIds, (id) => id);
          expect(Math.max(...perNode.values())).toBeLessThanOrEqual(Math.min(plan.nodeCap, m));
          if ((perRegion[client] ?? 0) > 0) expect(perRegionUsed.has(client)).toBe(true);
          const order = builtinTopology()
            .nearest(client, plan.latencyRelaxed ? Number.POSITIVE_INFINITY : 300)
            .filter((region) => (perRegion[region] ?? 0) > 0);
          const wanted = Math.min(3, order.length, k + m);
          expect(perRegionUsed.size).toBeGreaterThanOrEqual(wanted);
          // Nearest first: the regions used are the first ones of the client's nearness order.
          expect(new Set(perRegionUsed.keys())).toEqual(new Set(order.slice(0, perRegionUsed.size)));
          // The node cap is the smallest that works: one lower would not fit.
          if (plan.nodeCap > 1 && !plan.latencyRelaxed) {
            const room = order.reduce((sum, r) => sum + Math.min(m, perRegion[r]! * (plan.nodeCap - 1)), 0);
            expect(room).toBeLessThan(k + m);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('a prepared node set (StripePlacer.prepare)', () => {
  const outcome = (run: () => ReturnType<StripePlacer['plan']>) => {
    try {
      return run();
    } catch (error) {
      return { error: (error as Error).constructor.name, message: (error as Error).message };
    }
  };

  it('places every stripe exactly as the plain node list does, with exclusions and free space (fast-check, 300 cases)', () => {
    const placer = new StripePlacer();
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...REGIONS), fc.integer({ min: 0, max: 6 }), { minKeys: 1 }),
        fc.record({ k: fc.integer({ min: 1, max: 8 }), m: fc.integer({ min: 1, max: 4 }) }),
        fc.constantFrom(...REGIONS),
        fc.array(fc.integer({ min: 0, max: 4_000 }), { maxLength: 60 }),
        fc.array(fc.nat({ max: 60 }), { maxLength: 10 }),
        fc.integer({ min: 0, max: 3_000 }),
        fc.string({ maxLength: 8 }),
        (perRegion, { k, m }, client, free, excluded, shardBytes, stripeKey) => {
          const nodes = cluster(perRegion).map((node, i) =>
            free[i] === undefined ? node : { ...node, freeBytes: free[i]! },
          );
          const exclude = new Set(excluded.map((i) => nodes[i]?.id ?? `absent-${i}`));
          const input = {
            clientRegion: client,
            dataShards: k,
            parityShards: m,
            shardBytes,
            stripeKey,
            exclude,
          };
          const set = placer.prepare(nodes);
          expect(set.size).toBe(nodes.length);
          expect(outcome(() => placer.plan({ ...input, nodes: set }))).toEqual(
            outcome(() => placer.plan({ ...input, nodes })),
          );
        },
      ),
      { numRuns: 300, seed: 20261205 },
    );
  });

  it('ranks large regions of equal weights exactly as the plain list does (the hash floor skips nothing it must keep)', () => {
    const placer = new StripePlacer();
    const perRegion = Object.fromEntries(REGIONS.map((region, i) => [region, 150 + 37 * i]));
    const nodes = cluster(perRegion);
    const set = placer.prepare(nodes);
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }),
        fc.constantFrom(...REGIONS),
        fc.array(fc.nat({ max: nodes.length - 1 }), { maxLength: 40 }),
        fc.record({ k: fc.integer({ min: 1, max: 10 }), m: fc.integer({ min: 1, max: 6 }) }),
        (stripeKey, client, excluded, { k, m }) => {
          const exclude = new Set(excluded.map((i) => nodes[i]!.id));
          const input = { clientRegion: client, dataShards: k, parityShards: m, stripeKey, exclude };
          expect(outcome(() => placer.plan({ ...input, nodes: set }))).toEqual(
            outcome(() => placer.plan({ ...input, nodes })),
          );
        },
      ),
      { numRuns: 300, seed: 20261205 },
    );
  });

  it('is a snapshot: validated once, later changes to the list or its nodes do not reach it', () => {
    const placer = new StripePlacer();
    const nodes = cluster({ [REGIONS[0]!]: 3, [REGIONS[1]!]: 3, [REGIONS[2]!]: 3 }).map((n) => ({
      ...n,
      freeBytes: 100,
    }));
    const set = placer.prepare(nodes);
    const before = placer.place({
      clientRegion: REGIONS[0]!,
      nodes: set,
      dataShards: 4,
      parityShards: 2,
      stripeKey: 's',
    });
    nodes[0]!.freeBytes = 0;
    nodes.pop();
    expect(
      placer.place({ clientRegion: REGIONS[0]!, nodes: set, dataShards: 4, parityShards: 2, stripeKey: 's' }),
    ).toEqual(before);
    expect(() => placer.prepare([...nodes, nodes[0]!])).toThrow(InvalidNodeError);
    // A set is checked against its placer's topology: another topology's placer refuses it.
    expect(() =>
      new StripePlacer({}, new Topology()).place({
        clientRegion: REGIONS[0]!,
        nodes: set,
        dataShards: 4,
        parityShards: 2,
      }),
    ).toThrow(InvalidNodeError);
  });
});

describe('rendezvous spread', () => {
  it('spreads keys evenly over equal nodes whose ids share long prefixes, and independently per key', () => {
    // Peer-id-like ids: 44 shared characters, then a counter.
    const nodes = Array.from({ length: 16 }, (_, i) => ({
      id: `12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz0123456789${String(i).padStart(4, '0')}`,
      region: REGIONS[0]!,
    }));
    const placer = new StripePlacer({ allowRegionConcentration: true });
    const set = placer.prepare(nodes);
    const first = (key: number) =>
      placer.place({
        clientRegion: REGIONS[0]!,
        nodes: set,
        dataShards: 1,
        parityShards: 1,
        stripeKey: `stripe-${key}`,
      })[0]!;
    const keys = 32_000;
    const wins = new Map<string, number>();
    let sameAsNext = 0;
    let previous = first(0);
    for (let key = 1; key <= keys; key++) {
      const winner = first(key);
      wins.set(winner, (wins.get(winner) ?? 0) + 1);
      if (winner === previous) sameAsNext++;
      previous = winner;
    }
    expect(wins.size).toBe(16);
    for (const count of wins.values()) {
      expect(count).toBeGreaterThan((keys / 16) * 0.85);
      expect(count).toBeLessThan((keys / 16) * 1.15);
    }
    // Neighbouring keys pick the same node as often as independent draws would (1 in 16).
    expect(sameAsNext).toBeGreaterThan((keys / 16) * 0.8);
    expect(sameAsNext).toBeLessThan((keys / 16) * 1.2);
  });
});
