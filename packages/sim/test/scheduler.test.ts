import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Scheduler, SimLimitError, SimRandom, TraceHash } from '../src/index.js';

/** A little random workload: each event schedules 0-2 more at random delays, until `events` ran. */
function workload(seed: number, events = 5_000): { hash: string; order: number[] } {
  const random = new SimRandom(seed);
  const scheduler = new Scheduler();
  const order: number[] = [];
  let next = 0;
  const kind = scheduler.register('work', (target) => {
    order.push(target);
    if (next >= events) return;
    const children = random.int(0, 2);
    for (let i = 0; i < children && next < events; i++)
      scheduler.after(random.int(0, 3) + random.float(), kind, next++, random.nextUint32());
  });
  for (let i = 0; i < 8; i++) scheduler.at(random.int(0, 10), kind, next++, 0);
  expect(scheduler.run()).toBe('idle');
  return { hash: scheduler.traceHash, order };
}

describe('Scheduler', () => {
  it('runs events in time order, ties in scheduling order', () => {
    const scheduler = new Scheduler();
    const ran: string[] = [];
    const kind = scheduler.register('mark', (target) => ran.push(`${scheduler.nowMs}:${target}`));
    scheduler.at(5, kind, 1);
    scheduler.at(2, kind, 2);
    scheduler.at(5, kind, 3);
    scheduler.at(0, kind, 4);
    scheduler.at(2, kind, 5);
    expect(scheduler.run()).toBe('idle');
    expect(ran).toEqual(['0:4', '2:2', '2:5', '5:1', '5:3']);
    expect(scheduler.events).toBe(5);
  });

  it('pops in (time, seq) order for any schedule (property, against a sort)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 300 }), (times) => {
        const scheduler = new Scheduler();
        const ran: number[] = [];
        const kind = scheduler.register('x', (target) => ran.push(target));
        for (const [i, t] of times.entries()) scheduler.at(t, kind, i);
        scheduler.run();
        const expected = times.map((t, i) => ({ t, i })).sort((a, b) => a.t - b.t || a.i - b.i);
        expect(ran).toEqual(expected.map((e) => e.i));
      }),
      { numRuns: 100 },
    );
  });

  it('same seed, same trace hash and order; different seeds differ', () => {
    const a = workload(1);
    expect(workload(1)).toEqual(a);
    const hashes = new Set([a.hash, workload(2).hash, workload(3).hash, workload(4).hash]);
    expect(hashes.size).toBe(4);
  });

  it('stops at untilMs with time moved there, and resumes', () => {
    const scheduler = new Scheduler();
    const kind = scheduler.register('x', () => {});
    scheduler.at(10, kind, 0);
    scheduler.at(30, kind, 0);
    expect(scheduler.run(20)).toBe('time-limit');
    expect(scheduler.nowMs).toBe(20);
    expect(scheduler.pending).toBe(1);
    expect(scheduler.run()).toBe('idle');
    expect(scheduler.nowMs).toBe(30);
  });

  it('cancel: a cancelled event never runs, is not counted or traced, and does not hold the run past a time limit', () => {
    const run = (cancel: boolean) => {
      const scheduler = new Scheduler();
      const ran: number[] = [];
      const kind = scheduler.register('x', (target) => ran.push(target));
      scheduler.at(1, kind, 1);
      const late = scheduler.at(50, kind, 2);
      const early = scheduler.at(5, kind, 3);
      scheduler.at(5, kind, 4);
      if (cancel) {
        scheduler.cancel(late);
        scheduler.cancel(early);
      }
      return { scheduler, ran, end: scheduler.run(20) };
    };
    const cancelled = run(true);
    expect(cancelled.ran).toEqual([1, 4]);
    expect(cancelled.scheduler.events).toBe(2);
    // The cancelled event at 50 ms is gone: the run ends idle, not at the time limit.
    expect(cancelled.end).toBe('idle');
    expect(cancelled.scheduler.pending).toBe(0);
    const all = run(false);
    expect(all.ran).toEqual([1, 3, 4]);
    expect(all.end).toBe('time-limit');
    expect(cancelled.scheduler.traceHash).not.toBe(all.scheduler.traceHash);
    // Same trace as a scheduler that never had the cancelled events.
    const plain = new Scheduler();
    const kind = plain.register('x', () => {});
    plain.at(1, kind, 1);
    plain.at(5, kind, 4);
    plain.run();
    expect(cancelled.scheduler.traceHash).toBe(plain.traceHash);
  });

  it('cancel: refuses a handle never given, and forgets handles of events already run', () => {
    const scheduler = new Scheduler();
    const kind = scheduler.register('x', () => {});
    expect(() => scheduler.cancel(0)).toThrow(RangeError);
    const handles: number[] = [];
    for (let i = 0; i < 10; i++) handles.push(scheduler.at(i, kind, i));
    scheduler.run();
    // Cancelling what already ran (a caller's mistake) leaves no lasting state: pending stays right.
    for (const handle of handles) scheduler.cancel(handle);
    const next = scheduler.after(1, kind, 0);
    expect(scheduler.pending).toBe(1);
    expect(scheduler.run()).toBe('idle');
    expect(scheduler.events).toBe(11);
    expect(() => scheduler.cancel(-1)).toThrow(RangeError);
    expect(next).toBeGreaterThan(handles[9]!);
  });

  it('refuses an event in the past and ends at its event limit', () => {
    const scheduler = new Scheduler({ eventsMax: 100 });
    const kind = scheduler.register('loop', () => scheduler.after(1, kind, 0));
    scheduler.at(0, kind, 0);
    expect(scheduler.run()).toBe('event-limit');
    expect(scheduler.events).toBe(100);
    expect(() => scheduler.at(1, kind, 0)).toThrow(RangeError);
  });

  it('throws SimLimitError past its queue bound', () => {
    const scheduler = new Scheduler({ queuedMax: 3 });
    const kind = scheduler.register('x', () => {});
    for (let i = 0; i < 3; i++) scheduler.at(i, kind, 0);
    expect(() => scheduler.at(4, kind, 0)).toThrow(SimLimitError);
  });
});

describe('TraceHash', () => {
  it('depends on every word and on their order', () => {
    const of = (words: number[]) => {
      const h = new TraceHash();
      for (const w of words) h.addWord(w);
      return h.hex();
    };
    expect(of([1, 2, 3])).toMatch(/^[0-9a-f]{16}$/);
    expect(of([1, 2, 3])).toBe(of([1, 2, 3]));
    expect(of([1, 2, 3])).not.toBe(of([3, 2, 1]));
    expect(of([1, 2, 3])).not.toBe(of([1, 2, 3, 0]));
    expect(of([])).not.toBe(of([0]));
  });

  it('has no collisions over 100,000 single-bit-different inputs', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const h = new TraceHash();
      h.addInt(1_000 + (i >> 5));
      h.addWord(1 << (i & 31));
      seen.add(h.hex());
    }
    expect(seen.size).toBe(100_000);
  });
});
