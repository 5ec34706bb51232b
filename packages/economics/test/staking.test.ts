import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitProRata } from '../src/index.js';
import { DAY, HOUR, TestNet } from './helpers.js';

describe('staking, delegation, unbonding', () => {
  it('stake, unstake with an unbonding period, withdraw once it has passed', () => {
    const net = new TestNet(2, { config: { unbondingMs: 7 * DAY } });
    net.ok(0, { type: 'stake', amount: 50_000n });
    expect(net.state.stakeOf(net.id(0)).self).toBe(150_000n);
    expect(net.state.balanceOf(net.id(0))).toBe(950_000n);
    net.ok(0, { type: 'unstake', amount: 30_000n });
    expect(net.state.stakeOf(net.id(0)).self).toBe(120_000n);
    expect(net.state.nodeSummary(net.id(0)).unbonding).toEqual([
      { amount: '30000', releaseAtMs: net.nowMs + 7 * DAY },
    ]);
    expect(net.emit(0, { type: 'withdraw' }).rejection).toBe('NOTHING_TO_WITHDRAW');
    net.advance(7 * DAY);
    net.ok(0, { type: 'withdraw' });
    expect(net.state.balanceOf(net.id(0))).toBe(980_000n);
    expect(net.state.nodeSummary(net.id(0)).unbonding).toEqual([]);
  });

  it('refuses what the balance or stake does not cover, and changes nothing', () => {
    const net = new TestNet(2);
    const before = net.state.stateHash();
    expect(net.emit(0, { type: 'transfer', to: net.id(1), amount: 1_000_001n }).rejection).toBe(
      'INSUFFICIENT_BALANCE',
    );
    expect(net.emit(0, { type: 'stake', amount: 1_000_001n }).rejection).toBe('INSUFFICIENT_BALANCE');
    expect(net.emit(0, { type: 'unstake', amount: 100_001n }).rejection).toBe('INSUFFICIENT_STAKE');
    expect(net.emit(0, { type: 'undelegate', operator: net.id(1), amount: 1n }).rejection).toBe(
      'INSUFFICIENT_DELEGATION',
    );
    expect(net.emit(0, { type: 'delegate', operator: net.id(0), amount: 1n }).rejection).toBe(
      'SELF_DELEGATION',
    );
    expect(net.emit(0, { type: 'set-commission', commissionBps: 5_001 }).rejection).toBe(
      'COMMISSION_TOO_HIGH',
    );
    const counters = net.state.counters();
    expect(counters.eventsRejected).toBe(6);
    // Only the rejection counter moved.
    expect(net.state.balanceOf(net.id(0))).toBe(1_000_000n);
    expect(net.state.stateHash()).not.toBe(before);
  });

  it('delegates only to operators; undelegation unbonds', () => {
    const net = new TestNet(3);
    net.ok(1, { type: 'unstake', amount: 100_000n });
    expect(net.emit(0, { type: 'delegate', operator: net.id(1), amount: 10n }).rejection).toBe(
      'NOT_AN_OPERATOR',
    );
    net.ok(0, { type: 'delegate', operator: net.id(2), amount: 40_000n });
    expect(net.state.stakeOf(net.id(2))).toEqual({ self: 100_000n, delegated: 40_000n, bonded: 140_000n });
    net.ok(0, { type: 'undelegate', operator: net.id(2), amount: 15_000n });
    expect(net.state.delegationsOf(net.id(0)).get(net.id(2))).toBe(25_000n);
    expect(net.state.nodeSummary(net.id(2)).delegatedToMe).toBe('25000');
  });

  it('bounds unbonding entries per account', () => {
    const net = new TestNet(1, { config: { unbondingEntriesMax: 2 } });
    net.ok(0, { type: 'unstake', amount: 1n });
    net.ok(0, { type: 'unstake', amount: 1n });
    expect(net.emit(0, { type: 'unstake', amount: 1n }).rejection).toBe('UNBONDING_LIMIT');
  });
});

describe('rewards per epoch', () => {
  it('pays operators by bonded stake × reputation, commission first, delegators pro rata, dust stays in the pool', () => {
    const net = new TestNet(3, {
      stake: 0n,
      config: {
        epochMs: HOUR,
        rewardPerEpoch: 1_000_001n,
        commissionBps: 1_000,
        genesis: { rewardPool: 10_000_000n },
      },
    });
    net.ok(0, { type: 'stake', amount: 30_000n });
    net.ok(1, { type: 'delegate', operator: net.id(0), amount: 70_001n });
    const pool = net.state.totals().rewardPool;
    const balances = () => [0, 1, 2].map((i) => net.state.balanceOf(net.id(i)));
    const before = balances();
    net.advance(HOUR);
    const after = balances();
    const paid = after.reduce((s, b, i) => s + b - before[i]!, 0n);
    expect(net.state.totals().rewardPool).toBe(pool - paid);
    // One operator takes the whole epoch: commission 100,000; 900,001 split 30,000 : 70,001.
    const commission = 100_000n;
    const rest = 900_001n;
    const toDelegator = (rest * 70_001n) / 100_001n;
    const toOperator = commission + (rest * 30_000n) / 100_001n;
    expect(after[1]! - before[1]!).toBe(toDelegator);
    expect(after[0]! - before[0]!).toBe(toOperator);
    expect(paid).toBeLessThanOrEqual(1_000_001n);
    expect(1_000_001n - paid).toBeLessThan(3n);
    expect(net.state.accountedSupply()).toBe(net.state.totals().supply);
  });

  it('never pays more than the pool holds, and stops when it is empty', () => {
    const net = new TestNet(2, {
      config: { epochMs: HOUR, rewardPerEpoch: 700n, genesis: { rewardPool: 1_000n } },
    });
    net.advance(3 * HOUR);
    expect(net.state.totals().rewardPool).toBeLessThan(2n);
    expect(net.state.accountedSupply()).toBe(net.state.totals().supply);
  });

  it('a more reputable operator earns more for the same stake', () => {
    const net = new TestNet(3, { config: { epochMs: HOUR, genesis: { rewardPool: 10_000_000n } } });
    for (let i = 0; i < 20; i++) {
      net.ok(2, { type: 'pos-result', holder: net.id(0), shard: '0'.repeat(64), passed: true });
      net.ok(2, { type: 'pos-result', holder: net.id(1), shard: '0'.repeat(64), passed: false });
    }
    net.advance(HOUR);
    expect(net.state.balanceOf(net.id(0))).toBeGreaterThan(net.state.balanceOf(net.id(1)));
  });
});

describe('pro-rata split', () => {
  it('is exact and never exceeds a part', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 30n }), { minLength: 1, maxLength: 30 }),
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        (parts, raw) => {
          const total = parts.reduce((s, p) => s + p, 0n);
          const amount = total === 0n ? 0n : raw % (total + 1n);
          const shares = splitProRata(amount, parts);
          expect(shares.reduce((s, x) => s + x, 0n)).toBe(amount);
          shares.forEach((share, i) => {
            expect(share >= 0n && share <= parts[i]!).toBe(true);
            // Within one unit of the exact proportion.
            const exact = total === 0n ? 0n : (amount * parts[i]!) / total;
            expect(share - exact >= 0n && share - exact <= 1n).toBe(true);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
