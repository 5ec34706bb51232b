import {
  ConfigError,
  equalBytes,
  type Random,
  randomSeed,
  seededRandom,
  sha256,
  toHex,
  xorBytes,
} from '@trinity/core';
import { describe, expect, it, vi } from 'vitest';
import {
  AlreadyLockedError,
  deserializeHypervector,
  hypervectorsEqual,
  LockLimitError,
  LockNotFoundError,
  lockHolderVector,
  NotLockHolderError,
  recoverLockHolderVector,
  ShardLockManager,
  StaleFencingTokenError,
  similarity,
} from '../src/index.js';

const id = (n: number): Uint8Array => sha256(Uint8Array.of(n >> 8, n & 255));
const shard = (n: number): Uint8Array => id(10_000 + n);
const holder = (n: number): Uint8Array => id(20_000 + n);

describe('ShardLockManager (seed v2.1 tests)', () => {
  it('acquire returns SHA-256(shard XOR holder) and a fencing token', () => {
    const locks = new ShardLockManager();
    const grant = locks.acquire(shard(1), holder(1), 'tx-1', 1_000);
    expect(equalBytes(grant.binding, sha256(xorBytes(shard(1), holder(1))))).toBe(true);
    expect(grant.fencingToken).toBeGreaterThan(0);
    expect(grant.expiresAtMs).toBe(61_000);
    expect(locks.size).toBe(1);
    expect(locks.latestFencingToken(shard(1))).toBe(grant.fencingToken);
    expect(locks.latestFencingToken(shard(2))).toBe(0);
  });

  it('a second holder gets AlreadyLockedError; verify tells holders apart', () => {
    const locks = new ShardLockManager();
    locks.acquire(shard(1), holder(1), 'tx-1', 0);
    expect(() => locks.acquire(shard(1), holder(2), 'tx-2', 10)).toThrow(AlreadyLockedError);
    expect(() => locks.acquire(shard(1), holder(1), 'tx-other', 10)).toThrow(AlreadyLockedError);
    expect(locks.verify(shard(1), holder(1), 10)).toBe(true);
    expect(locks.verify(shard(1), holder(2), 10)).toBe(false);
    expect(locks.verify(shard(2), holder(1), 10)).toBe(false);
    try {
      locks.acquire(shard(1), holder(2), 'tx-2', 10);
    } catch (error) {
      expect((error as AlreadyLockedError).code).toBe('ALREADY_LOCKED');
      expect((error as AlreadyLockedError).expiresAtMs).toBe(60_000);
    }
  });

  it('only the holder whose binding matches may release', () => {
    const locks = new ShardLockManager();
    locks.acquire(shard(1), holder(1), 'tx-1', 0);
    expect(() => locks.release(shard(1), holder(2), 5)).toThrow(NotLockHolderError);
    expect(locks.tryRelease(shard(1), holder(2), 5)).toBe(false);
    expect(locks.verify(shard(1), holder(1), 5)).toBe(true);
    locks.release(shard(1), holder(1), 5);
    expect(locks.verify(shard(1), holder(1), 5)).toBe(false);
    expect(() => locks.release(shard(1), holder(1), 6)).toThrow(LockNotFoundError);
    expect(locks.tryRelease(shard(1), holder(1), 6)).toBe(false);
    locks.acquire(shard(1), holder(2), 'tx-2', 7);
    expect(locks.verify(shard(1), holder(2), 7)).toBe(true);
  });

  it('locks expire after 60 s by default, then anyone may acquire', () => {
    const locks = new ShardLockManager();
    const first = locks.acquire(shard(1), holder(1), 'tx-1', 0);
    expect(() => locks.acquire(shard(1), holder(2), 'tx-2', 59_999)).toThrow(AlreadyLockedError);
    expect(locks.verify(shard(1), holder(1), 60_000)).toBe(false);
    const second = locks.acquire(shard(1), holder(2), 'tx-2', 60_000);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(() => locks.release(shard(1), holder(1), 60_001)).toThrow(NotLockHolderError);
  });

  it('re-acquiring a held lock extends it and keeps its token', () => {
    const locks = new ShardLockManager({ lockTimeoutMs: 1_000 });
    const first = locks.acquire(shard(1), holder(1), 'tx-1', 0);
    const again = locks.acquire(shard(1), holder(1), 'tx-1', 900);
    expect(again.fencingToken).toBe(first.fencingToken);
    expect(again.expiresAtMs).toBe(1_900);
    expect(locks.verify(shard(1), holder(1), 1_500)).toBe(true);
    expect(locks.size).toBe(1);
  });

  it('re-acquiring with an older nowMs never shortens the lock', () => {
    const locks = new ShardLockManager({ lockTimeoutMs: 1_000 });
    const first = locks.acquire(shard(1), holder(1), 'tx-1', 500);
    const again = locks.acquire(shard(1), holder(1), 'tx-1', 100);
    expect(again.expiresAtMs).toBe(first.expiresAtMs);
    expect(() => locks.acquire(shard(1), holder(2), 'tx-2', 1_200)).toThrow(AlreadyLockedError);
    expect(locks.verify(shard(1), holder(1), 1_499)).toBe(true);
  });

  it('a holder holds at most 64 locks; expired ones do not count', () => {
    const locks = new ShardLockManager();
    for (let i = 0; i < 64; i++) locks.acquire(shard(i), holder(1), 'tx-1', 0);
    expect(() => locks.acquire(shard(64), holder(1), 'tx-1', 1)).toThrow(LockLimitError);
    try {
      locks.acquire(shard(64), holder(1), 'tx-9', 1);
    } catch (error) {
      expect((error as LockLimitError).scope).toBe('holder');
      expect((error as LockLimitError).limit).toBe(64);
    }
    locks.acquire(shard(64), holder(2), 'tx-2', 1);
    expect(locks.heldBy(holder(1), 1)).toBe(64);
    expect(locks.acquire(shard(65), holder(1), 'tx-1', 60_000).fencingToken).toBeGreaterThan(0);
    expect(locks.heldBy(holder(1), 60_000)).toBe(1);
  });

  it('releaseTransaction releases every lock of the transaction at once', () => {
    const locks = new ShardLockManager();
    for (let i = 0; i < 5; i++) locks.acquire(shard(i), holder(1), 'tx-a', 0);
    for (let i = 5; i < 8; i++) locks.acquire(shard(i), holder(2), 'tx-b', 0);
    expect(locks.releaseTransaction('tx-a', 10)).toBe(5);
    expect(locks.releaseTransaction('tx-a', 10)).toBe(0);
    expect(locks.size).toBe(3);
    expect(locks.verify(shard(5), holder(2), 10)).toBe(true);
    expect(locks.releaseTransaction('tx-b', 60_000)).toBe(0);
    expect(locks.size).toBe(0);
  });

  it('the 300-node scenario: 30 holders × 10 shards', () => {
    const locks = new ShardLockManager();
    const tx = (h: number): string => `tx-${h}`;
    for (let h = 0; h < 30; h++)
      for (let s = 0; s < 10; s++) locks.acquire(shard(h * 10 + s), holder(h), tx(h), 0);
    expect(locks.size).toBe(300);
    let verified = 0;
    let rejected = 0;
    let contended = 0;
    for (let h = 0; h < 30; h++) {
      for (let s = 0; s < 10; s++) if (locks.verify(shard(h * 10 + s), holder(h), 1)) verified++;
      if (!locks.verify(shard(h * 10), holder((h + 1) % 30), 1)) rejected++;
      try {
        locks.acquire(shard(h * 10 + 1), holder((h + 1) % 30), tx((h + 1) % 30), 1);
      } catch (error) {
        if (error instanceof AlreadyLockedError) contended++;
      }
    }
    expect([verified, rejected, contended]).toEqual([300, 30, 30]);
    let released = 0;
    for (let h = 0; h < 10; h++) released += locks.releaseTransaction(tx(h), 2);
    expect(released).toBe(100);
    expect(locks.activeCount(2)).toBe(200);
  });
});

describe('inspection and sweeping', () => {
  it('describes live locks and sweeps expired ones', () => {
    const locks = new ShardLockManager({ lockTimeoutMs: 100, rememberedTokens: 16 });
    locks.acquire(shard(1), holder(1), 'tx-1', 0);
    locks.acquire(shard(2), holder(1), 'tx-1', 50);
    const info = locks.get(shard(1), 10)!;
    expect(equalBytes(info.holderId, holder(1))).toBe(true);
    expect([info.txId, info.acquiredAtMs, info.expiresAtMs]).toEqual(['tx-1', 0, 100]);
    expect(locks.activeCount(120)).toBe(1);
    expect(locks.size).toBe(2);
    expect(locks.expire(120)).toBe(1);
    expect(locks.size).toBe(1);
    expect(locks.get(shard(1), 120)).toBeUndefined();
    expect(locks.latestFencingToken(shard(1))).toBeGreaterThan(0);
    expect(locks.lastFencingToken).toBe(locks.latestFencingToken(shard(2)));
  });
});

describe('fencing tokens', () => {
  it('are strictly increasing per shard across release, expiry and re-acquire', () => {
    const locks = new ShardLockManager({ lockTimeoutMs: 100, fencingTokensPerMs: 0 });
    const tokens: number[] = [];
    let nowMs = 0;
    for (let round = 0; round < 20; round++) {
      const grant = locks.acquire(shard(1), holder(round % 3), `tx-${round}`, nowMs);
      tokens.push(grant.fencingToken);
      if (round % 2 === 0) locks.release(shard(1), holder(round % 3), nowMs + 1);
      locks.acquire(shard(2), holder(9), `other-${round}`, nowMs);
      locks.releaseTransaction(`other-${round}`, nowMs);
      nowMs += 150;
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    expect(tokens[0]).toBe(1);
  });

  it('come from the clock so a restarted table keeps issuing larger ones', () => {
    const before = new ShardLockManager();
    let last = 0;
    for (let i = 0; i < 2_000; i++) {
      last = before.acquire(shard(i % 50), holder(i), `tx-${i}`, 1_700_000_000_000).fencingToken;
      before.release(shard(i % 50), holder(i), 1_700_000_000_000);
    }
    const after = new ShardLockManager();
    expect(after.acquire(shard(0), holder(1), 'tx', 1_700_000_000_002).fencingToken).toBeGreaterThan(last);
    const floored = new ShardLockManager({ firstFencingToken: 5_000, fencingTokensPerMs: 0 });
    expect(floored.acquire(shard(0), holder(1), 'tx', 0).fencingToken).toBe(5_000);
  });

  it('assertFencingToken rejects a writer whose lock expired or was taken over', () => {
    const locks = new ShardLockManager({ lockTimeoutMs: 1_000 });
    const old = locks.acquire(shard(1), holder(1), 'tx-1', 0);
    locks.assertFencingToken(shard(1), old.fencingToken, 500);
    expect(() => locks.assertFencingToken(shard(1), old.fencingToken, 1_000)).toThrow(StaleFencingTokenError);
    const fresh = locks.acquire(shard(1), holder(2), 'tx-2', 1_000);
    expect(() => locks.assertFencingToken(shard(1), old.fencingToken, 1_001)).toThrow(/stale/);
    locks.assertFencingToken(shard(1), fresh.fencingToken, 1_001);
  });
});

describe('hypervector binding (seed next step)', () => {
  it('unbind recovers the holder from the bound hypervector', () => {
    const locks = new ShardLockManager({ binding: 'hypervector', bindingDims: 1024 });
    const grant = locks.acquire(shard(1), holder(1), 'tx-1', 0);
    const binding = deserializeHypervector(grant.binding, 1024);
    const recovered = recoverLockHolderVector(binding, shard(1));
    expect(hypervectorsEqual(recovered, lockHolderVector(holder(1), 1024))).toBe(true);
    expect(hypervectorsEqual(locks.recoverHolderVector(shard(1), 1)!, recovered)).toBe(true);
    // The recovered vector names the holder among candidates; the binding itself resembles neither.
    const candidates = Array.from({ length: 20 }, (_, i) => lockHolderVector(holder(i), 1024));
    const scores = candidates.map((c) => similarity(recovered, c));
    expect(scores.indexOf(Math.max(...scores))).toBe(1);
    expect(Math.max(...scores.filter((_, i) => i !== 1).map(Math.abs))).toBeLessThan(0.2);
    expect(Math.abs(similarity(binding, candidates[1]!))).toBeLessThan(0.2);
  });

  it('verifies and releases through the bound vector', () => {
    const locks = new ShardLockManager({ binding: 'hypervector', bindingDims: 256 });
    locks.acquire(shard(1), holder(1), 'tx-1', 0);
    expect(locks.verify(shard(1), holder(1), 1)).toBe(true);
    expect(locks.verify(shard(1), holder(2), 1)).toBe(false);
    expect(() => locks.release(shard(1), holder(2), 1)).toThrow(NotLockHolderError);
    locks.release(shard(1), holder(1), 1);
    expect(locks.size).toBe(0);
    expect(new ShardLockManager().recoverHolderVector(shard(1), 0)).toBeUndefined();
  });
});

describe('ids as hex', () => {
  it('takes shard hashes and holder ids as 64 hex characters, the same lock as the bytes', () => {
    const locks = new ShardLockManager({ rememberedTokens: 16 });
    const grant = locks.acquire(toHex(shard(1)), toHex(holder(1)), 'tx-1', 0);
    expect(equalBytes(grant.binding, sha256(xorBytes(shard(1), holder(1))))).toBe(true);
    expect(locks.verify(shard(1), holder(1), 1)).toBe(true);
    expect(locks.verify(toHex(shard(1)), toHex(holder(2)), 1)).toBe(false);
    expect(() => locks.acquire(shard(1), holder(2), 'tx-2', 1)).toThrow(AlreadyLockedError);
    expect(locks.latestFencingToken(toHex(shard(1)))).toBe(grant.fencingToken);
    const info = locks.get(toHex(shard(1)), 1)!;
    expect(equalBytes(info.holderId, holder(1))).toBe(true);
    locks.release(shard(1), toHex(holder(1)), 2);
    expect(locks.size).toBe(0);
    expect(locks.latestFencingToken(shard(1))).toBe(grant.fencingToken);
  });

  it('remembers the tokens of the most recent releases only', () => {
    const locks = new ShardLockManager({ rememberedTokens: 2 });
    const tokens = [1, 2, 3].map((n) => {
      const { fencingToken } = locks.acquire(shard(n), holder(n), `tx-${n}`, n);
      locks.release(shard(n), holder(n), n);
      return fencingToken;
    });
    expect([1, 2, 3].map((n) => locks.latestFencingToken(shard(n)))).toEqual([0, tokens[1], tokens[2]]);
  });
});

describe('bad input and limits', () => {
  it('rejects malformed arguments and config with clear errors', () => {
    const locks = new ShardLockManager();
    expect(() => locks.acquire(new Uint8Array(31), holder(1), 'tx', 0)).toThrow(/shardHash must be 32 bytes/);
    expect(() => locks.acquire(shard(1), 'holder', 'tx', 0)).toThrow(/holderId must be 32 bytes or 64/);
    expect(() => locks.acquire(toHex(shard(1)).toUpperCase(), holder(1), 'tx', 0)).toThrow(RangeError);
    expect(() => locks.acquire(shard(1), 42 as never, 'tx', 0)).toThrow(TypeError);
    expect(() => locks.acquire(shard(1), holder(1), '', 0)).toThrow(/txId must be 1 to 256/);
    expect(() => locks.acquire(shard(1), holder(1), 'x'.repeat(257), 0)).toThrow(RangeError);
    expect(() => locks.acquire(shard(1), holder(1), 'tx', -1)).toThrow(/nowMs/);
    expect(() => locks.acquire(shard(1), holder(1), 'tx', Number.NaN)).toThrow(TypeError);
    expect(() => new ShardLockManager({ lockTimeoutMs: 0 })).toThrow(ConfigError);
    expect(() => new ShardLockManager({ binding: 'md5' as never })).toThrow(/binding/);
    expect(() => new ShardLockManager({ extra: 1 } as never)).toThrow(ConfigError);
    expect(locks.size).toBe(0);
  });

  it('the table holds at most maxLocks, reclaiming expired ones first', () => {
    const locks = new ShardLockManager({ maxLocks: 3, lockTimeoutMs: 10 });
    for (let i = 0; i < 3; i++) locks.acquire(shard(i), holder(i), `tx-${i}`, 0);
    expect(() => locks.acquire(shard(3), holder(3), 'tx-3', 5)).toThrow(LockLimitError);
    locks.acquire(shard(3), holder(3), 'tx-3', 10);
    expect(locks.size).toBe(1);
  });

  it('a full table refuses without sweeping until a lock can have expired', () => {
    const locks = new ShardLockManager({ maxLocks: 3, lockTimeoutMs: 10 });
    for (let i = 0; i < 3; i++) locks.acquire(shard(i), holder(i), `tx-${i}`, i);
    const sweep = vi.spyOn(locks, 'expire');
    for (let nowMs = 3; nowMs < 10; nowMs++) {
      expect(() => locks.acquire(shard(3), holder(3), 'tx-3', nowMs)).toThrow(LockLimitError);
    }
    expect(sweep).not.toHaveBeenCalled();
    locks.acquire(shard(0), holder(0), 'tx-0', 9); // extends shard 0 to 19: shard 1 expires first, at 11
    expect(() => locks.acquire(shard(3), holder(3), 'tx-3', 10)).toThrow(LockLimitError);
    expect(sweep).toHaveBeenCalledTimes(1);
    expect(() => locks.acquire(shard(3), holder(3), 'tx-3', 10)).toThrow(LockLimitError);
    expect(sweep).toHaveBeenCalledTimes(1);
    expect(locks.acquire(shard(3), holder(3), 'tx-3', 11).fencingToken).toBeGreaterThan(0);
    expect(sweep).toHaveBeenCalledTimes(2);
    expect(locks.verify(shard(0), holder(0), 18)).toBe(true);
  });
});

/** A plain model of the lock table: shard → (holder, tx, expiry), checked op by op. */
function fuzzOnce(seed: number): void {
  const random: Random = seededRandom(seed);
  const config = { lockTimeoutMs: 50, maxLocksPerHolder: 4, maxLocks: 12, fencingTokensPerMs: 0 };
  const locks = new ShardLockManager(config);
  const model = new Map<number, { holder: number; tx: string; expiresAtMs: number; token: number }>();
  const lastToken = new Map<number, number>();
  let nowMs = 0;
  const live = (s: number) => {
    const entry = model.get(s);
    return entry !== undefined && entry.expiresAtMs > nowMs ? entry : undefined;
  };
  for (let step = 0; step < 400; step++) {
    nowMs += random.int(0, 8);
    const s = random.int(0, 15);
    const h = random.int(0, 5);
    const tx = `tx-${h}-${random.int(0, 1)}`;
    const op = random.int(0, 4);
    if (op <= 1) {
      const current = live(s);
      const heldByH = [...model.entries()].filter(([, e]) => e.holder === h && e.expiresAtMs > nowMs).length;
      const liveTotal = [...model.values()].filter((e) => e.expiresAtMs > nowMs).length;
      let expected: string;
      if (current !== undefined) expected = current.holder === h && current.tx === tx ? 'extend' : 'locked';
      else if (heldByH >= 4) expected = 'limit';
      else if (liveTotal >= 12) expected = 'limit';
      else expected = 'grant';
      try {
        const grant = locks.acquire(shard(s), holder(h), tx, nowMs);
        expect(expected === 'grant' || expected === 'extend').toBe(true);
        if (expected === 'extend') expect(grant.fencingToken).toBe(current!.token);
        else expect(grant.fencingToken).toBeGreaterThan(lastToken.get(s) ?? 0);
        lastToken.set(s, grant.fencingToken);
        model.set(s, { holder: h, tx, expiresAtMs: nowMs + 50, token: grant.fencingToken });
      } catch (error) {
        expect(error).toBeInstanceOf(expected === 'locked' ? AlreadyLockedError : LockLimitError);
      }
    } else if (op === 2) {
      const current = live(s);
      expect(locks.tryRelease(shard(s), holder(h), nowMs)).toBe(current?.holder === h);
      if (current?.holder === h) model.delete(s);
    } else if (op === 3) {
      expect(locks.verify(shard(s), holder(h), nowMs)).toBe(live(s)?.holder === h);
    } else {
      const expected = [...model.entries()].filter(([, e]) => e.tx === tx && e.expiresAtMs > nowMs).length;
      expect(locks.releaseTransaction(tx, nowMs)).toBe(expected);
      for (const [k, e] of [...model]) if (e.tx === tx) model.delete(k);
    }
    expect(locks.activeCount(nowMs)).toBe([...model.values()].filter((e) => e.expiresAtMs > nowMs).length);
  }
}

describe('model-based fuzzing', () => {
  it('agrees with a plain model over random operation sequences', () => {
    const seeds = [1, 2, 3, 42, 1_337, randomSeed()];
    for (const seed of seeds) {
      try {
        fuzzOnce(seed);
      } catch (error) {
        throw new Error(`lock fuzz failed with seed ${seed}: ${(error as Error).message}`);
      }
    }
  });
});
