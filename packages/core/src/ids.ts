/**
 * The hex ids Trinity passes around: checked in one place, because an id often names a file or a
 * folder and anything but lower-case hex (`../x`, upper case, padding) must never pass.
 */

/** A SHA-256 digest in lower-case hex: object ids, shard hashes, bundle hashes. */
export const hashHexPattern: RegExp = /^[0-9a-f]{64}$/;

/** A transaction id: 8-64 lower-case hex characters. */
export const txIdPattern: RegExp = /^[0-9a-f]{8,64}$/;

/** True when `value` is exactly 64 lower-case hex characters (a SHA-256 digest). */
export function isHashHex(value: unknown): boolean {
  return typeof value === 'string' && hashHexPattern.test(value);
}

/** True when `value` is a valid transaction id (8-64 lower-case hex characters). */
export function isTxIdHex(value: unknown): boolean {
  return typeof value === 'string' && txIdPattern.test(value);
}
