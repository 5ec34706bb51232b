import type { ObjectEntry, PutCondition } from './backend.js';
import { S3Error } from './errors.js';

/**
 * `Range` and the conditional headers of GetObject/HeadObject (and their `x-amz-copy-source-*` forms
 * on copies), evaluated in RFC 9110 §13.2.2 order, as S3 does.
 */

export interface ByteRange {
  readonly offsetBytes: number;
  readonly lengthBytes: number;
}

const rangePattern = /^bytes=(\d{0,20})-(\d{0,20})$/;

/**
 * The single range a `Range` header asks for, clamped to the object; undefined for no header or one
 * this gateway ignores (several ranges, a unit other than bytes: the whole object is sent, as S3 does).
 * Throws InvalidRange (416) for a range that starts past the end.
 */
export function parseRange(header: string | undefined, sizeBytes: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = rangePattern.exec(header.trim());
  if (m === null) return undefined;
  const [first, last] = [m[1]!, m[2]!];
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || sizeBytes === 0) throw invalidRange(sizeBytes);
    const length = Math.min(suffix, sizeBytes);
    return { offsetBytes: sizeBytes - length, lengthBytes: length };
  }
  const start = Number(first);
  const end = last === '' ? sizeBytes - 1 : Math.min(Number(last), sizeBytes - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= sizeBytes) throw invalidRange(sizeBytes);
  return { offsetBytes: start, lengthBytes: end - start + 1 };
}

function invalidRange(sizeBytes: number): S3Error {
  return new S3Error('InvalidRange', 'the requested range is not satisfiable', {
    ActualObjectSize: String(sizeBytes),
  });
}

export type ConditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/**
 * Evaluates If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since (each under `prefix`,
 * '' or 'x-amz-copy-source-'). `etag` without quotes; times to the second, as HTTP dates carry.
 */
export function evaluateConditions(
  get: (name: string) => string | undefined,
  prefix: string,
  etag: string,
  lastModifiedMs: number,
): ConditionOutcome {
  const modifiedS = Math.floor(lastModifiedMs / 1000);
  const ifMatch = get(`${prefix}if-match`);
  const ifUnmodified = httpDateS(get(`${prefix}if-unmodified-since`));
  const ifNoneMatch = get(`${prefix}if-none-match`);
  const ifModified = httpDateS(get(`${prefix}if-modified-since`));
  if (ifMatch !== undefined) {
    if (!etagListMatches(ifMatch, etag)) return 'precondition-failed';
  } else if (ifUnmodified !== undefined && modifiedS > ifUnmodified) {
    return 'precondition-failed';
  }
  if (ifNoneMatch !== undefined) {
    if (etagListMatches(ifNoneMatch, etag)) return prefix === '' ? 'not-modified' : 'precondition-failed';
  } else if (ifModified !== undefined && modifiedS <= ifModified) {
    return prefix === '' ? 'not-modified' : 'precondition-failed';
  }
  return 'proceed';
}

function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((item) => {
    const tag = item.trim().replace(/^W\//, '');
    return tag === '*' || tag.replace(/^"(.*)"$/, '$1') === etag;
  });
}

/** An HTTP date in whole seconds since the epoch; undefined for an absent or unparsable one (ignored). */
function httpDateS(value: string | undefined): number | undefined {
  if (value === undefined || value.length > 64) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** `Last-Modified` form: RFC 7231 IMF-fixdate. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Whether a conditional write may replace `current` (undefined: the key does not exist). */
export function conditionHolds(condition: PutCondition, current: ObjectEntry | undefined): boolean {
  return 'ifNoneMatch' in condition ? current === undefined : current?.etag === condition.ifMatchEtag;
}
