import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { nodeKeyOfPeerId } from '../src/p2p/node-keys.js';
import { getObject, putObject, sha256Hex, startNodes, until } from './helpers.js';

describe('adaptive erasure (erasure.adaptive.enabled)', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-adaptive-erasure-', 6, () => ({
      logLevel: 'warn',
      erasure: {
        dataShards: 2,
        parityShards: 1,
        shardBytes: 4096,
        adaptive: { enabled: true, minParityShards: 1, maxParityShards: 3, targetDurability: 0.999_999 },
      },
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  }, 300_000);

  it('raises the parity of new puts when nodes of the network go down', async () => {
    const writer = nodes[0]!;
    const healthy = randomBytes(7000);
    const healthyId = await putObject(writer.apiUrl, healthy, 'healthy.bin');
    expect((await writer.manifests.getDescriptor(healthyId)).erasure).toMatchObject({
      dataShards: 2,
      parityShards: 1,
    });
    expect(writer.health.lastChoice()).toMatchObject({ liveNodes: 6, downNodes: 0, parityShards: 1 });

    // Two of six nodes go down (two holding no shard of the first object, which has one parity
    // shard only): a third of the network failed within the window.
    const holderKeys = new Set((await writer.manifests.receipts(healthyId)).map((r) => r.holder));
    const down = nodes
      .slice(1)
      .filter((node) => !holderKeys.has(nodeKeyOfPeerId(node.peerId)!))
      .slice(0, 2);
    expect(down).toHaveLength(2);
    for (const node of down) await node.stop();
    await until(
      'the writer to see two nodes gone',
      async () => (writer.membership.liveNodes().length === 4 ? true : undefined),
      120_000,
    );
    const degraded = randomBytes(7000);
    const degradedId = await putObject(writer.apiUrl, degraded, 'degraded.bin');
    const descriptor = await writer.manifests.getDescriptor(degradedId);
    expect(descriptor.erasure).toMatchObject({ dataShards: 2, parityShards: 2 });
    expect(descriptor.stripes[0]!.shards).toHaveLength(4);
    const choice = writer.health.lastChoice()!;
    expect(choice).toMatchObject({ liveNodes: 4, downNodes: 2, parityShards: 2 });
    expect(choice.nodeFailureProbability).toBeCloseTo(1 / 3, 5);
    expect(writer.status.status().erasureChoice).toEqual(choice);
    // Both objects read back through the nodes still up.
    for (const reader of nodes.filter((node) => !down.includes(node))) {
      expect(sha256Hex(await getObject(reader.apiUrl, healthyId))).toBe(sha256Hex(healthy));
      expect(sha256Hex(await getObject(reader.apiUrl, degradedId))).toBe(sha256Hex(degraded));
    }
  }, 300_000);

  it('raises parity when requests to live peers keep failing, and lowers it again as they recover', async () => {
    const { parseNodeConfig } = await import('../src/config/config.js');
    const { erasureHealth } = await import('../src/services/health/erasure-health.js');
    const { MemoryLogger, ManualClock } = await import('@trinity/core');
    const adaptive = parseNodeConfig({ erasure: { adaptive: { enabled: true, maxParityShards: 3 } } }).erasure
      .adaptive;
    const live = ['self', 'p1', 'p2', 'p3', 'p4', 'p5'].map((id) => ({ id, region: 'us-east' }));
    const health = erasureHealth({ selfId: 'self', dataShards: 2, parityShards: 1, adaptive })({
      nodes: { liveNodes: () => live },
      clock: new ManualClock(0),
      logger: new MemoryLogger(),
    });
    expect(health.parameters()).toEqual({ dataShards: 2, parityShards: 1 });
    for (let i = 0; i < 30; i++) {
      health.onOutcome('p1', false);
      health.onOutcome('p2', false);
    }
    const failing = health.choose();
    expect(failing.nodeFailureProbability).toBeGreaterThan(0.3);
    expect(failing.parityShards).toBe(3);
    for (let i = 0; i < 200; i++) {
      health.onOutcome('p1', true);
      health.onOutcome('p2', true);
    }
    expect(health.parameters()).toEqual({ dataShards: 2, parityShards: 1 });
  });

  it('keeps the configured parity with adaptive erasure off', async () => {
    const { parseNodeConfig } = await import('../src/config/config.js');
    const config = parseNodeConfig({ erasure: { dataShards: 2, parityShards: 1 } });
    expect(config.erasure.adaptive.enabled).toBe(false);
    const { erasureHealth } = await import('../src/services/health/erasure-health.js');
    const { MemoryLogger, ManualClock } = await import('@trinity/core');
    const health = erasureHealth({
      selfId: 'self',
      dataShards: 2,
      parityShards: 1,
      adaptive: config.erasure.adaptive,
    })({
      nodes: { liveNodes: () => [{ id: 'self', region: 'us-east' }] },
      clock: new ManualClock(0),
      logger: new MemoryLogger(),
    });
    for (let i = 0; i < 5; i++) health.onPeerGone(`peer-${i}`);
    expect(health.parameters()).toEqual({ dataShards: 2, parityShards: 1 });
    expect(() =>
      parseNodeConfig({ erasure: { adaptive: { minParityShards: 4, maxParityShards: 2 } } }),
    ).toThrow(/minParityShards/);
  });
});
