import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareEvents, SettleQueue } from '../src/event-heap.js';
import type { EconomicsEvent } from '../src/events.js';

const key = (timeMs: number, actor: number, seq: number) =>
  ({ timeMs, actor: actor.toString(16).padStart(64, '0'), seq }) as EconomicsEvent;

describe('SettleQueue (the settle buffer)', () => {
  it('releases in canonical order whatever the arrival order, pushes and pops interleaved (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.tuple(fc.nat(3_000), fc.nat(5), fc.integer({ min: 1, max: 5 })),
            fc.constant('pop' as const),
          ),
          { maxLength: 3_000 },
        ),
        (ops) => {
          const queue = new SettleQueue();
          const model: EconomicsEvent[] = [];
          const seen = new Set<string>();
          for (const op of ops) {
            if (op === 'pop') {
              model.sort(compareEvents);
              expect(queue.pop()).toBe(model.shift());
            } else {
              const id = op.join('/');
              if (seen.has(id)) continue; // (time, actor, seq) is unique among accepted events
              seen.add(id);
              const e = key(...op);
              queue.push(e);
              model.push(e);
            }
            expect(queue.size).toBe(model.length);
            expect(queue.headTimeMs).toBe(Math.min(...model.map((e) => e.timeMs)));
          }
          model.sort(compareEvents);
          for (const e of model) {
            expect(queue.peek()).toBe(e);
            expect(queue.pop()).toBe(e);
          }
          expect(queue.pop()).toBeUndefined();
          expect(queue.size).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stays correct across compaction of released slots (nearly sorted arrivals, long run)', () => {
    const queue = new SettleQueue();
    let t = 0;
    let released = -1;
    for (let i = 0; i < 20_000; i++) {
      t += i % 3;
      queue.push(key(t + ((i * 7919) % 200), i % 97, i + 1)); // up to 200 ms out of order
      while (queue.size > 1_500) {
        const e = queue.pop()!;
        expect(e.timeMs).toBeGreaterThanOrEqual(released);
        expect(queue.headTimeMs).toBe(queue.peek()!.timeMs);
        released = e.timeMs;
      }
    }
  });
});
