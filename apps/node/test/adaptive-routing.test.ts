import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinityNode } from '../src/node/trinity-node.js';
import { getObject, putObject, sha256Hex, startNodes } from './helpers.js';

const slowMs = 400;

describe('adaptive read routing (routing.mode)', () => {
  let nodes: TrinityNode[];
  let close: () => Promise<void>;

  beforeAll(async () => {
    // Node 0 routes adaptively, node 1 statically; nodes 2 and 3 are the holders whose order matters.
    ({ nodes, close } = await startNodes('trinity-adaptive-routing-', 4, (i) => ({
      logLevel: 'warn',
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 4096 },
      routing: { mode: i === 0 ? 'adaptive' : 'static' },
    })));
  }, 300_000);

  afterAll(async () => {
    await close?.();
  }, 300_000);

  it('moves a slow holder down the adaptive ranking once reads measure it; the static router never sees those reads', async () => {
    const [adaptive, fixed, a, b] = nodes as [TrinityNode, TrinityNode, TrinityNode, TrinityNode];
    expect(adaptive.geography.adaptive).toBeDefined();
    expect(fixed.geography.adaptive).toBeUndefined();
    const pair = [a.peerId, b.peerId];
    const first = adaptive.geography.rank(pair)[0]!;
    const slow = first === a.peerId ? a : b;
    const fast = slow === a ? b : a;
    const objects = new Map<string, string>();
    for (let i = 0; i < 10; i++) {
      const data = randomBytes(6000 + i);
      objects.set(await putObject(fast.apiUrl, data, `route-${i}`), sha256Hex(data));
    }
    // The first-ranked holder turns slow: every shard it serves takes slowMs longer.
    const get = slow.store.get.bind(slow.store);
    slow.store.get = async (hash) => {
      await new Promise((resolve) => setTimeout(resolve, slowMs));
      return get(hash);
    };
    for (const reader of [adaptive, fixed]) {
      for (const [id, digest] of objects) expect(sha256Hex(await getObject(reader.apiUrl, id))).toBe(digest);
    }
    // The adaptive router took the measured fetch latencies: the slow holder is no longer chosen first.
    expect(adaptive.geography.rank(pair)).toEqual([fast.peerId, slow.peerId]);
    expect(adaptive.geography.router.node(slow.peerId)!.latencyMs).toBeGreaterThan(
      adaptive.geography.router.node(fast.peerId)!.latencyMs,
    );
    expect(adaptive.geography.adaptive!.explain().arms.length).toBeGreaterThan(0);
    // The static router knows only ping RTTs (the pings are not slowed): the slow reads never reach it.
    expect(fixed.geography.router.node(slow.peerId)!.latencyMs).toBeLessThan(slowMs / 2);
  }, 300_000);
});
