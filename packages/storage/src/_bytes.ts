import { Buffer } from 'node:buffer';

/**
 * Whether two byte arrays hold the same bytes: `Buffer.compare` in native code, for whole encoded
 * values (cache hits). Not constant-time: `@trinity/core`'s `equalBytes` is, for secrets.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
