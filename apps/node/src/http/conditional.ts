/**
 * HTTP validators, conditional requests and byte ranges for objects (RFC 9110 §8.8, §13, §14),
 * as pure functions of the request's headers and the object's size, ETag and modification time.
 */

import { NodeError } from '../errors.js';

/** A byte range of a representation: `start` to `end`, both inclusive. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What a `Range` header asks of a representation of `size` bytes. */
export type RangeRequest =
  /** No Range, or one this server ignores (multiple ranges, another unit, malformed): the whole body. */
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly range: ByteRange }
  /** A single well-formed byte range that selects nothing of this representation: 416. */
  | { readonly kind: 'unsatisfiable' };

/** Longest Range header looked at; a longer one is ignored like any other this server does not serve. */
const rangeHeaderMax = 256;

/** A decimal position: digits only. Beyond 15 digits it exceeds any object's size, so it is Infinity. */
function position(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  return text.length > 15 ? Number.POSITIVE_INFINITY : Number(text);
}

/**
 * Reads a `Range` header. Only a single `bytes=` range is served: `a-b`, `a-` or `-n`. Multiple
 * ranges, other units and malformed or invalid specs (`5-3`) are ignored, as RFC 9110 §14.2 allows,
 * and the whole body is sent with 200. A zero-length object has no byte to select: its Range is
 * ignored too.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  const whole = { kind: 'whole' } as const;
  if (header === undefined || header.length > rangeHeaderMax || size === 0) return whole;
  const equals = header.indexOf('=');
  if (equals < 0 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') return whole;
  const spec = header.slice(equals + 1).trim();
  if (spec.includes(',')) return whole;
  const dash = spec.indexOf('-');
  if (dash < 0) return whole;
  const firstText = spec.slice(0, dash);
  const lastText = spec.slice(dash + 1);
  if (firstText === '') {
    const suffix = position(lastText);
    if (suffix === undefined) return whole;
    if (suffix === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - suffix), end: size - 1 } };
  }
  const first = position(firstText);
  if (first === undefined) return whole;
  const last = lastText === '' ? Number.POSITIVE_INFINITY : position(lastText);
  if (last === undefined || last < first) return whole;
  if (first >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start: first, end: Math.min(last, size - 1) } };
}

/** The object's validators: a strong ETag and its modification time in milliseconds. */
export interface Validators {
  readonly etag: string;
  readonly lastModifiedMs: number;
}

/** What the preconditions of a GET or HEAD decide (RFC 9110 §13.2.2). */
export type Precondition = 'proceed' | 'not-modified' | 'failed';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The entity tags of an If-Match / If-None-Match list; `*` as itself. Weak tags keep their `W/`. */
function entityTags(value: string): string[] {
  return value
    .split(',')
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Strong comparison: both tags strong and equal. */
function strongMatch(tags: readonly string[], etag: string): boolean {
  return tags.some((tag) => tag === '*' || tag === etag);
}

/** Weak comparison: equal once `W/` is dropped. */
function weakMatch(tags: readonly string[], etag: string): boolean {
  return tags.some((tag) => tag === '*' || opaque(tag) === opaque(etag));
}

/** Seconds since the epoch of an HTTP date, or undefined for an invalid one (which is then ignored). */
function httpDateSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** HTTP dates have whole seconds: a modification time is compared at that precision. */
function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/** The HTTP date of a time in milliseconds (IMF-fixdate). */
export function httpDate(ms: number): string {
  return new Date(seconds(ms) * 1000).toUTCString();
}

/** Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since, in RFC 9110's order. */
export function evaluatePreconditions(headers: Headers, validators: Validators): Precondition {
  const modified = seconds(validators.lastModifiedMs);
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined) {
    if (!strongMatch(entityTags(ifMatch), validators.etag)) return 'failed';
  } else {
    const since = httpDateSeconds(header(headers, 'if-unmodified-since'));
    if (since !== undefined && modified > since) return 'failed';
  }
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (weakMatch(entityTags(ifNoneMatch), validators.etag)) return 'not-modified';
  } else {
    const since = httpDateSeconds(header(headers, 'if-modified-since'));
    if (since !== undefined && modified <= since) return 'not-modified';
  }
  return 'proceed';
}

/**
 * Whether a Range may be served under the request's If-Range (RFC 9110 §13.1.5): without one, yes;
 * with an entity tag, if it strongly matches; with a date, if it equals the modification time.
 */
export function rangeAllowed(headers: Headers, validators: Validators): boolean {
  const ifRange = header(headers, 'if-range')?.trim();
  if (ifRange === undefined) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === validators.etag;
  const date = httpDateSeconds(ifRange);
  return date !== undefined && date === seconds(validators.lastModifiedMs);
}

/** 412: an If-Match or If-Unmodified-Since precondition of the request does not hold. */
export class PreconditionFailedError extends NodeError {
  constructor(message: string) {
    super('PRECONDITION_FAILED', message, 412);
  }
}

/** 416: the request's single byte range starts beyond the object's end (or asks the last 0 bytes). */
export class RangeNotSatisfiableError extends NodeError {
  constructor(size: number) {
    super('RANGE_NOT_SATISFIABLE', `the requested range is not within the object's ${size} bytes`, 416);
  }
}
