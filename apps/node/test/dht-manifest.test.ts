import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { dhtKey } from '../src/services/manifests/manifest-service.js';
import { apiFetch, getObject, putObject, sha256Hex, startNodes, until } from './helpers.js';

/**
 * The kad-dht manifest path alone: the reader has no copy of the record and no peer answers a
 * direct manifest request (/trinity/manifest unhandled on all of them), so the record can only come
 * from the DHT; the shards then come from the holders its receipts name.
 */
describe('a record found only through the DHT', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-dht-', 5, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 4096 },
      fsync: false,
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  }, 120_000);

  it('reads an object whose record no node hands out directly', async () => {
    const data = randomBytes(6_000);
    const id = await putObject(nodes[0]!.apiUrl, data, 'via-dht.bin', { public: true });
    // One stripe of three shards: at most four nodes (coordinator and holders) keep the record.
    const without = [];
    for (const node of nodes) if (!(await node.manifests.hasDescriptor(id))) without.push(node);
    expect(without.length).toBeGreaterThan(0);
    const reader = without[0]!;
    const others = nodes.filter((node) => node !== reader);

    // The publication reached the DHT (the put announces it without waiting).
    const dht = reader.libp2p.services.dht;
    await until(
      'the record to be in the DHT',
      async () => {
        for await (const event of dht.get(dhtKey(id))) if (event.name === 'VALUE') return true;
        return undefined;
      },
      120_000,
    );

    for (const node of others) await node.directory.stop();
    const get = dht.get.bind(dht);
    try {
      // No other path: with the DHT answering nothing, the object is not found.
      dht.get = async function* () {};
      const missing = await apiFetch(`${reader.apiUrl}/v1/objects/${id}`);
      expect(missing.status).toBe(404);
      await missing.body?.cancel();

      dht.get = get;
      expect(sha256Hex(await getObject(reader.apiUrl, id))).toBe(sha256Hex(data));
      expect(await reader.manifests.hasDescriptor(id)).toBe(false);
    } finally {
      dht.get = get;
      for (const node of others) await node.directory.start();
    }
  }, 300_000);
});

/**
 * Where every node holds a shard and the putting node knows the whole network, every node gets the
 * record directly, and a lookup asks its peers before the DHT: the put does not also announce it there
 * (a query and a checked record per object). When the view is partial it does (dht-announce.test.ts).
 */
describe('a record every peer took directly', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-dht-all-', 3, () => ({
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 4096 },
      fsync: false,
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  }, 120_000);

  it('is not announced in the DHT, and every node reads the object', async () => {
    // Node 0 skips the DHT only once its view is closed: both peers known and each has named its own.
    await until(
      'node 0 to know both peers and their peer lists',
      async () => {
        const peers = nodes[0]!.membership.peers();
        return peers.length === 2 && peers.every((peer) => peer.reportedPeers.size === 2) ? true : undefined;
      },
      120_000,
    );
    const dht = nodes[0]!.libp2p.services.dht;
    const put = dht.put.bind(dht);
    const announced: string[] = [];
    dht.put = (key, value, options) => {
      announced.push(new TextDecoder().decode(key));
      return put(key, value, options);
    };
    try {
      const data = randomBytes(6_000);
      const id = await putObject(nodes[0]!.apiUrl, data, 'direct.bin', { public: true });
      for (const node of nodes) expect(await node.manifests.hasDescriptor(id)).toBe(true);
      expect(announced).toEqual([]);
      for (const node of nodes) expect(sha256Hex(await getObject(node.apiUrl, id))).toBe(sha256Hex(data));
    } finally {
      dht.put = put;
    }
  }, 300_000);
});
