import { z } from 'zod';
import {
  type CheckResult,
  checkedOrThrow,
  checkFields,
  decodeCanonical,
  encodeSigned,
  fail,
  hash32Hex,
  parseSigned,
  publicKeyHex,
  signatureHex,
  signatureVerifies,
  signingDomains,
  signObject,
  timeMs,
} from './_signed.js';
import { CapacityExceededError, ObjectDeletedError, SignatureInvalidError } from './errors.js';

/** Bounds on tombstones. */
export const tombstoneLimits = {
  /** Shortest retention: a tombstone must outlive the replays it is meant to refuse. */
  retentionMsMin: 60 * 60_000,
  /** Longest retention (one year): every node keeps each tombstone this long at most. */
  retentionMsMax: 365 * 24 * 60 * 60_000,
  /** How far ahead of a node's clock deletedAtMs may be. */
  clockSkewMsMax: 5 * 60_000,
} as const;

/**
 * A tombstone: the owner's signed order to delete an object. Only a tombstone signed by the key that
 * signed the object's descriptor deletes it; nodes remember it until deletedAtMs + retentionMs and
 * refuse the object's descriptor while they do, so an old descriptor replayed after the delete does
 * not bring the object back.
 */
export const tombstoneSchema = z
  .object({
    objectId: hash32Hex,
    owner: publicKeyHex,
    deletedAtMs: timeMs,
    retentionMs: z.number().int().min(tombstoneLimits.retentionMsMin).max(tombstoneLimits.retentionMsMax),
  })
  .strict();

export const signedTombstoneSchema = tombstoneSchema.extend({ signature: signatureHex }).strict();

export type Tombstone = z.output<typeof tombstoneSchema>;
export type SignedTombstone = z.output<typeof signedTombstoneSchema>;

/** Signs a tombstone with the owner's secret key; `owner` is filled in from the key. */
export function signTombstone(input: Omit<Tombstone, 'owner'>, ownerSecretKey: Uint8Array): SignedTombstone {
  return signObject(
    'tombstone',
    signingDomains.tombstone,
    tombstoneSchema,
    input,
    ownerSecretKey,
    (fields, owner) => ({
      ...fields,
      owner,
    }),
  );
}

export type TombstoneCheckFailure =
  | 'malformed'
  | 'wrong-object'
  | 'not-owner'
  | 'from-the-future'
  | 'bad-signature';

/**
 * Checks a tombstone against the object it deletes: its fields, the object id, that it names the
 * owner of the verified descriptor (`ownerKey`, hex), its time, and last the owner's signature.
 */
export function checkTombstone(
  value: unknown,
  object: { objectId: string; ownerKey: string },
  nowMs: number,
): CheckResult<SignedTombstone, TombstoneCheckFailure> {
  const parsed = checkFields(signedTombstoneSchema, value);
  if (!parsed.ok) return parsed;
  const tombstone = parsed.value;
  if (tombstone.objectId !== object.objectId)
    return fail('wrong-object', `tombstone is for object ${tombstone.objectId}`);
  if (tombstone.owner !== object.ownerKey)
    return fail('not-owner', 'tombstone is not signed by the object owner key');
  if (tombstone.deletedAtMs > nowMs + tombstoneLimits.clockSkewMsMax) {
    return fail('from-the-future', `deletedAtMs ${tombstone.deletedAtMs} is ahead of now ${nowMs}`);
  }
  if (!signatureVerifies(signingDomains.tombstone, tombstone, tombstone.owner)) {
    return fail('bad-signature', 'the signature does not verify under the owner key');
  }
  return { ok: true, value: tombstone };
}

/** checkTombstone, throwing SignedObjectInvalidError or SignatureInvalidError when it fails. */
export function verifyTombstone(
  value: unknown,
  object: { objectId: string; ownerKey: string },
  nowMs: number,
): SignedTombstone {
  const result = checkTombstone(value, object, nowMs);
  return checkedOrThrow(
    'tombstone',
    signedTombstoneSchema,
    value,
    result,
    (failure) => `${failure.reason}: ${failure.message}`,
  );
}

/** Encoded tombstones are far smaller than this; larger bytes are refused before parsing. */
export const tombstoneEncodedBytesMax = 4096;

/** The canonical bytes of a signed tombstone (what is stored and sent). */
export function encodeSignedTombstone(tombstone: SignedTombstone): Uint8Array {
  return encodeSigned('tombstone', signedTombstoneSchema, tombstone);
}

/**
 * Decodes signed tombstone bytes: bounded, canonical, fields checked. The signature is checked
 * against the key the tombstone names; whether that key owns the object is checkTombstone's job.
 */
export function decodeSignedTombstone(bytes: Uint8Array): SignedTombstone {
  const tombstone = decodeCanonical('tombstone', bytes, tombstoneEncodedBytesMax, (value) =>
    parseSigned('tombstone', signedTombstoneSchema, value),
  );
  if (!signatureVerifies(signingDomains.tombstone, tombstone, tombstone.owner)) {
    throw new SignatureInvalidError('tombstone', 'the signature does not verify under the key it names');
  }
  return tombstone;
}

/** When a node may forget a tombstone. */
export function tombstoneExpiresAtMs(tombstone: Tombstone): number {
  return tombstone.deletedAtMs + tombstone.retentionMs;
}

/**
 * The tombstones a node remembers, bounded, sans-IO (time passed in). A store consults it before
 * accepting a descriptor (`assertNotDeleted`) and persists `entries()` however it likes; `restore`
 * re-checks nothing but the bounds, so feed it only what this set handed out.
 */
export class TombstoneSet {
  readonly maxEntries: number;
  readonly #entries = new Map<string, SignedTombstone>();

  constructor(options: { maxEntries?: number } = {}) {
    const maxEntries = options.maxEntries ?? 1_000_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Checks `value` against the object (see checkTombstone) and remembers it. Throws
   * SignedObjectInvalidError or SignatureInvalidError when it does not check, CapacityExceededError
   * when full of unexpired tombstones. A later tombstone for the same object extends the retention.
   */
  add(value: unknown, object: { objectId: string; ownerKey: string }, nowMs: number): SignedTombstone {
    const tombstone = verifyTombstone(value, object, nowMs);
    this.#remember(tombstone, nowMs);
    return tombstone;
  }

  /** Puts back a tombstone this set handed out earlier (from the caller's storage), if not expired. */
  restore(tombstone: SignedTombstone, nowMs: number): void {
    this.#remember(parseSigned('tombstone', signedTombstoneSchema, tombstone), nowMs);
  }

  #remember(tombstone: SignedTombstone, nowMs: number): void {
    if (tombstoneExpiresAtMs(tombstone) <= nowMs) return;
    const current = this.#entries.get(tombstone.objectId);
    if (current !== undefined && tombstoneExpiresAtMs(current) >= tombstoneExpiresAtMs(tombstone)) return;
    if (current === undefined && this.#entries.size >= this.maxEntries) {
      this.prune(nowMs);
      if (this.#entries.size >= this.maxEntries) {
        throw new CapacityExceededError(`the tombstone set holds the maximum of ${this.maxEntries}`, {
          limit: this.maxEntries,
        });
      }
    }
    this.#entries.set(tombstone.objectId, tombstone);
  }

  /** The unexpired tombstone of `objectId`, if any. An expired one stays until prune reports it. */
  get(objectId: string, nowMs: number): SignedTombstone | undefined {
    const tombstone = this.#entries.get(objectId);
    return tombstone !== undefined && tombstoneExpiresAtMs(tombstone) > nowMs ? tombstone : undefined;
  }

  /** Throws ObjectDeletedError when `objectId` has an unexpired tombstone. */
  assertNotDeleted(objectId: string, nowMs: number): void {
    const tombstone = this.get(objectId, nowMs);
    if (tombstone !== undefined) throw new ObjectDeletedError(objectId, tombstoneExpiresAtMs(tombstone));
  }

  /** Forgets expired tombstones; returns the object ids forgotten. */
  prune(nowMs: number): string[] {
    const forgotten: string[] = [];
    for (const [id, tombstone] of this.#entries) {
      if (tombstoneExpiresAtMs(tombstone) <= nowMs) {
        this.#entries.delete(id);
        forgotten.push(id);
      }
    }
    return forgotten;
  }

  /** Every remembered tombstone (expired ones included until pruned), for persistence. */
  entries(): SignedTombstone[] {
    return [...this.#entries.values()];
  }
}
