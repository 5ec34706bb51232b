import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiFetch, getObject } from './helpers.js';
import { trickle } from './trickle.js';
import { withNodes } from './with-nodes.js';

/** Every node's orphan TTL: far shorter than the uploads below take. */
const orphanTtlMs = 2_000;

/**
 * Leases, not TTLs (the lifecycle issue): an upload that keeps making progress is never taken for
 * an orphan, however long it runs; one that stalls loses its staged data once its lease lapses.
 */
describe('upload leases on a real 6-node network', () => {
  const nodes = withNodes('trinity-lease-', 6, () => ({
    tx: { orphanTtlMs },
    erasure: { shardBytes: 65_536 },
  }));

  it('an upload that runs four times the orphan TTL commits and reads back', async () => {
    // One stripe (4 × 64 KiB, plus the encryption header) arrives at once and is staged on every
    // holder; the rest, less than a stripe, trickles in for about 8 s (12 chunks, 0.7 s apart), so no stage renews anything
    // meanwhile: only the coordinator's lease renewals keep that first stripe from being collected.
    const data = randomBytes(256 * 1024 + 120 * 1024);
    const { body } = trickle(data, 8_192, 700, { fastBytes: 280 * 1024 });
    const response = await apiFetch(`${nodes[0]!.apiUrl}/v1/objects?name=slow`, {
      method: 'PUT',
      body,
      duplex: 'half',
    } as RequestInit);
    const text = await response.text();
    expect(response.status, text).toBe(201);
    const { id } = JSON.parse(text) as { id: string };
    for (const node of nodes) expect(Buffer.from(await getObject(node.apiUrl, id)).equals(data)).toBe(true);
  }, 120_000);

  it('an upload that stalls loses its staged shards once its lease lapses', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const { body, release } = trickle(data, 65_536, 50, { stallAfter: 12 });
    const controller = new AbortController();
    const response = apiFetch(`${nodes[1]!.apiUrl}/v1/objects?name=stalled`, {
      method: 'PUT',
      body,
      duplex: 'half',
      signal: controller.signal,
    } as RequestInit).catch(() => undefined);
    try {
      // Stripes of 4 × 64 KiB: twelve chunks stage a few of them across the network.
      let staged = 0;
      for (let i = 0; i < 200 && staged === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        staged = nodes.filter((node) => node.store.stagedTransactions().length > 0).length;
      }
      expect(staged).toBeGreaterThan(0);
      // No progress: the lease lapses after the TTL and every node's collector drops the upload.
      let left = staged;
      for (let i = 0; i < 200 && left > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        left = nodes.filter((node) => node.store.stagedTransactions().length > 0).length;
      }
      expect(left).toBe(0);
    } finally {
      controller.abort();
      release();
      await response;
    }
  }, 120_000);
});
