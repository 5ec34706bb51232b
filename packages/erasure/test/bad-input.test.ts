import { ConfigError, isTrinityError } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  createEncoder,
  DataSizeError,
  ErasureError,
  InvalidShardCountError,
  ShardOverlapError,
  ShardSizeError,
  ShardTypeError,
  TooFewShardsError,
} from '../src/index.js';
import { backends } from './helpers.js';

const shardsOf = (count: number, length: number) =>
  Array.from({ length: count }, () => new Uint8Array(length));

describe('configuration', () => {
  it('rejects out-of-range shard counts with InvalidShardCountError', () => {
    for (const options of [
      { dataShards: 0 },
      { parityShards: 0 },
      { dataShards: 256 },
      { dataShards: 200, parityShards: 57 },
      { dataShards: 1.5 },
      { dataShards: '4' },
      { parityShards: Number.NaN },
    ]) {
      expect(() => createEncoder(options as never)).toThrow(InvalidShardCountError);
    }
    expect(() => createEncoder({ dataShards: 200, parityShards: 56 })).not.toThrow();
    expect(() => createEncoder({ dataShards: 1, parityShards: 1 })).not.toThrow();
  });

  it('rejects other bad options with ConfigError naming the field', () => {
    expect(() => createEncoder({ backend: 'gpu' } as never)).toThrow(ConfigError);
    expect(() => createEncoder({ decodeCacheSize: -1 })).toThrow(/decodeCacheSize/);
    expect(() => createEncoder({ colour: 'red' } as never)).toThrow(/colour|Unrecognized/);
    expect(() => createEncoder(null as never)).toThrow(ConfigError);
  });

  it('defaults to RS(10,4)', () => {
    const rs = createEncoder();
    expect([rs.dataShards, rs.parityShards]).toEqual([10, 4]);
  });

  it('a typed error carries a stable code and is an ErasureError', () => {
    try {
      createEncoder({ dataShards: 0 });
    } catch (error) {
      expect(error).toBeInstanceOf(ErasureError);
      expect(isTrinityError(error, 'ERASURE_INVALID_SHARD_COUNT')).toBe(true);
      expect((error as Error).name).toBe('InvalidShardCountError');
    }
    expect(new BackendUnavailableError('x').code).toBe('ERASURE_BACKEND_UNAVAILABLE');
  });
});

describe.each(backends)('bad shards (backend %s)', (backend) => {
  const rs = createEncoder({ dataShards: 4, parityShards: 2, backend });

  it('wrong shard counts', () => {
    expect(() => rs.encode(shardsOf(5, 8))).toThrow(InvalidShardCountError);
    expect(() => rs.reconstruct(shardsOf(7, 8))).toThrow(InvalidShardCountError);
    expect(() => rs.verify([])).toThrow(InvalidShardCountError);
  });

  it('wrong shard lengths', () => {
    const uneven = shardsOf(6, 8);
    uneven[3] = new Uint8Array(9);
    expect(() => rs.encode(uneven)).toThrow(ShardSizeError);
    expect(() => rs.reconstruct([null, ...uneven.slice(1)])).toThrow(/shard 3 is 9 bytes, expected 8/);
    expect(() => rs.encode(shardsOf(6, 0))).toThrow(ShardSizeError);
    const small = createEncoder({ dataShards: 2, parityShards: 1, backend, maxShardBytes: 16 });
    expect(() => small.encode(shardsOf(3, 17))).toThrow(/over the 16-byte limit/);
    expect(() => small.split(new Uint8Array(33))).toThrow(ShardSizeError);
    expect(() => small.allocateShards(17)).toThrow(ShardSizeError);
    expect(() => small.allocateShards(0)).toThrow(ShardSizeError);
  });

  it('non-Uint8Array input', () => {
    expect(() => rs.encode('abc' as never)).toThrow(ShardTypeError);
    expect(() => rs.encode([...shardsOf(5, 8), [1, 2, 3]] as never)).toThrow(/shard 5 must be a Uint8Array/);
    expect(() => rs.encode([...shardsOf(5, 8), null] as never)).toThrow(/shard 5 is missing/);
    expect(() => rs.reconstruct([...shardsOf(5, 8), new Uint16Array(8)] as never)).toThrow(ShardTypeError);
    expect(() => rs.split('hello' as never)).toThrow(ShardTypeError);
    expect(() => rs.reconstruct(shardsOf(6, 8), 'yes' as never)).toThrow(ShardTypeError);
    expect(() => rs.reconstruct(shardsOf(6, 8), [true])).toThrow(ShardTypeError);
  });

  it('too few shards', () => {
    const shards: (Uint8Array | null)[] = shardsOf(6, 8);
    shards[0] = shards[1] = shards[5] = null;
    expect(() => rs.reconstruct(shards)).toThrow(TooFewShardsError);
    expect(() => rs.reconstructData(shards)).toThrow(/need 4 shards to reconstruct, got 3/);
    expect(() => rs.reconstruct(Array(6).fill(null))).toThrow(TooFewShardsError);
    const full = shardsOf(6, 8);
    expect(() => rs.reconstruct(full, [true, true, true, false, false, false])).toThrow(TooFewShardsError);
    expect(() => rs.join([null, ...shardsOf(5, 8)], 4)).toThrow(TooFewShardsError);
  });

  it('bad split / join sizes', () => {
    expect(() => rs.split(new Uint8Array(0))).toThrow(DataSizeError);
    const shards = shardsOf(6, 8);
    expect(() => rs.join(shards, 33)).toThrow(DataSizeError);
    expect(() => rs.join(shards, -1)).toThrow(DataSizeError);
    expect(() => rs.join(shards, 1.5)).toThrow(DataSizeError);
    expect(rs.join(shards, 0)).toEqual(new Uint8Array(0));
  });

  it('outputs that overlap other shards', () => {
    const block = new Uint8Array(48);
    const shards = Array.from({ length: 6 }, (_, i) => block.subarray(i * 8, i * 8 + 8));
    expect(() => rs.encode(shards)).not.toThrow();
    const aliased = [...shards];
    aliased[5] = aliased[0]!;
    expect(() => rs.encode(aliased)).toThrow(ShardOverlapError);
    const straddling = [...shards];
    straddling[4] = block.subarray(4, 12);
    expect(() => rs.encode(straddling)).toThrow(/shard 4 \(written\) shares memory with shard 0/);
    expect(() => rs.reconstruct(aliased, [true, true, true, true, true, false])).toThrow(ShardOverlapError);
  });

  it('never returns a wrong result on random garbage input (fast-check)', () => {
    const anything = fc.oneof(
      fc.constant(null),
      fc.constant(undefined),
      fc.uint8Array({ minLength: 0, maxLength: 12 }),
      fc.integer(),
      fc.string(),
    );
    fc.assert(
      fc.property(fc.array(anything, { minLength: 0, maxLength: 8 }), (shards) => {
        const before = [...shards];
        try {
          const out = rs.reconstruct(shards as never);
          // It accepted, so the input was well-formed: present shards untouched, missing ones filled.
          expect(out).toHaveLength(6);
          const length = before.find((s) => s instanceof Uint8Array)!.length;
          out.forEach((shard, i) => {
            if (before[i] instanceof Uint8Array) expect(shard).toBe(before[i]);
            else expect(shard).toHaveLength(length);
          });
        } catch (error) {
          expect(error).toBeInstanceOf(ErasureError);
        }
      }),
    );
  });
});
