import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EndedOutcomes } from '../src/ended-outcomes.js';

type Op =
  | { kind: 'add'; key: number; untilMs: number; aborted: boolean; logged: boolean }
  | { kind: 'expire'; nowMs: number };

const ops = (addTimes: fc.Arbitrary<number>) =>
  fc.array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('add' as const),
          key: fc.nat(30),
          untilMs: addTimes,
          aborted: fc.boolean(),
          logged: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), nowMs: fc.nat(1_000) }) },
    ),
    { maxLength: 400 },
  );

interface Model {
  outcome: 'committed' | 'aborted';
  coordinator: string;
  untilMs: number;
  logged: boolean;
}

/** Runs `list` on an EndedOutcomes and a map of the latest entry per id; checks after every step. */
function check(list: Op[], exact: boolean): void {
  // A small ring, so the operations wrap around it and grow it.
  const ended = new EndedOutcomes(4);
  const latest = new Map<string, Model>();
  let nowMs = 0;
  for (const op of list) {
    if (op.kind === 'add') {
      const txId = `tx${op.key}`;
      const entry: Model = {
        outcome: op.aborted ? 'aborted' : 'committed',
        coordinator: `c${op.key % 3}`,
        untilMs: op.untilMs,
        logged: op.logged,
      };
      ended.add(txId, entry.outcome, entry.coordinator, entry.untilMs, entry.logged);
      latest.set(txId, entry);
    } else {
      nowMs = Math.max(nowMs, op.nowMs);
      ended.expire(nowMs);
    }
    const seen = new Map<string, Model>();
    ended.forEach(({ txId, outcome, coordinator, retainUntilMs, logged }) => {
      expect(seen.has(txId)).toBe(false);
      seen.set(txId, { outcome, coordinator, untilMs: retainUntilMs, logged });
    });
    expect(ended.size).toBe(seen.size);
    for (const [txId, entry] of latest) {
      const index = ended.find(txId);
      // Never forgotten before its time; what is found is the latest entry.
      if (entry.untilMs > nowMs) expect(index).toBeGreaterThanOrEqual(0);
      // Right after `expire`, with times added in order: forgotten exactly when its time is up.
      if (exact && op.kind === 'expire') expect(index >= 0).toBe(entry.untilMs > nowMs);
      if (index < 0) {
        expect(seen.has(txId)).toBe(false);
        continue;
      }
      expect(ended.outcomeAt(index)).toBe(entry.outcome);
      expect(ended.coordinatorAt(index)).toBe(entry.coordinator);
      expect(seen.get(txId)).toEqual(entry);
    }
    for (const txId of seen.keys()) expect(latest.has(txId)).toBe(true);
  }
}

describe('EndedOutcomes', () => {
  it('keeps every entry until its time and answers with the latest one per id', () => {
    fc.assert(
      fc.property(ops(fc.nat(1_000)), (list) => check(list, false)),
      { numRuns: 300 },
    );
  });

  it('forgets exactly the expired entries when times are added in order, as a participant adds them', () => {
    fc.assert(
      fc.property(ops(fc.nat(1_000)), (list) => {
        // Times made non-decreasing in the order they are added.
        let last = 0;
        const ordered = list.map((op) => {
          if (op.kind !== 'add') return op;
          last = Math.max(last, op.untilMs);
          return { ...op, untilMs: last };
        });
        check(ordered, true);
      }),
      { numRuns: 300 },
    );
  });

  it('wraps around its ring and grows it without losing an entry', () => {
    // A ring of 8 slots: 5,000 entries added 1 ms apart, each kept 100 ms, wrap it many times and
    // make it grow (to 128) while entries are live; positions renumbered whenever they pass 1,000.
    const ended = new EndedOutcomes(8, 1_000);
    for (let t = 0; t < 5_000; t++) {
      ended.add(`tx${t}`, t % 2 === 0 ? 'committed' : 'aborted', `c${t % 3}`, t + 100, true);
      ended.expire(t);
      expect(ended.size).toBe(Math.min(t + 1, 100));
      const oldest = Math.max(0, t - 100);
      expect(ended.find(`tx${oldest}`) >= 0).toBe(oldest + 100 > t);
      const latest = ended.find(`tx${t}`);
      expect(ended.outcomeAt(latest)).toBe(t % 2 === 0 ? 'committed' : 'aborted');
      expect(ended.coordinatorAt(latest)).toBe(`c${t % 3}`);
    }
    expect(ended.nextExpiryMs()).toBe(4_900 + 100);
    let visited = 0;
    ended.forEach(({ txId, retainUntilMs }) => {
      expect(retainUntilMs).toBe(Number(txId.slice(2)) + 100);
      visited++;
    });
    expect(visited).toBe(100);
  });
});
