import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeTxMessage,
  encodeTxMessage,
  isCoordinatorMessage,
  parseTxMessage,
  TX_MESSAGE_BYTES_MAX,
  type TxMessage,
  TxMessageError,
  txMessageSchema,
} from '../src/index.js';
import { _checkTxMessage } from '../src/message-check.js';
import { shardOf } from './helpers.js';

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const node = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);

const message: fc.Arbitrary<TxMessage> = fc.oneof(
  fc.record({
    type: fc.constant('prepare' as const),
    txId: id,
    coordinator: node,
    deadlineMs: fc.nat(),
    shards: fc.uniqueArray(fc.record({ shard: hex64, ref: fc.string({ minLength: 1, maxLength: 256 }) }), {
      minLength: 1,
      maxLength: 64,
      selector: (s) => s.shard,
    }),
  }),
  fc.record({
    type: fc.constant('vote' as const),
    txId: id,
    from: node,
    vote: fc.constantFrom('commit' as const, 'abort' as const),
    shards: fc.uniqueArray(hex64, { minLength: 1, maxLength: 64 }),
  }),
  fc.record({ type: fc.constant('commit' as const), txId: id, coordinator: node }),
  fc.record({ type: fc.constant('ack' as const), txId: id, from: node }),
  fc.record({ type: fc.constant('status-query' as const), txId: id, from: node }),
  fc.record({
    type: fc.constant('status-reply' as const),
    txId: id,
    coordinator: node,
    outcome: fc.constantFrom('commit' as const, 'abort' as const, 'pending' as const),
  }),
);

describe('tx messages', () => {
  it('every valid message survives encode → decode unchanged and within the size bound', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeTxMessage(m);
        expect(bytes.length).toBeLessThanOrEqual(TX_MESSAGE_BYTES_MAX);
        expect(decodeTxMessage(bytes)).toEqual(m);
      }),
    );
  });

  it('the fast check accepts exactly what the schema accepts, on valid messages and mutations of them', () => {
    const oddValue = fc.oneof(
      fc.constantFrom('', 'x'.repeat(65), 'has space', 'ABC', -1, 1.5, 2 ** 53, null, true, [], {}, 'commit'),
      fc.string({ maxLength: 300 }),
      fc.integer(),
      hex64.map((h) => h.toUpperCase()),
      fc.array(hex64, { maxLength: 70 }),
    );
    const mutated = fc
      .tuple(message, fc.nat(), oddValue, fc.constantFrom('drop', 'add', 'replace', 'dup', 'keep'))
      .map(([m, pick, value, how]) => {
        const copy = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
        const keys = Object.keys(copy);
        const key = keys[pick % keys.length]!;
        if (how === 'drop') delete copy[key];
        else if (how === 'add') copy[`extra${pick % 3}`] = value;
        else if (how === 'replace') copy[key] = value;
        else if (how === 'dup' && Array.isArray(copy.shards)) copy.shards = [...copy.shards, copy.shards[0]];
        return JSON.parse(JSON.stringify(copy)) as unknown;
      });
    fc.assert(
      fc.property(mutated, (input) => {
        expect(_checkTxMessage(input)).toBe(txMessageSchema.safeParse(input).success);
      }),
      { numRuns: 2_000 },
    );
  });

  it('routes by type: votes, acks and status queries go to the coordinator', () => {
    expect(isCoordinatorMessage({ type: 'ack', txId: 't', from: 'n' })).toBe(true);
    expect(isCoordinatorMessage({ type: 'commit', txId: 't', coordinator: 'c' })).toBe(false);
  });

  it.each([
    ['an unknown type', { type: 'explode', txId: 't' }],
    ['a long id', { type: 'ack', txId: 'x'.repeat(65), from: 'n' }],
    ['an id with a space', { type: 'ack', txId: 'a b', from: 'n' }],
    [
      'upper-case hex',
      { type: 'vote', txId: 't', from: 'n', vote: 'commit', shards: [shardOf('a').toUpperCase()] },
    ],
    [
      '65 shards',
      {
        type: 'vote',
        txId: 't',
        from: 'n',
        vote: 'commit',
        shards: Array.from({ length: 65 }, (_, i) => shardOf(`${i}`)),
      },
    ],
    [
      'a repeated shard',
      { type: 'vote', txId: 't', from: 'n', vote: 'commit', shards: [shardOf('a'), shardOf('a')] },
    ],
    [
      'a negative deadline',
      {
        type: 'prepare',
        txId: 't',
        coordinator: 'c',
        deadlineMs: -1,
        shards: [{ shard: shardOf('a'), ref: 'r' }],
      },
    ],
    ['an extra field', { type: 'ack', txId: 't', from: 'n', admin: true }],
    [
      'a vote outside the enum',
      { type: 'vote', txId: 't', from: 'n', vote: 'maybe', shards: [shardOf('a')] },
    ],
    ['not an object', 'prepare'],
  ])('rejects %s with TxMessageError', (_, input) => {
    expect(() => parseTxMessage(input)).toThrow(TxMessageError);
  });

  it('rejects oversized and non-JSON bytes before parsing them', () => {
    expect(() => decodeTxMessage(new Uint8Array(TX_MESSAGE_BYTES_MAX + 1))).toThrow(/exceeds/);
    expect(() => decodeTxMessage(new Uint8Array([0xff, 0xfe]))).toThrow(/not UTF-8 JSON/);
  });
});
