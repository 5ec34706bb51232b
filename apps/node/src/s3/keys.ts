import { S3Error } from './errors.js';
import { s3Limits } from './limits.js';

/**
 * Object keys and bucket names: validation, and the order S3 lists keys in (UTF-8 byte order, which
 * is Unicode code point order; JavaScript's `<` compares UTF-16 code units, which differs for
 * characters above U+FFFF against U+E000–U+FFFF).
 */

const surrogatePattern = /[\uD800-\uDFFF]/;
const loneSurrogatePattern = /(?:[\uD800-\uDBFF](?![\uDC00-\uDFFF]))|(?:(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/;

/** Negative, zero or positive as `a` sorts before, with or after `b` in UTF-8 byte order. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (which encode code points ≥ U+10000) above U+E000–U+FFFF, keeping each group's order. */
function codeUnitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/**
 * The smallest string sorting after every string that starts with `prefix`, or undefined when none
 * exists (`prefix` is all U+10FFFF). Listing jumps there to skip a rolled-up common prefix at once.
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = Array.from(prefix, (c) => c.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) {
      // Never produce a lone surrogate: the next code point after U+D7FF that a key can hold is U+E000.
      points.push(last === 0xd7ff ? 0xe000 : last + 1);
      return String.fromCodePoint(...points);
    }
  }
  return undefined;
}

export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/** An object key: 1 to 1,024 bytes of well-formed UTF-8. */
export function checkKey(key: string): void {
  if (key.length === 0) throw new S3Error('InvalidArgument', 'the object key is empty');
  if (surrogatePattern.test(key) && loneSurrogatePattern.test(key)) {
    throw new S3Error('InvalidArgument', 'the object key is not well-formed UTF-8');
  }
  if (utf8Bytes(key) > s3Limits.keyBytesMax) {
    throw new S3Error('KeyTooLongError', `the object key exceeds ${s3Limits.keyBytesMax} bytes of UTF-8`);
  }
}

const bucketNamePattern = /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/;
const ipv4Pattern = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** The rules for general purpose bucket names ("Bucket naming rules" in the S3 user guide). */
export function checkBucketName(name: string): void {
  const bad = (why: string) =>
    new S3Error('InvalidBucketName', `invalid bucket name: ${why}`, { BucketName: name.slice(0, 80) });
  if (name.length < s3Limits.bucketNameLengthMin || name.length > s3Limits.bucketNameLengthMax) {
    throw bad(`must be ${s3Limits.bucketNameLengthMin} to ${s3Limits.bucketNameLengthMax} characters`);
  }
  if (!bucketNamePattern.test(name)) {
    throw bad('only lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit');
  }
  if (name.includes('..') || name.includes('.-') || name.includes('-.'))
    throw bad('no adjacent dots or dot-hyphen');
  if (ipv4Pattern.test(name)) throw bad('must not look like an IP address');
  if (/^(?:xn--|sthree-)/.test(name) || /(?:-s3alias|--ol-s3)$/.test(name))
    throw bad('reserved prefix or suffix');
}
