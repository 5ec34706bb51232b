import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  assert,
  assertBytes,
  assertInt,
  isTrinityError,
  MemoryLogger,
  MemoryMetrics,
  noopLogger,
  noopMetrics,
  TrinityError,
} from '../src/index.js';

class ShardMissingError extends TrinityError {
  constructor(hash: string) {
    super('SHARD_MISSING', `shard ${hash} is missing`, { details: { hash } });
  }
}

describe('errors and assertions', () => {
  it('subclasses carry name, code, details and serialise to JSON', () => {
    const error = new ShardMissingError('ab');
    expect(error.name).toBe('ShardMissingError');
    expect(error.code).toBe('SHARD_MISSING');
    expect(error).toBeInstanceOf(Error);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'ShardMissingError',
      code: 'SHARD_MISSING',
      message: 'shard ab is missing',
      details: { hash: 'ab' },
    });
    expect(isTrinityError(error, 'SHARD_MISSING')).toBe(true);
    expect(isTrinityError(new Error('x'))).toBe(false);
  });

  it('assert throws AssertionError; input checks throw TypeError / RangeError', () => {
    expect(() => assert(false, 'broken')).toThrow(AssertionError);
    expect(() => assertBytes('x', 'data')).toThrow(new TypeError('data must be a Uint8Array, got "x"'));
    expect(() => assertBytes(new Uint8Array(2), 'hash', 32)).toThrow(RangeError);
    expect(() => assertInt(1.5, 'k')).toThrow(TypeError);
    expect(() => assertInt(300, 'k', 1, 256)).toThrow(new RangeError('k must be in [1, 256], got 300'));
  });
});

describe('logger and metrics', () => {
  it('MemoryLogger keeps bounded records with child bindings', () => {
    const logger = new MemoryLogger(2);
    logger.info({ a: 1 }, 'one');
    logger.child({ peer: 'p' }).warn({ b: 2 }, 'two');
    logger.error({}, 'three');
    expect(logger.records.map((r) => r.message)).toEqual(['two', 'three']);
    expect(logger.records[0]!.fields).toEqual({ peer: 'p', b: 2 });
    noopLogger.child({}).info({}, 'dropped');
  });

  it('MemoryMetrics records counters, gauges and histograms per label set', () => {
    const metrics = new MemoryMetrics();
    const counter = metrics.counter({ name: 'trinity_x_total', help: 'x', labelNames: ['peer'] });
    counter.inc();
    counter.inc(2, { peer: 'a' });
    metrics.gauge({ name: 'trinity_g', help: 'g' }).set(5);
    metrics.histogram({ name: 'trinity_h_seconds', help: 'h' }).observe(0.5);
    expect(metrics.value('trinity_x_total')).toBe(1);
    expect(metrics.value('trinity_x_total', { peer: 'a' })).toBe(2);
    expect(metrics.value('trinity_g')).toBe(5);
    expect(metrics.count('trinity_h_seconds')).toBe(1);
    noopMetrics.counter({ name: 'n', help: 'n' }).inc();
  });
});
