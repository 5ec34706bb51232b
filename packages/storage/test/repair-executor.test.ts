import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { concatBytes, ManualClock, seededRandom, sha256, toHex } from '@trinity/core';
import { createEncoder } from '@trinity/erasure';
import { describe, expect, it } from 'vitest';
import {
  createManifest,
  executeStripeRepair,
  type Holder,
  InsufficientShardsError,
  type Manifest,
  parseShardHash,
  planRepair,
  type RepairIo,
  RepairVerificationError,
  Scrubber,
  ShardStore,
  updateHolders,
} from '../src/index.js';
import { tempDir } from './helpers.js';

const k = 4;
const m = 2;
const shardBytes = 1024;
const regions = [
  'us-east',
  'us-west',
  'eu-west',
  'eu-east',
  'asia-east',
  'oceania',
  'africa',
  'south-america',
];

interface Network {
  nodes: Holder[];
  dirs: string[];
  stores: Map<string, ShardStore>;
}

async function network(count: number): Promise<Network> {
  const nodes = Array.from({ length: count }, (_, i) => ({ nodeId: `node${i}`, region: regions[i]! }));
  const dirs: string[] = [];
  const stores = new Map<string, ShardStore>();
  for (const node of nodes) {
    const dir = await tempDir();
    dirs.push(dir);
    stores.set(node.nodeId, await ShardStore.open(dir, { fsync: false }));
  }
  return { nodes, dirs, stores };
}

/** Erasure-codes `data` into stripes, stores shard i of every stripe on node i, returns the manifest. */
async function upload(net: Network, data: Uint8Array): Promise<Manifest> {
  const encoder = createEncoder({ dataShards: k, parityShards: m });
  const stripeBytes = k * shardBytes;
  const stripes = [];
  for (let offset = 0; offset < data.length; offset += stripeBytes) {
    const chunk = data.subarray(offset, Math.min(data.length, offset + stripeBytes));
    const padded = new Uint8Array(stripeBytes);
    padded.set(chunk);
    const shards = encoder.split(padded);
    encoder.encode(shards);
    const entries = [];
    for (const [i, shard] of shards.entries()) {
      await net.stores.get(net.nodes[i]!.nodeId)!.put(shard);
      entries.push({ hash: toHex(sha256(shard)), holders: [net.nodes[i]!] });
    }
    stripes.push({ dataBytes: chunk.length, shards: entries });
  }
  return createManifest({
    size: data.length,
    erasure: { dataShards: k, parityShards: m, shardBytes },
    stripes,
    createdAtMs: 0,
  });
}

function ioFor(net: Network, offline: Set<string>, lie?: string): RepairIo {
  return {
    async fetch(hash, from) {
      if (offline.has(from.nodeId)) throw new Error(`${from.nodeId} unreachable`);
      const data = await net.stores.get(from.nodeId)!.get(hash);
      if (from.nodeId === lie) return seededRandom(1).bytes(data.length);
      return data;
    },
    async store(hash, data, to) {
      if (offline.has(to.nodeId)) throw new Error(`${to.nodeId} unreachable`);
      await net.stores.get(to.nodeId)!.put(data, { expectedHash: hash });
    },
  };
}

async function download(net: Network, manifest: Manifest): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const stripe of manifest.stripes) {
    const shards = [];
    for (const shard of stripe.shards.slice(0, k)) {
      shards.push(await net.stores.get(shard.holders[0]!.nodeId)!.get(parseShardHash(shard.hash)));
    }
    parts.push(concatBytes(...shards).subarray(0, stripe.dataBytes));
  }
  return concatBytes(...parts);
}

describe('repair end to end with real Reed-Solomon', () => {
  it('scrub finds a corrupted shard file, a node is lost, repair restores both, the object reads back', async () => {
    const net = await network(8);
    const data = seededRandom(99).bytes(3 * k * shardBytes - 777);
    let manifest = await upload(net, data);
    // Corrupt node2's shard of stripe 1 on disk; lose node4 entirely.
    const victim = manifest.stripes[1]!.shards[2]!.hash;
    await writeFile(
      join(net.dirs[2]!, 'shards', victim.slice(0, 2), victim.slice(2, 4), victim),
      seededRandom(5).bytes(shardBytes),
    );
    const offline = new Set(['node4']);
    const corrupt = new Set<string>();
    const scrubber = new Scrubber(
      net.stores.get('node2')!,
      { bytesPerSecond: 1e9, burstBytes: 1e9 },
      {
        clock: new ManualClock(),
        onCorruption: (hash) => corrupt.add(toHex(hash)),
      },
    );
    await scrubber.runOnce();
    expect([...corrupt]).toEqual([victim]);

    const health = async (s: number, i: number) => {
      const shard = manifest.stripes[s]!.shards[i]!;
      for (const holder of shard.holders) {
        if (
          !offline.has(holder.nodeId) &&
          (await net.stores.get(holder.nodeId)!.has(parseShardHash(shard.hash)))
        )
          return 'ok' as const;
      }
      return corrupt.has(shard.hash) ? ('corrupt' as const) : ('missing' as const);
    };
    const states = new Map<string, 'ok' | 'missing' | 'corrupt'>();
    for (let s = 0; s < manifest.stripes.length; s++)
      for (let i = 0; i < k + m; i++) states.set(`${s}/${i}`, await health(s, i));
    const plan = planRepair(manifest, (s, i) => states.get(`${s}/${i}`)!, {
      candidates: net.nodes.filter((n) => !offline.has(n.nodeId)),
    });
    expect(plan.lost).toEqual([]);
    expect(plan.tasks).toHaveLength(3);
    expect(plan.tasks[0]!.stripeIndex).toBe(1); // two shards down: the most endangered
    expect(plan.tasks[0]!.margin).toBe(0);

    for (const task of plan.tasks) {
      const result = await executeStripeRepair(task, ioFor(net, offline));
      expect(result.failed).toEqual([]);
      manifest = updateHolders(
        manifest,
        result.repaired.map((r) => ({
          stripeIndex: result.stripeIndex,
          shardIndex: r.shardIndex,
          holders: r.holders,
        })),
      );
    }
    expect(manifest.version).toBe(4);
    // Every shard is back, on a node that holds no other shard of its stripe, and the bytes read back.
    for (const stripe of manifest.stripes) {
      const holders = stripe.shards.map((s) => s.holders[0]!.nodeId);
      expect(new Set(holders).size).toBe(k + m);
      expect(holders).not.toContain('node4');
      for (const shard of stripe.shards) {
        expect(await net.stores.get(shard.holders[0]!.nodeId)!.verify(parseShardHash(shard.hash))).toBe('ok');
      }
    }
    expect(toHex(await download(net, manifest))).toBe(toHex(data));
    for (const store of net.stores.values()) await store.close();
  });

  it('survives a lying source by reading a spare, and reports it', async () => {
    const net = await network(7);
    const manifest = await upload(net, seededRandom(3).bytes(k * shardBytes));
    const plan = planRepair(manifest, (_s, i) => (i === 5 ? 'missing' : 'ok'), {
      candidates: net.nodes.filter((n) => n.nodeId !== 'node5'),
    }); // node5 is down;
    const result = await executeStripeRepair(plan.tasks[0]!, ioFor(net, new Set(), 'node1'));
    expect(result.badSources).toEqual([{ shardIndex: 1, nodeId: 'node1', reason: 'hash mismatch' }]);
    expect(result.repaired).toEqual([
      { shardIndex: 5, hash: manifest.stripes[0]!.shards[5]!.hash, holders: [net.nodes[6]] },
    ]);
    expect(result.bytesFetched).toBe(k * shardBytes);
    expect(result.bytesStored).toBe(shardBytes);
    for (const store of net.stores.values()) await store.close();
  });

  it('fails cleanly with too few valid shards, and refuses rebuilt bytes that do not match the manifest', async () => {
    const net = await network(7);
    const manifest = await upload(net, seededRandom(4).bytes(k * shardBytes));
    const plan = planRepair(manifest, (_s, i) => (i === 5 ? 'missing' : 'ok'), {
      candidates: net.nodes.filter((n) => n.nodeId !== 'node5'),
    }); // node5 is down;
    const offline = new Set(['node0', 'node1']);
    await expect(executeStripeRepair(plan.tasks[0]!, ioFor(net, offline))).rejects.toBeInstanceOf(
      InsufficientShardsError,
    );

    const task = structuredClone(plan.tasks[0]!);
    task.rebuild[0]!.hash = '00'.repeat(32);
    await expect(executeStripeRepair(task, ioFor(net, new Set()))).rejects.toBeInstanceOf(
      RepairVerificationError,
    );
    expect(await net.stores.get('node6')!.has(sha256(new Uint8Array(0)))).toBe(false);
    expect(net.stores.get('node6')!.stats().shardCount).toBe(0);

    const failing = await executeStripeRepair(plan.tasks[0]!, ioFor(net, new Set(['node6'])));
    expect(failing.repaired).toEqual([]);
    expect(failing.failed).toHaveLength(1);
    for (const store of net.stores.values()) await store.close();
  });
});
