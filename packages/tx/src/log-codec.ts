import { Buffer } from 'node:buffer';
import { bytesToUtf8, utf8ToBytes } from '@trinity/core';
import { crc32c, crc32cRange } from './crc32c.js';
import { type TxLogRecord, txLogRecordSchema } from './log-record.js';
import { _checkTxLogRecord } from './message-check.js';

/** First bytes of every log file: name and format version. */
export const LOG_MAGIC = utf8ToBytes('TRTXLOG1');
/**
 * Frame header (little-endian): u32 CRC-32C of everything after it (length word, sequence number,
 * payload), u32 length word (payload length; the top bit marks the last frame of a group write),
 * u64 sequence number. A frame moved, truncated, renumbered or re-marked fails its check.
 */
export const FRAME_HEADER_BYTES = 16;
const BATCH_END = 0x8000_0000;
const LENGTH_MASK = 0x7fff_ffff;

/**
 * The JSON text of a record: the payload of its frame. The same text as `JSON.stringify` gives for a
 * record with its fields in schema order, written field by field: about twice as fast, mostly because
 * V8 formats a millisecond time (too large for a small integer) slowly. Fields outside the schema are
 * left out (the log's replay would refuse them anyway).
 */
export function encodeRecord(record: TxLogRecord): string {
  switch (record.type) {
    case 'coord-commit': {
      let participants = '';
      for (let i = 0; i < record.participants.length; i++) {
        const { node, shards } = record.participants[i]!;
        participants += `${i === 0 ? '' : ','}{"node":"${inner(node)}","shards":${jsonStrings(shards)}}`;
      }
      return `{"type":"coord-commit","txId":"${inner(record.txId)}","participants":[${participants}]}`;
    }
    case 'coord-end':
      return `{"type":"coord-end","txId":"${inner(record.txId)}"}`;
    case 'part-prepared':
      return `{"type":"part-prepared","txId":"${inner(record.txId)}","coordinator":"${inner(record.coordinator)}","deadlineMs":${jsonInteger(record.deadlineMs)},"shards":${jsonStrings(record.shards)}}`;
    case 'part-commit':
      return `{"type":"part-commit","txId":"${inner(record.txId)}"}`;
    case 'part-end':
      return `{"type":"part-end","txId":"${inner(record.txId)}","coordinator":"${inner(record.coordinator)}","outcome":"${inner(record.outcome)}","retainUntilMs":${jsonInteger(record.retainUntilMs)}}`;
    default:
      return JSON.stringify(record satisfies never);
  }
}

/** Characters a number takes at most in a record (a safe integer has 16 digits; odd ones go through JSON.stringify). */
const NUMBER_CHARS_MAX = 24;

/**
 * The length of `encodeRecord(record)` when every string in it needs no escape (ids never do),
 * counting NUMBER_CHARS_MAX for each number; at most 6 times that otherwise (JSON's longest escape,
 * `\u00XX`, is 6 characters). Cheaper than encoding: for group byte limits and size checks.
 */
export function plainLength(record: TxLogRecord): number {
  switch (record.type) {
    case 'coord-commit': {
      let length = 50 + record.txId.length; // {"type":"coord-commit","txId":"","participants":[]} less a comma
      for (const { node, shards } of record.participants) {
        length += 23 + node.length + 3 * shards.length; // a comma and {"node":"","shards":[]} less a comma; "", per shard
        for (const shard of shards) length += shard.length;
      }
      return length;
    }
    case 'coord-end':
      return 30 + record.txId.length;
    case 'part-prepared': {
      let length = 76 + record.txId.length + record.coordinator.length + NUMBER_CHARS_MAX;
      for (const shard of record.shards) length += 3 + shard.length;
      return length;
    }
    case 'part-commit':
      return 32 + record.txId.length;
    case 'part-end':
      return 76 + record.txId.length + record.coordinator.length + record.outcome.length + NUMBER_CHARS_MAX;
    default:
      return JSON.stringify(record satisfies never).length;
  }
}

/** Printable ASCII without `"` and `\`: what every id in a record is, and what JSON needs no escape for. */
const PLAIN_JSON_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** A string as JSON writes it between its quotes (the quotes are in the templates: no string per field for them). */
function inner(value: string): string {
  return typeof value === 'string' && PLAIN_JSON_STRING.test(value)
    ? value
    : JSON.stringify(String(value)).slice(1, -1);
}

function jsonStrings(values: readonly string[]): string {
  if (values.length === 0) return '[]';
  let out = '["';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : '","') + inner(values[i]!);
  return `${out}"]`;
}

/** Largest integer V8 keeps unboxed (and formats fast). */
const SMALL_INTEGER_MAX = 0x3fff_ffff;

/**
 * A non-negative safe integer as JSON writes it, formatted as two small integers (V8 formats a
 * boxed number several times slower); anything else as `JSON.stringify` does.
 */
function jsonInteger(value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) return JSON.stringify(value);
  if (value <= SMALL_INTEGER_MAX) return `${value}`;
  let high = Math.floor(value / 1e8);
  let low = value - high * 1e8; // exact: both terms are below 2^53
  // The division may round across a multiple of 1e8 near 2^53.
  if (low < 0) {
    high -= 1;
    low += 1e8;
  } else if (low >= 1e8) {
    high += 1;
    low -= 1e8;
  }
  // The low 8 digits, zero-padded: 1e8 + low has 9 digits and stays a small integer.
  return `${high}${`${low + 1e8}`.slice(1)}`;
}

/** UTF-8 length of a record's JSON text (ASCII in practice: every id in a record is). */
export function encodedBytes(json: string): number {
  return Buffer.byteLength(json, 'utf8');
}

/**
 * Frames for `payloads` (JSON texts), numbered from `firstSeq`, in one buffer: what one group commit
 * writes. The last frame is marked as the end of the batch.
 */
export function encodeFrames(payloads: readonly string[], firstSeq: number): Uint8Array {
  // Room for the worst case (3 bytes per UTF-16 unit); ASCII records fill exactly their length.
  let room = 0;
  for (const json of payloads) room += FRAME_HEADER_BYTES + 3 * json.length;
  const out = Buffer.allocUnsafe(room);
  let offset = 0;
  for (let i = 0; i < payloads.length; i++) {
    const bytes = out.write(payloads[i]!, offset + FRAME_HEADER_BYTES, 'utf8');
    const batchEnd = i === payloads.length - 1 ? BATCH_END : 0;
    out.writeUInt32LE((bytes | batchEnd) >>> 0, offset + 4);
    const seq = firstSeq + i;
    out.writeUInt32LE(seq >>> 0, offset + 8);
    out.writeUInt32LE(Math.floor(seq / 0x1_0000_0000), offset + 12);
    const end = offset + FRAME_HEADER_BYTES + bytes;
    out.writeUInt32LE(crc32cRange(out, offset + 4, end), offset);
    offset = end;
  }
  return out.subarray(0, offset);
}

/** One framed record (for tests and tools). */
export function encodeFrame(record: TxLogRecord, seq: number): Uint8Array {
  return encodeFrames([encodeRecord(record)], seq);
}

/** What a complete, checksum-valid frame at `offset` holds, or why there is none. */
type FrameRead =
  | { ok: true; seq: number; payload: Uint8Array; end: number; batchEnd: boolean }
  | { ok: false; reason: string; incomplete: boolean };

/** Reads the frame at `offset` of `bytes` without trusting any of it. */
export function readFrame(bytes: Uint8Array, offset: number, recordMaxBytes: number): FrameRead {
  if (bytes.length - offset < FRAME_HEADER_BYTES)
    return { ok: false, reason: 'partial header', incomplete: true };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_BYTES);
  const word = view.getUint32(4, true);
  const length = word & LENGTH_MASK;
  if (length === 0 || length > recordMaxBytes) {
    return { ok: false, reason: `bad record length ${length}`, incomplete: false };
  }
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > bytes.length) return { ok: false, reason: 'partial record', incomplete: true };
  const frame = bytes.subarray(offset, end);
  if (crc32c(frame.subarray(4)) !== view.getUint32(0, true)) {
    return { ok: false, reason: 'checksum mismatch', incomplete: false };
  }
  const seq = view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000;
  return { ok: true, seq, payload: frame.subarray(FRAME_HEADER_BYTES), end, batchEnd: word >= BATCH_END };
}

/** The little-endian u32 at `at` (in bounds). */
function u32At(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/**
 * `readFrame`'s verdict without its views and result object, for the decoding loop: the end of the
 * complete, checksum-valid frame at `offset`, or -1 when there is none (readFrame then says why).
 */
function validFrameEnd(bytes: Uint8Array, offset: number, recordMaxBytes: number): number {
  if (bytes.length - offset < FRAME_HEADER_BYTES) return -1;
  const length = u32At(bytes, offset + 4) & LENGTH_MASK;
  if (length === 0 || length > recordMaxBytes) return -1;
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > bytes.length) return -1;
  return crc32cRange(bytes, offset + 4, end) === u32At(bytes, offset) ? end : -1;
}

/** A record from a checksum-valid payload; a payload that does not parse is damage, not a torn tail. */
export function decodePayload(payload: Uint8Array): TxLogRecord | undefined {
  try {
    const parsed: unknown = JSON.parse(bytesToUtf8(payload));
    // The hand check accepts what the schema accepts, as it is; anything else goes to the schema.
    if (_checkTxLogRecord(parsed)) return parsed;
    const result = txLogRecordSchema.safeParse(parsed);
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

export interface DecodedLog {
  readonly records: TxLogRecord[];
  readonly firstSeq: number | undefined;
  readonly lastSeq: number | undefined;
  /** Bytes from `start` that hold whole valid frames; the rest is a torn tail to truncate. */
  readonly validEnd: number;
  /** Set when the damage is followed by a valid frame: mid-log corruption, never truncated. */
  readonly corruption: { offset: number; reason: string } | undefined;
}

/**
 * Decodes the frames of `bytes` from `start`. The first bad frame ends the log: if no valid frame
 * can be found anywhere after it, it is a torn tail (an interrupted last group commit); if one can,
 * the damage is in the middle and `corruption` says where.
 */
export function decodeFrames(bytes: Uint8Array, start: number, recordMaxBytes: number): DecodedLog {
  const records: TxLogRecord[] = [];
  let offset = start;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  while (offset < bytes.length) {
    const end = validFrameEnd(bytes, offset, recordMaxBytes);
    if (end < 0) {
      // Damage (or a torn tail): the slow reader says what is wrong.
      const frame = readFrame(bytes, offset, recordMaxBytes);
      const reason = frame.ok ? 'bad frame' : frame.reason;
      const corruption = damageBeforeLastBatch(bytes, offset, recordMaxBytes, lastSeq)
        ? { offset, reason }
        : undefined;
      return { records, firstSeq, lastSeq, validEnd: offset, corruption };
    }
    const seq = u32At(bytes, offset + 8) + u32At(bytes, offset + 12) * 0x1_0000_0000;
    if (lastSeq !== undefined && seq !== lastSeq + 1) {
      const reason = `sequence ${seq} after ${lastSeq}`;
      return { records, firstSeq, lastSeq, validEnd: offset, corruption: { offset, reason } };
    }
    const record = decodePayload(bytes.subarray(offset + FRAME_HEADER_BYTES, end));
    if (record === undefined) {
      const reason = 'record does not parse';
      return { records, firstSeq, lastSeq, validEnd: offset, corruption: { offset, reason } };
    }
    records.push(record);
    firstSeq ??= seq;
    lastSeq = seq;
    offset = end;
  }
  return { records, firstSeq, lastSeq, validEnd: offset, corruption: undefined };
}

/** True when every byte from `from` on is zero: preallocated space, not a record. */
export function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Whether damage at `offset` lies before the last group write. Only the last write can be torn (a
 * write starts after the previous one was synced), so the damage is in the middle exactly when a
 * valid frame follows it, and a completed batch (its end marked) is followed by more valid frames.
 * Damage followed by nothing valid, or only by frames of the same unfinished batch (pages of one
 * write may reach the disk out of order on power loss), is a torn tail.
 */
function damageBeforeLastBatch(
  bytes: Uint8Array,
  offset: number,
  recordMaxBytes: number,
  lastSeq: number | undefined,
): boolean {
  if (allZero(bytes, offset)) return false;
  let sawBatchEnd = false;
  let at = findValidFrame(bytes, offset + 1, recordMaxBytes, lastSeq);
  while (at !== undefined && at < bytes.length) {
    const frame = readFrame(bytes, at, recordMaxBytes);
    if (!frame.ok) {
      at = findValidFrame(bytes, at + 1, recordMaxBytes, lastSeq);
      continue;
    }
    if (sawBatchEnd) return true;
    sawBatchEnd = frame.batchEnd;
    at = frame.end;
  }
  return false;
}

/** The offset of a checksum-valid frame at or after `from` numbered after `lastSeq`, if any. */
function findValidFrame(
  bytes: Uint8Array,
  from: number,
  recordMaxBytes: number,
  lastSeq: number | undefined,
): number | undefined {
  for (let offset = from; offset + FRAME_HEADER_BYTES < bytes.length; offset++) {
    const at = offset + 4;
    const length =
      (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) & LENGTH_MASK;
    if (length <= 0 || length > recordMaxBytes || offset + FRAME_HEADER_BYTES + length > bytes.length)
      continue;
    const frame = readFrame(bytes, offset, recordMaxBytes);
    if (frame.ok && (lastSeq === undefined || frame.seq > lastSeq)) return offset;
  }
  return undefined;
}
