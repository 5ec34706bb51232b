import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, KeyedLimiter, Semaphore } from '../src/p2p/peer-guard.js';

describe('CircuitBreaker', () => {
  const options = { failureThreshold: 3, baseBackoffMs: 1_000, maxBackoffMs: 8_000 };

  it('opens after the threshold, lets one probe through after the back-off, closes on success', () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 2; i++) breaker.onFailure('p', 0);
    expect(breaker.admit('p', 0)).toBe(0);
    breaker.onFailure('p', 0);
    expect(breaker.state('p', 0)).toBe('open');
    expect(breaker.admit('p', 500)).toBe(500);
    expect(breaker.admit('p', 1_000)).toBe(0); // the probe
    expect(breaker.admit('p', 1_001)).toBeGreaterThan(0); // only one probe at a time
    breaker.onSuccess('p');
    expect(breaker.state('p', 1_001)).toBe('closed');
    expect(breaker.admit('p', 1_001)).toBe(0);
  });

  it('doubles the back-off on every trip, up to the cap', () => {
    const breaker = new CircuitBreaker(options);
    let now = 0;
    const waits: number[] = [];
    for (let trip = 0; trip < 6; trip++) {
      for (let i = 0; i < 3; i++) breaker.onFailure('p', now);
      waits.push(breaker.admit('p', now));
      now += 10_000;
      breaker.admit('p', now); // probe slot
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  });

  it('keeps peers apart and forgets the least recent beyond its bound', () => {
    const breaker = new CircuitBreaker({ ...options, failureThreshold: 1, peersMax: 2 });
    breaker.onFailure('a', 0);
    breaker.onFailure('b', 0);
    breaker.onFailure('c', 0);
    expect(breaker.state('a', 0)).toBe('closed'); // evicted
    expect(breaker.state('b', 0)).toBe('open');
    expect(breaker.state('c', 0)).toBe('open');
  });
});

describe('Semaphore and KeyedLimiter', () => {
  it('never runs more than the limit at once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.nat(5), { minLength: 1, maxLength: 20 }),
        async (limit, delays) => {
          const semaphore = new Semaphore(limit);
          let active = 0;
          let peak = 0;
          await Promise.all(
            delays.map((delay) =>
              semaphore.run(async () => {
                active++;
                peak = Math.max(peak, active);
                await new Promise((resolve) => setTimeout(resolve, delay));
                active--;
              }),
            ),
          );
          expect(peak).toBeLessThanOrEqual(limit);
          expect(semaphore.active).toBe(0);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('rejects at once when the wait queue is full', async () => {
    const semaphore = new Semaphore(1, 1);
    await semaphore.acquire();
    const waiting = semaphore.acquire();
    await expect(semaphore.acquire()).rejects.toThrow(/too many requests waiting/);
    semaphore.release();
    await waiting;
    semaphore.release();
  });

  it('limits per key and drops idle keys', async () => {
    const limiter = new KeyedLimiter(1);
    const order: string[] = [];
    await Promise.all([
      limiter.run('a', async () => {
        order.push('a1');
        await new Promise((resolve) => setTimeout(resolve, 10));
        order.push('a1 done');
      }),
      limiter.run('a', async () => void order.push('a2')),
      limiter.run('b', async () => void order.push('b1')),
    ]);
    expect(order.indexOf('a2')).toBeGreaterThan(order.indexOf('a1 done'));
    expect(order.indexOf('b1')).toBeLessThan(order.indexOf('a1 done'));
  });
});
