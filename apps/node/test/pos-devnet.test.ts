import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Devnet } from '../src/cli/devnet.js';
import {
  cliPath,
  freeBasePort,
  getObject,
  metricSample,
  putObject,
  registerApiToken,
  shardFiles,
  tempDir,
  until,
} from './helpers.js';

const count = 7;

interface EscrowJson {
  id: string;
  accused: string;
  reporter: string;
  reason: string;
  status: string;
  amount: string;
  votes: number;
  overturnVotes: number;
}

/**
 * The economics issue's devnet case with real processes: seven node processes on the devnet's
 * genesis (each 1,000,000 base units, 100,000 staked) with --escrow. One node deletes every shard
 * file it holds; the others' proof-of-storage challenges of it fail, one of them proposes a
 * pos-failure slash, the accused disputes, the five nodes that are neither accused nor reporter
 * vote uphold, the slash executes, GET /v1/economics/:id shows it, and its reputation falls below
 * the router's floor on the others (reads are routed elsewhere).
 */
describe('proof-of-storage and slashing on a 7-process devnet', () => {
  let devnet: Devnet;
  let dir: Awaited<ReturnType<typeof tempDir>>;

  beforeAll(async () => {
    dir = await tempDir('trinity-pos-devnet-');
    devnet = new Devnet({
      nodes: count,
      dataDir: dir.path,
      basePort: await freeBasePort(count),
      cliPath,
      nodeConfig: {
        fsync: false,
        logLevel: 'warn',
        erasure: { shardBytes: 65_536 },
        pos: {
          intervalMs: 100,
          perHolderMinIntervalMs: 500,
          answersPerChallengerPerMinute: 120,
          // Seven processes on a shared two-core machine: an honest answer can wait on a busy CPU.
          deadlineMs: 10_000,
        },
        repair: { intervalMs: 86_400_000 },
        economics: {
          settleDelayMs: 500,
          tickMs: 250,
          antiEntropyMs: 1_000,
          disputeWindowMs: 120_000,
          votingWindowMs: 10_000,
          appealWindowMs: 0,
          uptimeReportMs: 0,
          bandwidthReportMs: 0,
        },
      },
      startTimeoutMs: 120_000,
    });
    try {
      await devnet.start();
      for (const node of devnet.nodes)
        registerApiToken(devnet.apiUrl(node.index), devnet.apiToken(node.index));
    } catch (error) {
      await devnet.stop().catch(() => {});
      await dir.remove();
      throw error;
    }
  }, 600_000);

  afterAll(async () => {
    await devnet?.stop().catch(() => {});
    await dir?.remove();
  }, 120_000);

  const json = async <T>(on: number, path: string, init?: RequestInit): Promise<T> => {
    const response = await devnet.fetch(on, path, init);
    if (!response.ok) throw new Error(`${path} on node ${on}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const escrows = async (on: number) =>
    (await json<{ escrows: EscrowJson[] }>(on, '/v1/economics/escrows?all=1')).escrows;
  const metric = async (on: number, name: string) =>
    (await metricSample(`http://127.0.0.1:${devnet.nodes[on]!.metricsPort}/metrics`, name)) ?? 0;

  it('a node that deletes its shards fails, loses reputation, is slashed (5 votes), reads avoid it', async () => {
    const data = randomBytes(200_000);
    const id = await putObject(devnet.apiUrl(0), data, 'devnet-slashed');
    // More objects, so the accused holds several shards: a failed proof re-places that copy at once,
    // and a challenger proposes a slash only after failing it `posFailuresToSlash` times.
    for (let i = 1; i < 8; i++) await putObject(devnet.apiUrl(0), randomBytes(200_000), `devnet-more-${i}`);
    const peerIds = await Promise.all(
      devnet.nodes.map(async (node) => (await json<{ nodeId: string }>(node.index, '/v1/status')).nodeId),
    );
    const manifest = await json<{ stripes: { shards: { holders: { nodeId: string }[] }[] }[] }>(
      0,
      `/v1/objects/${id}/manifest`,
    );
    const holders = manifest.stripes.flatMap((s) =>
      s.shards.flatMap((shard) => shard.holders.map((h) => h.nodeId)),
    );
    const accused = peerIds.findIndex((peer, i) => i !== 0 && holders.includes(peer));
    expect(accused).toBeGreaterThan(0);
    const accusedKey = (await json<{ nodeId: string }>(accused, '/v1/economics/self')).nodeId;

    // The accused throws away every shard file it holds, behind its store's back.
    const files = await shardFiles(join(devnet.nodes[accused]!.dataDir, 'shards'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) await unlink(file);

    const escrow = await until(
      'an escrow against the accused',
      async () => (await escrows(accused)).find((e) => e.accused === accusedKey),
      180_000,
    );
    expect(escrow).toMatchObject({ reason: 'pos-failure', status: 'open', amount: '1000' });
    expect(await metric(accused, 'trinity_pos_challenges_failed_total')).toBeGreaterThan(0);

    const dispute = await devnet.fetch(accused, '/v1/economics/dispute', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ escrowId: escrow.id, evidence: 'ee'.repeat(32) }),
    });
    expect(dispute.status).toBe(200);
    const voted = await until(
      'five votes on every node',
      async () => {
        const views = await Promise.all(
          devnet.nodes.map(async (node) => (await escrows(node.index)).find((e) => e.id === escrow.id)),
        );
        return views.every((v) => v !== undefined && v.votes === 5) ? views[0] : undefined;
      },
      180_000,
    );
    expect(voted!.overturnVotes).toBe(0);
    await until(
      'the slash to execute everywhere',
      async () => {
        const views = await Promise.all(
          devnet.nodes.map(async (node) => (await escrows(node.index)).find((e) => e.id === escrow.id)),
        );
        return views.every((v) => v?.status === 'executed') ? true : undefined;
      },
      180_000,
    );
    const reader = [0, 1, 2, 3, 4, 5, 6].find((i) => i !== accused)!;
    const summary = await json<{ stake: string; slashedTotal: string }>(
      reader,
      `/v1/economics/${peerIds[accused]}`,
    );
    // 1 % of the 100,000 bonded went; a cheater that keeps failing is proposed again (1 % of the rest).
    expect(BigInt(summary.slashedTotal)).toBeGreaterThanOrEqual(1_000n);
    expect(BigInt(summary.stake)).toBeLessThanOrEqual(99_000n);

    // The reader's router sees the accused below its reputation floor (0.2): reads go elsewhere.
    await until(
      "the accused's reputation to fall below the router's floor on the reader",
      async () => {
        const status = await json<{ peers: { id: string; reputation: number }[] }>(reader, '/v1/status');
        const peer = status.peers.find((p) => p.id === peerIds[accused]);
        return peer !== undefined && peer.reputation < 0.2 ? true : undefined;
      },
      300_000,
    );
    expect(Buffer.from(await getObject(devnet.apiUrl(reader), id)).equals(data)).toBe(true);
  }, 900_000);
});
