import { isTrinityError, seededRandom } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import {
  Coordinator,
  type TxEffect,
  TxLimitError,
  TxNotFoundError,
  TxStateError,
  TxStats,
} from '../src/index.js';
import { ofKind, sends, shardOf } from './helpers.js';

function coordinator(config = {}) {
  return new Coordinator({ nodeId: 'coord', config, random: seededRandom(1) });
}

/** Begins a transaction over `n` shards on nodes n0..n(n-1), prepared at time 0. */
function prepared(c: Coordinator, n: number, txId = 'tx1') {
  c.beginTransaction(0, txId);
  for (let i = 0; i < n; i++) c.addParticipant(txId, shardOf(`${txId}/${i}`), `n${i}`);
  return c.prepare(txId, 0);
}

/** Feeds `logged` for every append among `effects` (as a host does once they are durable). */
function durable(c: Coordinator, effects: readonly TxEffect[], nowMs = 1) {
  return ofKind(effects, 'append').flatMap((e) => c.logged(e.record, nowMs));
}

describe('Coordinator (seed API)', () => {
  it('all-commit commits: decision logged first, then commit sent to every participant', () => {
    const c = coordinator();
    const prepares = sends(prepared(c, 3));
    expect(prepares.map((s) => [s.to, s.message.type])).toEqual([
      ['n0', 'prepare'],
      ['n1', 'prepare'],
      ['n2', 'prepare'],
    ]);
    expect(c.recordVote('tx1', shardOf('tx1/0'), 'commit', 1)).toEqual([]);
    expect(c.recordVote('tx1', shardOf('tx1/1'), 'commit', 1)).toEqual([]);
    const last = c.recordVote('tx1', shardOf('tx1/2'), 'commit', 1);
    // Nothing is sent before the decision is durable.
    expect(sends(last)).toEqual([]);
    expect(ofKind(last, 'append')[0]?.record).toMatchObject({ type: 'coord-commit', txId: 'tx1' });
    expect(c.status('tx1')?.state).toBe('committing');
    const after = durable(c, last);
    expect(ofKind(after, 'decided')).toEqual([{ kind: 'decided', txId: 'tx1', outcome: 'committed' }]);
    expect(sends(after).map((s) => [s.to, s.message.type])).toEqual([
      ['n0', 'commit'],
      ['n1', 'commit'],
      ['n2', 'commit'],
    ]);
    const acks = ['n0', 'n1', 'n2'].flatMap((n) => c.handle({ type: 'ack', txId: 'tx1', from: n }, 2));
    expect(ofKind(acks, 'finished')).toEqual([{ kind: 'finished', txId: 'tx1', outcome: 'committed' }]);
    expect(ofKind(acks, 'append')[0]?.record).toEqual({ type: 'coord-end', txId: 'tx1' });
    expect(c.activeCount).toBe(0);
  });

  it('one abort aborts: every participant is told, nothing is logged', () => {
    const c = coordinator();
    prepared(c, 3);
    c.recordVote('tx1', shardOf('tx1/0'), 'commit', 1);
    const effects = c.recordVote('tx1', shardOf('tx1/1'), 'abort', 1);
    expect(ofKind(effects, 'append')).toEqual([]);
    expect(sends(effects).map((s) => [s.to, s.message.type])).toEqual([
      ['n0', 'abort'],
      ['n1', 'abort'],
      ['n2', 'abort'],
    ]);
    expect(ofKind(effects, 'decided')[0]).toMatchObject({ outcome: 'aborted' });
    expect(c.status('tx1')).toBeUndefined();
  });

  it('the 256-transaction limit returns TxLimitError', () => {
    const c = coordinator();
    for (let i = 0; i < 256; i++) c.beginTransaction(0);
    const error = (() => {
      try {
        c.beginTransaction(0);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TxLimitError);
    expect(isTrinityError(error, 'TX_LIMIT')).toBe(true);
    expect(c.activeCount).toBe(256);
  });

  it('the 64-shard limit returns TxLimitError, and both limits are configurable and validated', () => {
    const c = coordinator();
    c.beginTransaction(0, 'big');
    for (let i = 0; i < 64; i++) c.addParticipant('big', shardOf(`s${i}`), 'n0');
    expect(() => c.addParticipant('big', shardOf('s64'), 'n0')).toThrow(TxLimitError);
    const small = coordinator({ maxConcurrentTransactions: 2, maxShardsPerTransaction: 1 });
    small.beginTransaction(0, 'a');
    small.beginTransaction(0, 'b');
    expect(() => small.beginTransaction(0, 'c')).toThrow(TxLimitError);
    small.addParticipant('a', shardOf('x'), 'n0');
    expect(() => small.addParticipant('a', shardOf('y'), 'n0')).toThrow(TxLimitError);
    expect(() => coordinator({ maxShardsPerTransaction: 65 })).toThrow(/maxShardsPerTransaction/);
    expect(() => coordinator({ maxConcurrentTransactions: 0 })).toThrow(/maxConcurrentTransactions/);
  });

  it('counts only undecided transactions against the limit; ones awaiting acks have their own bound', () => {
    const c = coordinator({ maxConcurrentTransactions: 1, maxAwaitingAcks: 2 });
    const commit = (txId: string) => {
      durable(
        c,
        prepared(c, 1, txId).length > 0 ? c.recordVote(txId, shardOf(`${txId}/0`), 'commit', 1) : [],
      );
    };
    commit('a');
    expect(c.status('a')?.state).toBe('committed');
    expect(c.undecidedCount).toBe(0);
    c.beginTransaction(2, 'b'); // the slot of 'a' is free although n0 has not acknowledged it
    expect(() => c.beginTransaction(2, 'c')).toThrow(TxLimitError);
    c.addParticipant('b', shardOf('b/0'), 'n0');
    c.prepare('b', 2);
    durable(c, c.recordVote('b', shardOf('b/0'), 'commit', 3));
    expect(() => c.beginTransaction(4, 'c')).toThrow(/await acknowledgements/);
    c.handle({ type: 'ack', txId: 'a', from: 'n0' }, 5);
    c.handle({ type: 'ack', txId: 'b', from: 'n0' }, 5);
    expect(c.beginTransaction(6, 'c')).toBe('c');
  });

  it('backs off commit resends to a participant that does not answer', () => {
    const c = coordinator({ commitRetryIntervalMs: 100, commitRetryMaxIntervalMs: 500 });
    prepared(c, 1);
    durable(c, c.recordVote('tx1', shardOf('tx1/0'), 'commit', 0), 0);
    const resends: number[] = [];
    for (let t = 0; t <= 3_000; t += 10) if (sends(c.tick(t)).length > 0) resends.push(t);
    expect(resends.slice(0, 6)).toEqual([100, 300, 700, 1_200, 1_700, 2_200]);
  });

  it('aborts when the prepare deadline passes, and resends prepare to silent participants before that', () => {
    const c = coordinator({ prepareTimeoutMs: 1_000, commitRetryIntervalMs: 300 });
    prepared(c, 2);
    c.handle({ type: 'vote', txId: 'tx1', from: 'n0', vote: 'commit', shards: [shardOf('tx1/0')] }, 10);
    expect(c.nextWakeMs()).toBe(300);
    const resent = sends(c.tick(300));
    expect(resent.map((s) => [s.to, s.message.type])).toEqual([['n1', 'prepare']]);
    const timedOut = c.tick(1_000);
    expect(ofKind(timedOut, 'decided')[0]).toMatchObject({ outcome: 'aborted', reason: 'prepare timed out' });
    expect(c.activeCount).toBe(0);
  });

  it('resends commit until every participant acknowledges it', () => {
    const c = coordinator({ commitRetryIntervalMs: 100 });
    prepared(c, 2);
    const votes = ['n0', 'n1'].flatMap((n, i) =>
      c.handle({ type: 'vote', txId: 'tx1', from: n, vote: 'commit', shards: [shardOf(`tx1/${i}`)] }, 1),
    );
    durable(c, votes, 5);
    c.handle({ type: 'ack', txId: 'tx1', from: 'n0' }, 6);
    expect(sends(c.tick(105)).map((s) => [s.to, s.message.type])).toEqual([['n1', 'commit']]);
  });

  it('answers status queries: commit once decided, pending before, abort when it knows nothing', () => {
    const c = coordinator();
    prepared(c, 1);
    const reply = (txId: string) =>
      sends(c.handle({ type: 'status-query', txId, from: 'n0' }, 1))[0]?.message;
    expect(reply('tx1')).toMatchObject({ type: 'status-reply', outcome: 'pending' });
    expect(reply('unknown')).toMatchObject({ type: 'status-reply', outcome: 'abort' });
    const vote = c.handle(
      { type: 'vote', txId: 'tx1', from: 'n0', vote: 'commit', shards: [shardOf('tx1/0')] },
      1,
    );
    expect(reply('tx1')).toMatchObject({ outcome: 'pending' });
    durable(c, vote);
    expect(reply('tx1')).toMatchObject({ outcome: 'commit' });
  });

  it('presumed abort: a commit vote for an unknown transaction is answered abort', () => {
    const c = coordinator();
    const effects = c.handle(
      { type: 'vote', txId: 'ghost', from: 'n3', vote: 'commit', shards: [shardOf('g')] },
      1,
    );
    expect(sends(effects)).toEqual([
      { to: 'n3', message: { type: 'abort', txId: 'ghost', coordinator: 'coord' } },
    ]);
  });

  it('ignores votes for shards a node does not hold, and a late abort after the decision', () => {
    const c = coordinator();
    prepared(c, 2);
    expect(
      c.handle({ type: 'vote', txId: 'tx1', from: 'n1', vote: 'abort', shards: [shardOf('tx1/0')] }, 1),
    ).toEqual([]);
    expect(c.status('tx1')?.state).toBe('preparing');
    c.handle({ type: 'vote', txId: 'tx1', from: 'n0', vote: 'commit', shards: [shardOf('tx1/0')] }, 1);
    c.handle({ type: 'vote', txId: 'tx1', from: 'n1', vote: 'commit', shards: [shardOf('tx1/1')] }, 1);
    expect(
      c.handle({ type: 'vote', txId: 'tx1', from: 'n1', vote: 'abort', shards: [shardOf('tx1/1')] }, 2),
    ).toEqual([]);
    expect(c.status('tx1')?.state).toBe('committing');
  });

  it('recovers: a logged decision without its end is resent; an ended one is forgotten', () => {
    const c = coordinator();
    const participants = [{ node: 'n0', shards: [shardOf('a')] }];
    const effects = c.recover(
      [
        { type: 'coord-commit', txId: 'open', participants },
        { type: 'coord-commit', txId: 'done', participants },
        { type: 'coord-end', txId: 'done' },
      ],
      50,
    );
    expect(sends(effects)).toEqual([
      { to: 'n0', message: { type: 'commit', txId: 'open', coordinator: 'coord' } },
    ]);
    expect(c.liveRecords()).toEqual([{ type: 'coord-commit', txId: 'open', participants }]);
    expect(ofKind(c.handle({ type: 'ack', txId: 'open', from: 'n0' }, 60), 'finished')).toHaveLength(1);
  });

  it('rejects misuse with typed errors', () => {
    const c = coordinator();
    expect(() => c.prepare('nope', 0)).toThrow(TxNotFoundError);
    c.beginTransaction(0, 'tx1');
    expect(() => c.beginTransaction(0, 'tx1')).toThrow(TxStateError);
    expect(() => c.prepare('tx1', 0)).toThrow(TxStateError);
    expect(() => c.addParticipant('tx1', 'not-hex', 'n0')).toThrow(RangeError);
    expect(() => c.addParticipant('tx1', shardOf('a'), 'has space')).toThrow(RangeError);
    expect(() => c.beginTransaction(0, 'x'.repeat(65))).toThrow(RangeError);
    c.addParticipant('tx1', shardOf('a'), 'n0');
    expect(() => c.addParticipant('tx1', shardOf('a'), 'n1')).toThrow(TxStateError);
    c.prepare('tx1', 0);
    expect(() => c.addParticipant('tx1', shardOf('b'), 'n0')).toThrow(TxStateError);
    expect(() => c.recordVote('tx1', shardOf('zzz'), 'commit', 0)).toThrow(TxStateError);
    expect(() => new Coordinator({ nodeId: 'c' }).beginTransaction(0)).toThrow(TypeError);
  });

  it('keeps the seed stats: 40 committed and 10 aborted transactions of 6 shards', () => {
    const stats = new TxStats();
    const c = new Coordinator({ nodeId: 'coord', stats });
    for (let t = 0; t < 50; t++) {
      const txId = `t${t}`;
      c.beginTransaction(t * 10, txId);
      for (let i = 0; i < 6; i++) c.addParticipant(txId, shardOf(`${txId}/${i}`), `n${i}`);
      c.prepare(txId, t * 10);
      let effects: TxEffect[] = [];
      for (let i = 0; i < 6; i++) {
        const vote = t >= 40 && i === 5 ? 'abort' : 'commit';
        effects = c.recordVote(txId, shardOf(`${txId}/${i}`), vote, t * 10 + 4);
      }
      if (t < 40) {
        durable(c, effects, t * 10 + 5);
        for (let i = 0; i < 6; i++) c.handle({ type: 'ack', txId, from: `n${i}` }, t * 10 + 6);
      }
    }
    expect(stats.snapshot()).toMatchObject({
      total: 50,
      committed: 40,
      aborted: 10,
      participants: 300,
      votes: 300,
      commitAcks: 240,
      active: 0,
    });
    expect(stats.averageDurationMs).toBeCloseTo((40 * 5 + 10 * 4) / 50);
  });
});
