import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManualClock, MemoryMetrics, seededRandom, toHex } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { Scrubber, type ScrubReport, type ScrubTarget, ShardStore } from '../src/index.js';
import { tempDir } from './helpers.js';

const random = seededRandom(21);

/** Lets real I/O and promise callbacks run (the clock does not move meanwhile). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Advances the manual clock in steps until `promise` settles; returns its value. */
async function drive<T>(clock: ManualClock, promise: Promise<T>, stepMs: number): Promise<T> {
  let done = false;
  const result = promise.finally(() => {
    done = true;
  });
  for (let i = 0; i < 100_000 && !done; i++) {
    await settle();
    if (!done) clock.advance(stepMs);
  }
  return result;
}

describe('Scrubber', () => {
  it('finds a shard corrupted on disk, reports it and counts metrics', async () => {
    const dir = await tempDir();
    const store = await ShardStore.open(dir, { fsync: false });
    const hashes = [];
    for (let i = 0; i < 10; i++) hashes.push(await store.put(random.bytes(1000)));
    const victim = toHex(hashes[4]!);
    await writeFile(join(dir, 'shards', victim.slice(0, 2), victim.slice(2, 4), victim), random.bytes(1000));
    const clock = new ManualClock();
    const metrics = new MemoryMetrics();
    const found: string[] = [];
    const scrubber = new Scrubber(
      store,
      { bytesPerSecond: 1_000_000, burstBytes: 1_000_000 },
      { clock, metrics, onCorruption: (hash) => found.push(toHex(hash)) },
    );
    const report = await scrubber.runOnce();
    expect(found).toEqual([victim]);
    expect(report).toMatchObject({
      shardsChecked: 10,
      bytesChecked: 10_000,
      corrupt: [victim],
      corruptCount: 1,
      aborted: false,
    });
    expect(await store.has(hashes[4]!)).toBe(false);
    expect(metrics.value('trinity_scrub_rounds_total')).toBe(1);
    expect(metrics.value('trinity_scrub_corruptions_total')).toBe(1);
    expect(metrics.value('trinity_scrub_bytes_total')).toBe(10_000);
    await store.close();
  });

  it('never reads faster than the byte rate (ManualClock)', async () => {
    const sizes = Array.from({ length: 40 }, () => random.int(100, 1000));
    const clock = new ManualClock(1_000);
    const checkedAt: { atMs: number; bytes: number }[] = [];
    const target: ScrubTarget = {
      entries: () => sizes.map((size, i) => [toHex(new Uint8Array(32).fill(i)), size]),
      verify: async () => {
        checkedAt.push({ atMs: clock.nowMs(), bytes: 0 });
        return 'ok';
      },
    };
    const bytesPerSecond = 2000;
    const burstBytes = 1500;
    const scrubber = new Scrubber(target, { bytesPerSecond, burstBytes }, { clock });
    const report = await drive(clock, scrubber.runOnce(), 37);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(report.bytesChecked).toBe(total);
    // At every check, the bytes started so far fit in burst + rate × elapsed.
    let started = 0;
    for (const [i, { atMs }] of checkedAt.entries()) {
      started += sizes[i]!;
      expect(started).toBeLessThanOrEqual(burstBytes + (bytesPerSecond * (atMs - 1_000)) / 1000 + 1e-6);
    }
    // And the round cannot have taken less than (total - burst) / rate.
    expect(report.finishedAtMs - report.startedAtMs).toBeGreaterThanOrEqual(
      ((total - burstBytes) / bytesPerSecond) * 1000,
    );
  });

  it('runs rounds every intervalMs after start(), and stop() ends a round early', async () => {
    const clock = new ManualClock();
    const reports: ScrubReport[] = [];
    const target: ScrubTarget = {
      entries: () => Array.from({ length: 5 }, (_, i) => [toHex(new Uint8Array(32).fill(i)), 1000]),
      verify: async () => 'ok',
    };
    const scrubber = new Scrubber(
      target,
      { bytesPerSecond: 1000, burstBytes: 1000, intervalMs: 60_000 },
      { clock, onReport: (r) => reports.push(r) },
    );
    scrubber.start();
    clock.advance(0);
    for (let t = 0; t < 130_000; t += 500) {
      await settle();
      clock.advance(500);
    }
    await settle();
    // Each round takes 4 s (1000 B burst + 4 × 1 s); rounds start at 0, 64 s, 128 s.
    expect(reports.map((r) => r.startedAtMs)).toEqual([0, 64_000]);
    expect(reports.every((r) => r.shardsChecked === 5 && !r.aborted)).toBe(true);
    await scrubber.stop();
    expect(scrubber.running).toBe(false);
    expect(reports.at(-1)?.aborted).toBe(true); // the third round, cut short
    expect(reports).toHaveLength(3);
    clock.advance(1_000_000);
    await settle();
    expect(reports).toHaveLength(3);
  });
});
