import { PAYLOAD_REF_LENGTH_MAX, REASON_LENGTH_MAX, TX_SHARDS_MAX } from './config.js';
import { NODE_ID_PATTERN, SHARD_HASH_PATTERN, TX_ID_PATTERN, type TxLogRecord } from './log-record.js';
import type { TxMessage } from './messages.js';

/**
 * The rules of `txMessageSchema`, checked by hand: the fast path for messages from the network
 * (the schema stays the contract, and explains a rejection). A property test holds the two equal.
 */
export function _checkTxMessage(input: unknown): input is TxMessage {
  if (!isRecord(input)) return false;
  switch (input.type) {
    case 'prepare':
      return (
        keysWithin(input, PREPARE_KEYS, 5) &&
        isId(input.txId) &&
        isNode(input.coordinator) &&
        isTimeMs(input.deadlineMs) &&
        isShardList(input.shards, true)
      );
    case 'vote':
      return (
        keysWithin(input, VOTE_KEYS, input.reason === undefined ? 5 : 6) &&
        isId(input.txId) &&
        isNode(input.from) &&
        (input.vote === 'commit' || input.vote === 'abort') &&
        isShardList(input.shards, false) &&
        isReason(input.reason)
      );
    case 'commit':
      return keysWithin(input, COMMIT_KEYS, 3) && isId(input.txId) && isNode(input.coordinator);
    case 'abort':
      return (
        keysWithin(input, ABORT_KEYS, input.reason === undefined ? 3 : 4) &&
        isId(input.txId) &&
        isNode(input.coordinator) &&
        isReason(input.reason)
      );
    case 'ack':
    case 'status-query':
      return keysWithin(input, FROM_KEYS, 3) && isId(input.txId) && isNode(input.from);
    case 'status-reply':
      return (
        keysWithin(input, REPLY_KEYS, 4) &&
        isId(input.txId) &&
        isNode(input.coordinator) &&
        (input.outcome === 'commit' || input.outcome === 'abort' || input.outcome === 'pending')
      );
    default:
      return false;
  }
}

const PREPARE_KEYS = new Set(['type', 'txId', 'coordinator', 'deadlineMs', 'shards']);
const VOTE_KEYS = new Set(['type', 'txId', 'from', 'vote', 'shards', 'reason']);
const COMMIT_KEYS = new Set(['type', 'txId', 'coordinator']);
const ABORT_KEYS = new Set(['type', 'txId', 'coordinator', 'reason']);
const FROM_KEYS = new Set(['type', 'txId', 'from']);
const REPLY_KEYS = new Set(['type', 'txId', 'coordinator', 'outcome']);
const SHARD_KEYS = new Set(['shard', 'ref']);

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Exactly `count` own keys, all allowed (the required ones are then checked by value). */
function keysWithin(value: Record<string, unknown>, allowed: ReadonlySet<string>, count: number): boolean {
  let seen = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key) || !allowed.has(key)) return false;
    seen++;
  }
  return seen === count;
}

const isId = (value: unknown) => typeof value === 'string' && TX_ID_PATTERN.test(value);
const isNode = (value: unknown) => typeof value === 'string' && NODE_ID_PATTERN.test(value);
const isShard = (value: unknown) => typeof value === 'string' && SHARD_HASH_PATTERN.test(value);
const isTimeMs = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isReason = (value: unknown) =>
  value === undefined || (typeof value === 'string' && value.length <= REASON_LENGTH_MAX);

function isShardList(value: unknown, withRefs: boolean): boolean {
  if (!Array.isArray(value) || value.length < 1 || value.length > TX_SHARDS_MAX) return false;
  const seen = new Set<string>();
  for (const item of value) {
    let shard: unknown = item;
    if (withRefs) {
      if (!isRecord(item) || !keysWithin(item, SHARD_KEYS, 2)) return false;
      const ref = item.ref;
      if (typeof ref !== 'string' || ref.length < 1 || ref.length > PAYLOAD_REF_LENGTH_MAX) return false;
      shard = item.shard;
    }
    if (!isShard(shard)) return false;
    seen.add(shard as string);
  }
  return seen.size === value.length;
}

/**
 * The rules of `txLogRecordSchema`, checked by hand: the fast path for records read back from the
 * log (every restart decodes the whole log). True means the schema accepts `input` and its output
 * equals it; false means "ask the schema" (it explains, or accepts what this check is unsure of).
 */
export function _checkTxLogRecord(input: unknown): input is TxLogRecord {
  if (!isRecord(input)) return false;
  switch (input.type) {
    case 'coord-commit':
      return (
        keysWithin(input, COORD_COMMIT_KEYS, 3) && isId(input.txId) && isParticipantList(input.participants)
      );
    case 'coord-end':
    case 'part-commit':
      return keysWithin(input, TX_KEYS, 2) && isId(input.txId);
    case 'part-prepared':
      return (
        keysWithin(input, PART_PREPARED_KEYS, 5) &&
        isId(input.txId) &&
        isNode(input.coordinator) &&
        isTimeMs(input.deadlineMs) &&
        isRecordShardList(input.shards)
      );
    case 'part-end':
      return (
        keysWithin(input, PART_END_KEYS, 5) &&
        isId(input.txId) &&
        isNode(input.coordinator) &&
        (input.outcome === 'committed' || input.outcome === 'aborted') &&
        isTimeMs(input.retainUntilMs)
      );
    default:
      return false;
  }
}

const COORD_COMMIT_KEYS = new Set(['type', 'txId', 'participants']);
const TX_KEYS = new Set(['type', 'txId']);
const PART_PREPARED_KEYS = new Set(['type', 'txId', 'coordinator', 'deadlineMs', 'shards']);
const PART_END_KEYS = new Set(['type', 'txId', 'coordinator', 'outcome', 'retainUntilMs']);
const PARTICIPANT_KEYS = new Set(['node', 'shards']);

/** A record's shard list: 1 to TX_SHARDS_MAX shard hashes (repeats allowed, as the schema allows them). */
function isRecordShardList(value: unknown): boolean {
  if (!Array.isArray(value) || value.length < 1 || value.length > TX_SHARDS_MAX) return false;
  for (const shard of value) if (!isShard(shard)) return false;
  return true;
}

function isParticipantList(value: unknown): boolean {
  if (!Array.isArray(value) || value.length < 1 || value.length > TX_SHARDS_MAX) return false;
  for (const item of value)
    if (
      !isRecord(item) ||
      !keysWithin(item, PARTICIPANT_KEYS, 2) ||
      !isNode(item.node) ||
      !isRecordShardList(item.shards)
    )
      return false;
  return true;
}
