import { describe, toHex } from '@trinity/core';
import { z } from 'zod';
import {
  type CheckResult,
  checkFields,
  fail,
  hash32Hex,
  publicKeyHex,
  signatureHex,
  signatureVerifies,
  signingDomains,
  signObject,
  timeMs,
} from './_signed.js';

/** Bounds on put intents. */
export const putIntentLimits = {
  /** Shards one intent may name (a transaction holds at most 64; an intent may cover a few). */
  maxShards: 1024,
  maxHoldersPerShard: 16,
  /** Longest life of an intent: it authorizes writes only while a put is in progress. */
  lifetimeMsMax: 24 * 60 * 60_000,
} as const;

export const putIntentShardSchema = z
  .object({
    shardHash: hash32Hex,
    /** Node keys (32-byte ed25519 public keys, hex) the owner intends to hold this shard. */
    holders: z
      .array(publicKeyHex)
      .min(1)
      .max(putIntentLimits.maxHoldersPerShard)
      .refine((holders) => new Set(holders).size === holders.length, 'holders must be distinct'),
  })
  .strict();

const putIntentObjectSchema = z
  .object({
    owner: publicKeyHex,
    /**
     * The transaction the stores belong to. A streamed put learns its object id only after its last
     * stripe, so the intent names the transaction; the holder later checks that the descriptor
     * staged under it is signed by the same owner.
     */
    txId: z.string().regex(/^[0-9a-f]{16,64}$/, 'must be 16-64 lower-case hex characters'),
    createdAtMs: timeMs,
    expiresAtMs: timeMs,
    shards: z
      .array(putIntentShardSchema)
      .min(1)
      .max(putIntentLimits.maxShards)
      .refine(
        (shards) => new Set(shards.map((s) => s.shardHash)).size === shards.length,
        'shard hashes must be distinct',
      ),
  })
  .strict();

function checkLifetime(intent: { createdAtMs: number; expiresAtMs: number }, ctx: z.RefinementCtx): void {
  const lifetimeMs = intent.expiresAtMs - intent.createdAtMs;
  if (lifetimeMs <= 0 || lifetimeMs > putIntentLimits.lifetimeMsMax) {
    ctx.addIssue({
      code: 'custom',
      path: ['expiresAtMs'],
      message: `must be after createdAtMs by at most ${putIntentLimits.lifetimeMsMax} ms`,
    });
  }
}

/**
 * A put intent: the owner's signed request that the named holders store the named shards until
 * `expiresAtMs`. A node accepts a `store` inside a transaction only with an intent that names the
 * shard's hash and the node itself, so nobody can fill another node's disk in the owner's name.
 */
export const putIntentSchema = putIntentObjectSchema.superRefine(checkLifetime);
export const signedPutIntentSchema = putIntentObjectSchema
  .extend({ signature: signatureHex })
  .superRefine(checkLifetime);

export type PutIntent = z.output<typeof putIntentSchema>;
export type SignedPutIntent = z.output<typeof signedPutIntentSchema>;

/** Signs a put intent with the owner's secret key; `owner` is filled in from the key. */
export function signPutIntent(input: Omit<PutIntent, 'owner'>, ownerSecretKey: Uint8Array): SignedPutIntent {
  return signObject(
    'put-intent',
    signingDomains.putIntent,
    putIntentSchema,
    input,
    ownerSecretKey,
    (fields, owner) => ({
      ...structuredClone(fields),
      owner,
    }),
  );
}

export type PutIntentCheckFailure = 'malformed' | 'bad-signature';

/** Checks a put intent's fields and its owner's signature (not its expiry: see authorizeStore). */
export function checkPutIntent(value: unknown): CheckResult<SignedPutIntent, PutIntentCheckFailure> {
  const parsed = checkFields(signedPutIntentSchema, value);
  if (!parsed.ok) return parsed;
  const intent = parsed.value;
  if (!signatureVerifies(signingDomains.putIntent, intent, intent.owner)) {
    return fail('bad-signature', 'the signature does not verify under the owner key');
  }
  return { ok: true, value: intent };
}

export type StoreAuthorizationFailure =
  | PutIntentCheckFailure
  | 'not-yet-valid'
  | 'expired'
  | 'shard-not-in-intent'
  | 'holder-not-intended';

/** What an authorized store may go on with: the intent (owner, object) and the shard's entry in it. */
export interface StoreAuthorization {
  readonly intent: SignedPutIntent;
  readonly shard: z.output<typeof putIntentShardSchema>;
}

/**
 * May holder `holderKey` (32 bytes or hex) store the shard hashing to `shardHash` (32 bytes or hex)
 * at `nowMs` under `intent`? Yes only when the owner's signature verifies, nowMs is within
 * [createdAtMs - 5 min, expiresAtMs), and the intent names both the shard and this holder.
 */
export function authorizeStore(
  intent: unknown,
  shardHash: Uint8Array | string,
  holderKey: Uint8Array | string,
  nowMs: number,
): CheckResult<StoreAuthorization, StoreAuthorizationFailure> {
  const checked = checkPutIntent(intent);
  if (!checked.ok) return checked;
  const signed = checked.value;
  if (nowMs < signed.createdAtMs - intentClockSkewMsMax)
    return fail('not-yet-valid', `intent starts at ${signed.createdAtMs}, now is ${nowMs}`);
  if (nowMs >= signed.expiresAtMs)
    return fail('expired', `intent expired at ${signed.expiresAtMs}, now is ${nowMs}`);
  const hash = typeof shardHash === 'string' ? shardHash : toHex(shardHash);
  const shard = signed.shards.find((s) => s.shardHash === hash);
  if (shard === undefined)
    return fail('shard-not-in-intent', `the intent does not name shard ${describe(hash)}`);
  const holder = typeof holderKey === 'string' ? holderKey : toHex(holderKey);
  if (!shard.holders.includes(holder))
    return fail('holder-not-intended', `the intent does not name holder ${describe(holder)} for this shard`);
  return { ok: true, value: { intent: signed, shard } };
}

/** How far ahead of a node's clock an intent's createdAtMs may be. */
export const intentClockSkewMsMax = 5 * 60_000;
