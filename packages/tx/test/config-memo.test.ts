import { isTrinityError, parseConfig } from '@trinity/core';
import { ShardLockManager } from '@trinity/vsa';
import { describe, expect, it } from 'vitest';
import { _parseTxConfig } from '../src/config.js';
import { Coordinator, Participant, txConfigSchema } from '../src/index.js';

describe('tx config parsing, remembered by content', () => {
  it('gives what the schema gives, for equal inputs the same frozen object', () => {
    const input = { prepareTimeoutMs: 5_000, statusQueryIntervalMs: 500 };
    const a = _parseTxConfig(input);
    expect(a).toEqual(parseConfig(txConfigSchema, input, 'tx config'));
    expect(Object.isFrozen(a)).toBe(true);
    expect(_parseTxConfig({ ...input })).toBe(a);
    expect(_parseTxConfig(undefined)).toEqual(parseConfig(txConfigSchema, {}, 'tx config'));
  });

  it('sees a changed input as a new one', () => {
    const input: { prepareTimeoutMs: number } = { prepareTimeoutMs: 5_000 };
    expect(_parseTxConfig(input).prepareTimeoutMs).toBe(5_000);
    input.prepareTimeoutMs = 7_000;
    expect(_parseTxConfig(input).prepareTimeoutMs).toBe(7_000);
    // A field JSON would not show is never taken for the defaults.
    _parseTxConfig({});
    const hidden = Object.defineProperty({}, 'prepareTimeoutMs', { value: 3_000, enumerable: false });
    expect(_parseTxConfig(hidden).prepareTimeoutMs).toBe(
      parseConfig(txConfigSchema, hidden).prepareTimeoutMs,
    );
  });

  it('still refuses bad input, every time', () => {
    for (let i = 0; i < 2; i++) {
      for (const bad of [
        { prepareTimeoutMs: -1 },
        { prepareTimeoutMs: Number.NaN },
        { prepareTimeoutMs: '5' },
      ]) {
        let error: unknown;
        try {
          _parseTxConfig(bad as never);
        } catch (caught) {
          error = caught;
        }
        expect(isTrinityError(error, 'CONFIG_INVALID')).toBe(true);
      }
    }
  });

  it('is what coordinators and participants get', () => {
    const config = { prepareTimeoutMs: 4_321 };
    const coordinator = new Coordinator({ nodeId: 'c', config });
    const participant = new Participant({ nodeId: 'p', locks: new ShardLockManager(), config });
    expect(coordinator.config.prepareTimeoutMs).toBe(4_321);
    expect(participant.config).toBe(coordinator.config);
  });

  it('takes a config it parsed as it is, and still checks a frozen lookalike', () => {
    const parsed = new Coordinator({ nodeId: 'c', config: { prepareTimeoutMs: 4_567 } }).config;
    expect(Object.isFrozen(parsed)).toBe(true);
    expect(_parseTxConfig(parsed)).toBe(parsed);
    expect(new Participant({ nodeId: 'p', locks: new ShardLockManager(), config: parsed }).config).toBe(
      parsed,
    );
    // Not a parse result: a frozen object with a bad value is refused as any other input.
    const lookalike = Object.freeze({ ...parsed, prepareTimeoutMs: -1 });
    let error: unknown;
    try {
      _parseTxConfig(lookalike);
    } catch (caught) {
      error = caught;
    }
    expect(isTrinityError(error, 'CONFIG_INVALID')).toBe(true);
  });
});
