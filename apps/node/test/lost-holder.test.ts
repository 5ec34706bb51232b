import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiFetch, getObject, until } from './helpers.js';
import { trickle } from './trickle.js';
import { withNodes } from './with-nodes.js';

/**
 * Puts survive a lost holder (the lifecycle issue): a holder that goes away in the middle of an
 * upload leaves the transaction, the put commits on the others, and the shards it held are
 * re-placed on other nodes before the put answers. Seven nodes: with six and RS(4,2) every live
 * node already holds a shard of each stripe, so repair has nowhere to put a seventh (the put then
 * commits with k + m - 1 and the repair loop waits for a node to join).
 */
describe('a holder lost in the middle of a put', () => {
  const nodes = withNodes('trinity-lost-holder-', 7, () => ({
    erasure: { shardBytes: 65_536 },
  }));

  it('re-places its shards on the others and the put succeeds whole', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    // 32 chunks of 64 KiB, 150 ms apart: the holder goes while the upload is about a third done.
    const { body } = trickle(data, 65_536, 150);
    const response = apiFetch(`${nodes[0]!.apiUrl}/v1/objects?name=survivor`, {
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);
    const lost = nodes[5]!;
    await until(
      'the holder to have staged shards of the upload',
      async () => (lost.store.stagedTransactions().length > 0 ? true : undefined),
      60_000,
      20,
    );
    await lost.stop();
    const answer = await response;
    const text = await answer.text();
    expect(answer.status, text).toBe(201);
    const { id } = JSON.parse(text) as { id: string };
    // Every shard of every stripe is held on a live node, none of them on the lost one.
    const health = await nodes[0]!.objects.health(id);
    expect(health.stripes.length).toBeGreaterThanOrEqual(8);
    for (const stripe of health.stripes) expect(stripe).toEqual({ healthy: 6, total: 6 });
    const { manifest } = await nodes[0]!.objects.describe(id);
    for (const stripe of manifest.stripes)
      for (const shard of stripe.shards)
        expect(shard.holders.filter((holder) => holder.nodeId !== lost.peerId).length).toBeGreaterThan(0);
    for (const node of nodes.filter((node) => node !== lost))
      expect(Buffer.from(await getObject(node.apiUrl, id)).equals(data)).toBe(true);
  }, 300_000);
});
