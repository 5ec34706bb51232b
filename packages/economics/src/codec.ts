import { toHex } from '@trinity/core';
import { AMOUNT_MAX, BPS, EVENT_BYTES_MAX, SLASH_REASONS } from './config.js';
import { EventFormatError, EventTooLargeError } from './errors.js';
import { type EconomicsEvent, EVENT_TYPES, type EventType } from './events.js';

/**
 * The canonical binary form of an event, which is what the actor signs:
 *
 *   'T' 'E' version(1) type(1) actor(32) seq(u64) timeMs(u64) body… signature(64)
 *
 * Integers are big-endian; ids and hashes raw 32 bytes; an amount is a length byte (0..12) and its
 * minimal big-endian bytes (no leading zero byte); a boolean is 0 or 1. Every value has exactly one
 * encoding, so decode(encode(e)) = e and encode(decode(b)) = b; trailing bytes are refused. The
 * signature covers every byte before it, the magic and version included (domain separation).
 */
export const EVENT_MAGIC = 0x5445;
export const EVENT_VERSION = 1;
export const SIGNATURE_BYTES = 64;
const HEADER_BYTES = 52;
const AMOUNT_BYTES_MAX = 12;

/**
 * Events this package decoded or signed carry their bytes under this key, non-enumerable (so a
 * spread copy, which may then be changed, does not inherit them) and frozen with the event:
 * `encodeEvent` and `apply` reuse them. (A WeakMap did the same at several times the GC cost.)
 */
const ENCODED = Symbol('trinity.economics.encoded');

/** @internal Remembers `bytes` as the encoding of `event` and freezes it. */
export function _rememberEncoding<E extends EconomicsEvent>(event: E, bytes: Uint8Array): E {
  Object.defineProperty(event, ENCODED, { value: bytes });
  return Object.freeze(event);
}

/** @internal The bytes `event` was decoded from or signed as, if this package made it. */
export function _knownEncoding(event: EconomicsEvent): Uint8Array | undefined {
  return (event as { [ENCODED]?: Uint8Array })[ENCODED];
}

/**
 * The canonical sort key (time, actor, seq) read straight from an event's bytes, without decoding
 * it; undefined when the bytes are too short to be an event (decoding will say why).
 */
export function eventKeyOf(bytes: Uint8Array): { timeMs: number; seq: number } | undefined {
  if (bytes.length < HEADER_BYTES + SIGNATURE_BYTES) return undefined;
  return {
    seq: readU32(bytes, 36) * 0x1_0000_0000 + readU32(bytes, 40),
    timeMs: readU32(bytes, 44) * 0x1_0000_0000 + readU32(bytes, 48),
  };
}

function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Orders two encoded events' actors as their hex ids order (byte order). */
export function compareActorBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 4; i < 36; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The part of an encoded event that its signature covers. */
export function signedPart(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
}

class Writer {
  readonly bytes = new Uint8Array(EVENT_BYTES_MAX);
  at = 0;

  u8(value: number): void {
    this.bytes[this.at++] = value;
  }
  u64(value: number, field: string): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new EventFormatError(`${field} must be a u53`);
    const hi = Math.floor(value / 0x1_0000_0000);
    const lo = value >>> 0;
    for (const word of [hi, lo]) {
      this.u8(word >>> 24);
      this.u8((word >>> 16) & 0xff);
      this.u8((word >>> 8) & 0xff);
      this.u8(word & 0xff);
    }
  }
  hex32(value: string, field: string): void {
    if (typeof value !== 'string' || value.length !== 64) {
      throw new EventFormatError(`${field} must be 64 hex characters`);
    }
    for (let i = 0; i < 64; i += 2) this.u8(hexByte(value, i, field));
  }
  amount(value: bigint, field: string): void {
    if (typeof value !== 'bigint' || value <= 0n || value > AMOUNT_MAX) {
      throw new EventFormatError(`${field} must be a bigint in [1, 2^96 - 1]`);
    }
    let hex = value.toString(16);
    if (hex.length % 2 === 1) hex = `0${hex}`;
    this.u8(hex.length / 2);
    for (let i = 0; i < hex.length; i += 2) this.u8(hexByte(hex, i, field));
  }
  bool(value: boolean, field: string): void {
    if (typeof value !== 'boolean') throw new EventFormatError(`${field} must be a boolean`);
    this.u8(value ? 1 : 0);
  }
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function hexByte(text: string, i: number, field: string): number {
  const high = hexNibble(text.charCodeAt(i));
  const low = hexNibble(text.charCodeAt(i + 1));
  if (high < 0 || low < 0) throw new EventFormatError(`${field} must be lower-case hex`);
  return (high << 4) | low;
}

function writeEscrowId(w: Writer, escrowId: string): void {
  const colon = typeof escrowId === 'string' ? escrowId.indexOf(':') : -1;
  const seq = colon === 64 ? Number(escrowId.slice(65)) : Number.NaN;
  if (!Number.isSafeInteger(seq) || seq < 1 || escrowId.slice(65) !== String(seq)) {
    throw new EventFormatError('escrowId must be <reporter id>:<seq>');
  }
  w.hex32(escrowId.slice(0, 64), 'escrowId');
  w.u64(seq, 'escrowId seq');
}

function writeBody(w: Writer, e: EconomicsEvent): void {
  switch (e.type) {
    case 'transfer':
      w.hex32(e.to, 'to');
      w.amount(e.amount, 'amount');
      return;
    case 'stake':
    case 'unstake':
      w.amount(e.amount, 'amount');
      return;
    case 'delegate':
    case 'undelegate':
      w.hex32(e.operator, 'operator');
      w.amount(e.amount, 'amount');
      return;
    case 'withdraw':
      return;
    case 'set-commission':
      if (!Number.isInteger(e.commissionBps) || e.commissionBps < 0 || e.commissionBps > BPS) {
        throw new EventFormatError('commissionBps must be an integer in [0, 10000]');
      }
      w.u8(e.commissionBps >>> 8);
      w.u8(e.commissionBps & 0xff);
      return;
    case 'pos-result':
      w.hex32(e.holder, 'holder');
      w.hex32(e.shard, 'shard');
      w.bool(e.passed, 'passed');
      return;
    case 'uptime':
      w.hex32(e.subject, 'subject');
      w.bool(e.up, 'up');
      return;
    case 'bandwidth':
      w.hex32(e.subject, 'subject');
      if (e.bytes < 1) throw new EventFormatError('bytes must be at least 1');
      w.u64(e.bytes, 'bytes');
      return;
    case 'slash': {
      w.hex32(e.accused, 'accused');
      const reason = SLASH_REASONS.indexOf(e.reason);
      if (reason < 0) throw new EventFormatError('reason is not a slash reason');
      w.u8(reason);
      w.hex32(e.evidence, 'evidence');
      return;
    }
    case 'dispute':
    case 'appeal':
      writeEscrowId(w, e.escrowId);
      w.hex32(e.evidence, 'evidence');
      return;
    case 'vote':
      writeEscrowId(w, e.escrowId);
      w.bool(e.overturn, 'overturn');
      return;
    default:
      throw new EventFormatError(`unknown event type ${String((e as { type: unknown }).type)}`);
  }
}

/** The signed part of an event (everything but the signature): what `signEvent` signs. */
export function encodeUnsigned(event: Omit<EconomicsEvent, 'signature'>): Uint8Array {
  const type = EVENT_TYPES.indexOf(event.type);
  if (type < 0) throw new EventFormatError(`unknown event type ${String(event.type)}`);
  const w = new Writer();
  w.u8(EVENT_MAGIC >>> 8);
  w.u8(EVENT_MAGIC & 0xff);
  w.u8(EVENT_VERSION);
  w.u8(type);
  w.hex32(event.actor, 'actor');
  if (!Number.isSafeInteger(event.seq) || event.seq < 1) throw new EventFormatError('seq must be at least 1');
  w.u64(event.seq, 'seq');
  w.u64(event.timeMs, 'timeMs');
  writeBody(w, event as EconomicsEvent);
  return w.bytes.slice(0, w.at);
}

/** The canonical bytes of a signed event (reused, not recomputed, for events this package decoded or signed). */
export function encodeEvent(event: EconomicsEvent): Uint8Array {
  const known = _knownEncoding(event);
  if (known !== undefined) return known;
  const unsigned = encodeUnsigned(event);
  if (typeof event.signature !== 'string' || event.signature.length !== 2 * SIGNATURE_BYTES) {
    throw new EventFormatError('signature must be 128 hex characters');
  }
  const out = new Uint8Array(unsigned.length + SIGNATURE_BYTES);
  out.set(unsigned);
  for (let i = 0; i < SIGNATURE_BYTES; i++) {
    out[unsigned.length + i] = hexByte(event.signature, 2 * i, 'signature');
  }
  return out;
}

type HexView = { toString(encoding: 'hex', start: number, end: number): string };
type HostBuffer = { from(buffer: ArrayBufferLike, byteOffset: number, length: number): HexView };
/** Node's Buffer where the host has one: one view per event, hex straight from it (no view per field). */
const hostBuffer = (globalThis as { Buffer?: HostBuffer }).Buffer;

class Reader {
  at = 0;
  bytes: Uint8Array = new Uint8Array(0);
  /** A Buffer over the whole ArrayBuffer of the last event: events read from one log buffer share it. */
  #view: HexView | undefined;
  #viewOf: ArrayBufferLike | undefined;

  reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.at = 4;
  }

  hexAt(start: number, end: number): string {
    const bytes = this.bytes;
    if (hostBuffer === undefined) return toHex(bytes.subarray(start, end));
    // The view is made on the first hex field of an event from a new buffer, not on every reset:
    // most fields are ids from the cache, and an event whose ids are all cached needs no view.
    if (this.#viewOf !== bytes.buffer) {
      this.#viewOf = bytes.buffer;
      this.#view = hostBuffer.from(bytes.buffer, 0, bytes.buffer.byteLength);
    }
    const base = bytes.byteOffset;
    return this.#view!.toString('hex', base + start, base + end);
  }

  need(n: number): void {
    if (this.at + n > this.bytes.length - SIGNATURE_BYTES) throw new EventFormatError('event is truncated');
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.at++]!;
  }
  u64(field: string): number {
    this.need(8);
    const b = this.bytes;
    const o = this.at;
    const hi = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    const lo = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
    if (hi > 0x1f_ffff) throw new EventFormatError(`${field} exceeds 2^53 - 1`);
    this.at += 8;
    return hi * 0x1_0000_0000 + lo;
  }
  /**
   * A node id (32 bytes) as hex, from a bounded cache of ids seen before: the same few thousand ids
   * recur in every event, and a cached string is neither built nor hashed again (maps keep its hash).
   */
  id(): string {
    this.need(32);
    const b = this.bytes;
    const o = this.at;
    const key = readU32(b, o);
    const hit = idCache.get(key);
    if (hit !== undefined && equal32(hit.bytes, b, o)) {
      this.at += 32;
      return hit.hex;
    }
    const hex = this.hex32();
    if (hit === undefined && idCache.size < ID_CACHE_MAX)
      idCache.set(key, { bytes: b.slice(o, o + 32), hex });
    return hex;
  }

  hex32(): string {
    this.need(32);
    const out = this.hexAt(this.at, this.at + 32);
    this.at += 32;
    return out;
  }
  amount(field: string): bigint {
    const length = this.u8();
    if (length === 0 || length > AMOUNT_BYTES_MAX) throw new EventFormatError(`${field} has a bad length`);
    this.need(length);
    const b = this.bytes;
    if (b[this.at] === 0) throw new EventFormatError(`${field} is not minimally encoded`);
    let value: bigint;
    if (length <= 6) {
      let n = 0;
      for (let i = 0; i < length; i++) n = n * 256 + b[this.at + i]!;
      value = BigInt(n);
    } else {
      value = BigInt(`0x${this.hexAt(this.at, this.at + length)}`);
    }
    this.at += length;
    return value;
  }
  bool(field: string): boolean {
    const value = this.u8();
    if (value > 1) throw new EventFormatError(`${field} must be 0 or 1`);
    return value === 1;
  }
  /**
   * Leave `signature` and a PoS result's `shard` empty (still checked for length): for events
   * applied and dropped at once, whose signature and shard nothing in the state reads.
   */
  skipSignature = false;

  /** A 32-byte hash as hex, or '' when only the state will read this event (see `skipSignature`). */
  hash32UnlessApplying(): string {
    if (!this.skipSignature) return this.hex32();
    this.need(32);
    this.at += 32;
    return '';
  }

  /** The signature, once the body has been read to its end (anything left over is refused). */
  signature(): string {
    if (this.at !== this.bytes.length - SIGNATURE_BYTES) {
      throw new EventFormatError('event has trailing bytes');
    }
    return this.skipSignature ? '' : this.hexAt(this.at, this.bytes.length);
  }
  escrowId(): string {
    const reporter = this.id(); // a node id: from the cache, like the actors
    const seq = this.u64('escrowId seq');
    if (seq < 1) throw new EventFormatError('escrowId seq must be at least 1');
    return `${reporter}:${seq}`;
  }
}

/** Node ids seen, by their first four bytes (a colliding id is simply not cached). */
const idCache = new Map<number, { readonly bytes: Uint8Array; readonly hex: string }>();
const ID_CACHE_MAX = 65_536;

function equal32(a: Uint8Array, b: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[offset + i]) return false;
  return true;
}

/** One reader for every decode: decoding runs to completion without calling out, so it is never shared. */
const reader = new Reader();

/** Reads the body and the signature, and builds the event with its fields in one literal (no spread). */
function readEvent(r: Reader, type: EventType, actor: string, seq: number, timeMs: number): EconomicsEvent {
  switch (type) {
    case 'transfer': {
      const to = r.id();
      const amount = r.amount('amount');
      return { type, actor, seq, timeMs, to, amount, signature: r.signature() };
    }
    case 'stake':
    case 'unstake': {
      const amount = r.amount('amount');
      return { type, actor, seq, timeMs, amount, signature: r.signature() };
    }
    case 'delegate':
    case 'undelegate': {
      const operator = r.id();
      const amount = r.amount('amount');
      return { type, actor, seq, timeMs, operator, amount, signature: r.signature() };
    }
    case 'withdraw':
      return { type, actor, seq, timeMs, signature: r.signature() };
    case 'set-commission': {
      const commissionBps = (r.u8() << 8) | r.u8();
      if (commissionBps > BPS) throw new EventFormatError('commissionBps exceeds 10000');
      return { type, actor, seq, timeMs, commissionBps, signature: r.signature() };
    }
    case 'pos-result': {
      const holder = r.id();
      const shard = r.hash32UnlessApplying();
      const passed = r.bool('passed');
      return { type, actor, seq, timeMs, holder, shard, passed, signature: r.signature() };
    }
    case 'uptime': {
      const subject = r.id();
      const up = r.bool('up');
      return { type, actor, seq, timeMs, subject, up, signature: r.signature() };
    }
    case 'bandwidth': {
      const subject = r.id();
      const bytes = r.u64('bytes');
      if (bytes < 1) throw new EventFormatError('bytes must be at least 1');
      return { type, actor, seq, timeMs, subject, bytes, signature: r.signature() };
    }
    case 'slash': {
      const accused = r.id();
      const reason = SLASH_REASONS[r.u8()];
      if (reason === undefined) throw new EventFormatError('unknown slash reason');
      const evidence = r.hex32();
      return { type, actor, seq, timeMs, accused, reason, evidence, signature: r.signature() };
    }
    case 'dispute':
    case 'appeal': {
      const escrowId = r.escrowId();
      const evidence = r.hex32();
      return { type, actor, seq, timeMs, escrowId, evidence, signature: r.signature() };
    }
    case 'vote': {
      const escrowId = r.escrowId();
      const overturn = r.bool('overturn');
      return { type, actor, seq, timeMs, escrowId, overturn, signature: r.signature() };
    }
  }
}

/**
 * An event from its canonical bytes (as a peer sends them), checked field by field: size first,
 * then magic, version, type, every value's range and canonical form, no trailing bytes. The result
 * is frozen and remembers `bytes` (not copied: do not modify them afterwards). Does not verify the
 * signature: `EconomicsState.apply` does.
 */
export function decodeEvent(bytes: Uint8Array): EconomicsEvent {
  return _rememberEncoding(_decodeBare(bytes), bytes);
}

/**
 * @internal `decodeEvent` without remembering the bytes or freezing, with an empty `signature` (and
 * PoS `shard`), every field still checked: for events the state applies and drops (`applyBytes`,
 * replay, re-execution), never handed out.
 */
export function _decodeForApply(bytes: Uint8Array): EconomicsEvent {
  reader.skipSignature = true;
  try {
    return _decodeBare(bytes);
  } finally {
    reader.skipSignature = false;
  }
}

/** @internal `decodeEvent` without remembering the bytes or freezing. */
export function _decodeBare(bytes: Uint8Array): EconomicsEvent {
  if (!(bytes instanceof Uint8Array)) throw new EventFormatError('event must be a Uint8Array');
  if (bytes.length > EVENT_BYTES_MAX) throw new EventTooLargeError(bytes.length, EVENT_BYTES_MAX);
  if (bytes.length < HEADER_BYTES + SIGNATURE_BYTES) throw new EventFormatError('event is truncated');
  if (((bytes[0]! << 8) | bytes[1]!) !== EVENT_MAGIC) throw new EventFormatError('not an economics event');
  if (bytes[2] !== EVENT_VERSION) throw new EventFormatError(`unknown event version ${bytes[2]}`);
  const type = EVENT_TYPES[bytes[3]!];
  if (type === undefined) throw new EventFormatError(`unknown event type ${bytes[3]}`);
  const r = reader;
  r.reset(bytes);
  const actor = r.id();
  const seq = r.u64('seq');
  if (seq < 1) throw new EventFormatError('seq must be at least 1');
  const timeMs = r.u64('timeMs');
  return readEvent(r, type, actor, seq, timeMs);
}
