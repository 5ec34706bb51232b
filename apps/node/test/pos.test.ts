import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { MemoryLogger } from '@trinity/core';
import { fromHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { getObject, metricSample, putObject, shardFiles, until } from './helpers.js';
import { withNodes } from './with-nodes.js';

const scrape = async (url: string, name: string) => (await metricSample(url, name)) ?? 0;

/**
 * Proof-of-storage on a real 7-node network (the economics issue): every node challenges random
 * holders; a holder whose shard files were deleted from its disk fails the challenges for them
 * (`trinity_pos_challenges_failed_total` rises on its challengers), the failed copy is rebuilt on
 * the node that held no shard of the stripe, and honest holders keep passing. The repair loop's own
 * rounds are a day apart here, so the re-placement is the failed proof's doing.
 */
describe('proof-of-storage on a real network', () => {
  const nodes = withNodes('trinity-pos-', 7, () => ({
    erasure: { shardBytes: 65_536 },
    pos: {
      enabled: true,
      intervalMs: 200,
      perHolderMinIntervalMs: 1_000,
      answersPerChallengerPerMinute: 120,
      // Seven nodes in one process on a shared machine: an honest answer can wait seconds for the
      // event loop. The deadline is not what this test is about (pos-service.test.ts is).
      deadlineMs: 20_000,
    },
    repair: { intervalMs: 86_400_000 },
    prometheus: { enabled: true, port: 0 },
  }));

  it('a holder that deleted its shards fails, the shard is re-placed, honest holders pass', async () => {
    const data = randomBytes(200_000);
    const id = await putObject(nodes[0]!.apiUrl, data, 'proved');
    const { manifest } = await nodes[0]!.objects.describe(id);
    expect(manifest.stripes).toHaveLength(1);
    const shards = manifest.stripes[0]!.shards;
    const holderOf = new Map(shards.map((shard) => [shard.holders[0]!.nodeId, shard.hash]));
    // The victim: a holder that is not the node the put went through.
    const victim = nodes.find((node) => node !== nodes[0] && holderOf.has(node.peerId))!;
    const spare = nodes.find((node) => !holderOf.has(node.peerId))!;
    expect(victim).toBeDefined();
    expect(spare).toBeDefined();
    const lostHash = holderOf.get(victim.peerId)!;

    // Honest holders pass first: every holder (each holds the descriptor, so it challenges the
    // others) sees its challenges pass. The spare holds no descriptor of the object: nothing to ask.
    const holders = nodes.filter((node) => holderOf.has(node.peerId));
    await until(
      'challenges to pass on every holder',
      async () => {
        const passed = await Promise.all(
          holders.map((node) => scrape(node.telemetry.url!, 'trinity_pos_challenges_passed_total')),
        );
        return passed.every((n) => n >= 1) ? true : undefined;
      },
      120_000,
    );
    const early = nodes.flatMap((node) =>
      (node.logger as MemoryLogger).records.filter((r) => r.message === 'proof-of-storage challenge failed'),
    );
    expect(early.map((r) => r.fields)).toEqual([]);
    expect(nodes.map((node) => node.pos.stats().failed)).toEqual(nodes.map(() => 0));

    // The victim throws the object's shard away behind its store's back.
    const files = await shardFiles(join(victim.config.dataDir, 'shards'));
    const target = files.filter((file) => basename(file) === lostHash);
    expect(target).toHaveLength(1);
    await unlink(target[0]!);
    const failedBefore = await Promise.all(
      nodes.map((node) => scrape(node.telemetry.url!, 'trinity_pos_challenges_failed_total')),
    );

    await until(
      'the spare node to hold the lost shard (re-placed after a failed proof)',
      async () => ((await spare.store.has(fromHex(lostHash))) ? true : undefined),
      180_000,
    );
    // The /metrics page is regenerated at most every 5 s: wait for the challengers' counters.
    await until(
      'trinity_pos_challenges_failed_total to rise on the challengers',
      async () => {
        const failedAfter = await Promise.all(
          nodes.map((node) => scrape(node.telemetry.url!, 'trinity_pos_challenges_failed_total')),
        );
        const rose = failedAfter.map((n, i) => n - failedBefore[i]!);
        return rose.some((n) => n > 0) ? true : undefined;
      },
      60_000,
    );
    // The counters count the network's results as each node knows them (economics events); the
    // challenges themselves are the challengers': the victim never challenges itself.
    expect(victim.pos.stats().failed).toBe(0);
    expect(nodes.filter((node) => node !== victim).some((node) => node.pos.stats().failed > 0)).toBe(true);

    // Every failure logged names the victim: the honest holders never failed.
    const failures = nodes.flatMap((node) =>
      (node.logger as MemoryLogger).records.filter((r) => r.message === 'proof-of-storage challenge failed'),
    );
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.map((f) => f.fields)).toEqual(
      failures.map(() => expect.objectContaining({ holder: victim.peerId, failure: 'not-held' })),
    );
    // The challenger that queued the repair logs it once the record with the new holder is out.
    await until(
      'a challenger to log the re-placement',
      async () =>
        nodes.some((node) =>
          (node.logger as MemoryLogger).records.some(
            (r) => r.message === 'shard re-placed after a failed proof-of-storage' && r.fields.id === id,
          ),
        )
          ? true
          : undefined,
      60_000,
    );
    // The repaired record names the new holder, and the object reads whole from every node.
    await until(
      'the record with the spare holder to reach the node the put went through',
      async () => {
        const { manifest: now } = await nodes[0]!.objects.describe(id);
        const shard = now.stripes[0]!.shards.find((s) => s.hash === lostHash)!;
        return shard.holders.some((h) => h.nodeId === spare.peerId) ? true : undefined;
      },
      60_000,
    );
    for (const node of nodes) expect(Buffer.from(await getObject(node.apiUrl, id)).equals(data)).toBe(true);
    expect(holders.every((node) => node.pos.stats().passed > 0)).toBe(true);
  }, 420_000);
});
