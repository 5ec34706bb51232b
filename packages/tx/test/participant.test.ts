import { ShardLockManager } from '@trinity/vsa';
import { describe, expect, it } from 'vitest';
import { Participant, type PrepareMessage, type ShardLocks, type TxEffect } from '../src/index.js';
import { ofKind, sends, shardOf } from './helpers.js';

const A = shardOf('a');
const B = shardOf('b');

function setup(config = {}) {
  const locks = new ShardLockManager({ lockTimeoutMs: 1_000 });
  const participant = new Participant({ nodeId: 'p1', locks, config: { lockRenewMarginMs: 200, ...config } });
  return { locks, participant };
}

const prepare = (txId: string, shards: string[], deadlineMs = 5_000): PrepareMessage => ({
  type: 'prepare',
  txId,
  coordinator: 'coord',
  deadlineMs,
  shards: shards.map((shard) => ({ shard, ref: `ref-${shard.slice(0, 6)}` })),
});

/** Runs prepare → staged → prepared durable; returns the effects of the last step. */
function prepareFully(p: Participant, txId: string, shards: string[], nowMs = 10) {
  const staging = p.handle(prepare(txId, shards), nowMs);
  expect(ofKind(staging, 'stage')).toHaveLength(1);
  const logging = p.staged(txId, true, nowMs + 1);
  const record = ofKind(logging, 'append')[0]!.record;
  expect(record).toMatchObject({ type: 'part-prepared', txId, coordinator: 'coord', shards });
  return p.logged(record, nowMs + 2);
}

function durable(p: Participant, effects: readonly TxEffect[], nowMs: number) {
  return ofKind(effects, 'append').flatMap((e) => p.logged(e.record, nowMs));
}

describe('Participant', () => {
  it('locks, stages, logs, and votes commit only once the prepared record is durable', () => {
    const { locks, participant: p } = setup();
    const staging = p.handle(prepare('tx1', [A, B]), 10);
    expect(sends(staging)).toEqual([]);
    expect(ofKind(staging, 'stage')[0]).toEqual({
      kind: 'stage',
      txId: 'tx1',
      shards: [
        { shardHash: A, ref: `ref-${A.slice(0, 6)}` },
        { shardHash: B, ref: `ref-${B.slice(0, 6)}` },
      ],
    });
    expect(locks.activeCount(10)).toBe(2);
    const logging = p.staged('tx1', true, 11);
    expect(sends(logging)).toEqual([]);
    const voted = durable(p, logging, 12);
    expect(sends(voted)).toEqual([
      { to: 'coord', message: { type: 'vote', txId: 'tx1', from: 'p1', vote: 'commit', shards: [A, B] } },
    ]);
    expect(p.inDoubt()).toEqual(['tx1']);
  });

  it('applies a commit, logs its end, and only once that is durable releases its locks and acknowledges', () => {
    const { locks, participant: p } = setup();
    prepareFully(p, 'tx1', [A]);
    const applying = p.handle({ type: 'commit', txId: 'tx1', coordinator: 'coord' }, 20);
    expect(sends(applying)).toEqual([]);
    expect(ofKind(applying, 'append')).toEqual([]);
    const commit = ofKind(applying, 'commitStaged')[0]!;
    expect(commit.shards[0]!.fencingToken).toBe(locks.latestFencingToken(Buffer.from(A, 'hex')));
    expect(p.state('tx1')).toBe('applying');
    // A duplicate commit while applying: nothing new (the ack follows the end record).
    expect(p.handle({ type: 'commit', txId: 'tx1', coordinator: 'coord' }, 21)).toEqual([]);
    const ending = p.applied('tx1', 22);
    expect(sends(ending)).toEqual([]);
    expect(ofKind(ending, 'append')[0]?.record).toMatchObject({ type: 'part-end', outcome: 'committed' });
    expect(p.state('tx1')).toBe('ending');
    expect(locks.activeCount(22)).toBe(1);
    // A checkpoint taken before the end is durable keeps it.
    expect(p.liveRecords().map((r) => r.type)).toEqual(['part-prepared', 'part-end']);
    const done = durable(p, ending, 23);
    expect(sends(done)).toEqual([{ to: 'coord', message: { type: 'ack', txId: 'tx1', from: 'p1' } }]);
    expect(locks.activeCount(23)).toBe(0);
    expect(p.state('tx1')).toBe('committed');
    // A duplicate commit (the ack was lost) is acknowledged again.
    expect(sends(p.handle({ type: 'commit', txId: 'tx1', coordinator: 'coord' }, 24))[0]?.message.type).toBe(
      'ack',
    );
  });

  it('retries a failed apply, holding its locks, and does not acknowledge before its end is durable', () => {
    const { locks, participant: p } = setup({ commitRetryIntervalMs: 100 });
    prepareFully(p, 'tx1', [A]);
    p.handle({ type: 'commit', txId: 'tx1', coordinator: 'coord' }, 20);
    // The host failed to apply (it says nothing): the commit is retried, the locks kept.
    const retried = p.tick(120);
    expect(ofKind(retried, 'commitStaged')).toHaveLength(1);
    expect(sends(retried)).toEqual([]);
    expect(locks.activeCount(120)).toBe(1);
    const ending = p.applied('tx1', 130);
    // Until the end record is durable, nothing is retried and nothing acknowledged.
    for (let t = 200; t < 2_000; t += 100) {
      expect(ofKind(p.tick(t), 'commitStaged')).toEqual([]);
      expect(sends(p.tick(t))).toEqual([]);
    }
    expect(locks.verify(Buffer.from(A, 'hex'), lockHolderFor('tx1'), 2_000)).toBe(true);
    expect(sends(durable(p, ending, 2_001))[0]?.message.type).toBe('ack');
  });

  it('votes abort when a shard is locked by another transaction, holding nothing', () => {
    const { locks, participant: p } = setup();
    prepareFully(p, 'tx1', [A]);
    const effects = p.handle(prepare('tx2', [B, A]), 30);
    expect(ofKind(effects, 'stage')).toEqual([]);
    const vote = sends(effects)[0]!.message;
    expect(vote).toMatchObject({ type: 'vote', txId: 'tx2', vote: 'abort' });
    expect((vote as { reason: string }).reason).toContain('ALREADY_LOCKED');
    expect(locks.activeCount(30)).toBe(1);
    expect(p.state('tx2')).toBe('aborted');
  });

  it('aborts on the coordinator word: drops staged data, releases locks, logs the end', () => {
    const { locks, participant: p } = setup();
    prepareFully(p, 'tx1', [A]);
    const effects = p.handle({ type: 'abort', txId: 'tx1', coordinator: 'coord' }, 40);
    expect(ofKind(effects, 'abortStaged')).toEqual([{ kind: 'abortStaged', txId: 'tx1', shardHashes: [A] }]);
    expect(ofKind(effects, 'append')[0]?.record).toMatchObject({ type: 'part-end', outcome: 'aborted' });
    expect(locks.activeCount(40)).toBe(0);
  });

  it('refuses a prepare after its deadline, and answers a duplicate from what it decided', () => {
    const { participant: p } = setup();
    expect(sends(p.handle(prepare('late', [A], 100), 100))[0]?.message).toMatchObject({ vote: 'abort' });
    const far = sends(p.handle(prepare('far', [A], 100 + 600_001), 100))[0]?.message;
    expect(far).toMatchObject({ vote: 'abort', reason: 'prepare deadline too far away' });
    prepareFully(p, 'tx1', [A]);
    expect(sends(p.handle(prepare('tx1', [A]), 50))[0]?.message).toMatchObject({ vote: 'commit' });
    expect(p.handle(prepare('tx1', [A]), 50).filter((e) => e.kind === 'stage')).toEqual([]);
  });

  it('aborts on its own while staging past the deadline, but never once it voted commit', () => {
    const { participant: p } = setup({ statusQueryIntervalMs: 100 });
    p.handle(prepare('slow', [A], 1_000), 10);
    const timedOut = p.tick(1_000);
    expect(ofKind(timedOut, 'abortStaged')).toHaveLength(1);
    expect(sends(timedOut)[0]?.message).toMatchObject({ vote: 'abort' });
    prepareFully(p, 'doubt', [B], 20);
    // In doubt after the deadline: it asks, and keeps asking, and keeps its lock.
    for (let t = 5_000; t < 9_000; t += 100) {
      for (const effect of p.tick(t)) expect(effect.kind).toBe('send');
    }
    expect(p.state('doubt')).toBe('prepared');
    const queries = sends(p.tick(9_000));
    expect(queries[0]?.message).toEqual({ type: 'status-query', txId: 'doubt', from: 'p1' });
    const reply = p.handle(
      { type: 'status-reply', txId: 'doubt', coordinator: 'coord', outcome: 'abort' },
      9_001,
    );
    expect(ofKind(reply, 'abortStaged')).toHaveLength(1);
  });

  it('renews its locks while in doubt so they never lapse', () => {
    const { locks, participant: p } = setup();
    prepareFully(p, 'tx1', [A]);
    for (let t = 100; t <= 10_000; t += 50) p.tick(t);
    expect(locks.verify(Buffer.from(A, 'hex'), lockHolderFor('tx1'), 10_000)).toBe(true);
  });

  it('recovers: re-locks and re-votes a prepared transaction, re-applies a committed one, purges the rest', () => {
    const { locks } = setup();
    const p = new Participant({ nodeId: 'p1', locks });
    const records = [
      { type: 'part-prepared' as const, txId: 'doubt', coordinator: 'coord', deadlineMs: 5_000, shards: [A] },
      { type: 'part-prepared' as const, txId: 'apply', coordinator: 'coord', deadlineMs: 5_000, shards: [B] },
      // What an earlier version wrote before applying a commit: still honoured.
      { type: 'part-commit' as const, txId: 'apply' },
    ];
    const effects = p.recover(records, 100);
    expect(effects[0]).toEqual({ kind: 'purgeStaged', keepTxIds: ['doubt', 'apply'] });
    expect(sends(effects).map((s) => s.message.type)).toEqual(['vote']);
    expect(ofKind(effects, 'commitStaged')).toHaveLength(1);
    expect(locks.activeCount(100)).toBe(2);
    expect(p.liveRecords()).toEqual(records);
    expect(p.state('apply')).toBe('applying');
    const ending = p.applied('apply', 101);
    expect(sends(durable(p, ending, 102))).toEqual([
      { to: 'coord', message: { type: 'ack', txId: 'apply', from: 'p1' } },
    ]);
  });

  it('recovers a transaction whose lock was taken after it released it as finished (its end record was lost)', () => {
    const { locks } = setup();
    // tx0 held A, aborted (its part-end was never synced) and a newer transaction holds A now.
    locks.acquire(Buffer.from(A, 'hex'), Buffer.alloc(32, 7), 'newer', 90);
    const p = new Participant({ nodeId: 'p1', locks });
    const effects = p.recover(
      [{ type: 'part-prepared', txId: 'tx0', coordinator: 'coord', deadlineMs: 5_000, shards: [A] }],
      100,
    );
    expect(ofKind(effects, 'abortStaged')).toHaveLength(1);
    expect(p.state('tx0')).toBe('aborted');
  });

  it('satisfies ShardLocks with @trinity/vsa ShardLockManager', () => {
    const locks: ShardLocks = new ShardLockManager();
    expect(typeof locks.acquire).toBe('function');
  });
});

import { lockHolderId } from '../src/index.js';

function lockHolderFor(txId: string): Uint8Array {
  return lockHolderId('p1', txId);
}
