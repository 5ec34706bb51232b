import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { putObject, startNodes, until } from './helpers.js';

const regions = ['us-east', 'us-east', 'eu-west', 'eu-west', 'asia-east', 'asia-east'];

/**
 * tx.bestPerRegion: the coordinator (node 0, the only one with it on) puts each region's shard of
 * every stripe on that region's best node, so its puts run their 2PC over one node per region.
 */
describe('tx.bestPerRegion picks the best node of each region as participant', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-best-region-', 6, (i) => ({
      region: regions[i],
      // RS(2, 1) over three regions: one shard of each stripe per region; 4 KiB shards, many stripes.
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 4096 },
      tx: { bestPerRegion: i === 0 },
      // The test sets reputations itself: the economics service's tick must not replace them.
      economics: { tickMs: 600_000 },
      fsync: false,
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  }, 120_000);

  /** Holders of each region over every stripe of `id`, as node indexes. */
  async function holdersByRegion(id: string): Promise<Map<string, Set<number>>> {
    const index = new Map(nodes.map((node, i) => [node.peerId, i]));
    const { manifest } = await nodes[0]!.objects.describe(id);
    const out = new Map<string, Set<number>>();
    for (const stripe of manifest.stripes)
      for (const shard of stripe.shards)
        for (const holder of shard.holders) {
          const i = index.get(holder.nodeId)!;
          const set = out.get(regions[i]!) ?? new Set<number>();
          set.add(i);
          out.set(regions[i]!, set);
        }
    return out;
  }

  it("puts each region's shards on the router's best node there; without it they spread", async () => {
    const coordinator = nodes[0]!;
    const geography = coordinator.geography;
    await until(
      'the coordinator to route to every peer',
      async () => (nodes.slice(1).every((node) => geography.router.has(node.peerId)) ? true : undefined),
      120_000,
    );
    // Nodes 3 and 5 have a poor reputation in the network (just above the router's floor), the
    // others a good one: the router ranks them below 2 and 4.
    geography.setReputations(new Map([3, 5].map((bad) => [nodes[bad]!.peerId, 0.21])), 0.9);
    const best = geography.router.bestPerRegion('us-east', ['us-east', 'eu-west', 'asia-east']);
    expect([...best.values()].map((node) => node?.id)).toEqual([1, 2, 4].map((i) => nodes[i]!.peerId));

    const stripes = 200_000 / (2 * 4096);
    const viaBest = await putObject(coordinator.apiUrl, randomBytes(200_000), 'best.bin', { public: true });
    const chosen = await holdersByRegion(viaBest);
    expect(Object.fromEntries([...chosen].map(([region, set]) => [region, [...set].sort()]))).toEqual({
      'us-east': [1],
      'eu-west': [2],
      'asia-east': [4],
    });

    // Node 1 places by hash alone: over ~25 stripes both nodes of a region hold shards.
    const viaHash = await putObject(nodes[1]!.apiUrl, randomBytes(200_000), 'hash.bin', { public: true });
    const spread = await holdersByRegion(viaHash);
    expect(stripes).toBeGreaterThan(20);
    expect(spread.get('eu-west')?.size).toBe(2);
    expect(spread.get('asia-east')?.size).toBe(2);
  }, 300_000);
});
