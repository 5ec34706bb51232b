import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Devnet } from '../src/cli/devnet.js';
import { apiFetch, getObject, sha256Hex, startDevnet, until } from './helpers.js';

interface StatusJson {
  tx: { stagedTransactions: number };
}

/** Kills the coordinator of a put at a crash point of the 2PC, restarts it, and checks the outcome. */
describe('atomic puts survive a kill -9 of their coordinator', () => {
  let devnet: Devnet;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ devnet, close } = await startDevnet('trinity-tx-', {
      logLevel: 'info',
      tx: {
        prepareTimeoutMs: 30_000,
        statusQueryIntervalMs: 200,
        commitRetryIntervalMs: 200,
        orphanTtlMs: 120_000,
      },
      breaker: { failureThreshold: 3, baseBackoffMs: 100, maxBackoffMs: 1_000 },
    }));
  }, 600_000);

  afterAll(async () => {
    await close?.();
  }, 60_000);

  async function crashDuringPut(point: string, data: Uint8Array): Promise<void> {
    await devnet.kill(0, 'SIGTERM');
    await devnet.startNode(0, { TRINITY_CRASH_POINT: point });
    await devnet.waitForMesh();
    const put = apiFetch(`${devnet.apiUrl(0)}/v1/objects?name=crash.bin`, { method: 'PUT', body: data }).then(
      (response) => response.status,
      () => 'connection lost',
    );
    await devnet.exited(0);
    expect(await put).toBe('connection lost');
    await devnet.startNode(0);
    await devnet.waitForMesh();
  }

  const objectIds = async (index: number) =>
    (
      (await (await apiFetch(`${devnet.apiUrl(index)}/v1/objects`)).json()) as { objects: { id: string }[] }
    ).objects.map((o) => o.id);
  const noStagedShards = async () => {
    const counts = await Promise.all(
      devnet.nodes.map(
        async (node) =>
          ((await (await apiFetch(`${devnet.apiUrl(node.index)}/v1/status`)).json()) as StatusJson).tx
            .stagedTransactions,
      ),
    );
    return counts.every((count) => count === 0) ? true : undefined;
  };

  it('killed between prepare and commit: the object is absent everywhere and nothing stays staged', async () => {
    await crashDuringPut('tx-before-commit', randomBytes(6 * 1024 * 1024));
    await until('every participant to abort and drop its staged shards', noStagedShards, 180_000);
    for (const node of devnet.nodes) expect(await objectIds(node.index)).toEqual([]);
  }, 600_000);

  it('killed after the commit decision: the object is whole after the restart', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    await crashDuringPut('tx-after-commit', data);
    await until('every participant to apply the commit', noStagedShards, 180_000);
    const ids = await until(
      'the object to be listed',
      async () => {
        const listed = await objectIds(1);
        return listed.length === 1 ? listed : undefined;
      },
      180_000,
    );
    for (const node of devnet.nodes)
      expect(sha256Hex(await getObject(devnet.apiUrl(node.index), ids[0]!))).toBe(sha256Hex(data));
  }, 600_000);
});
