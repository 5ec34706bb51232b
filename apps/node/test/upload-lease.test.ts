import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiFetch, getObject, startNodes } from './helpers.js';

/** Every node's orphan TTL: far shorter than the uploads below take. */
const orphanTtlMs = 2_000;

/** A request body that yields `chunks` chunks of `chunkBytes`, `gapMs` apart, then (optionally) stalls. */
function trickle(data: Buffer, chunkBytes: number, gapMs: number, stallAfter = Number.POSITIVE_INFINITY) {
  let offset = 0;
  let sent = 0;
  let resume = () => {};
  const stalled = new Promise<void>((resolve) => {
    resume = resolve;
  });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= stallAfter) return stalled;
      if (sent > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      if (offset >= data.length) return controller.close();
      controller.enqueue(new Uint8Array(data.subarray(offset, offset + chunkBytes)));
      offset += chunkBytes;
      sent++;
    },
  });
  return { body, release: () => resume() };
}

/**
 * Leases, not TTLs (the lifecycle issue): an upload that keeps making progress is never taken for
 * an orphan, however long it runs; one that stalls loses its staged data once its lease lapses.
 */
describe('upload leases on a real 6-node network', () => {
  let close: (() => Promise<void>) | undefined;
  let nodes: Awaited<ReturnType<typeof startNodes>>['nodes'] = [];
  beforeAll(async () => {
    ({ nodes, close } = await startNodes('trinity-lease-', 6, () => ({
      tx: { orphanTtlMs },
      erasure: { shardBytes: 65_536 },
    })));
  }, 300_000);
  afterAll(async () => {
    await close?.();
  }, 120_000);

  it('an upload that runs four times the orphan TTL commits and reads back', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    // 32 chunks of 64 KiB, 250 ms apart: about 8 s of upload against a 2 s TTL.
    const { body } = trickle(data, 65_536, 250);
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
    const { body, release } = trickle(data, 65_536, 50, 12);
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
