import { randomSeed, seededRandom } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import { compareEndangerment, RepairQueue, type RepairTask } from '../src/index.js';

function task(id: string, margin: number, bytes: number, rebuild = 1): RepairTask {
  return {
    id,
    objectId: 'o'.repeat(64),
    manifestVersion: 1,
    stripeIndex: Number(id.replace(/\D/g, '') || 0),
    erasure: { dataShards: 4, parityShards: 2, shardBytes: 1 },
    dataBytes: 4,
    healthy: 4 + margin,
    margin,
    sources: [],
    spares: [],
    rebuild: Array.from({ length: rebuild }, (_, i) => ({
      shardIndex: i,
      hash: '0'.repeat(64),
      target: { nodeId: 'n', region: 'r' },
    })),
    bytes,
  };
}

describe('RepairQueue', () => {
  it('hands out the most endangered first, within the concurrency limit', () => {
    const queue = new RepairQueue({ maxConcurrentStripes: 2, bytesPerSecond: 1e9, burstBytes: 1e9 }, 0);
    queue.enqueue([task('t1', 2, 10), task('t2', 0, 10), task('t3', 1, 10), task('t4', 0, 10, 2)]);
    expect(queue.queuedIds()).toEqual(['t4', 't2', 't3', 't1']);
    expect(queue.next(0)?.id).toBe('t4');
    expect(queue.next(0)?.id).toBe('t2');
    expect(queue.next(0)).toBeUndefined(); // two running
    expect(queue.nextReadyMs(0)).toBeUndefined();
    queue.complete('t4', 1);
    expect(queue.next(1)?.id).toBe('t3');
    expect(queue.stats()).toMatchObject({ queued: 1, running: 2, completed: 1 });
  });

  it('keeps to the byte rate: a task starts only when the bucket has its bytes', () => {
    const queue = new RepairQueue({ maxConcurrentStripes: 100, bytesPerSecond: 1000, burstBytes: 1000 }, 0);
    queue.enqueue([task('a', 0, 600), task('b', 0, 600), task('c', 0, 600)]);
    expect(queue.next(0)?.id).toBe('a');
    expect(queue.next(0)).toBeUndefined();
    expect(queue.nextReadyMs(0)).toBe(200);
    expect(queue.next(199)).toBeUndefined();
    expect(queue.next(200)?.id).toBe('b');
    expect(queue.nextReadyMs(200)).toBe(600);
    expect(queue.next(800)?.id).toBe('c');
  });

  it('a task bigger than the burst starts once the bucket is full, and the debt is paid after', () => {
    const queue = new RepairQueue({ bytesPerSecond: 1000, burstBytes: 1000 }, 0);
    queue.enqueue([task('big', 0, 5000), task('small', 0, 100)]);
    expect(queue.next(0)?.id).toBe('big');
    expect(queue.nextReadyMs(0)).toBe(4100);
    expect(queue.next(4099)).toBeUndefined();
    expect(queue.next(4100)?.id).toBe('small');
  });

  it('retries a failed task up to maxAttempts, then gives it up', () => {
    const queue = new RepairQueue({ maxAttempts: 2, bytesPerSecond: 1e9, burstBytes: 1e9 }, 0);
    queue.enqueue([task('x', 0, 1)]);
    expect(queue.next(0)?.id).toBe('x');
    expect(queue.fail('x', 1)).toBe('retry');
    expect(queue.next(1)?.id).toBe('x');
    expect(queue.fail('x', 2)).toBe('given-up');
    expect(queue.next(2)).toBeUndefined();
    expect(queue.stats().givenUp).toBe(1);
    expect(() => queue.complete('x', 3)).toThrow(/not running/);
  });

  it('replaces a queued task by a newer plan, skips running ones, drops the least endangered when full', () => {
    const queue = new RepairQueue({ maxQueuedTasks: 2, bytesPerSecond: 1e9, burstBytes: 1e9 }, 0);
    queue.enqueue([task('a', 2, 1)]);
    queue.enqueue([task('a', 0, 1)]);
    expect(queue.queuedIds()).toEqual(['a']);
    expect(queue.next(0)?.id).toBe('a');
    expect(queue.enqueue([task('a', 0, 1)]).skipped).toEqual(['a']);
    const result = queue.enqueue([task('b', 3, 1), task('c', 1, 1), task('d', 2, 1)]);
    expect(result.dropped).toEqual(['b']);
    expect(queue.queuedIds()).toEqual(['c', 'd']);
  });

  it('seeded fuzz: limits always hold and every hand-out is the most endangered queued task', () => {
    const seed = randomSeed();
    const random = seededRandom(seed);
    const rate = 5000;
    const burst = 4000;
    const max = 3;
    const queue = new RepairQueue({ maxConcurrentStripes: max, bytesPerSecond: rate, burstBytes: burst }, 0);
    const queued = new Map<string, RepairTask>();
    const running = new Set<string>();
    let nowMs = 0;
    let startedBytes = 0;
    try {
      for (let step = 0; step < 3000; step++) {
        nowMs += random.int(0, 50);
        const roll = random.nextFloat();
        if (roll < 0.3) {
          const t = task(`t${random.int(0, 200)}`, random.int(0, 4), random.int(1, burst));
          if (!running.has(t.id)) queued.set(t.id, t);
          queue.enqueue([t]);
        } else if (roll < 0.7) {
          const t = queue.next(nowMs);
          if (t === undefined) continue;
          const best = [...queued.values()].sort(compareEndangerment)[0]!;
          expect(t.margin).toBe(best.margin);
          queued.delete(t.id);
          running.add(t.id);
          startedBytes += t.bytes;
          expect(running.size).toBeLessThanOrEqual(max);
          expect(startedBytes).toBeLessThanOrEqual(burst + (rate * nowMs) / 1000 + 1e-6);
        } else if (running.size > 0) {
          const id = random.pick([...running]);
          running.delete(id);
          queue.complete(id, nowMs);
        }
      }
    } catch (error) {
      throw new Error(`RepairQueue fuzz failed with seed ${seed}: ${String(error)}`, { cause: error });
    }
  });
});
