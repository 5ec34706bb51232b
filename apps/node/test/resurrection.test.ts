import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiFetch } from './helpers.js';
import { withNodes } from './with-nodes.js';

/**
 * Deletes that stay deleted (the lifecycle issue's first case): four concurrent puts of identical
 * public content contend on the same shard hashes (their commits retry on stale fencing tokens);
 * then every object is deleted. No node may serve any of them again, however late a retried commit
 * lands, and no shard of that content stays on disk.
 */
describe('concurrent identical puts, then deletes', () => {
  const nodes = withNodes('trinity-resurrection-', 6, () => ({
    tx: { commitRetryIntervalMs: 200 },
    gc: { intervalMs: 500, graceMs: 2_000 },
  }));

  it('nothing deleted is readable again, and no shard of it is left', async () => {
    const data = randomBytes(600_000);
    // Same name too: they contend on one object lock, so some may lose with 409 (and store nothing).
    const answers = await Promise.all(
      nodes.slice(0, 4).map(async (node) => {
        const response = await apiFetch(`${node.apiUrl}/v1/objects?name=same&public=1`, {
          method: 'PUT',
          body: data,
        });
        expect([201, 409]).toContain(response.status);
        return response.status === 201 ? ((await response.json()) as { id: string }).id : undefined;
      }),
    );
    const ids = [...new Set(answers.filter((id) => id !== undefined))];
    expect(ids.length).toBeGreaterThan(0);
    const hashes = new Set<string>();
    for (const id of ids) {
      const { manifest } = await nodes[0]!.objects.describe(id);
      for (const stripe of manifest.stripes) for (const shard of stripe.shards) hashes.add(shard.hash);
      const response = await apiFetch(`${nodes[4]!.apiUrl}/v1/objects/${id}`, { method: 'DELETE' });
      expect(response.status).toBe(200);
    }
    // Late commits retry every 200 ms: watch for 15 s that none of them brings an object back.
    for (let tick = 0; tick < 30; tick++) {
      for (const node of nodes)
        for (const id of ids)
          expect(await node.manifests.hasDescriptor(id), `${id} on ${node.peerId}`).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const node of nodes)
      for (const id of ids) expect((await apiFetch(`${node.apiUrl}/v1/objects/${id}`)).status).toBe(404);
    for (const node of nodes) {
      const left = node.store.entries().filter(([hash]) => hashes.has(hash));
      expect(left, `shards left on ${node.peerId}`).toEqual([]);
    }
  }, 300_000);
});
