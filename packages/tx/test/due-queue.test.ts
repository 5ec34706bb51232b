import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue, type Scheduled } from '../src/due-queue.js';

interface Item extends Scheduled {
  readonly key: string;
}

type Op =
  | { kind: 'set'; key: number; dueMs: number }
  | { kind: 'delete'; key: number }
  | { kind: 'pop'; nowMs: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('set' as const), key: fc.nat(20), dueMs: fc.nat(1_000) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pop' as const), nowMs: fc.nat(1_000) }) },
);

describe('DueQueue', () => {
  it('pops every key due, earliest first, as a plain map of times does', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const queue = new DueQueue<Item>();
        const model = new Map<string, number>();
        const items = new Map<string, Item>();
        const item = (key: number): Item => {
          let found = items.get(String(key));
          if (found === undefined)
            items.set(String(key), (found = { key: String(key), dueEntry: undefined }));
          return found;
        };
        for (const o of ops) {
          if (o.kind === 'set') {
            queue.set(item(o.key), o.dueMs);
            model.set(String(o.key), o.dueMs);
          } else if (o.kind === 'delete') {
            queue.delete(item(o.key));
            model.delete(String(o.key));
          } else {
            const popped = queue.popDue(o.nowMs).map((i) => i.key);
            const expected = [...model].filter(([, due]) => due <= o.nowMs);
            expect(new Set(popped)).toEqual(new Set(expected.map(([key]) => key)));
            const times = popped.map((key) => model.get(key)!);
            expect(times).toEqual([...times].sort((a, b) => a - b));
            for (const key of popped) model.delete(key);
          }
          expect(queue.size).toBe(model.size);
          const earliest = model.size === 0 ? undefined : Math.min(...model.values());
          expect(queue.peekMs()).toBe(earliest);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('drops stale entries when they pile up (an item moved earlier many times)', () => {
    const queue = new DueQueue<Item>();
    const a: Item = { key: 'a', dueEntry: undefined };
    const b: Item = { key: 'b', dueEntry: undefined };
    queue.set(b, 5_000);
    // Each earlier time queues a new entry: far past the rebuild threshold (4 × size + 64).
    for (let t = 2_000; t > 1_000; t--) queue.set(a, t);
    expect(queue.size).toBe(2);
    expect(queue.peekMs()).toBe(1_001);
    queue.delete(a);
    expect(queue.popDue(4_999)).toEqual([]);
    expect(queue.popDue(5_000)).toEqual([b]);
    expect(queue.size).toBe(0);
    expect(queue.peekMs()).toBeUndefined();
  });
});
