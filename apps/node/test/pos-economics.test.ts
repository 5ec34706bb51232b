import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { loadOrCreateIdentity } from '../src/stores/identity.js';
import { apiFetch, getObject, putObject, shardFiles, until } from './helpers.js';
import { withNodes } from './with-nodes.js';

const count = 7;

/**
 * The economics issue's end-to-end case, on seven nodes over libp2p with --escrow on one genesis
 * (each 1,000,000 base units, 100,000 staked): a node that deletes its shards fails real
 * proof-of-storage challenges, its challengers' signed `pos-result` events lower its reputation, one
 * challenger proposes a slash, the accused disputes, the five nodes that are neither accused nor
 * reporter vote uphold, the slash executes through the escrow, GET /v1/economics/:id shows it, and
 * the readers rank it below the router's reputation floor (reads go elsewhere).
 */
/** Objects stored before the accused deletes its shards (one stripe of six shards each, on 7 nodes). */
const objects = 8;

describe('a node that deletes its shards is slashed through escrow', () => {
  const nodes = withNodes('trinity-pos-econ-', count, async (_i, dataDirOf) => {
    const accounts = [];
    for (let j = 0; j < count; j++) {
      const key = await loadOrCreateIdentity(dataDirOf(j));
      accounts.push({ id: toHex(key.publicKey.raw), balance: '1000000', stake: '100000' });
    }
    return {
      fsync: false,
      erasure: { shardBytes: 65_536 },
      pos: {
        enabled: true,
        intervalMs: 200,
        perHolderMinIntervalMs: 1_000,
        answersPerChallengerPerMinute: 120,
        // Seven nodes in one process on a shared machine: honest answers can wait on the event loop.
        deadlineMs: 20_000,
      },
      repair: { intervalMs: 86_400_000 },
      economics: {
        escrow: true,
        genesis: { timeMs: 0, rewardPool: '0', accounts },
        settleDelayMs: 200,
        tickMs: 200,
        antiEntropyMs: 1_000,
        disputeWindowMs: 60_000,
        votingWindowMs: 5_000,
        appealWindowMs: 0,
        uptimeReportMs: 0,
        bandwidthReportMs: 0,
      },
    };
  });

  it('fails proof-of-storage, loses reputation, is slashed (5 votes), and reads avoid it', async () => {
    const data = randomBytes(200_000);
    const id = await putObject(nodes[0]!.apiUrl, data, 'slashed');
    // More objects, so the accused holds several shards: a failed proof re-places that copy at once,
    // and a challenger proposes a slash only after failing it `posFailuresToSlash` times.
    for (let i = 1; i < objects; i++) await putObject(nodes[0]!.apiUrl, randomBytes(200_000), `more-${i}`);
    const { manifest } = await nodes[0]!.objects.describe(id);
    const holders = manifest.stripes[0]!.shards.map((shard) => shard.holders[0]!.nodeId);
    const accused = nodes.find((node) => node !== nodes[0] && holders.includes(node.peerId))!;
    const honest = nodes.find((node) => node !== accused && holders.includes(node.peerId))!;
    const reader = nodes.find((node) => node !== accused && node !== honest)!;

    // Honest challenges first: every holder has passed some.
    await until(
      'challenges of the holders to pass',
      async () =>
        nodes.every((n) => !holders.includes(n.peerId) || n.pos.stats().passed > 0) ? true : undefined,
      120_000,
    );
    expect(nodes.map((n) => n.pos.stats().failed)).toEqual(nodes.map(() => 0));

    // The accused throws away every shard it holds, behind its store's back.
    const files = await shardFiles(join(accused.config.dataDir, 'shards'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) await unlink(file);

    // Its challengers' failing results make one of them propose a pos-failure slash.
    const escrow = await until(
      'an escrow against the accused',
      async () => accused.economics.escrows().find((e) => e.accused === accused.economics.nodeId),
      120_000,
    );
    expect(escrow).toMatchObject({ reason: 'pos-failure', status: 'open', amount: 1_000n });
    const reporter = nodes.find((n) => n.economics.nodeId === escrow.reporter)!;
    expect(reporter).toBeDefined();
    // Its own challenges failed, and the network's (every challenger's signed results) reached 3.
    expect(reporter.pos.stats().failed).toBeGreaterThanOrEqual(1);
    expect(nodes.reduce((sum, n) => sum + n.pos.stats().failed, 0)).toBeGreaterThanOrEqual(3);

    const dispute = await apiFetch(`${accused.apiUrl}/v1/economics/dispute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ escrowId: escrow.id, evidence: 'ee'.repeat(32) }),
    });
    expect(dispute.status).toBe(200);
    // The five nodes that are neither accused nor reporter vote, and uphold.
    const voted = await until(
      'five votes on every node',
      async () => {
        const views = nodes.map((n) => n.economics.state.escrow(escrow.id));
        return views.every((v) => v !== undefined && v.votes === 5) ? views[0] : undefined;
      },
      120_000,
    );
    expect(voted!.overturnVotes).toBe(0);
    await until(
      'the slash to execute everywhere',
      async () =>
        nodes.every((n) => n.economics.state.escrow(escrow.id)?.status === 'executed') ? true : undefined,
      120_000,
    );
    const summary = (await (await apiFetch(`${reader.apiUrl}/v1/economics/${accused.peerId}`)).json()) as {
      stake: string;
      slashedTotal: string;
    };
    // 1 % of the 100,000 bonded went; a cheater that keeps failing is proposed again (1 % of the rest).
    expect(BigInt(summary.slashedTotal)).toBeGreaterThanOrEqual(1_000n);
    expect(BigInt(summary.stake)).toBeLessThanOrEqual(99_000n);

    // Reputation: the accused's fell below an honest holder's and below the router's floor, so
    // readers rank it last (score -1: not routed to while any other holder serves).
    const floor = reader.geography.router.config.minReputation;
    await until(
      "the accused's reputation to fall below the router's floor on the reader",
      async () => (reader.geography.reputation(accused.peerId) < floor ? true : undefined),
      120_000,
    );
    expect(reader.economics.reputationOf(accused.peerId)).toBeLessThan(
      reader.economics.reputationOf(honest.peerId),
    );
    const ranked = reader.geography.rank(holders.filter((h) => h !== reader.peerId));
    expect(ranked.at(-1)).toBe(accused.peerId);
    // The object still reads whole from the reader (the accused's copy was re-placed or not needed).
    expect(Buffer.from(await getObject(reader.apiUrl, id)).equals(data)).toBe(true);
  }, 600_000);
});
