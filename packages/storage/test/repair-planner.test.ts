import { toHex } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createManifest,
  type Holder,
  type ManifestInput,
  planRepair,
  type ShardHealth,
} from '../src/index.js';

const regions = ['us-east', 'us-west', 'eu-west', 'asia-east'];
const nodes: Holder[] = Array.from({ length: 24 }, (_, i) => ({
  nodeId: `n${String(i).padStart(2, '0')}`,
  region: regions[i % 4]!,
}));

function manifestOf(k: number, m: number, stripes: number, holderOf: (s: number, i: number) => Holder[]) {
  const input: ManifestInput = {
    size: stripes * k * 10,
    erasure: { dataShards: k, parityShards: m, shardBytes: 10 },
    stripes: Array.from({ length: stripes }, (_, s) => ({
      dataBytes: k * 10,
      shards: Array.from({ length: k + m }, (_, i) => ({
        hash: toHex(new Uint8Array(32).fill(s * 16 + i + 1)),
        holders: holderOf(s, i),
      })),
    })),
    createdAtMs: 0,
  };
  return createManifest(input);
}

describe('planRepair', () => {
  it('plans the worked example: rebuild the missing shard on a node in an unused region', () => {
    // RS(2,2), shards on n00 (us-east), n01 (us-west), n02 (eu-west), n03 (asia-east); n01 lost.
    const manifest = manifestOf(2, 2, 1, (_s, i) => [nodes[i]!]);
    const plan = planRepair(manifest, (_s, i) => (i === 1 ? 'missing' : 'ok'), {
      candidates: [nodes[0]!, nodes[2]!, nodes[4]!, nodes[5]!],
    });
    expect(plan.lost).toEqual([]);
    expect(plan.tasks).toHaveLength(1);
    const task = plan.tasks[0]!;
    expect(task.margin).toBe(1);
    expect(task.sources.map((s) => s.shardIndex)).toEqual([0, 2]);
    expect(task.spares.map((s) => s.shardIndex)).toEqual([3]);
    // n00 and n02 already hold shards of the stripe; n04 is us-east (1 healthy there), n05 us-west (0).
    expect(task.rebuild).toEqual([
      { shardIndex: 1, hash: manifest.stripes[0]!.shards[1]!.hash, target: nodes[5] },
    ]);
    expect(task.bytes).toBe(30);
  });

  it('reports lost stripes and unplaceable shards', () => {
    const manifest = manifestOf(3, 1, 2, (s, i) => [nodes[s * 4 + i]!]);
    const plan = planRepair(
      manifest,
      (s, i) => (s === 0 && i < 2 ? 'corrupt' : s === 1 && i === 3 ? 'missing' : 'ok'),
      {
        candidates: [nodes[4]!], // holds a shard of stripe 1 already
      },
    );
    expect(plan.lost).toEqual([{ stripeIndex: 0, healthy: 2, needed: 3 }]);
    expect(plan.unplaced).toEqual([{ stripeIndex: 1, shardIndex: 3 }]);
    expect(plan.tasks).toEqual([]);
  });

  it('rejects bad input', () => {
    const manifest = manifestOf(2, 1, 1, (_s, i) => [nodes[i]!]);
    expect(() => planRepair(manifest, () => 'weird' as ShardHealth, { candidates: [] })).toThrow(TypeError);
    expect(() => planRepair(manifest, () => 'ok', { candidates: [{ nodeId: '../x', region: 'r' }] })).toThrow(
      RangeError,
    );
    expect(() => planRepair({} as never, () => 'ok', { candidates: [] })).toThrow(/invalid manifest/);
  });

  const scenario = fc.record({
    k: fc.integer({ min: 1, max: 6 }),
    m: fc.integer({ min: 1, max: 4 }),
    stripes: fc.integer({ min: 1, max: 8 }),
    placementSeed: fc.array(fc.nat(23), { minLength: 400, maxLength: 400 }),
    health: fc.array(fc.constantFrom<ShardHealth>('ok', 'ok', 'ok', 'missing', 'corrupt'), {
      minLength: 100,
      maxLength: 100,
    }),
    candidates: fc.uniqueArray(fc.nat(23), { minLength: 0, maxLength: 24 }),
    maxRebuildsPerNode: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
  });

  it('properties: never two shards of a stripe on one node; endangerment order; lost iff < k healthy', () => {
    fc.assert(
      fc.property(scenario, ({ k, m, stripes, placementSeed, health, candidates, maxRebuildsPerNode }) => {
        // Each stripe's shards start on distinct nodes.
        const manifest = manifestOf(k, m, stripes, (s, i) => [nodes[(placementSeed[s]! + i) % 24]!]);
        const healthOf = (s: number, i: number) => health[(s * 13 + i) % health.length]!;
        const plan = planRepair(manifest, healthOf, {
          candidates: candidates.map((i) => nodes[i]!),
          maxRebuildsPerNode,
        });
        const load = new Map<string, number>();
        for (const task of plan.tasks) {
          const stripe = manifest.stripes[task.stripeIndex]!;
          const targets = task.rebuild.map((r) => r.target.nodeId);
          expect(new Set(targets).size).toBe(targets.length);
          for (const { shardIndex, target } of task.rebuild) {
            const t = target.nodeId;
            // A target holds no other shard of the stripe (it may be the live holder of this very shard).
            const others = stripe.shards.filter((_sh, i) => i !== shardIndex);
            expect(others.some((sh) => sh.holders.some((h) => h.nodeId === t))).toBe(false);
            expect(candidates.map((i) => nodes[i]!.nodeId)).toContain(t);
            load.set(t, (load.get(t) ?? 0) + 1);
          }
          for (const r of task.rebuild) expect(healthOf(task.stripeIndex, r.shardIndex)).not.toBe('ok');
          expect(task.sources).toHaveLength(k);
          for (const src of [...task.sources, ...task.spares])
            expect(healthOf(task.stripeIndex, src.shardIndex)).toBe('ok');
        }
        if (maxRebuildsPerNode !== undefined)
          for (const n of load.values()) expect(n).toBeLessThanOrEqual(maxRebuildsPerNode);
        for (let i = 1; i < plan.tasks.length; i++)
          expect(plan.tasks[i - 1]!.margin).toBeLessThanOrEqual(plan.tasks[i]!.margin);
        for (let s = 0; s < stripes; s++) {
          const healthy = Array.from({ length: k + m }, (_, i) => healthOf(s, i)).filter(
            (x) => x === 'ok',
          ).length;
          expect(plan.lost.some((l) => l.stripeIndex === s)).toBe(healthy < k);
        }
        // Every broken shard of every recoverable stripe is either planned or reported unplaced.
        const planned = new Set(
          plan.tasks.flatMap((t) => t.rebuild.map((r) => `${t.stripeIndex}/${r.shardIndex}`)),
        );
        for (const u of plan.unplaced) planned.add(`${u.stripeIndex}/${u.shardIndex}`);
        for (let s = 0; s < stripes; s++) {
          if (plan.lost.some((l) => l.stripeIndex === s)) continue;
          for (let i = 0; i < k + m; i++)
            if (healthOf(s, i) !== 'ok') expect(planned.has(`${s}/${i}`)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('prefers the regions holding the fewest shards of the stripe', () => {
    // RS(4,2): healthy shards 3 in us-east and 1 in us-west; the two lost ones were in us-west and eu-west.
    const placement = [nodes[0]!, nodes[4]!, nodes[8]!, nodes[1]!, nodes[5]!, nodes[2]!];
    const manifest = manifestOf(4, 2, 1, (_s, i) => [placement[i]!]);
    const plan = planRepair(manifest, (_s, i) => (i >= 4 ? 'missing' : 'ok'), {
      candidates: [nodes[12]!, nodes[13]!, nodes[14]!, nodes[15]!],
    });
    const targets = plan.tasks[0]!.rebuild.map((r) => r.target.region).sort();
    expect(targets).toEqual(['asia-east', 'eu-west']);
  });
});
