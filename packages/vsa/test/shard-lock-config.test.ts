import { ConfigError, parseConfig } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { _shardLockConfigFast, shardLockConfigSchema } from '../src/config.js';
import { type ShardLockConfigInput, ShardLockManager } from '../src/index.js';

const field = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: -2, max: 2_000 }),
  fc.constantFrom(
    0,
    1,
    16,
    127,
    128,
    1024,
    1025,
    86_400_000,
    86_400_001,
    2 ** 53 - 1,
    2 ** 53,
    -0,
    1.5,
    Number.NaN,
  ),
  fc.constantFrom(Number.POSITIVE_INFINITY, '5', null, true, 'sha256', 'hypervector', 'md5', [], {}),
);
const keys = [
  'lockTimeoutMs',
  'maxLocksPerHolder',
  'maxLocks',
  'rememberedTokens',
  'binding',
  'bindingDims',
  'firstFencingToken',
  'fencingTokensPerMs',
  'unknown',
] as const;
const input = fc.dictionary(fc.constantFrom(...keys), field, { maxKeys: 5 });

function schemaParse(value: unknown): unknown {
  try {
    return parseConfig(shardLockConfigSchema, value, 'shard lock config');
  } catch {
    return 'refused';
  }
}

describe('the shard lock config fast path', () => {
  it('gives what the schema gives whenever it answers, and answers every plain valid input', () => {
    let answered = 0;
    fc.assert(
      fc.property(input, (value) => {
        const fast = _shardLockConfigFast(value);
        const slow = schemaParse(value);
        if (fast !== undefined) {
          answered++;
          expect(fast).toEqual(slow);
        } else expect(slow).toBe('refused');
      }),
      { numRuns: 3_000 },
    );
    expect(answered).toBeGreaterThan(100);
    expect(_shardLockConfigFast({})).toEqual(schemaParse({}));
    expect(_shardLockConfigFast(new (class {})())).toBeUndefined();
  });

  it('is what a lock table gets, and bad input still throws', () => {
    expect(new ShardLockManager({ lockTimeoutMs: 5, firstFencingToken: 9 }).config).toEqual(
      schemaParse({ lockTimeoutMs: 5, firstFencingToken: 9 }),
    );
    expect(() => new ShardLockManager({ lockTimeoutMs: 0 })).toThrow(/lockTimeoutMs/);
    // Fewer binding dims than lockBindingDimsMin: another holder could be ground to match one.
    expect(() => new ShardLockManager({ binding: 'hypervector', bindingDims: 127 })).toThrow(ConfigError);
    expect(new ShardLockManager({ binding: 'hypervector', bindingDims: 128 }).config.bindingDims).toBe(128);
    // An inherited name is an unknown key too (it used to reach the bounds table and throw a bare TypeError).
    for (const key of ['toString', 'constructor', 'hasOwnProperty']) {
      expect(_shardLockConfigFast({ [key]: 5 })).toBeUndefined();
      expect(() => new ShardLockManager({ [key]: 5 } as ShardLockConfigInput)).toThrow(ConfigError);
    }
  });
});
