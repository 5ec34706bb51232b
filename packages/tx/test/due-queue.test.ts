import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DueQueue } from '../src/due-queue.js';

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
        const queue = new DueQueue();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            queue.set(String(o.key), o.dueMs);
            model.set(String(o.key), o.dueMs);
          } else if (o.kind === 'delete') {
            queue.delete(String(o.key));
            model.delete(String(o.key));
          } else {
            const popped = queue.popDue(o.nowMs);
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
});
