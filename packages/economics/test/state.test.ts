import { ConfigError, isTrinityError } from '@trinity/core';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  decodeEvent,
  EconomicsLimitError,
  EconomicsState,
  EventFormatError,
  EventFromFutureError,
  EventReplayError,
  EventSequenceError,
  EventSignatureError,
  economicsEventSchema,
  encodeEvent,
  eventToJson,
} from '../src/index.js';
import { signers, TestNet } from './helpers.js';

let [a, b, c] = signers(3, 9);
const genesis = {
  timeMs: 0,
  accounts: [a!, b!, c!].map((s) => ({ id: s.nodeId, balance: 1_000n, stake: 10n })),
};
// Each test signs with fresh signers (same keys, sequences from 1).
beforeEach(() => {
  [a, b, c] = signers(3, 9);
});

describe('EconomicsState.apply: refusals are typed and change nothing', () => {
  const fresh = () => new EconomicsState({ config: { genesis, settleDelayMs: 0 } });

  it('refuses a bad signature, a replay, a gap, a step back in time, and a future event', () => {
    const state = fresh();
    const signer = signers(1, 9)[0]!; // same key as `a`, its own sequence
    const e1 = signer.sign({ type: 'transfer', to: b!.nodeId, amount: 5n }, 100);
    const forged = { ...eventToJson(e1), amount: '500' };
    const hash = state.stateHash();
    expect(() => state.apply(economicsEventSchema.parse(forged), { nowMs: 100 })).toThrow(
      EventSignatureError,
    );
    expect(state.stateHash()).toBe(hash);
    expect(state.apply(e1, { nowMs: 100 }).outcome).toBe('applied');
    expect(() => state.apply(e1, { nowMs: 100 })).toThrow(EventReplayError);
    const e2 = signer.sign({ type: 'transfer', to: b!.nodeId, amount: 5n }, 50);
    const e3 = signer.sign({ type: 'transfer', to: b!.nodeId, amount: 5n }, 200);
    expect(() => state.apply(e3, { nowMs: 200 })).toThrow(EventSequenceError);
    expect(() => state.apply(e2, { nowMs: 200 })).toThrow(/earlier than the actor's previous/);
    const late = new EconomicsState({ config: { genesis, settleDelayMs: 0, clockSkewMaxMs: 1_000 } });
    const future = signers(1, 9)[0]!.sign({ type: 'withdraw' }, 5_000);
    expect(() => late.apply(future, { nowMs: 3_999 })).toThrow(EventFromFutureError);
    expect(late.apply(future, { nowMs: 4_000 }).outcome).toBe('pending'); // retried later: accepted
    late.advanceTo(5_000);
    expect(late.counters().eventsRejected).toBe(1); // nothing to withdraw
    expect(state.balanceOf(b!.nodeId)).toBe(1_005n);
  });

  it('applyBytes: a forged event of an actor already seen is refused, and the event handed back is the decoded one', () => {
    const state = fresh();
    const e1 = a!.sign({ type: 'transfer', to: b!.nodeId, amount: 5n }, 100);
    const applied = state.applyBytes(encodeEvent(e1).slice(), { nowMs: 100 });
    expect(applied.result.outcome).toBe('applied');
    expect(applied.event).toEqual(e1);
    expect(encodeEvent(applied.event)).toEqual(encodeEvent(e1));
    // The actor's prepared key is now cached: a flipped bit in the body or in the signature still fails.
    const e2 = encodeEvent(a!.sign({ type: 'transfer', to: b!.nodeId, amount: 6n }, 101));
    const hash = state.stateHash();
    for (const at of [60, e2.length - 1]) {
      const forged = e2.slice();
      forged[at]! ^= 1;
      expect(() => state.applyBytes(forged, { nowMs: 101 })).toThrow(EventSignatureError);
      expect(state.stateHash()).toBe(hash);
      expect(state.lastSeqOf(a!.nodeId)).toBe(1);
    }
    expect(state.applyBytes(e2, { nowMs: 101 }).result.outcome).toBe('applied');
  });

  it('refuses malformed objects with EventFormatError', () => {
    const state = fresh();
    const e = a!.sign({ type: 'stake', amount: 1n }, 1);
    expect(() => state.apply({ ...e, amount: -1n } as typeof e, { nowMs: 1 })).toThrow(EventFormatError);
    expect(() => state.apply({ ...e, type: 'mint' } as unknown as typeof e, { nowMs: 1 })).toThrow(
      EventFormatError,
    );
    expect(state.eventCount).toBe(0);
  });

  it('bounds the events held', () => {
    const state = new EconomicsState({ config: { genesis, settleDelayMs: 0, eventsMax: 1 } });
    const [x] = signers(1, 44);
    state.apply(x!.sign({ type: 'withdraw' }, 1), { nowMs: 1 });
    expect(() => state.apply(x!.sign({ type: 'withdraw' }, 2), { nowMs: 2 })).toThrow(EconomicsLimitError);
  });

  it('rejects bad config with one line per field', () => {
    let error: unknown;
    try {
      new EconomicsState({ config: { quorumMin: 0, reputationPosWeightBps: 9_000 } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/quorumMin/);
    expect(isTrinityError(error, 'CONFIG_INVALID')).toBe(true);
  });
});

describe('ordering', () => {
  it('the settle buffer applies events in canonical order once the clock is past them', () => {
    const state = new EconomicsState({ config: { genesis, settleDelayMs: 1_000 } });
    // b's transfer to c is stamped after a's transfer to b, but arrives first.
    const fund = a!.sign({ type: 'transfer', to: b!.nodeId, amount: 1_000n }, 10_000);
    const spend = b!.sign({ type: 'transfer', to: c!.nodeId, amount: 1_500n }, 10_001);
    expect(state.apply(spend, { nowMs: 10_050 }).outcome).toBe('pending');
    expect(state.apply(fund, { nowMs: 10_080 }).outcome).toBe('pending');
    expect(state.pendingCount).toBe(2);
    state.advanceTo(11_001);
    expect(state.pendingCount).toBe(0);
    expect(state.balanceOf(c!.nodeId)).toBe(2_500n);
  });

  it('an event later than the settle delay is inserted and the rest re-executed to the same state', () => {
    const build = (order: 'in' | 'late') => {
      const state = new EconomicsState({ config: { genesis, settleDelayMs: 0, snapshotIntervalEvents: 16 } });
      const [x, y] = signers(2, 9);
      const fund = x!.sign({ type: 'transfer', to: y!.nodeId, amount: 1_000n }, 100);
      const spends = Array.from({ length: 40 }, (_, i) =>
        y!.sign({ type: 'transfer', to: c!.nodeId, amount: 40n }, 101 + i),
      );
      const results = [];
      if (order === 'in') state.apply(fund, { nowMs: 1_000 });
      for (const s of spends) results.push(state.apply(s, { nowMs: 1_000 }));
      if (order === 'late') results.push(state.apply(fund, { nowMs: 1_000 }));
      return { state, results };
    };
    const inOrder = build('in');
    const late = build('late');
    expect(late.results.slice(0, 40).filter((r) => r.outcome === 'rejected').length).toBeGreaterThan(0);
    expect(late.results[40]!.reexecuted).toBe(40);
    expect(late.state.stateHash()).toBe(inOrder.state.stateHash());
    expect(late.state.balanceOf(c!.nodeId)).toBe(1_000n + 1_600n);
  });

  it('late events in a row share one re-execution, run when the state is next read', () => {
    const state = new EconomicsState({ config: { genesis, settleDelayMs: 0, snapshotIntervalEvents: 16 } });
    const [x, y, z] = signers(3, 9); // the genesis accounts a, b, c: 1,000 each
    const spends = Array.from({ length: 40 }, (_, i) =>
      y!.sign({ type: 'transfer', to: z!.nodeId, amount: 100n }, 101 + i),
    );
    for (const s of spends) state.apply(s, { nowMs: 1_000 });
    expect(state.balanceOf(z!.nodeId)).toBe(2_000n); // 10 of the 40 spends
    // Two late transfers to y (the second sorts first), then a late one beyond what x holds.
    const fundX = state.apply(x!.sign({ type: 'transfer', to: y!.nodeId, amount: 600n }, 100), {
      nowMs: 1_000,
    });
    const fundZ = state.apply(z!.sign({ type: 'transfer', to: y!.nodeId, amount: 400n }, 99), {
      nowMs: 1_000,
    });
    const over = state.apply(x!.sign({ type: 'transfer', to: y!.nodeId, amount: 10n ** 6n }, 120), {
      nowMs: 1_000,
    });
    // Read after all three: one re-execution from genesis over the 43 events.
    expect([fundX.outcome, fundZ.outcome, over.outcome]).toEqual(['applied', 'applied', 'rejected']);
    expect(over.rejection).toBe('INSUFFICIENT_BALANCE');
    expect([fundX.reexecuted, fundZ.reexecuted, over.reexecuted]).toEqual([42, 42, 42]);
    expect({ ...over }).toEqual({ outcome: 'rejected', rejection: 'INSUFFICIENT_BALANCE', reexecuted: 42 });
    expect(JSON.parse(JSON.stringify(fundX))).toEqual({ outcome: 'applied', reexecuted: 42 });
    expect(state.balanceOf(z!.nodeId)).toBe(1_000n - 400n + 2_000n); // 20 spends now
    const canonical = EconomicsState.replay({ config: { genesis } }, state.events()).state;
    expect(state.stateHash()).toBe(canonical.stateHash());
    // The state was read: the next late event re-executes on its own (from a snapshot: fewer events).
    const late = state.apply(z!.sign({ type: 'transfer', to: y!.nodeId, amount: 1n }, 130), { nowMs: 1_000 });
    expect(late.outcome).toBe('applied');
    expect(late.reexecuted).toBeLessThan(42);
  });

  it('nextTimeMs stamps after every event seen (hybrid logical clock)', () => {
    const state = new EconomicsState({ config: { genesis, settleDelayMs: 0 } });
    expect(state.nextTimeMs(500)).toBe(500);
    state.apply(a!.sign({ type: 'withdraw' }, 900), { nowMs: 900 });
    expect(state.nextTimeMs(500)).toBe(901);
    expect(state.nextTimeMs(2_000)).toBe(2_000);
  });
});

describe('persistence, anti-entropy and queries for the daemon', () => {
  it('replays persisted bytes in any order to the same state, skipping what breaks the sequence', () => {
    const net = new TestNet(4);
    for (let i = 0; i < 30; i++)
      net.ok(i % 4, { type: 'transfer', to: net.id((i + 1) % 4), amount: BigInt(i + 1) });
    const persisted = net.state.events().map((e) => encodeEvent(e));
    const shuffled = persisted.slice().reverse();
    const config = { ...net.state.config };
    const { state, skipped } = EconomicsState.replay({ config }, [...shuffled, persisted[3]!]);
    expect(skipped).toHaveLength(1);
    expect(isTrinityError(skipped[0]!.error, 'EVENT_REPLAYED')).toBe(true);
    expect(state.stateHash()).toBe(net.state.stateHash());
    expect(state.lastSeqOf(net.id(0))).toBe(net.state.lastSeqOf(net.id(0)));
  });

  it('heads and eventBytesOf let a peer catch up', () => {
    const net = new TestNet(2);
    for (let i = 0; i < 5; i++) net.ok(0, { type: 'stake', amount: 1n });
    const behind = new EconomicsState({ config: { ...net.state.config } });
    const missing = net.state.eventBytesOf(net.id(0), behind.lastSeqOf(net.id(0)));
    expect(missing).toHaveLength(5);
    for (const bytes of missing) behind.applyBytes(bytes, { nowMs: net.nowMs + 10_000 });
    behind.flush();
    expect(behind.heads()).toEqual(net.state.heads());
    expect(behind.stateHash()).toBe(net.state.stateHash());
    expect(net.state.eventBytesOf(net.id(0), 3, 1).map((x) => decodeEvent(x).seq)).toEqual([4]);
  });

  it('nodeSummary is JSON-safe', () => {
    const net = new TestNet(3);
    net.ok(1, { type: 'delegate', operator: net.id(0), amount: 5n });
    const summary = net.state.nodeSummary(net.id(0));
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
    expect(summary).toMatchObject({
      stake: '100000',
      delegatedToMe: '5',
      bonded: '100005',
      isOperator: true,
    });
  });
});

describe('config', () => {
  it('takes a genesis from JSON: amounts as numbers or decimal strings', () => {
    const [x, y] = signers(2, 77);
    const json = JSON.parse(
      `{"genesis":{"timeMs":5,"rewardPool":"1000000000000000000000","accounts":[{"id":"${x!.nodeId}","balance":1000,"stake":"250"},{"id":"${y!.nodeId}"}]}}`,
    );
    const state = new EconomicsState({ config: json });
    expect(state.balanceOf(x!.nodeId)).toBe(1_000n);
    expect(state.stakeOf(x!.nodeId).self).toBe(250n);
    expect(state.totals().supply).toBe(10n ** 21n + 1_250n);
    expect(
      () => new EconomicsState({ config: { genesis: { accounts: [{ id: x!.nodeId, balance: -1 }] } } }),
    ).toThrow(ConfigError);
    expect(
      () =>
        new EconomicsState({
          config: { genesis: { accounts: [{ id: x!.nodeId, balance: (1n << 96n) - 1n }], rewardPool: 1n } },
        }),
    ).toThrow(/total supply/);
  });
});
