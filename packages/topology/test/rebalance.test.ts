import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidNodeError,
  type PlacementNode,
  type PlacementRules,
  placeStripe,
  planRebalance,
  REGIONS,
  type ShardMove,
  type StripeLayout,
  StripePlacer,
} from '../src/index.js';

function cluster(perRegion: Record<string, number>): PlacementNode[] {
  return Object.entries(perRegion).flatMap(([region, count]) =>
    Array.from({ length: count }, (_, i) => ({ id: `${region}-${i}`, region })),
  );
}

function apply(stripe: StripeLayout, moves: readonly ShardMove[]): (string | null)[] {
  const holders = [...stripe.holders];
  for (const move of moves) if (move.stripeId === stripe.id) holders[move.shardIndex] = move.to;
  return holders;
}

function valid(
  holders: readonly (string | null)[],
  nodes: readonly PlacementNode[],
  rules: PlacementRules,
  want: number,
) {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const perNode = new Map<string, number>();
  const perRegion = new Map<string, number>();
  for (const holder of holders) {
    const node = holder === null ? undefined : byId.get(holder);
    if (node === undefined) return false;
    perNode.set(node.id, (perNode.get(node.id) ?? 0) + 1);
    perRegion.set(node.region, (perRegion.get(node.region) ?? 0) + 1);
  }
  return (
    Math.max(...perNode.values()) <= rules.nodeCap &&
    Math.max(...perRegion.values()) <= rules.regionCap &&
    perRegion.size >= want
  );
}

/** The fewest changed positions over every assignment of shards to nodes that satisfies the rules. */
function oracleMinMoves(
  stripe: StripeLayout,
  nodes: readonly PlacementNode[],
  rules: PlacementRules,
  want: number,
) {
  const n = stripe.holders.length;
  let best = Number.POSITIVE_INFINITY;
  const choice: string[] = [];
  const visit = (position: number, changed: number) => {
    if (changed >= best) return;
    if (position === n) {
      if (valid(choice, nodes, rules, want)) best = changed;
      return;
    }
    for (const node of nodes) {
      choice[position] = node.id;
      visit(position + 1, changed + (stripe.holders[position] === node.id ? 0 : 1));
    }
  };
  visit(0, 0);
  return best;
}

describe('planRebalance minimality', () => {
  it('plans exactly the fewest moves that restore the rules (against exhaustive search)', () => {
    const regions = ['us-east', 'us-west', 'eu-west', 'asia-east'] as const;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...regions), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        fc.array(fc.integer({ min: -2, max: 7 }), { minLength: 5, maxLength: 5 }),
        (nodeRegions, k, m, picks) => {
          const nodes = nodeRegions.map((region, i) => ({ id: `n${i}`, region }));
          const holders = picks.slice(0, k + m).map((p) => (p === -2 ? null : p === -1 ? 'gone' : `n${p}`));
          const stripe: StripeLayout = {
            id: 's',
            clientRegion: 'us-east',
            dataShards: k,
            parityShards: m,
            shardBytes: 1,
            holders,
          };
          const placer = new StripePlacer();
          let rules: PlacementRules;
          try {
            rules = placer.rules('us-east', countRegions(nodes), k, m);
          } catch {
            expect(planRebalance({ stripes: [stripe], nodes }).blocked).toHaveLength(1);
            return;
          }
          const want = Math.min(3, rules.regions.length, k + m);
          const plan = planRebalance({ stripes: [stripe], nodes });
          expect(plan.blocked).toEqual([]);
          expect(plan.moves.length).toBe(oracleMinMoves(stripe, nodes, rules, want));
          expect(valid(apply(stripe, plan.moves), nodes, rules, want)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});

function countRegions(nodes: readonly PlacementNode[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of nodes) out.set(node.region, (out.get(node.region) ?? 0) + 1);
  return out;
}

function placeMany(nodes: PlacementNode[], count: number, k = 4, m = 2): StripeLayout[] {
  return Array.from({ length: count }, (_, i) => {
    const clientRegion = REGIONS[i % REGIONS.length]!;
    const id = `stripe-${i}`;
    const holders = placeStripe({ clientRegion, nodes, dataShards: k, parityShards: m, stripeKey: id });
    return { id, clientRegion, dataShards: k, parityShards: m, shardBytes: 1_000, holders };
  });
}

describe('planRebalance', () => {
  const everywhere = cluster(Object.fromEntries(REGIONS.map((region) => [region, 3])));

  it('plans nothing for a healthy cluster', () => {
    const stripes = placeMany(everywhere, 100);
    expect(planRebalance({ stripes, nodes: everywhere })).toMatchObject({
      moves: [],
      deferredMoves: 0,
      blocked: [],
    });
  });

  it('rebuilds only the shards of a departed node, each on a node that keeps the rules', () => {
    const stripes = placeMany(everywhere, 300);
    const left = 'eu-west-1';
    const nodes = everywhere.filter((node) => node.id !== left);
    const plan = planRebalance({ stripes, nodes });
    const lost = stripes.flatMap((s) => s.holders.filter((h) => h === left));
    expect(plan.moves).toHaveLength(lost.length);
    for (const move of plan.moves)
      expect(move).toMatchObject({ from: left, kind: 'repair', reason: 'holder-lost' });
    const placer = new StripePlacer();
    for (const stripe of stripes) {
      const rules = placer.rules(stripe.clientRegion, countRegions(nodes), 4, 2);
      expect(valid(apply(stripe, plan.moves), nodes, rules, 3)).toBe(true);
    }
  });

  it('restores every stripe after a whole region goes down', () => {
    const stripes = placeMany(everywhere, 200);
    const nodes = everywhere.filter((node) => node.region !== 'us-east');
    const plan = planRebalance({ stripes, nodes });
    const placer = new StripePlacer();
    for (const stripe of stripes) {
      const alive = stripe.holders.filter((h) => h !== null && !h.startsWith('us-east')).length;
      expect(alive).toBeGreaterThanOrEqual(4); // the region outage cost at most m = 2 shards
      const rules = placer.rules(stripe.clientRegion, countRegions(nodes), 4, 2);
      expect(valid(apply(stripe, plan.moves), nodes, rules, 3)).toBe(true);
    }
  });

  it('tightens stripes placed under a fallback once nodes join', () => {
    const few = cluster({ 'us-east': 1, 'eu-west': 1, 'asia-east': 1 });
    const stripes = placeMany(few, 10);
    const more = cluster({ 'us-east': 2, 'eu-west': 2, 'asia-east': 2 });
    const plan = planRebalance({ stripes, nodes: more });
    expect(plan.moves).toHaveLength(30); // one of each node's two shards moves to the newcomer
    expect(plan.moves.every((move) => move.kind === 'move' && move.reason === 'node-cap')).toBe(true);
    expect(plan.moves.every((move) => move.to.endsWith('-1'))).toBe(true);
  });

  it('respects the byte budget, most endangered stripes first, and defers the rest', () => {
    const stripes = placeMany(everywhere, 100);
    const gone = new Set(['us-east-0', 'us-east-1', 'us-east-2', 'us-west-0']);
    const nodes = everywhere.filter((node) => !gone.has(node.id));
    const full = planRebalance({ stripes, nodes });
    const limited = planRebalance({ stripes, nodes, config: { maxBytesPerInterval: 10_000 } });
    expect(limited.moves).toHaveLength(10);
    expect(limited.bytesPlanned).toBe(10_000);
    expect(limited.deferredMoves).toBe(full.moves.length - 10);
    const lostOf = (id: string) =>
      stripes.find((s) => s.id === id)!.holders.filter((h) => gone.has(h!)).length;
    const maxLost = Math.max(...stripes.map((s) => lostOf(s.id)));
    expect(lostOf(limited.moves[0]!.stripeId)).toBe(maxLost);
  });

  it('never pushes a node or region over its cap while moves are deferred (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 8 }), (budgetMoves, gone) => {
        const stripes = placeMany(everywhere, 40);
        const removed = new Set(everywhere.slice(0, gone * 3).map((node) => node.id));
        const nodes = everywhere.filter((node) => !removed.has(node.id));
        const plan = planRebalance({ stripes, nodes, config: { maxBytesPerInterval: budgetMoves * 1_000 } });
        expect(plan.moves.length).toBeLessThanOrEqual(budgetMoves);
        const placer = new StripePlacer();
        for (const stripe of stripes) {
          let rules: PlacementRules;
          try {
            rules = placer.rules(stripe.clientRegion, countRegions(nodes), 4, 2);
          } catch {
            continue;
          }
          const after = apply(stripe, plan.moves).filter((h) => h !== null && !removed.has(h)) as string[];
          const perNode = new Map<string, number>();
          const perRegion = new Map<string, number>();
          for (const id of after) {
            perNode.set(id, (perNode.get(id) ?? 0) + 1);
            const region = id.slice(0, id.lastIndexOf('-'));
            perRegion.set(region, (perRegion.get(region) ?? 0) + 1);
          }
          expect(Math.max(0, ...perNode.values())).toBeLessThanOrEqual(rules.nodeCap);
          expect(Math.max(0, ...perRegion.values())).toBeLessThanOrEqual(rules.regionCap);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('moves a shard larger than the whole budget, alone', () => {
    const stripes = placeMany(everywhere, 5).map((s) => ({ ...s, shardBytes: 5_000 }));
    const nodes = everywhere.filter((node) => node.id !== stripes[0]!.holders[0]);
    const plan = planRebalance({ stripes, nodes, config: { maxBytesPerInterval: 1_000 } });
    expect(plan.moves).toHaveLength(1);
    expect(plan.deferredMoves).toBeGreaterThanOrEqual(0);
  });

  it('skips targets without free space and reports stripes it cannot restore', () => {
    const nodes = cluster({ 'us-east': 2, 'eu-west': 2 });
    const stripe: StripeLayout = {
      id: 's',
      clientRegion: 'us-east',
      dataShards: 4,
      parityShards: 2,
      shardBytes: 10,
      holders: ['us-east-0', 'us-east-1', 'eu-west-0', 'eu-west-1', 'gone-a', 'gone-b'],
    };
    expect(planRebalance({ stripes: [stripe], nodes }).blocked).toEqual([
      { stripeId: 's', reason: 'too-few-regions' },
    ]);
    const tight = [...nodes, { id: 'asia-east-0', region: 'asia-east', freeBytes: 15 }];
    const plan = planRebalance({ stripes: [stripe], nodes: tight });
    expect(plan.moves.filter((m) => m.to === 'asia-east-0')).toHaveLength(1);
    expect(plan.blocked).toEqual([{ stripeId: 's', reason: 'insufficient-capacity' }]);
  });

  it('rejects malformed stripes', () => {
    const bad = {
      id: 's',
      clientRegion: 'us-east',
      dataShards: 4,
      parityShards: 2,
      shardBytes: 1,
      holders: ['a'],
    };
    expect(() => planRebalance({ stripes: [bad], nodes: everywhere })).toThrow(RangeError);
    const [stripe] = placeMany(everywhere, 1);
    const numeric = { ...stripe!, holders: [5, ...stripe!.holders.slice(1)] as unknown as string[] };
    expect(() => planRebalance({ stripes: [numeric], nodes: everywhere })).toThrow(
      /stripe .* holder must be a string/,
    );
  });

  it('rejects a stripe listed twice instead of planning its moves twice', () => {
    const [stripe] = placeMany(everywhere, 1);
    const survivors = everywhere.filter((node) => node.id !== stripe!.holders[0]);
    expect(planRebalance({ stripes: [stripe!], nodes: survivors }).moves).toHaveLength(1);
    expect(() => planRebalance({ stripes: [stripe!, { ...stripe! }], nodes: survivors })).toThrow(
      InvalidNodeError,
    );
  });
});
