import { randomBytes } from 'node:crypto';
import { fromHex, toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { apiFetch, getObject, metricSample, putObject, until } from './helpers.js';
import { withNodes } from './with-nodes.js';

/** Every hex hash of a shard `node` holds. */
function held(node: { store: { entries(): [string, number][] } }): Set<string> {
  return new Set(node.store.entries().map(([hash]) => hash));
}

const scrape = async (url: string, name: string) => (await metricSample(url, name)) ?? Number.NaN;

/**
 * Garbage collection (the lifecycle issue): shards no object refers to are deleted after a grace
 * period and counted; shards an object refers to are never touched.
 */
describe('garbage collection on a real 6-node network', () => {
  const nodes = withNodes('trinity-gc-', 6, () => ({
    // The grace outlasts the /metrics page cache (5 s), so a scrape sees the leak before it goes.
    gc: { intervalMs: 500, graceMs: 10_000 },
    prometheus: { enabled: true, port: 0 },
  }));

  it('the same bytes stored twice, then both deleted, leave no shard behind', async () => {
    const before = nodes.map(held);
    const data = randomBytes(200_000);
    const ids = [
      await putObject(nodes[0]!.apiUrl, data, 'twice', { public: true }),
      await putObject(nodes[1]!.apiUrl, data, 'twice', { public: true }),
    ];
    for (const id of ids) {
      const response = await apiFetch(`${nodes[2]!.apiUrl}/v1/objects/${id}`, { method: 'DELETE' });
      expect(response.status).toBe(200);
    }
    await until(
      'every node to hold only the shards it held before',
      async () =>
        nodes.every((node, i) => [...held(node)].every((h) => before[i]!.has(h))) ? true : undefined,
      60_000,
    );
  }, 300_000);

  it('deletes a leaked shard after the grace, counts it, and leaves referenced shards alone', async () => {
    const data = randomBytes(300_000);
    const id = await putObject(nodes[0]!.apiUrl, data, 'kept');
    const node = nodes[3]!;
    const metricsUrl = node.telemetry.url!;
    const collectedBefore = await scrape(metricsUrl, 'trinity_gc_bytes_collected_total');
    // A shard no descriptor names: what a crash between a commit and a delete leaves behind.
    const leaked = randomBytes(50_000);
    const hash = toHex(await node.store.put(leaked));
    await until(
      'the leak to show in trinity_leaked_shard_bytes',
      async () =>
        (await scrape(metricsUrl, 'trinity_leaked_shard_bytes')) >= leaked.length ? true : undefined,
      60_000,
    );
    expect(await node.store.has(fromHex(hash))).toBe(true);
    await until(
      'the collector to delete it',
      async () => ((await node.store.has(fromHex(hash))) ? undefined : true),
      60_000,
    );
    const collectedAfter = (Number.isNaN(collectedBefore) ? 0 : collectedBefore) + leaked.length;
    await until(
      'trinity_gc_bytes_collected_total to count it',
      async () =>
        (await scrape(metricsUrl, 'trinity_gc_bytes_collected_total')) >= collectedAfter ? true : undefined,
      60_000,
    );
    await until(
      'the gauge to drop back',
      async () => ((await scrape(metricsUrl, 'trinity_leaked_shard_bytes')) === 0 ? true : undefined),
      60_000,
    );
    // Many sweeps later, every shard of the stored object is still on its holders, and it reads whole.
    const health = await nodes[0]!.objects.health(id);
    for (const stripe of health.stripes) expect(stripe.healthy).toBe(stripe.total);
    for (const n of nodes) expect(Buffer.from(await getObject(n.apiUrl, id)).equals(data)).toBe(true);
  }, 300_000);
});
