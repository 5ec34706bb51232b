import { assertBytes } from './assert.js';

const hexAlphabet = '0123456789abcdef';
const hexPairs: string[] = Array.from({ length: 256 }, (_, i) => hexAlphabet[i >> 4]! + hexAlphabet[i & 15]!);

type HexBuffer = {
  from(data: ArrayBuffer, offset: number, length: number): { toString(encoding: 'hex'): string };
};
/** Node's Buffer where the host has one: its native hex encoder is several times faster and makes no garbage. */
const hostBuffer = (globalThis as { Buffer?: HexBuffer }).Buffer;

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  if (hostBuffer !== undefined && bytes.length >= 16) {
    return hostBuffer.from(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length).toString('hex');
  }
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += hexPairs[bytes[i]!]!;
  return out;
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** Bytes of a hex string (either case). Throws TypeError for a non-string, RangeError for bad hex. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new TypeError(`hex must be a string, got ${typeof hex}`);
  if (hex.length % 2 !== 0) throw new RangeError(`hex must have an even length, got ${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const high = hexNibble(hex.charCodeAt(2 * i));
    const low = hexNibble(hex.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0)
      throw new RangeError(`hex has a non-hex character at ${high < 0 ? 2 * i : 2 * i + 1}`);
    out[i] = (high << 4) | low;
  }
  return out;
}

/** True when `value` is a lower-case hex string of exactly `bytes` bytes: for ids taken from outside. */
export function isHex(value: unknown, bytes: number): value is string {
  return typeof value === 'string' && value.length === 2 * bytes && /^[0-9a-f]*$/.test(value);
}

/** One new array holding every argument in order. */
export function concatBytes(...arrays: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const [i, array] of arrays.entries()) {
    assertBytes(array, `arrays[${i}]`);
    length += array.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const array of arrays) {
    out.set(array, offset);
    offset += array.length;
  }
  return out;
}

/** Byte equality in time that depends only on the length, for comparing digests and bindings. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** XOR of two equal-length arrays into a new one. */
export function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  assertBytes(a, 'a');
  assertBytes(b, 'b', a.length);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of a string. */
export function utf8ToBytes(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
  return encoder.encode(text);
}

/** The string UTF-8 `bytes` encode; throws TypeError on malformed UTF-8. */
export function bytesToUtf8(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  return decoder.decode(bytes);
}

/** `length` bytes from the platform's CSPRNG (crypto.getRandomValues, in 64 KiB pieces). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65_536)));
  }
  return out;
}
