import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, KeyedLimiter, Semaphore, WaitQueueFullError } from '../src/p2p/peer-guard.js';

describe('CircuitBreaker', () => {
  const options = { failureThreshold: 3, baseBackoffMs: 1_000, maxBackoffMs: 8_000 };

  it('opens after the threshold, lets one probe through after the back-off, closes on success', () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 2; i++) breaker.onFailure('p', 0);
    expect(breaker.admit('p', 0)).toEqual({ waitMs: 0, probe: false, trips: 0 });
    breaker.onFailure('p', 0);
    expect(breaker.state('p', 0)).toBe('open');
    expect(breaker.admit('p', 500).waitMs).toBe(500);
    expect(breaker.admit('p', 1_000)).toEqual({ waitMs: 0, probe: true, trips: 1 });
    expect(breaker.admit('p', 1_001).waitMs).toBeGreaterThan(0); // only one probe at a time
    breaker.onSuccess('p');
    expect(breaker.state('p', 1_001)).toBe('closed');
    expect(breaker.admit('p', 1_001).waitMs).toBe(0);
  });

  it('gives the probe slot back when the probe was never sent', () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 3; i++) breaker.onFailure('p', 0);
    const probe = breaker.admit('p', 1_000); // the probe, then given up before it started
    expect(probe.probe).toBe(true);
    breaker.onAbandoned('p', probe);
    expect(breaker.state('p', 1_000)).toBe('half-open');
    expect(breaker.admit('p', 1_000).waitMs).toBe(0); // another probe may go
    expect(breaker.admit('p', 1_000).waitMs).toBeGreaterThan(0);
  });

  it('keeps the probe when a request admitted before the breaker opened is abandoned', () => {
    const breaker = new CircuitBreaker(options);
    const early = breaker.admit('p', 0); // closed: admitted, then waits for a slot
    for (let i = 0; i < 3; i++) breaker.onFailure('p', 0);
    expect(breaker.admit('p', 1_000).probe).toBe(true); // half-open: the probe goes
    breaker.onAbandoned('p', early); // the early request's wait times out
    expect(breaker.admit('p', 1_000).waitMs).toBeGreaterThan(0); // still one probe at a time
  });

  it('does not open again on the failure of a request admitted before the last trip', () => {
    const breaker = new CircuitBreaker(options);
    const early = breaker.admit('p', 0); // in flight (or waiting for a slot) through the trip below
    for (let i = 0; i < 3; i++) breaker.onFailure('p', 0, breaker.admit('p', 0));
    expect(breaker.state('p', 0)).toBe('open');
    breaker.onFailure('p', 1_500, early); // fails after the back-off: already counted by the trip
    expect(breaker.state('p', 1_500)).toBe('half-open');
    const probe = breaker.admit('p', 1_500);
    expect(probe).toEqual({ waitMs: 0, probe: true, trips: 1 });
    breaker.onFailure('p', 1_600, probe); // the probe's own failure opens it again, for longer
    expect(breaker.admit('p', 1_600).waitMs).toBe(2_000);
  });

  it('does not count the failure of a request admitted before the last trip once the probe closed it', () => {
    const breaker = new CircuitBreaker(options);
    const early = breaker.admit('p', 0); // in flight (or waiting for a slot) through the trip below
    for (let i = 0; i < 3; i++) breaker.onFailure('p', 0, breaker.admit('p', 0));
    const probe = breaker.admit('p', 1_000);
    expect(probe.probe).toBe(true);
    breaker.onSuccess('p'); // the probe answered: closed
    breaker.onFailure('p', 1_100, early); // stale: the trip counted it
    expect(breaker.admit('p', 1_100)).toEqual({ waitMs: 0, probe: false, trips: 1 });
    // Two fresh failures are two of the three that open it, not the third.
    for (let i = 0; i < 2; i++) breaker.onFailure('p', 1_200, breaker.admit('p', 1_200));
    expect(breaker.state('p', 1_200)).toBe('closed');
    breaker.onFailure('p', 1_300, breaker.admit('p', 1_300));
    expect(breaker.state('p', 1_300)).toBe('open');
    expect(breaker.admit('p', 1_300).waitMs).toBe(1_000); // a new row: the back-off starts over
  });

  it('doubles the back-off on every trip, up to the cap', () => {
    const breaker = new CircuitBreaker(options);
    let now = 0;
    const waits: number[] = [];
    for (let trip = 0; trip < 6; trip++) {
      for (let i = 0; i < 3; i++) breaker.onFailure('p', now);
      waits.push(breaker.admit('p', now).waitMs);
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

/** Lets every pending grant and its continuations run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

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
    await expect(semaphore.acquire()).rejects.toBeInstanceOf(WaitQueueFullError);
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

  it('lets a waiter whose signal aborts leave the queue: it never runs, and the next one does', async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const gaveUp = new AbortController();
    const ran: string[] = [];
    const abandoned = semaphore.run(async () => void ran.push('abandoned'), { signal: gaveUp.signal });
    const next = semaphore.run(async () => void ran.push('next'));
    expect(semaphore.waiting).toBe(2);
    gaveUp.abort(new Error('caller gave up'));
    await expect(abandoned).rejects.toThrow(/caller gave up/);
    expect(semaphore.waiting).toBe(1);
    semaphore.release();
    await next;
    expect(ran).toEqual(['next']);
    expect(semaphore.active).toBe(0);
    // Aborted before it asked: refused at once, nothing held.
    await expect(semaphore.acquire({ signal: gaveUp.signal })).rejects.toThrow(/caller gave up/);
    expect(semaphore.active).toBe(0);
  });

  it('gives the slot back when its signal aborts between the grant and the task', async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const timeout = new AbortController();
    const ran: string[] = [];
    const waiting = semaphore.run(async () => void ran.push('late'), { signal: timeout.signal });
    semaphore.release(); // granted, but run has not resumed yet
    timeout.abort(new Error('timed out'));
    await expect(waiting).rejects.toThrow(/timed out/);
    expect(ran).toEqual([]);
    expect(semaphore.active).toBe(0);
  });

  it('lets a waiting bulk holder in as priority holders above the reserved share end', async () => {
    const semaphore = new Semaphore(3, 100, 1);
    for (let i = 0; i < 3; i++) await semaphore.acquire({ priority: true }); // no bulk waiting: all 3
    const order: string[] = [];
    const bulk = semaphore.acquire().then(() => order.push('bulk'));
    // Steady priority load: a priority waiter always queued when a slot frees.
    const priority = [0, 1, 2].map((i) =>
      semaphore.acquire({ priority: true }).then(() => order.push(`p${i}`)),
    );
    semaphore.release(true); // 2 priority holders, over the reserved 1: the slot goes to the bulk one
    await bulk;
    expect(order).toEqual(['bulk']);
    semaphore.release(true); // 1 priority holder, still the reserved share while nothing bulk waits
    await settled();
    expect(order).toEqual(['bulk', 'p0']);
    semaphore.release(); // the bulk holder ends: its slot goes to the next priority waiter
    await settled();
    expect(order).toEqual(['bulk', 'p0', 'p1']);
    for (let i = 0; i < 3; i++) semaphore.release(true);
    await Promise.all(priority);
    expect(order).toEqual(['bulk', 'p0', 'p1', 'p2']);
    semaphore.release(true);
    expect(semaphore.active).toBe(0);
  });

  it('grants a priority holder a reserved slot at once while bulk holders fill the rest and wait', async () => {
    const semaphore = new Semaphore(16, 100, 2);
    for (let i = 0; i < 14; i++) await semaphore.acquire();
    const bulk = semaphore.acquire(); // the 15th bulk one waits: 14 is the bulk share
    await settled();
    expect(semaphore.waiting).toBe(1);
    // Many small requests, one after another, while the bulk one waits: each goes in at once.
    for (let i = 0; i < 8; i++) {
      await semaphore.acquire({ priority: true });
      semaphore.release(true);
    }
    await semaphore.acquire({ priority: true });
    await semaphore.acquire({ priority: true });
    expect(semaphore.active).toBe(16);
    semaphore.release(); // a bulk holder ends: the waiting bulk one takes its slot
    await bulk;
    expect(semaphore.waiting).toBe(0);
    for (let i = 0; i < 14; i++) semaphore.release();
    semaphore.release(true);
    semaphore.release(true);
    expect(semaphore.active).toBe(0);
  });

  it('lets a priority holder in while bulk ones wait, even with no slot reserved', async () => {
    const semaphore = new Semaphore(2, 100, 0);
    await semaphore.acquire();
    await semaphore.acquire();
    const order: string[] = [];
    const bulk = semaphore.acquire().then(() => order.push('bulk'));
    const small = semaphore.acquire({ priority: true }).then(() => order.push('small'));
    semaphore.release();
    await small;
    expect(order).toEqual(['small']);
    semaphore.release();
    await bulk;
    expect(order).toEqual(['small', 'bulk']);
    semaphore.release(true);
    semaphore.release();
    expect(semaphore.active).toBe(0);
  });

  it('keeps its reserved slots for priority holders; beyond them a waiting bulk holder goes first', async () => {
    const semaphore = new Semaphore(3, 100, 1);
    await semaphore.acquire();
    await semaphore.acquire();
    const order: string[] = [];
    const bulk = semaphore.acquire().then(() => order.push('bulk'));
    await Promise.resolve();
    expect(semaphore.waiting).toBe(1); // two of three taken: the third is reserved
    await semaphore.acquire({ priority: true }); // the reserved slot, at once
    const urgent = semaphore.acquire({ priority: true }).then(() => order.push('urgent'));
    expect(semaphore.waiting).toBe(2);
    semaphore.release(); // 2 active, the priority share taken: the slot goes to the older bulk waiter
    await bulk;
    expect(order).toEqual(['bulk']);
    semaphore.release(true); // the reserved slot frees: the priority waiter takes it
    await urgent;
    expect(order).toEqual(['bulk', 'urgent']);
    expect(semaphore.active).toBe(3);
  });

  it('never runs more bulk holders than the unreserved slots, nor more in all than the limit (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.nat(3),
        fc.array(fc.tuple(fc.boolean(), fc.nat(3)), { minLength: 1, maxLength: 20 }),
        async (limit, reserveWish, holders) => {
          const reserved = Math.min(reserveWish, limit - 1);
          const semaphore = new Semaphore(limit, 100, reserved);
          let active = 0;
          let bulk = 0;
          await Promise.all(
            holders.map(([priority, delay]) =>
              semaphore.run(
                async () => {
                  active++;
                  if (!priority) bulk++;
                  expect(active).toBeLessThanOrEqual(limit);
                  expect(bulk).toBeLessThanOrEqual(limit - reserved);
                  for (let i = 0; i < delay; i++) await Promise.resolve();
                  active--;
                  if (!priority) bulk--;
                },
                { priority },
              ),
            ),
          );
          expect(semaphore.active).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });
});
