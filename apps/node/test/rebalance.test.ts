import { randomBytes } from 'node:crypto';
import { fromHex, MemoryLogger, toHex } from '@trinity/core';
import type { SignedReceipt } from '@trinity/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deepMerge, parseNodeConfig } from '../src/config/config.js';
import { TrinityNode } from '../src/node/trinity-node.js';
import { nodeKeyOfPeerId } from '../src/p2p/node-keys.js';
import { manifestView } from '../src/services/objects/object-record.js';
import { rebalanceService } from '../src/services/rebalance/rebalance-service.js';
import {
  getObject,
  metricSample,
  putObject,
  registerApiToken,
  sha256Hex,
  startNodes,
  tempDir,
  until,
} from './helpers.js';

const shardBytes = 4096;
/** RS(2, 1): on two nodes one of them holds two shards of every stripe; a third node lets that end. */
const erasure = { dataShards: 2, parityShards: 1, shardBytes };

/** Starts one more node (us-east, the network's owner key) that joins `nodes` through their addresses. */
async function joinNode(
  nodes: readonly TrinityNode[],
  dataDir: string,
  extra: Record<string, unknown>,
): Promise<TrinityNode> {
  const base = {
    dataDir,
    listen: { port: 0 },
    bootstrap: nodes.map((node) => node.libp2p.getMultiaddrs()[0]!.toString()),
    region: 'us-east',
    erasure,
    tx: { prepareTimeoutMs: 120_000 },
    trust: { ownerKeyFile: nodes[0]!.config.trust.ownerKeyFile },
    api: { port: 0, requestTimeoutMs: 600_000 },
  };
  const node = await TrinityNode.create(parseNodeConfig(deepMerge(base, extra)), new MemoryLogger());
  await node.start();
  registerApiToken(node.apiUrl, node.api.token);
  await until(
    'the new node to be known to every node',
    async () =>
      [...nodes, node].every(
        (n) => n.membership.liveNodes().filter((p) => p.region === 'us-east').length === nodes.length + 1,
      )
        ? true
        : undefined,
    120_000,
  );
  return node;
}

/** The node ids holding each shard of each stripe of `id`, as `node`'s own record says. */
async function holdersOf(node: TrinityNode, id: string): Promise<string[][][]> {
  const record = {
    descriptor: await node.manifests.getDescriptor(id),
    receipts: await node.manifests.receipts(id),
  };
  return manifestView(record, () => undefined).stripes.map((stripe) =>
    stripe.shards.map((shard) => shard.holders.map((holder) => holder.nodeId)),
  );
}

/** How many of the shards of `ids` each node's store holds. */
async function copiesPerNode(nodes: readonly TrinityNode[], ids: readonly string[]): Promise<number[]> {
  const hashes = new Set<string>();
  for (const id of ids) {
    const descriptor = await nodes[0]!.manifests.getDescriptor(id);
    for (const stripe of descriptor.stripes) for (const shard of stripe.shards) hashes.add(shard.hash);
  }
  return Promise.all(
    nodes.map(async (node) => {
      const held = await Promise.all([...hashes].map((hash) => node.store.has(fromHex(hash))));
      return held.filter(Boolean).length;
    }),
  );
}

describe('rebalancing when a node joins (rebalance.enabled)', () => {
  const budgetBytes = 2 * shardBytes;
  let nodes: TrinityNode[];
  let joined: TrinityNode | undefined;
  let close: () => Promise<void>;
  let extraDir: Awaited<ReturnType<typeof tempDir>>;
  const config = {
    erasure,
    logLevel: 'warn',
    rebalance: { enabled: true, intervalMs: 1_000, maxBytesPerInterval: budgetBytes },
    prometheus: { enabled: true, port: 0 },
  };

  beforeAll(async () => {
    extraDir = await tempDir('trinity-rebalance-join-');
    ({ nodes, close } = await startNodes('trinity-rebalance-', 2, () => config));
  }, 300_000);

  afterAll(async () => {
    await joined?.stop();
    await close?.();
    await extraDir?.remove();
  }, 300_000);

  it('moves shards to the new node within the byte budget, keeps objects readable, releases old copies', async () => {
    const objects = new Map<string, string>();
    for (let i = 0; i < 6; i++) {
      const data = randomBytes(5000 + i);
      objects.set(await putObject(nodes[i % 2]!.apiUrl, data, `obj-${i}`), sha256Hex(data));
    }
    const ids = [...objects.keys()];
    // Two nodes, three shards per stripe: one node holds two of each stripe, and nothing can move.
    const before = await copiesPerNode(nodes, ids);
    expect(before[0]! + before[1]!).toBe(18);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(nodes.map((node) => node.rebalance.stats().moved)).toEqual([0, 0]);

    joined = await joinNode(nodes, `${extraDir.path}/n2`, config);
    const all = [...nodes, joined];
    // Each stripe's doubled shard moves to the new node: six moves in all, two per round per leader.
    await until(
      'every stripe to be spread over three nodes',
      async () => {
        const copies = await copiesPerNode(all, ids);
        return copies.every((count) => count === 6) ? copies : undefined;
      },
      180_000,
      500,
    );
    const stats = all.map((node) => node.rebalance.stats());
    expect(all.map((node) => node.status.status().rebalance)).toEqual(stats);
    expect(stats.reduce((sum, s) => sum + s.moved, 0)).toBe(6);
    for (const s of stats) {
      expect(s.roundBytesMax).toBeLessThanOrEqual(budgetBytes);
      expect(s.compensated).toBe(0);
      expect(s.releaseFailures).toBe(0);
    }
    // The same moves on every node's /metrics (its page is cached for a few seconds).
    const bytesMoved = stats.reduce((sum, s) => sum + s.bytesMoved, 0);
    await until(
      'trinity_rebalance_* to count the moves',
      async () => {
        let moved = 0;
        let bytes = 0;
        for (const node of all) {
          const url = node.telemetry.url!;
          moved += (await metricSample(url, 'trinity_rebalance_moves_total', '{outcome="moved"}')) ?? 0;
          bytes += (await metricSample(url, 'trinity_rebalance_bytes_moved_total')) ?? 0;
        }
        return moved === 6 && bytes === bytesMoved ? true : undefined;
      },
      60_000,
      1_000,
    );
    // A leader with more than two moves needed several rounds: the budget held moves back.
    const busiest = stats.reduce((a, b) => (a.moved >= b.moved ? a : b));
    expect(busiest.moved).toBeGreaterThan(2);
    expect(busiest.rounds).toBeGreaterThan(1);
    for (const id of ids) {
      // Every node's record names three distinct holders per stripe, the new node among them.
      for (const node of all) {
        const stripes = await until(
          `the record of ${id} on ${node.peerId.slice(-6)} to name the new holder`,
          async () => {
            const holders = await holdersOf(node, id);
            return holders.every((s) => s.some((h) => h[0] === joined!.peerId)) ? holders : undefined;
          },
          60_000,
        );
        for (const stripe of stripes) expect(new Set(stripe.map((h) => h[0])).size).toBe(3);
      }
    }
    for (const reader of all) {
      for (const [id, digest] of objects) expect(sha256Hex(await getObject(reader.apiUrl, id))).toBe(digest);
    }

    // The new node leaves: a round runs at once and leaves its shards to repair (a rebuild from k
    // others, after the grace), moving nothing.
    await joined.stop();
    await until(
      'a round after the leave',
      async () => (nodes.some((node) => node.rebalance.stats().leftToRepair > 0) ? true : undefined),
      60_000,
    );
    expect(nodes.reduce((sum, node) => sum + node.rebalance.stats().moved, 0)).toBe(
      stats[0]!.moved + stats[1]!.moved,
    );
    for (const [id, digest] of objects) expect(sha256Hex(await getObject(nodes[0]!.apiUrl, id))).toBe(digest);
  }, 420_000);
});

describe('a shard move whose manifest update fails (saga compensation)', () => {
  let nodes: TrinityNode[];
  let joined: TrinityNode | undefined;
  let close: () => Promise<void>;
  let extraDir: Awaited<ReturnType<typeof tempDir>>;
  const config = { erasure, logLevel: 'warn' };

  beforeAll(async () => {
    extraDir = await tempDir('trinity-rebalance-saga-');
    ({ nodes, close } = await startNodes('trinity-rebalance-saga-', 2, () => config));
  }, 300_000);

  afterAll(async () => {
    await joined?.stop();
    await close?.();
    await extraDir?.remove();
  }, 300_000);

  it('deletes the new copy again and leaves the record as it was', async () => {
    const data = randomBytes(6000);
    const id = await putObject(nodes[0]!.apiUrl, data, 'saga.bin');
    joined = await joinNode(nodes, `${extraDir.path}/n2`, config);
    const all = [...nodes, joined];
    // The leader is the lowest holder id; it plans the move, but its manifest update fails.
    const leader = [...nodes].sort((a, b) => (a.peerId < b.peerId ? -1 : 1))[0]!;
    const before = await leader.manifests.receipts(id);
    const transfer = leader.transfer;
    const copied: string[] = [];
    const newReceipts: SignedReceipt[] = [];
    // Watches the copy step commit: the new node really holds the shard before the compensation.
    const watching = {
      fetch: transfer.fetch.bind(transfer),
      release: transfer.release.bind(transfer),
      storeForRepair: async (...args: Parameters<typeof transfer.storeForRepair>) => {
        const receipt = await transfer.storeForRepair(...args);
        newReceipts.push(receipt);
        if (await joined!.store.has(args[2])) copied.push(toHex(args[2]));
        return receipt;
      },
    };
    const service = failingPublish(leader, watching);
    await service.runOnce();
    const stats = service.stats();
    expect(stats.compensated).toBe(1);
    expect(stats.moved).toBe(0);
    expect(copied).toHaveLength(1);
    // The copy was committed on the new node; the compensation deleted it there, receipt and bytes.
    expect(await joined.store.has(fromHex(copied[0]!))).toBe(false);
    const joinedKey = nodeKeyOfPeerId(joined.peerId);
    expect((await joined.manifests.receipts(id)).some((r) => r.holder === joinedKey)).toBe(false);
    // The leader's record is as it was: the old holder's receipt kept, none of the new node.
    expect(await leader.manifests.receipts(id)).toEqual(before);
    const copies = await copiesPerNode(all, [id]);
    expect(copies[2]).toBe(0);
    expect(copies[0]! + copies[1]!).toBe(3);
    expect(sha256Hex(await getObject(joined.apiUrl, id))).toBe(sha256Hex(data));

    // Who may ask for a release: a node that holds no receipt of the object is refused, nothing changes.
    const other = before.find((r) => r.holder !== nodeKeyOfPeerId(leader.peerId))!;
    const position = { objectId: id, stripe: other.stripe, shard: other.shard };
    await expect(joined.transfer.release(leader.peerId, position, other)).rejects.toThrow(/only a holder/);
    expect(await leader.manifests.receipts(id)).toEqual(before);
    expect(await copiesPerNode(all, [id])).toEqual(copies);
    // A holder asking with a successor's receipt whose node no longer holds the shard is refused too.
    const released = newReceipts[0]!;
    const oldKey = before.find((r) => r.stripe === released.stripe && r.shard === released.shard)!.holder;
    const oldHolder = all.find((node) => nodeKeyOfPeerId(node.peerId) === oldKey)!;
    const at = { objectId: id, stripe: released.stripe, shard: released.shard };
    await expect(leader.transfer.release(oldHolder.peerId, at, released)).rejects.toThrow(/does not hold/);
    expect(await copiesPerNode(all, [id])).toEqual(copies);
    expect(await leader.manifests.receipts(id)).toEqual(before);
  }, 420_000);

  it('retries a failing compensation a bounded number of times, then counts the move stuck', async () => {
    const id = (await nodes[0]!.directory.list())[0]!.id;
    const leader = [...nodes].sort((a, b) => (a.peerId < b.peerId ? -1 : 1))[0]!;
    const before = await leader.manifests.receipts(id);
    const transfer = leader.transfer;
    let releases = 0;
    const unreleasable = {
      fetch: transfer.fetch.bind(transfer),
      storeForRepair: transfer.storeForRepair.bind(transfer),
      release: async () => {
        releases++;
        throw new Error('the new holder does not answer');
      },
    };
    const service = failingPublish(leader, unreleasable);
    await service.runOnce();
    // One attempt and three retries (rebalance.maxCompensationRetries), then the saga gives up.
    expect(releases).toBe(4);
    expect(service.stats()).toMatchObject({ stuck: 1, compensated: 0, moved: 0 });
    // Nothing was published: the record is as it was; the new copy stays (extra, never missing).
    expect(await leader.manifests.receipts(id)).toEqual(before);
    expect((await copiesPerNode([...nodes, joined!], [id]))[2]).toBe(1);
  }, 120_000);
});

/** A rebalancer on `leader` whose manifest update (publish) always fails, with `transfer` for shards. */
function failingPublish(
  leader: TrinityNode,
  transfer: Parameters<ReturnType<typeof rebalanceService>>[0]['transfer'],
) {
  return rebalanceService({
    selfId: leader.peerId,
    enabled: true,
    intervalMs: 60_000,
    maxBytesPerInterval: 1 << 20,
    maxMovesPerInterval: 100,
    maxCompensationRetries: 3,
    compensationBackoffMs: 10,
    compensationBackoffMaxMs: 50,
  })({
    manifests: leader.manifests,
    directory: {
      sendRecord: (node, record) => leader.directory.sendRecord(node, record),
      publish: async () => {
        throw new Error('manifest update failed');
      },
    },
    transfer,
    nodes: leader.membership,
    clock: leader.clock,
    logger: new MemoryLogger(),
  });
}
