import { describe, ed25519, fromHex, isHex, sha256, toHex } from '@trinity/core';
import { z } from 'zod';
import {
  type CheckResult,
  checkedOrThrow,
  checkFields,
  decodeCanonical,
  domainBytes,
  encodeSigned,
  fail,
  hash32Hex,
  parseSigned,
  publicKeyHex,
  signatureHex,
  signingBytes,
  signingDomains,
  signObject,
  timeMs,
  withoutSignature,
} from './_signed.js';
import { VerifiedDescriptors } from './_verified-descriptors.js';
import { type CanonicalValue, canonicalJson } from './canonical-json.js';
import { SignedObjectInvalidError } from './errors.js';
import { erasureParamsSchema, manifestLimits } from './manifest.js';
import { merkleLeafBytesDefault, merkleLimits } from './merkle.js';

/** Bounds every descriptor is checked against, wherever it comes from. */
export const descriptorLimits = {
  maxStripes: manifestLimits.maxStripes,
  maxShardsPerStripe: manifestLimits.maxShardsPerStripe,
  maxNameLength: manifestLimits.maxNameLength,
  /** Wrapped content key (the owner's data key sealed for the owner or a reader). */
  maxWrappedKeyBytes: 1024,
  maxSegmentBytes: 64 * 1024 * 1024,
  /** Similarity fingerprints the owner may publish for an encrypted object it made searchable. */
  maxFingerprints: 64,
  maxFingerprintBytes: 4096,
  /** Encoded bytes accepted by decodeSignedDescriptor unless a smaller maxBytes is given. */
  maxEncodedBytes: 256 * 1024 * 1024,
} as const;

/** The descriptor format this package writes and reads (also in the signing domain). */
export const descriptorFormat = 1;

/** What a descriptor commits to for one shard: its SHA-256 and its Merkle root (proof-of-storage). */
export const shardCommitmentEntrySchema = z.object({ hash: hash32Hex, merkleRoot: hash32Hex }).strict();

export const descriptorStripeSchema = z
  .object({
    dataBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    shards: z.array(shardCommitmentEntrySchema).min(2).max(descriptorLimits.maxShardsPerStripe),
  })
  .strict();

/**
 * How the object's bytes were encrypted before erasure coding. Opaque to storage: an algorithm id,
 * the segment size and the wrapped content key, each bounded. Absent for public objects.
 */
export const encryptionParamsSchema = z
  .object({
    algorithm: z.string().regex(/^[a-z0-9][a-z0-9./-]{0,63}$/, 'must be 1-64 characters of a-z 0-9 . / -'),
    segmentBytes: z.number().int().min(1).max(descriptorLimits.maxSegmentBytes),
    wrappedKey: z
      .string()
      .max(descriptorLimits.maxWrappedKeyBytes * 2)
      .regex(/^(?:[0-9a-f]{2})+$/, 'must be 1 or more bytes of lower-case hex'),
  })
  .strict();

const descriptorBodyObjectSchema = z
  .object({
    format: z.literal(descriptorFormat),
    name: z.string().min(1).max(descriptorLimits.maxNameLength).optional(),
    size: z.number().int().min(0).max(manifestLimits.maxSizeBytes),
    createdAtMs: timeMs,
    owner: publicKeyHex,
    erasure: erasureParamsSchema,
    merkleLeafBytes: z
      .number()
      .int()
      .min(merkleLimits.leafBytesMin)
      .max(merkleLimits.leafBytesMax)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two'),
    encryption: encryptionParamsSchema.optional(),
    /**
     * Opaque to storage: similarity fingerprints of the plaintext, computed by the owner before
     * encryption and published only when the owner made an encrypted object searchable (holders
     * can index what they cannot read). Absent otherwise.
     */
    fingerprints: z
      .array(
        z
          .string()
          .max(descriptorLimits.maxFingerprintBytes * 2)
          .regex(/^(?:[0-9a-f]{2})+$/, 'must be 1 or more bytes of lower-case hex'),
      )
      .min(1)
      .max(descriptorLimits.maxFingerprints)
      .optional(),
    stripes: z.array(descriptorStripeSchema).max(descriptorLimits.maxStripes),
  })
  .strict();

type DescriptorShape = z.output<typeof descriptorBodyObjectSchema>;

function checkStripes(d: DescriptorShape, ctx: z.RefinementCtx): void {
  const { dataShards, parityShards, shardBytes } = d.erasure;
  const stripeBytes = dataShards * shardBytes;
  let total = 0;
  for (const [index, stripe] of d.stripes.entries()) {
    if (stripe.shards.length !== dataShards + parityShards) {
      ctx.addIssue({
        code: 'custom',
        path: ['stripes', index, 'shards'],
        message: `must hold ${dataShards + parityShards} shards`,
      });
    }
    const last = index === d.stripes.length - 1;
    if (stripe.dataBytes > stripeBytes || (!last && stripe.dataBytes !== stripeBytes)) {
      ctx.addIssue({
        code: 'custom',
        path: ['stripes', index, 'dataBytes'],
        message: `must be ${last ? '<= ' : ''}${stripeBytes}`,
      });
    }
    total += stripe.dataBytes;
  }
  if (total !== d.size) {
    ctx.addIssue({
      code: 'custom',
      path: ['size'],
      message: `must equal the stripes' dataBytes sum ${total}`,
    });
  }
  if (shardBytes > merkleLimits.leavesMax * d.merkleLeafBytes) {
    ctx.addIssue({ code: 'custom', path: ['merkleLeafBytes'], message: 'too small for shardBytes' });
  }
}

/** The signed fields of a descriptor, with every cross-field rule. */
export const descriptorSchema = descriptorBodyObjectSchema.superRefine(checkStripes);
/** A descriptor with its owner's signature. */
export const signedDescriptorSchema = descriptorBodyObjectSchema
  .extend({ signature: signatureHex })
  .superRefine(checkStripes);

export type Descriptor = z.output<typeof descriptorSchema>;
export type SignedDescriptor = z.output<typeof signedDescriptorSchema>;
export type EncryptionParams = z.output<typeof encryptionParamsSchema>;

/** What `signDescriptor` takes: the descriptor without `format`, `owner` (from the key) and defaults. */
export type DescriptorInput = Omit<Descriptor, 'format' | 'owner' | 'merkleLeafBytes'> & {
  merkleLeafBytes?: number;
};

/** Checks the fields (not the signature) of anything claimed to be a descriptor. */
export function parseDescriptor(value: unknown): Descriptor {
  return parseSigned('descriptor', descriptorSchema, value);
}

/** Checks the fields of anything claimed to be a signed descriptor (not the signature: see verifySignedDescriptor). */
export function parseSignedDescriptor(value: unknown): SignedDescriptor {
  return parseSigned('descriptor', signedDescriptorSchema, value);
}

/** Builds, checks and signs a descriptor with the owner's 32-byte ed25519 secret key. */
export function signDescriptor(input: DescriptorInput, ownerSecretKey: Uint8Array): SignedDescriptor {
  return signObject(
    'descriptor',
    signingDomains.descriptor,
    descriptorSchema,
    input,
    ownerSecretKey,
    (fields, owner) => ({
      merkleLeafBytes: merkleLeafBytesDefault,
      ...structuredClone(fields),
      format: descriptorFormat,
      owner,
    }),
  );
}

/**
 * The object id: hex SHA-256 of `"trinity/object-id/v1" || 0x00 || canonical JSON of the signed
 * fields`. It covers everything the owner signed (owner key included), so a different descriptor
 * always has a different id; the signature is left out, so the id is known before signing and the
 * same signed content has one id.
 */
export function descriptorId(descriptor: Descriptor | SignedDescriptor): string {
  const body = 'signature' in descriptor ? withoutSignature(descriptor) : descriptor;
  return toHex(sha256(signingBytes(signingDomains.objectId, parseDescriptor(body) as CanonicalValue)));
}

export type DescriptorCheckFailure = 'malformed' | 'bad-signature' | 'id-mismatch';

/**
 * Checks anything claimed to be a signed descriptor: fields and bounds, the owner's signature, and
 * (when given) that it has `expectedId`. Every node runs this before storing, serving or acting on one.
 */
export function checkSignedDescriptor(
  value: unknown,
  expectedId?: string,
): CheckResult<{ descriptor: SignedDescriptor; id: string }, DescriptorCheckFailure> {
  const known = verifiedDescriptors.lookup(value);
  if (known !== undefined && (expectedId === undefined || expectedId === known.id)) {
    return { ok: true, value: { descriptor: known.descriptor, id: known.id } };
  }
  const parsed = checkFields(signedDescriptorSchema, value);
  if (!parsed.ok) return parsed;
  const descriptor = parsed.value;
  // One canonical encoding serves both the signature and the id (it dominates the cost of a check).
  const text = canonicalJson(withoutSignature(descriptor) as CanonicalValue);
  const message = domainBytes(signingDomains.descriptor, text);
  if (!ed25519.verify(fromHex(descriptor.signature), message, fromHex(descriptor.owner))) {
    return fail('bad-signature', 'the signature does not verify under the owner key');
  }
  const id = toHex(sha256(domainBytes(signingDomains.objectId, text)));
  if (expectedId !== undefined && id !== expectedId) {
    return fail('id-mismatch', `expected object ${describe(expectedId)}, got ${id}`);
  }
  const entry = verifiedDescriptors.remember(value, descriptor, id);
  return { ok: true, value: { descriptor: entry?.descriptor ?? descriptor, id } };
}

/**
 * Descriptors this process checked in full, so each is checked once (see _verified-descriptors.ts
 * for why a hit is as strict as the check): at most 64 of them and 8,192 stripes among them.
 */
const verifiedDescriptors = new VerifiedDescriptors<SignedDescriptor>(64, 8192);

/** Forgets every descriptor checked so far (tests, and measuring the full check). */
export function clearVerifiedDescriptors(): void {
  verifiedDescriptors.clear();
}

/** checkSignedDescriptor, throwing SignedObjectInvalidError or SignatureInvalidError on failure. */
export function verifySignedDescriptor(
  value: unknown,
  expectedId?: string,
): { descriptor: SignedDescriptor; id: string } {
  if (expectedId !== undefined && !isHex(expectedId, 32)) {
    throw new SignedObjectInvalidError(
      'descriptor',
      `object id must be 64 lower-case hex characters, got ${describe(expectedId)}`,
    );
  }
  const result = checkSignedDescriptor(value, expectedId);
  return checkedOrThrow('descriptor', signedDescriptorSchema, value, result, (failure) => failure.message);
}

/** The canonical bytes of a signed descriptor (what is stored and sent). */
export function encodeSignedDescriptor(descriptor: SignedDescriptor): Uint8Array {
  // A descriptor object this process verified (frozen, so still what was checked): its bytes again.
  const known = verifiedDescriptors.ofObject(descriptor);
  if (known?.encoded !== undefined) return known.encoded.slice();
  const bytes = encodeSigned('descriptor', signedDescriptorSchema, descriptor);
  if (known !== undefined) verifiedDescriptors.rememberBytes(known, bytes, toHex(sha256(bytes)));
  return bytes;
}

/**
 * Decodes signed descriptor bytes from anywhere: bounded size, UTF-8 JSON, canonical form, fields,
 * signature and (when given) the expected id. Throws SignedObjectInvalidError or SignatureInvalidError.
 */
export function decodeSignedDescriptor(
  bytes: Uint8Array,
  expectedId?: string,
  options: { maxBytes?: number } = {},
): { descriptor: SignedDescriptor; id: string } {
  const maxBytes = Math.min(
    options.maxBytes ?? descriptorLimits.maxEncodedBytes,
    descriptorLimits.maxEncodedBytes,
  );
  let key: string | undefined;
  if (bytes instanceof Uint8Array && bytes.length <= maxBytes) {
    key = toHex(sha256(bytes));
    const known = verifiedDescriptors.lookupBytes(bytes, key);
    if (known !== undefined && (expectedId === undefined || expectedId === known.id)) {
      return { descriptor: known.descriptor, id: known.id };
    }
  }
  const parsed = decodeCanonical('descriptor', bytes, maxBytes, parseSignedDescriptor);
  const verified = verifySignedDescriptor(parsed, expectedId);
  // Exactly these bytes decoded to this checked descriptor: remember them for the next read.
  const entry = verifiedDescriptors.ofObject(verified.descriptor);
  if (entry !== undefined && key !== undefined) verifiedDescriptors.rememberBytes(entry, bytes, key);
  return verified;
}

/** A shard's commitment as proof-of-storage uses it: hash, Merkle root, size and leaf size. */
export interface ShardCommitment {
  /** SHA-256 of the shard, hex. */
  readonly shardHash: string;
  /** Merkle root of the shard, hex (see merkle.ts). */
  readonly merkleRoot: string;
  readonly sizeBytes: number;
  readonly leafBytes: number;
}

/** The commitment of shard `shardIndex` of stripe `stripeIndex`; RangeError when there is none. */
export function shardCommitment(
  descriptor: Descriptor,
  stripeIndex: number,
  shardIndex: number,
): ShardCommitment {
  const shard = descriptor.stripes[stripeIndex]?.shards[shardIndex];
  if (shard === undefined) throw new RangeError(`no shard ${shardIndex} in stripe ${stripeIndex}`);
  return {
    shardHash: shard.hash,
    merkleRoot: shard.merkleRoot,
    sizeBytes: descriptor.erasure.shardBytes,
    leafBytes: descriptor.merkleLeafBytes,
  };
}
