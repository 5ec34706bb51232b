import { bytesToUtf8, describe, hashHexPattern, isHex, sha256, toHex, utf8ToBytes } from '@trinity/core';
import { z } from 'zod';
import { formatIssues } from './_signed.js';
import { type CanonicalValue, canonicalJson } from './canonical-json.js';
import { ManifestInvalidError } from './errors.js';

/** Bounds every manifest is checked against, wherever it comes from. */
export const manifestLimits = {
  maxStripes: 1_048_576,
  maxShardsPerStripe: 256,
  maxHoldersPerShard: 16,
  maxNameLength: 1024,
  maxShardBytes: 256 * 1024 * 1024,
  maxSizeBytes: Number.MAX_SAFE_INTEGER,
  /** Encoded bytes accepted by decodeManifest unless a smaller maxBytes is given. */
  maxEncodedBytes: 256 * 1024 * 1024,
} as const;

/** The manifest format this package writes and reads. */
export const manifestFormat = 1;

const hashHexSchema = z.string().regex(hashHexPattern, 'must be 64 lower-case hex characters');

export const holderSchema = z
  .object({
    nodeId: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ -'),
    region: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  })
  .strict();

export const shardEntrySchema = z
  .object({
    hash: hashHexSchema,
    holders: z
      .array(holderSchema)
      .min(1)
      .max(manifestLimits.maxHoldersPerShard)
      .refine(
        (holders) => new Set(holders.map((h) => h.nodeId)).size === holders.length,
        'holders must be distinct nodes',
      ),
  })
  .strict();

export const stripeEntrySchema = z
  .object({
    dataBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    shards: z.array(shardEntrySchema).min(2).max(manifestLimits.maxShardsPerStripe),
  })
  .strict();

export const erasureParamsSchema = z
  .object({
    dataShards: z.number().int().min(1).max(255),
    parityShards: z.number().int().min(1).max(255),
    shardBytes: z.number().int().min(1).max(manifestLimits.maxShardBytes),
  })
  .strict()
  .refine(
    (e) => e.dataShards + e.parityShards <= manifestLimits.maxShardsPerStripe,
    'dataShards + parityShards must be <= 256',
  );

const manifestObjectSchema = z
  .object({
    format: z.literal(manifestFormat),
    /** Bumped by every change of holders (repair, rebalancing); the object id does not change. */
    version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    name: z.string().min(1).max(manifestLimits.maxNameLength).optional(),
    size: z.number().int().min(0).max(manifestLimits.maxSizeBytes),
    createdAtMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    erasure: erasureParamsSchema,
    stripes: z.array(stripeEntrySchema).max(manifestLimits.maxStripes),
  })
  .strict();

type ManifestShape = z.output<typeof manifestObjectSchema>;

function checkStripes(manifest: ManifestShape, ctx: z.RefinementCtx): void {
  const { dataShards, parityShards, shardBytes } = manifest.erasure;
  const stripeBytes = dataShards * shardBytes;
  let total = 0;
  for (const [index, stripe] of manifest.stripes.entries()) {
    const path = ['stripes', index];
    if (stripe.shards.length !== dataShards + parityShards) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'shards'],
        message: `must hold ${dataShards + parityShards} shards`,
      });
    }
    const last = index === manifest.stripes.length - 1;
    if (stripe.dataBytes > stripeBytes || (!last && stripe.dataBytes !== stripeBytes)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'dataBytes'],
        message: last
          ? `must be <= ${stripeBytes}`
          : `must be ${stripeBytes} (only the last stripe is short)`,
      });
    }
    total += stripe.dataBytes;
  }
  if (total !== manifest.size) {
    ctx.addIssue({
      code: 'custom',
      path: ['size'],
      message: `must equal the stripes' dataBytes sum ${total}`,
    });
  }
}

/** The zod schema of a manifest, with every cross-field rule (shards per stripe, sizes adding up). */
export const manifestSchema = manifestObjectSchema.superRefine(checkStripes);

export type Holder = z.output<typeof holderSchema>;
export type ShardEntry = z.output<typeof shardEntrySchema>;
export type StripeEntry = z.output<typeof stripeEntrySchema>;
export type ErasureParams = z.output<typeof erasureParamsSchema>;
export type Manifest = z.output<typeof manifestSchema>;

/** What createManifest takes: the manifest without `format`, with `version` defaulting to 1. */
export interface ManifestInput {
  name?: string | undefined;
  size: number;
  erasure: ErasureParams;
  stripes: readonly { dataBytes: number; shards: readonly { hash: string; holders: readonly Holder[] }[] }[];
  createdAtMs: number;
  version?: number;
}

/** Manifests this module built or checked itself: frozen, so they stay valid. */
const validated = new WeakSet<object>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** Validates anything claimed to be a manifest and returns it frozen, holders sorted by node id. */
export function parseManifest(value: unknown): Manifest {
  if (typeof value === 'object' && value !== null && validated.has(value)) return value as Manifest;
  const result = manifestSchema.safeParse(value);
  if (!result.success) throw new ManifestInvalidError(`invalid manifest: ${formatIssues(result.error)}`);
  for (const stripe of result.data.stripes) {
    for (const shard of stripe.shards)
      shard.holders.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }
  const manifest = deepFreeze(result.data);
  validated.add(manifest);
  return manifest;
}

/** Builds and validates a manifest (version 1 unless given). Throws ManifestInvalidError. */
export function createManifest(input: ManifestInput): Manifest {
  if (typeof input !== 'object' || input === null) {
    throw new ManifestInvalidError(`manifest input must be an object, got ${describe(input)}`);
  }
  return parseManifest({ format: manifestFormat, version: 1, ...structuredClone(input) });
}

function contentDescription(manifest: Manifest): CanonicalValue {
  return {
    format: manifest.format,
    name: manifest.name,
    size: manifest.size,
    erasure: manifest.erasure,
    stripes: manifest.stripes.map((stripe) => ({
      dataBytes: stripe.dataBytes,
      shards: stripe.shards.map((shard) => shard.hash),
    })),
  };
}

/**
 * The object id: hex SHA-256 of the canonical JSON of the immutable content description (format,
 * name, size, erasure parameters, each stripe's dataBytes and shard hashes). Holders, version and
 * createdAtMs are left out, so repair can move shards without changing the id users hold.
 */
export function objectId(manifest: Manifest): string {
  const checked = parseManifest(manifest);
  return toHex(sha256(utf8ToBytes(canonicalJson(contentDescription(checked)))));
}

/** The canonical bytes of a whole manifest (holders and version included). See the README. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const checked = parseManifest(manifest);
  return utf8ToBytes(canonicalJson(checked as unknown as CanonicalValue));
}

/**
 * Decodes and validates manifest bytes from anywhere (disk, a peer, the DHT): bounded size, UTF-8,
 * JSON, schema, canonical form, and the object id when `expectedId` is given. ManifestInvalidError otherwise.
 */
export function decodeManifest(
  bytes: Uint8Array,
  expectedId?: string,
  options: { maxBytes?: number } = {},
): Manifest {
  if (!(bytes instanceof Uint8Array))
    throw new ManifestInvalidError(`manifest must be bytes, got ${describe(bytes)}`);
  const maxBytes = Math.min(
    options.maxBytes ?? manifestLimits.maxEncodedBytes,
    manifestLimits.maxEncodedBytes,
  );
  if (bytes.length > maxBytes) {
    throw new ManifestInvalidError(`manifest is ${bytes.length} bytes, over the limit of ${maxBytes}`);
  }
  if (expectedId !== undefined && !isHex(expectedId, 32)) {
    throw new ManifestInvalidError(
      `manifest id must be 64 lower-case hex characters, got ${describe(expectedId)}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(bytesToUtf8(bytes));
  } catch (cause) {
    throw new ManifestInvalidError('manifest is not UTF-8 JSON', { cause });
  }
  const manifest = parseManifest(value);
  const canonical = encodeManifest(manifest);
  if (canonical.length !== bytes.length || !canonical.every((byte, i) => byte === bytes[i])) {
    throw new ManifestInvalidError('manifest is not in canonical form');
  }
  if (expectedId !== undefined) {
    const actual = objectId(manifest);
    if (actual !== expectedId)
      throw new ManifestInvalidError(`manifest id mismatch: expected ${expectedId}, got ${actual}`);
  }
  return manifest;
}

/** One change of holders: the shard at (stripeIndex, shardIndex) is now held by `holders`. */
export interface HolderChange {
  stripeIndex: number;
  shardIndex: number;
  holders: readonly Holder[];
}

/** A new manifest with the given shards' holders replaced and `version` bumped; same object id. */
export function updateHolders(manifest: Manifest, changes: readonly HolderChange[]): Manifest {
  const checked = parseManifest(manifest);
  const next = structuredClone(checked) as { -readonly [K in keyof Manifest]: Manifest[K] };
  for (const change of changes) {
    const shard = next.stripes[change.stripeIndex]?.shards[change.shardIndex];
    if (shard === undefined) {
      throw new ManifestInvalidError(`no shard ${change.shardIndex} in stripe ${change.stripeIndex}`);
    }
    shard.holders = [...change.holders];
  }
  next.version = checked.version + 1;
  return parseManifest(next);
}
