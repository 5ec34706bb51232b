import { describe, expect, it } from 'vitest';
import { formatSummary, runChaos } from '../chaos/run.js';

/**
 * A short seeded chaos run (the lifecycle issue): 45 s of puts, gets and deletes against six node
 * processes while one node at a time is killed -9 and restarted or paused and resumed (and, as root,
 * one or two nodes are partitioned from the rest or their link slowed, in network namespaces); the history
 * checker must find nothing. TRINITY_CHAOS_SEED replays another seed; the long run is
 * `pnpm --filter @trinity/node chaos -- --minutes 30 --seed S`.
 */
const seed = Number(process.env.TRINITY_CHAOS_SEED ?? 20261204);

describe('chaos', () => {
  it(`seed ${seed}: no acknowledged object lost, nothing deleted readable, no leak`, async () => {
    console.log(`chaos seed ${seed}`);
    const summary = await runChaos({ seed, durationMs: 45_000 });
    console.log(
      formatSummary(
        summary,
        `TRINITY_CHAOS_SEED=${seed} pnpm --filter @trinity/node exec vitest run test/chaos.test.ts`,
      ),
    );
    expect(summary.violations).toEqual([]);
    // The run did what it says: faults were injected, objects stored, read and deleted.
    expect(summary.faults['kill -9']! + summary.faults.pause!).toBeGreaterThan(0);
    // As root on Linux the nodes run in network namespaces; otherwise the run names why not.
    if (process.getuid?.() === 0) {
      expect(summary.skipped).toEqual([]);
      expect(summary.faults.partition).toBeGreaterThan(0);
    } else expect(summary.skipped.join()).toMatch(/partitions/);
    expect(summary.objects.stored).toBeGreaterThan(0);
    expect(summary.counts['get ok']).toBeGreaterThan(0);
  }, 600_000);
});
