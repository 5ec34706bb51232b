import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrphanSweep } from '../src/index.js';

const hooks = (over: Partial<Parameters<OrphanSweep['due']>[2]> = {}) => ({
  known: () => false,
  committing: () => false,
  renewedAtMs: () => undefined,
  ...over,
});

describe('OrphanSweep', () => {
  it('drops a transaction unknown to the engine ttl after it was first seen, not before', () => {
    const sweep = new OrphanSweep(1_000);
    expect(sweep.due(['t1'], 5_000, hooks())).toEqual([]);
    expect(sweep.due(['t1'], 5_999, hooks())).toEqual([]);
    expect(sweep.due(['t1'], 6_000, hooks())).toEqual(['t1']);
    expect(sweep.watching).toBe(0);
  });

  it('keeps what the engine knows, what is committing, and what its coordinator keeps renewing', () => {
    const sweep = new OrphanSweep(1_000);
    const known = new Set(['live']);
    let renewed = 0;
    const h = hooks({
      known: (tx) => known.has(tx),
      committing: (tx) => tx === 'committing',
      renewedAtMs: (tx) => (tx === 'slow' ? renewed : undefined),
    });
    sweep.due(['live', 'committing', 'slow'], 0, h);
    for (let t = 500; t <= 10_000; t += 500) {
      renewed = t - 100; // a slow upload that still makes progress
      expect(sweep.due(['live', 'committing', 'slow'], t, h)).toEqual([]);
    }
    // The coordinator died: the lease lapses ttl after its last renewal.
    expect(sweep.due(['slow'], 10_899, h)).toEqual([]);
    expect(sweep.due(['slow'], 10_900, h)).toEqual(['slow']);
  });

  it('forgets a transaction that left staging, so a later one of the same id starts a fresh lease', () => {
    const sweep = new OrphanSweep(1_000);
    sweep.due(['t1'], 0, hooks());
    sweep.due([], 500, hooks());
    expect(sweep.due(['t1'], 1_200, hooks())).toEqual([]);
    expect(sweep.due(['t1'], 2_200, hooks())).toEqual(['t1']);
  });

  it('never drops within ttl of the later of first sight and last renewal (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(fc.record({ step: fc.integer({ min: 0, max: 3_000 }), renew: fc.boolean() }), {
          maxLength: 40,
        }),
        (ttl, steps) => {
          const sweep = new OrphanSweep(ttl);
          let now = 0;
          let renewed: number | undefined;
          let firstSeen: number | undefined;
          for (const { step, renew } of steps) {
            now += step;
            if (renew) renewed = now;
            firstSeen ??= now;
            const due = sweep.due(['t'], now, hooks({ renewedAtMs: () => renewed }));
            const leaseFrom = Math.max(firstSeen, renewed ?? firstSeen);
            expect(due.length === 1).toBe(now - leaseFrom >= ttl);
            if (due.length === 1) firstSeen = undefined; // aborted: gone from the sweep
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
