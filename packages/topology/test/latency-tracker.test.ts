import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyTracker } from '../src/index.js';

describe('LatencyTracker', () => {
  it('starts at the first sample and moves by alpha (RFC 6298 gain 1/8)', () => {
    const tracker = new LatencyTracker();
    expect(tracker.observe('a', 80, 0)).toBe(80);
    expect(tracker.observe('a', 160, 1_000)).toBe(90);
    expect(tracker.latencyMs('a')).toBe(90);
    expect(tracker.stats('a')).toMatchObject({ minMs: 80, samples: 2, lastObservedMs: 1_000 });
  });

  it('converges to a steady RTT and stays between the extremes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1_000, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (rtts) => {
          const tracker = new LatencyTracker({ alpha: 0.3 });
          for (const [i, rtt] of rtts.entries()) tracker.observe('p', rtt, i);
          const ema = tracker.latencyMs('p')!;
          expect(ema).toBeGreaterThanOrEqual(Math.min(...rtts) - 1e-9);
          expect(ema).toBeLessThanOrEqual(Math.max(...rtts) + 1e-9);
        },
      ),
    );
    const tracker = new LatencyTracker();
    for (let i = 0; i < 200; i++) tracker.observe('p', 42, i);
    expect(tracker.latencyMs('p')).toBeCloseTo(42, 9);
  });

  it('rejects bogus samples and samples older than the last one', () => {
    const tracker = new LatencyTracker({ maxRttMs: 1_000 });
    expect(tracker.observe('a', -1, 0)).toBeUndefined();
    expect(tracker.observe('a', Number.NaN, 0)).toBeUndefined();
    expect(tracker.observe('a', 5_000, 0)).toBeUndefined();
    expect(tracker.size).toBe(0);
    tracker.observe('a', 10, 100);
    expect(tracker.observe('a', 20, 50)).toBeUndefined();
    expect(() => tracker.observe('', 10, 0)).toThrow(RangeError);
  });

  it('forgets the least recently observed peer beyond maxPeers', () => {
    const tracker = new LatencyTracker({ maxPeers: 2 });
    tracker.observe('a', 1, 0);
    tracker.observe('b', 1, 1);
    tracker.observe('a', 1, 2);
    tracker.observe('c', 1, 3);
    expect(tracker.size).toBe(2);
    expect(tracker.latencyMs('b')).toBeUndefined();
    expect(tracker.latencyMs('a')).toBe(1);
  });

  it('reads stale peers as unknown and prunes them', () => {
    const tracker = new LatencyTracker({ staleAfterMs: 1_000 });
    tracker.observe('old', 10, 0);
    tracker.observe('new', 10, 5_000);
    expect(tracker.latencyMs('old', 5_000)).toBeUndefined();
    expect(tracker.latencyMs('old')).toBe(10);
    expect([...tracker.snapshot(5_000).keys()]).toEqual(['new']);
    expect(tracker.prune(5_000)).toBe(1);
    expect(tracker.size).toBe(1);
  });

  it('prunes every stale peer when samples of different peers arrive out of time order', () => {
    const dropped: string[] = [];
    const tracker = new LatencyTracker({ staleAfterMs: 1_000 }, { onDrop: (id) => dropped.push(id) });
    tracker.observe('fresh', 10, 5_000);
    tracker.observe('stale', 10, 100);
    expect(tracker.prune(5_500)).toBe(1);
    expect(tracker.latencyMs('stale')).toBeUndefined();
    expect(tracker.forget('fresh')).toBe(true);
    expect(tracker.forget('fresh')).toBe(false);
    expect(dropped).toEqual(['stale', 'fresh']);
  });
});
