import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, SystemClock } from '../src/index.js';

describe('ManualClock', () => {
  it('fires timers in due order, ties in creation order, each at its due time', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.nowMs()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.nowMs()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.nowMs()}`), 20);
    const cancelled = clock.setTimeout(() => fired.push('x'), 5);
    clock.clearTimeout(cancelled);
    clock.advance(15);
    expect(fired).toEqual(['a@1010']);
    expect(clock.nowMs()).toBe(1015);
    clock.advance(100);
    expect(fired).toEqual(['a@1010', 'b@1020', 'c@1020']);
    expect(clock.nowMs()).toBe(1115);
  });

  it('fires timers set by timers within the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.nowMs());
      clock.setTimeout(() => fired.push(clock.nowMs()), 5);
    }, 5);
    clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it('fires any random schedule in sorted order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(1000), { maxLength: 50 }), (delays) => {
        const clock = new ManualClock();
        const fired: number[] = [];
        for (const delay of delays) clock.setTimeout(() => fired.push(clock.nowMs()), delay);
        expect(clock.runAll()).toBe(delays.length);
        expect(fired).toEqual([...delays].sort((a, b) => a - b));
      }),
    );
  });

  it('never goes backwards', () => {
    const clock = new ManualClock(10);
    expect(() => clock.set(5)).toThrow(RangeError);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});

describe('SystemClock', () => {
  it('reads wall time and runs timers', async () => {
    const clock = new SystemClock();
    expect(Math.abs(clock.nowMs() - Date.now())).toBeLessThan(1000);
    await new Promise<void>((resolve) => clock.setTimeout(resolve, 1));
  });
});
