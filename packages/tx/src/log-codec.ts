import { bytesToUtf8, utf8ToBytes } from '@trinity/core';
import { crc32c } from './crc32c.js';
import { type TxLogRecord, txLogRecordSchema } from './log-record.js';

/** First bytes of every log file: name and format version. */
export const LOG_MAGIC = utf8ToBytes('TRTXLOG1');
/** Frame header: u32 payload length, u32 CRC-32C, u64 sequence number (little-endian). */
export const FRAME_HEADER_BYTES = 16;

/** The JSON payload of a record, as UTF-8. */
export function encodePayload(record: TxLogRecord): Uint8Array {
  return utf8ToBytes(JSON.stringify(record));
}

/**
 * Writes one frame for `payload` at `offset` of `out` and returns the offset after it. The CRC
 * covers the length, the sequence number and the payload, so a frame moved, truncated or
 * renumbered fails its check.
 */
export function writeFrame(out: Uint8Array, offset: number, payload: Uint8Array, seq: number): number {
  const view = new DataView(out.buffer, out.byteOffset + offset, FRAME_HEADER_BYTES);
  view.setUint32(0, payload.length, true);
  view.setUint32(8, seq >>> 0, true);
  view.setUint32(12, Math.floor(seq / 0x1_0000_0000), true);
  out.set(payload, offset + FRAME_HEADER_BYTES);
  const frame = out.subarray(offset, offset + FRAME_HEADER_BYTES + payload.length);
  view.setUint32(4, frameCrc(frame, payload.length), true);
  return offset + frame.length;
}

/** Frames for `payloads`, numbered from `firstSeq`, in one buffer. */
export function encodeFrames(payloads: readonly Uint8Array[], firstSeq: number): Uint8Array {
  let length = 0;
  for (const payload of payloads) length += FRAME_HEADER_BYTES + payload.length;
  const out = new Uint8Array(length);
  let offset = 0;
  payloads.forEach((payload, i) => {
    offset = writeFrame(out, offset, payload, firstSeq + i);
  });
  return out;
}

/** One framed record (for tests and tools; the log batches with `encodeFrames`). */
export function encodeFrame(record: TxLogRecord, seq: number): Uint8Array {
  return encodeFrames([encodePayload(record)], seq);
}

function frameCrc(frame: Uint8Array, payloadLength: number): number {
  const head = crc32c(frame.subarray(0, 4));
  const withSeq = crc32c(frame.subarray(8, FRAME_HEADER_BYTES), head);
  return crc32c(frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + payloadLength), withSeq);
}

/** What a complete, checksum-valid frame at `offset` holds, or why there is none. */
type FrameRead =
  | { ok: true; seq: number; payload: Uint8Array; end: number }
  | { ok: false; reason: string; incomplete: boolean };

/** Reads the frame at `offset` of `bytes` without trusting any of it. */
export function readFrame(bytes: Uint8Array, offset: number, recordMaxBytes: number): FrameRead {
  if (bytes.length - offset < FRAME_HEADER_BYTES)
    return { ok: false, reason: 'partial header', incomplete: true };
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, FRAME_HEADER_BYTES);
  const length = view.getUint32(0, true);
  if (length === 0 || length > recordMaxBytes) {
    return { ok: false, reason: `bad record length ${length}`, incomplete: false };
  }
  const end = offset + FRAME_HEADER_BYTES + length;
  if (end > bytes.length) return { ok: false, reason: 'partial record', incomplete: true };
  const frame = bytes.subarray(offset, end);
  if (frameCrc(frame, length) !== view.getUint32(4, true)) {
    return { ok: false, reason: 'checksum mismatch', incomplete: false };
  }
  const seq = view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000;
  return { ok: true, seq, payload: frame.subarray(FRAME_HEADER_BYTES), end };
}

/** A record from a checksum-valid payload; a payload that does not parse is damage, not a torn tail. */
export function decodePayload(payload: Uint8Array): TxLogRecord | undefined {
  try {
    const result = txLogRecordSchema.safeParse(JSON.parse(bytesToUtf8(payload)));
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
    const frame = readFrame(bytes, offset, recordMaxBytes);
    if (!frame.ok) {
      const later = findValidFrame(bytes, offset + 1, recordMaxBytes, lastSeq);
      const corruption = later === undefined ? undefined : { offset, reason: frame.reason };
      return { records, firstSeq, lastSeq, validEnd: offset, corruption };
    }
    if (lastSeq !== undefined && frame.seq !== lastSeq + 1) {
      const reason = `sequence ${frame.seq} after ${lastSeq}`;
      return { records, firstSeq, lastSeq, validEnd: offset, corruption: { offset, reason } };
    }
    const record = decodePayload(frame.payload);
    if (record === undefined) {
      const reason = 'record does not parse';
      return { records, firstSeq, lastSeq, validEnd: offset, corruption: { offset, reason } };
    }
    records.push(record);
    firstSeq ??= frame.seq;
    lastSeq = frame.seq;
    offset = frame.end;
  }
  return { records, firstSeq, lastSeq, validEnd: offset, corruption: undefined };
}

/** The offset of a checksum-valid frame at or after `from` numbered after `lastSeq`, if any. */
function findValidFrame(
  bytes: Uint8Array,
  from: number,
  recordMaxBytes: number,
  lastSeq: number | undefined,
): number | undefined {
  for (let offset = from; offset + FRAME_HEADER_BYTES < bytes.length; offset++) {
    const length =
      bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24);
    if (length <= 0 || length > recordMaxBytes || offset + FRAME_HEADER_BYTES + length > bytes.length)
      continue;
    const frame = readFrame(bytes, offset, recordMaxBytes);
    if (frame.ok && (lastSeq === undefined || frame.seq > lastSeq)) return offset;
  }
  return undefined;
}
