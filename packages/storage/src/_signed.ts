import { bytesToUtf8, describe, ed25519, fromHex, toHex, utf8ToBytes } from '@trinity/core';
import { z } from 'zod';
import { sameBytes } from './_bytes.js';
import { type CanonicalValue, canonicalJson } from './canonical-json.js';
import { SignatureInvalidError, SignedObjectInvalidError, type SignedObjectKind } from './errors.js';

// Shared plumbing of the owner- and holder-signed objects (descriptor, receipt, tombstone, put
// intent): their wire form is canonical JSON with bytes as lower-case hex and the signature beside
// the signed fields; the bytes signed are `domain || 0x00 || canonical JSON of the other fields`.

/** Domain-separation strings: a signature made for one kind of object never verifies as another. */
export const signingDomains = {
  descriptor: 'trinity/descriptor/v1',
  objectId: 'trinity/object-id/v1',
  receipt: 'trinity/receipt/v1',
  tombstone: 'trinity/tombstone/v1',
  putIntent: 'trinity/put-intent/v1',
  proofAnswer: 'trinity/pos-answer/v1',
  challengeLeaves: 'trinity/pos-leaves/v1',
} as const;

/** `bytes` bytes as lower-case hex. */
export const hexBytes = (bytes: number) =>
  z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `must be ${bytes * 2} lower-case hex characters`);

/** An ed25519 public key (32 bytes) in hex. */
export const publicKeyHex = hexBytes(32);
/** An ed25519 signature (64 bytes) in hex. */
export const signatureHex = hexBytes(64);
/** A SHA-256 hash in hex. */
export const hash32Hex = hexBytes(32);
/** A time in milliseconds since the epoch. */
export const timeMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The bytes an ed25519 key signs for `body` under `domain`. */
export function signingBytes(domain: string, body: CanonicalValue): Uint8Array {
  return domainBytes(domain, canonicalJson(body));
}

/** `domain || 0x00 || text` as UTF-8, for a body already in canonical JSON (encode once, use twice). */
export function domainBytes(domain: string, canonicalText: string): Uint8Array {
  return utf8ToBytes(`${domain}\u0000${canonicalText}`);
}

/** `body` without its `signature` field. */
export function withoutSignature<T extends { signature: string }>(signed: T): Omit<T, 'signature'> {
  const { signature: _, ...body } = signed;
  return body;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Parses `value` with `schema`, or throws SignedObjectInvalidError naming the fields that broke. */
export function parseSigned<S extends z.ZodType>(
  kind: SignedObjectKind,
  schema: S,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new SignedObjectInvalidError(kind, formatIssues(result.error));
  return result.data;
}

/**
 * Signs an object with `secretKey`: `input` must be an object; `withSigner(input, signerKeyHex)`
 * builds the fields (the signer's public key filled in, defaults added), which `schema` checks
 * before the signature under `domain` is made over them.
 */
export function signObject<T extends object>(
  kind: SignedObjectKind,
  domain: string,
  schema: z.ZodType<T>,
  input: unknown,
  secretKey: Uint8Array,
  withSigner: (input: object, signerKeyHex: string) => unknown,
): T & { signature: string } {
  if (typeof input !== 'object' || input === null) {
    throw new SignedObjectInvalidError(kind, `input must be an object, got ${describe(input)}`);
  }
  const signer = toHex(ed25519.publicKey(secretKey));
  const body = parseSigned(kind, schema, withSigner(input, signer));
  const message = signingBytes(domain, body as CanonicalValue);
  const signature = toHex(ed25519.sign(message, secretKey));
  // What this node signs it is shown again (its own receipts in the record it commits and
  // publishes): a signature it just made verifies without the curve arithmetic.
  rememberVerified(`${signature}:${signer}`, message);
  return { ...body, signature };
}

/** `schema`'s parse of `value` as a check result: 'malformed' with the first issue when it fails. */
export function checkFields<T>(schema: z.ZodType<T>, value: unknown): CheckResult<T, 'malformed'> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) return fail('malformed', parsed.error.issues[0]?.message ?? 'malformed');
  return { ok: true, value: parsed.data };
}

/** True when `signed.signature` is `signerKeyHex`'s signature under `domain` of the other fields. */
export function signatureVerifies(
  domain: string,
  signed: { readonly signature: string },
  signerKeyHex: string,
): boolean {
  const message = signingBytes(domain, withoutSignature(signed) as CanonicalValue);
  const key = `${signed.signature}:${signerKeyHex}`;
  const known = verifiedMessages.get(key);
  if (known !== undefined && sameBytes(known, message)) {
    verifiedMessages.delete(key); // most recently used last
    verifiedMessages.set(key, known);
    return true;
  }
  if (!ed25519.verify(fromHex(signed.signature), message, fromHex(signerKeyHex))) return false;
  rememberVerified(key, message);
  return true;
}

/** Keeps `message` as verified under `key` (signature:signer), the least recently used going first. */
function rememberVerified(key: string, message: Uint8Array): void {
  if (message.length > verifiedMessageBytesMax) return;
  verifiedMessages.delete(key);
  verifiedMessages.set(key, message);
  if (verifiedMessages.size > verifiedMessagesMax)
    verifiedMessages.delete(verifiedMessages.keys().next().value as string);
}

/**
 * Signatures that verified, or that this process made, by signature and key, with the exact bytes
 * they are over: ed25519 verification is a pure function of (signature, message, key), so the same
 * three verify again without the curve arithmetic (a receipt checked when its stage reply arrives
 * and again before the record is published, a put intent shown with each shard of a transaction, a
 * holder's own receipts in the record it commits). Only successes are kept; a hit needs the message
 * byte for byte. At most 4,096 messages of at most 4 KiB.
 */
const verifiedMessages = new Map<string, Uint8Array>();
const verifiedMessagesMax = 4096;
const verifiedMessageBytesMax = 4096;

/** Forgets the signatures verified so far (tests, and measuring the full check). */
export function clearVerifiedSignatures(): void {
  verifiedMessages.clear();
}

/**
 * The value of a passed check, or the failure thrown: SignatureInvalidError for 'bad-signature',
 * SignedObjectInvalidError naming every broken field for 'malformed', SignedObjectInvalidError with
 * `message(failure)` for the rest.
 */
export function checkedOrThrow<T, Reason extends string>(
  kind: SignedObjectKind,
  schema: z.ZodType,
  value: unknown,
  result: CheckResult<T, Reason>,
  message: (failure: { reason: Reason; message: string }) => string,
): T {
  if (result.ok) return result.value;
  if (result.reason === 'bad-signature') throw new SignatureInvalidError(kind, result.message);
  if (result.reason === 'malformed') parseSigned(kind, schema, value); // throws with every field named
  throw new SignedObjectInvalidError(kind, message(result));
}

/** The canonical bytes of a signed object after `schema` checks it (what is stored and sent). */
export function encodeSigned(kind: SignedObjectKind, schema: z.ZodType, value: unknown): Uint8Array {
  return utf8ToBytes(canonicalJson(parseSigned(kind, schema, value) as CanonicalValue));
}

/**
 * Decodes canonical JSON bytes from anywhere (disk, a peer, the DHT): bounded size, UTF-8, JSON,
 * then `parse`, then checks the bytes are exactly the canonical form of what was parsed, so one
 * object has one encoding.
 */
export function decodeCanonical<T>(
  kind: SignedObjectKind,
  bytes: Uint8Array,
  maxBytes: number,
  parse: (value: unknown) => T,
): T {
  if (!(bytes instanceof Uint8Array))
    throw new SignedObjectInvalidError(kind, `must be bytes, got ${describe(bytes)}`);
  if (bytes.length > maxBytes) {
    throw new SignedObjectInvalidError(kind, `${bytes.length} bytes, over the limit of ${maxBytes}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(bytesToUtf8(bytes));
  } catch (cause) {
    throw new SignedObjectInvalidError(kind, 'not UTF-8 JSON', { cause });
  }
  const parsed = parse(value);
  const canonical = utf8ToBytes(canonicalJson(parsed as CanonicalValue));
  if (canonical.length !== bytes.length || !canonical.every((byte, i) => byte === bytes[i])) {
    throw new SignedObjectInvalidError(kind, 'not in canonical form');
  }
  return parsed;
}

/** The outcome of a check that peers' input can fail: the value, or why not. */
export type CheckResult<T, Reason extends string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: Reason; readonly message: string };

export function fail<Reason extends string>(
  reason: Reason,
  message: string,
): { ok: false; reason: Reason; message: string } {
  return { ok: false, reason, message };
}
