import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Devnet } from '../src/cli/devnet.js';
import { apiFetch, getObject, putObject, sha256Hex, shardFiles, startDevnet, until } from './helpers.js';

const MiB = 1024 * 1024;

describe('a 6-node devnet of real processes', () => {
  let devnet: Devnet;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ devnet, close } = await startDevnet('trinity-devnet-', {
      logLevel: 'info',
      scrub: { intervalMs: 1_000, bytesPerSecond: 1024 * MiB },
      repair: {
        intervalMs: 1_000,
        bytesPerSecond: 256 * MiB,
        maxConcurrentStripes: 4,
        nodeLossGraceMs: 600_000,
      },
      breaker: { failureThreshold: 2, baseBackoffMs: 200, maxBackoffMs: 2_000 },
    }));
  }, 600_000);

  afterAll(async () => {
    await close?.();
  }, 60_000);

  it('stores 64 MiB, survives two kill -9s, and repairs a corrupted shard', async () => {
    const data = randomBytes(64 * MiB);
    const digest = sha256Hex(data);
    const id = await putObject(devnet.apiUrl(0), data, 'big.bin');
    expect(sha256Hex(await getObject(devnet.apiUrl(5), id))).toBe(digest);

    await devnet.kill(1, 'SIGKILL');
    await devnet.kill(2, 'SIGKILL');
    expect(sha256Hex(await getObject(devnet.apiUrl(0), id))).toBe(digest);
    expect(sha256Hex(await getObject(devnet.apiUrl(4), id))).toBe(digest);

    await devnet.startNode(1);
    await devnet.startNode(2);
    await devnet.waitForMesh();
    const health = async () =>
      (await (await apiFetch(`${devnet.apiUrl(0)}/v1/objects/${id}/health`)).json()) as {
        minHealthy: number;
      };
    await until(
      'all shards healthy after restart',
      async () => ((await health()).minHealthy === 6 ? true : undefined),
      180_000,
    );

    // Flip one byte in a shard file on node 3: the scrubber must find it and repair must restore it.
    const files = await shardFiles(join(devnet.nodes[3]!.dataDir, 'shards'));
    expect(files.length).toBeGreaterThan(0);
    const victim = files[0]!;
    const bytes = await readFile(victim);
    bytes[17] = bytes[17]! ^ 0xff;
    await writeFile(victim, bytes);
    const status = async (i: number) =>
      (await (await apiFetch(`${devnet.apiUrl(i)}/v1/status`)).json()) as {
        scrub: { corruptionsFound: number };
      };
    await until(
      'the scrubber to find the corruption',
      async () => ((await status(3)).scrub.corruptionsFound > 0 ? true : undefined),
      180_000,
    );
    await until(
      'repair to restore every shard',
      async () => ((await health()).minHealthy === 6 ? true : undefined),
      180_000,
    );
    expect(sha256Hex(await getObject(devnet.apiUrl(3), id))).toBe(digest);
  }, 900_000);
});
