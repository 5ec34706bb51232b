import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { aeadFormat } from './aead-segments.js';
import { type AesGcmBackendName, aesGcmKey, aesGcmLengths } from './aes-gcm.js';
import { assert, assertBytes } from './assert.js';
import { concatBytes, equalBytes, fromHex, isHex, randomBytes, toHex } from './bytes.js';
import { TrinityError } from './errors.js';

/**
 * Object keys wrapped for their owner. The wrapping key is HKDF-SHA256 of the owner's 32-byte
 * ed25519 secret key (salt "trinity/key-wrap/v1", info "object-key"): a key only the owner can
 * derive, independent of the signing key (ed25519 hashes the seed with SHA-512; HKDF's extract step
 * with its own salt gives an unrelated key). The object key is sealed under it with AES-256-GCM, a
 * random 96-bit nonce and the caller's context (e.g. the owner's public key, a bucket name) as
 * associated data.
 *
 *   wrapped (61 bytes) = version 1 | nonce (12) | AES-256-GCM(object key) (32) | tag (16)
 */
export const keyWrapFormat = /* @__PURE__ */ (() =>
  // In a pure closure, as aeadFormat: dropped by a bundle that does not use it.
  ({
    version: 1,
    wrappedBytes: 1 + aesGcmLengths.nonce + aeadFormat.keyBytes + aesGcmLengths.tag,
    contextBytesMax: 1024,
  }) as const)();

const wrapSalt = /* @__PURE__ */ new TextEncoder().encode('trinity/key-wrap/v1');
const wrapInfo = /* @__PURE__ */ new TextEncoder().encode('object-key');

/** A wrapped key that does not unwrap: malformed, wrapped for another owner or context, or damaged. */
export class KeyUnwrapError extends TrinityError {
  constructor(message: string) {
    super('KEY_UNWRAP_FAILED', message);
  }
}

/** Options of wrapObjectKey / unwrapObjectKey. */
export interface KeyWrapInit {
  /** The owner's 32-byte ed25519 secret key (the seed). */
  readonly ownerSecretKey: Uint8Array;
  /** Bytes the wrapped key is bound to; unwrapping needs the same. Default empty; at most 1 KiB. */
  readonly context?: Uint8Array;
  readonly backend?: AesGcmBackendName;
}

function wrappingKey(ownerSecretKey: Uint8Array): Uint8Array {
  assertBytes(ownerSecretKey, 'ownerSecretKey', 32);
  return hkdf(nobleSha256, ownerSecretKey, wrapSalt, wrapInfo, 32);
}

function associatedData(context: Uint8Array): Uint8Array {
  assertBytes(context, 'context');
  if (context.length > keyWrapFormat.contextBytesMax) {
    throw new RangeError(
      `context must be at most ${keyWrapFormat.contextBytesMax} bytes, got ${context.length}`,
    );
  }
  const aad = new Uint8Array(1 + context.length);
  aad[0] = keyWrapFormat.version;
  aad.set(context, 1);
  return aad;
}

/** The object key sealed for its owner: keyWrapFormat.wrappedBytes bytes, for the manifest. */
export async function wrapObjectKey(objectKey: Uint8Array, init: KeyWrapInit): Promise<Uint8Array> {
  assertBytes(objectKey, 'objectKey', aeadFormat.keyBytes);
  const aad = associatedData(init.context ?? new Uint8Array(0));
  const cipher = await aesGcmKey(wrappingKey(init.ownerSecretKey), init.backend);
  const nonce = randomBytes(aesGcmLengths.nonce);
  const sealed = concatBytes(...(await cipher.seal(nonce, aad, objectKey)));
  const wrapped = new Uint8Array(keyWrapFormat.wrappedBytes);
  wrapped[0] = keyWrapFormat.version;
  wrapped.set(nonce, 1);
  wrapped.set(sealed, 1 + nonce.length);
  return wrapped;
}

/** The object key inside `wrapped`; KeyUnwrapError unless the same owner and context wrapped it. */
export async function unwrapObjectKey(wrapped: Uint8Array, init: KeyWrapInit): Promise<Uint8Array> {
  assertBytes(wrapped, 'wrapped');
  const aad = associatedData(init.context ?? new Uint8Array(0));
  const key = wrappingKey(init.ownerSecretKey);
  if (wrapped.length !== keyWrapFormat.wrappedBytes) {
    throw new KeyUnwrapError(
      `wrapped key must be ${keyWrapFormat.wrappedBytes} bytes, got ${wrapped.length}`,
    );
  }
  if (wrapped[0] !== keyWrapFormat.version)
    throw new KeyUnwrapError(`wrapped key has unknown version ${wrapped[0]}`);
  const cipher = await aesGcmKey(key, init.backend);
  const nonceEnd = 1 + aesGcmLengths.nonce;
  const objectKey = await cipher.open(wrapped.subarray(1, nonceEnd), aad, wrapped.subarray(nonceEnd));
  if (objectKey === null)
    throw new KeyUnwrapError('wrapped key does not open with this owner key and context');
  return concatBytes(...objectKey);
}

/** What a read capability grants: the object's id and the key to decrypt it. */
export interface ReadCap {
  /** The object id: 64 lower-case hex characters. */
  readonly objectId: string;
  /** The 32-byte object key. */
  readonly key: Uint8Array;
}

/** A read-capability string that is not one; `reason` says what is wrong. */
export class ReadCapError extends TrinityError {
  readonly reason: string;

  constructor(reason: string) {
    super('READ_CAP_MALFORMED', `malformed read capability: ${reason}`, { details: { reason } });
    this.reason = reason;
  }
}

/** The read-cap string's prefix: names what it is and its version. */
export const readCapPrefix = 'trinity-read1-';
// 5 bytes make the payload 69 bytes, a multiple of 3: base64url without padding.
const readCapChecksumBytes = 5;
const readCapPayloadBytes = /* @__PURE__ */ (() => 32 + aeadFormat.keyBytes + readCapChecksumBytes)();
/** Length of every read-cap string: the prefix and 92 base64url characters. */
export const readCapLength = /* @__PURE__ */ (() => readCapPrefix.length + (readCapPayloadBytes / 3) * 4)();

const base64urlAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// Array.from, not a spread: a bundler cannot tell a spread is free of side effects, so would keep it.
const base64urlValues = /* @__PURE__ */ new Map(
  /* @__PURE__ */ Array.from(base64urlAlphabet, (char, value) => [char, value]),
);

// Payloads here are a multiple of 3 bytes, so there is no padding to handle.
function toBase64url(bytes: Uint8Array): string {
  assert(bytes.length % 3 === 0, 'base64url input must be a multiple of 3 bytes');
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    for (const shift of [18, 12, 6, 0]) out += base64urlAlphabet[(n >> shift) & 63];
  }
  return out;
}

function fromBase64url(text: string): Uint8Array | undefined {
  const out = new Uint8Array((text.length / 4) * 3);
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const value = base64urlValues.get(text[i + j]!);
      if (value === undefined) return undefined;
      n = (n << 6) | value;
    }
    out.set([(n >> 16) & 255, (n >> 8) & 255, n & 255], (i / 4) * 3);
  }
  return out;
}

function readCapChecksum(body: Uint8Array): Uint8Array {
  const prefixed = new Uint8Array(readCapPrefix.length + body.length);
  prefixed.set(new TextEncoder().encode(readCapPrefix));
  prefixed.set(body, readCapPrefix.length);
  return nobleSha256(prefixed).subarray(0, readCapChecksumBytes);
}

/**
 * The read capability as one string, `trinity-read1-` and 92 base64url characters (id, key and a
 * 5-byte SHA-256 checksum that catches a mistyped or cut string). Whoever holds it can read the
 * object: treat it as the key it is.
 */
export function encodeReadCap(cap: ReadCap): string {
  if (!isHex(cap.objectId, 32)) throw new TypeError('objectId must be 64 lower-case hex characters');
  assertBytes(cap.key, 'key', aeadFormat.keyBytes);
  const payload = new Uint8Array(readCapPayloadBytes);
  payload.set(fromHex(cap.objectId));
  payload.set(cap.key, 32);
  payload.set(readCapChecksum(payload.subarray(0, 64)), 64);
  return readCapPrefix + toBase64url(payload);
}

/** The id and key inside a read-cap string; ReadCapError for anything else. */
export function decodeReadCap(text: string): ReadCap {
  if (typeof text !== 'string') throw new ReadCapError(`expected a string, got ${typeof text}`);
  const trimmed = text.trim();
  if (!trimmed.startsWith(readCapPrefix)) throw new ReadCapError(`does not start with "${readCapPrefix}"`);
  if (trimmed.length !== readCapLength) {
    throw new ReadCapError(`must be ${readCapLength} characters, got ${trimmed.length}`);
  }
  const payload = fromBase64url(trimmed.slice(readCapPrefix.length));
  if (payload === undefined) throw new ReadCapError('has a character outside base64url');
  if (!equalBytes(readCapChecksum(payload.subarray(0, 64)), payload.subarray(64))) {
    throw new ReadCapError('checksum does not match (mistyped or damaged)');
  }
  return { objectId: toHex(payload.subarray(0, 32)), key: payload.slice(32, 64) };
}
