import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, encodedBytes, encodeRecord, plainLength } from '../src/log-codec.js';
import { type TxLogRecord, txLogRecordSchema } from '../src/log-record.js';
import { _checkTxLogRecord } from '../src/message-check.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const txId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const nodeId = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);
// Times across the whole range a record allows, with the millisecond clock's neighbourhood weighted in.
const timeMs = fc.oneof(
  fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.constantFrom(0, 1, 0x3fff_ffff, 0x4000_0000, 1e8, 1e8 - 1, 1e15, 2 ** 53 - 2, Number.MAX_SAFE_INTEGER),
);
const shards = fc.array(hex64, { minLength: 1, maxLength: 4 });

/** Records with their fields in schema order, as the state machines build them. */
const record: fc.Arbitrary<TxLogRecord> = fc.oneof(
  fc.record({
    type: fc.constant('coord-commit' as const),
    txId,
    participants: fc.array(fc.record({ node: nodeId, shards }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ type: fc.constant('coord-end' as const), txId }),
  fc.record({
    type: fc.constant('part-prepared' as const),
    txId,
    coordinator: nodeId,
    deadlineMs: timeMs,
    shards,
  }),
  fc.record({ type: fc.constant('part-commit' as const), txId }),
  fc.record({
    type: fc.constant('part-end' as const),
    txId,
    coordinator: nodeId,
    outcome: fc.constantFrom('committed' as const, 'aborted' as const),
    retainUntilMs: timeMs,
  }),
);

describe('encodeRecord', () => {
  it('writes exactly the JSON.stringify text of a record in schema order (ids with quotes and backslashes included)', () => {
    fc.assert(
      fc.property(record, (r) => {
        expect(encodeRecord(r)).toBe(JSON.stringify(r));
        expect(txLogRecordSchema.parse(JSON.parse(encodeRecord(r)))).toEqual(r);
      }),
      { numRuns: 2_000 },
    );
  });

  it('knows the length of a plain record without encoding it, within one number', () => {
    fc.assert(
      fc.property(record, (r) => {
        // Plain: nothing escaped (an escape always writes a backslash).
        fc.pre(!encodeRecord(r).includes('\\'));
        const length = encodeRecord(r).length;
        const numbers = r.type === 'part-prepared' || r.type === 'part-end' ? 1 : 0;
        expect(plainLength(r)).toBeGreaterThanOrEqual(length);
        expect(plainLength(r) - length).toBeLessThanOrEqual(24 * numbers);
        if (numbers === 0) expect(plainLength(r)).toBe(length);
      }),
      { numRuns: 1_000 },
    );
  });

  it('encodes any record in at most 6 bytes per plain-length character (escapes, non-ASCII)', () => {
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(text, text, timeMs, (txId, coordinator, retainUntilMs) => {
        const r = { type: 'part-end', txId, coordinator, outcome: 'aborted', retainUntilMs } as TxLogRecord;
        expect(encodeRecord(r)).toBe(JSON.stringify(r));
        expect(encodedBytes(encodeRecord(r))).toBeLessThanOrEqual(6 * plainLength(r));
      }),
      { numRuns: 1_000 },
    );
  });

  it('escapes what JSON must escape and formats odd numbers as JSON.stringify does', () => {
    const odd = {
      type: 'part-end',
      txId: 'a"b\\c\nd\u0001é\ud800',
      coordinator: 'x',
      outcome: 'committed',
      retainUntilMs: -1.5,
    } as unknown as TxLogRecord;
    expect(encodeRecord(odd)).toBe(JSON.stringify(odd));
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 1e21, -0, 0.1]) {
      const r = { type: 'part-end', txId: 't', coordinator: 'c', outcome: 'aborted', retainUntilMs: n };
      expect(encodeRecord(r as unknown as TxLogRecord)).toBe(JSON.stringify(r));
    }
  });

  it('formats integers next to every multiple of 1e8 up to 2^53 exactly', () => {
    const top = Math.floor(Number.MAX_SAFE_INTEGER / 1e8);
    for (const high of [1, 2, 17_000, 2 ** 24, top - 1, top]) {
      for (const delta of [-2, -1, 0, 1, 2]) {
        const n = high * 1e8 + delta;
        if (!Number.isSafeInteger(n)) continue;
        const r = {
          type: 'part-end' as const,
          txId: 't',
          coordinator: 'c',
          outcome: 'aborted' as const,
          retainUntilMs: n,
        };
        expect(encodeRecord(r)).toBe(JSON.stringify(r));
      }
    }
  });

  it('leaves out fields outside the schema', () => {
    const extra = { type: 'coord-end', txId: 't1', note: 'x' } as unknown as TxLogRecord;
    expect(encodeRecord(extra)).toBe('{"type":"coord-end","txId":"t1"}');
  });
});

describe('decoding records: the hand check', () => {
  it('accepts every valid record as the schema outputs it, and nothing the schema refuses', () => {
    const oddValue = fc.oneof(
      fc.constantFrom(
        '',
        'x'.repeat(65),
        'has space',
        'ABC',
        -1,
        1.5,
        2 ** 53,
        null,
        true,
        [],
        {},
        'committed',
      ),
      fc.string({ maxLength: 80 }),
      fc.integer(),
      hex64.map((h) => h.toUpperCase()),
      fc.array(hex64, { maxLength: 70 }),
      fc.array(fc.record({ node: nodeId, shards }), { maxLength: 3 }),
    );
    const mutated = fc
      .tuple(record, fc.nat(), oddValue, fc.constantFrom('drop', 'add', 'replace', 'nested', 'keep'))
      .map(([r, pick, value, how]) => {
        const copy = JSON.parse(JSON.stringify(r)) as Record<string, unknown>;
        const keys = Object.keys(copy);
        const key = keys[pick % keys.length]!;
        if (how === 'drop') delete copy[key];
        else if (how === 'add') copy[`extra${pick % 3}`] = value;
        else if (how === 'replace') copy[key] = value;
        else if (how === 'nested' && Array.isArray(copy.participants)) {
          const entry = copy.participants[pick % copy.participants.length] as Record<string, unknown>;
          if (pick % 2 === 0) entry.shards = value;
          else entry.node = value;
        } else if (how === 'nested' && Array.isArray(copy.shards)) copy.shards = [...copy.shards, value];
        return JSON.parse(JSON.stringify(copy)) as unknown;
      });
    fc.assert(
      fc.property(record, (r) => {
        const parsed = JSON.parse(encodeRecord(r)) as unknown;
        expect(_checkTxLogRecord(parsed)).toBe(true);
        expect(parsed).toEqual(txLogRecordSchema.parse(parsed));
      }),
      { numRuns: 1_000 },
    );
    let refused = 0;
    fc.assert(
      fc.property(mutated, (input) => {
        const result = txLogRecordSchema.safeParse(input);
        expect(_checkTxLogRecord(input)).toBe(result.success);
        if (result.success) expect(input).toEqual(result.data);
        else refused++;
      }),
      { numRuns: 3_000 },
    );
    expect(refused).toBeGreaterThan(500);
  });

  it('decodePayload gives the same record with or without the hand check', () => {
    fc.assert(
      fc.property(record, (r) => {
        const payload = new TextEncoder().encode(encodeRecord(r));
        expect(decodePayload(payload)).toEqual(txLogRecordSchema.parse(r));
      }),
      { numRuns: 500 },
    );
    expect(decodePayload(new TextEncoder().encode('{"type":"coord-end","txId":"a b"}'))).toBeUndefined();
    expect(decodePayload(new TextEncoder().encode('{"type":"coord-end"'))).toBeUndefined();
  });
});
