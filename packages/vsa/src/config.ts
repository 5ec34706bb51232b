import type { ConfigSchema } from '@trinity/core';
import * as z from 'zod/mini';
import { defaultCodebookSeed } from './codebook.js';
import { hypervectorDimsMax, hypervectorDimsMin } from './hypervector.js';

/** Which implementation runs the hot loops: the WebAssembly SIMD kernel, plain TypeScript, or the best available. */
export type KernelChoice = 'auto' | 'wasm' | 'js';

/** Settings of a FingerprintEncoder. Fingerprints are comparable only between equal `dims` and `codebookSeed`. */
export interface FingerprintConfigInput {
  /**
   * Dimensions of the fingerprint hypervectors, 16 to 10,000.
   * @defaultValue 1024
   */
  readonly dims?: number | undefined;
  /**
   * Seed of the byte codebook (xoshiro128** via @trinity/core), 0 to 2^32 - 1.
   * @defaultValue defaultCodebookSeed
   */
  readonly codebookSeed?: number | undefined;
  /**
   * 'wasm' insists on the WebAssembly SIMD kernel (KernelUnavailableError without it), 'js' uses
   * TypeScript, 'auto' the kernel where it runs.
   * @defaultValue 'auto'
   */
  readonly kernel?: KernelChoice | undefined;
}

/** `FingerprintConfigInput` with every default filled in. */
export interface FingerprintConfig {
  readonly dims: number;
  readonly codebookSeed: number;
  readonly kernel: KernelChoice;
}

/** Settings of a SemanticIndex. `dims` and `codebookSeed` are those of its fingerprints. */
export interface SemanticIndexConfigInput extends FingerprintConfigInput {
  /**
   * Most entries the index accepts, 1 to 100,000,000 (also capped by what 4 GiB of WebAssembly memory
   * can address).
   * @defaultValue 4000000
   */
  readonly maxEntries?: number | undefined;
  /**
   * Entries allocated up front, 1 to 100,000,000; the index doubles its capacity as it fills.
   * @defaultValue 1024
   */
  readonly initialCapacity?: number | undefined;
  /**
   * Largest `topK` / `maxResults` a search may ask for, 1 to 1,000,000.
   * @defaultValue 10000
   */
  readonly resultsMax?: number | undefined;
}

/** `SemanticIndexConfigInput` with every default filled in. */
export interface SemanticIndexConfig extends FingerprintConfig {
  readonly maxEntries: number;
  readonly initialCapacity: number;
  readonly resultsMax: number;
}

/** Settings of a ShardLockManager (seed v2.1 defaults). */
export interface ShardLockConfigInput {
  /**
   * A lock expires this long after it was granted (or last re-acquired); then anyone may take it.
   * 1 ms to 1 day.
   * @defaultValue 60000
   */
  readonly lockTimeoutMs?: number | undefined;
  /**
   * Locks one holder may hold at once, 1 to 1,000,000.
   * @defaultValue 64
   */
  readonly maxLocksPerHolder?: number | undefined;
  /**
   * Locks the whole table holds at once, 1 to 100,000,000.
   * @defaultValue 1000000
   */
  readonly maxLocks?: number | undefined;
  /**
   * Released shards whose last fencing token `latestFencingToken` still answers (the most recent
   * ones), 0 to 10,000,000. Off by default: fencing needs only the live lock's token, and remembering
   * costs a map update per release.
   * @defaultValue 0
   */
  readonly rememberedTokens?: number | undefined;
  /**
   * How a grant binds holder to shard: SHA-256(shard XOR holder) (seed) or a bound hypervector.
   * @defaultValue 'sha256'
   */
  readonly binding?: 'sha256' | 'hypervector' | undefined;
  /**
   * Dimensions of the hypervector binding, 16 to 10,000.
   * @defaultValue 1024
   */
  readonly bindingDims?: number | undefined;
  /**
   * No fencing token is lower than this (give it the highest token a store has seen, after a
   * restart), 1 to 2^53 - 1.
   * @defaultValue 1
   */
  readonly firstFencingToken?: number | undefined;
  /**
   * Tokens are at least floor(nowMs) × this, so a restarted manager keeps issuing larger tokens
   * without persisted state as long as its clock did not go back. 0 to 1024; 0 turns clock-derived
   * tokens off.
   * @defaultValue 1024
   */
  readonly fencingTokensPerMs?: number | undefined;
}

/** `ShardLockConfigInput` with every default filled in. */
export interface ShardLockConfig {
  readonly lockTimeoutMs: number;
  readonly maxLocksPerHolder: number;
  readonly maxLocks: number;
  readonly rememberedTokens: number;
  readonly binding: 'sha256' | 'hypervector';
  readonly bindingDims: number;
  readonly firstFencingToken: number;
  readonly fencingTokensPerMs: number;
}

/** An integer field from `min` to `max`, `fallback` when absent. */
function intWithDefault(min: number, max: number, fallback: number) {
  return z._default(z.int().check(z.minimum(min), z.maximum(max)), fallback);
}

const fingerprintShape = {
  dims: intWithDefault(hypervectorDimsMin, hypervectorDimsMax, 1024),
  codebookSeed: intWithDefault(0, 2 ** 32 - 1, defaultCodebookSeed),
  kernel: z._default(z.enum(['auto', 'wasm', 'js']), 'auto'),
};

/** @internal The zod schemas behind the exported validators (tests compare their types with the interfaces). */
export const fingerprintConfigZod = z.strictObject(fingerprintShape);
/** @internal */
export const semanticIndexConfigZod = z.strictObject({
  ...fingerprintShape,
  maxEntries: intWithDefault(1, 100_000_000, 4_000_000),
  initialCapacity: intWithDefault(1, 100_000_000, 1024),
  resultsMax: intWithDefault(1, 1_000_000, 10_000),
});

type LockIntField = Exclude<keyof ShardLockConfig, 'binding'>;
type IntRule = readonly [min: number, max: number, fallback: number];

/**
 * The fewest dims of a hypervector lock binding: another holder's vector equals a holder's with
 * probability 2^-dims, and node ids are cheap to make, so 16 dims (1 in 65,536) could be ground
 * through in seconds; 128 cannot.
 */
export const lockBindingDimsMin = 128;

/**
 * The integer fields of the shard lock config as [min, max, default], in one place: the schema below
 * is built from them and `_shardLockConfigFast` checks them.
 */
const shardLockInts: Readonly<Record<LockIntField, IntRule>> = {
  lockTimeoutMs: [1, 86_400_000, 60_000],
  maxLocksPerHolder: [1, 1_000_000, 64],
  maxLocks: [1, 100_000_000, 1_000_000],
  rememberedTokens: [0, 10_000_000, 0],
  bindingDims: [lockBindingDimsMin, hypervectorDimsMax, 1024],
  firstFencingToken: [1, Number.MAX_SAFE_INTEGER, 1],
  fencingTokensPerMs: [0, 1024, 1024],
};

/** @internal */
export const shardLockConfigZod = z.strictObject({
  ...(Object.fromEntries(
    Object.entries(shardLockInts).map(([key, bounds]) => [key, intWithDefault(...bounds)]),
  ) as Record<LockIntField, ReturnType<typeof intWithDefault>>),
  binding: z._default(z.enum(['sha256', 'hypervector']), 'sha256'),
});

/** Validates and defaults `FingerprintConfigInput` (a Standard Schema v1 validator; see `parseConfig`). */
export const fingerprintConfigSchema: ConfigSchema<FingerprintConfigInput, FingerprintConfig> =
  fingerprintConfigZod;
/** Validates and defaults `SemanticIndexConfigInput` (a Standard Schema v1 validator). */
export const semanticIndexConfigSchema: ConfigSchema<SemanticIndexConfigInput, SemanticIndexConfig> =
  semanticIndexConfigZod;
/** Validates and defaults `ShardLockConfigInput` (a Standard Schema v1 validator). */
export const shardLockConfigSchema: ConfigSchema<ShardLockConfigInput, ShardLockConfig> = shardLockConfigZod;

let shardLockDefaults: ShardLockConfig | undefined;

/**
 * @internal The rules of `shardLockConfigZod` checked by hand, for a lock table built at every
 * node restart (a simulator builds thousands): the config with defaults filled in when `input` is
 * a plain object of valid fields, undefined when the schema must decide (and explain a refusal).
 */
export function _shardLockConfigFast(input: unknown): ShardLockConfig | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const proto = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) return undefined;
  shardLockDefaults ??= shardLockConfigZod.parse({});
  const out: Record<string, unknown> = { ...shardLockDefaults };
  for (const key of Reflect.ownKeys(input)) {
    const field = Object.getOwnPropertyDescriptor(input, key)!;
    const value: unknown = field.value;
    // Own keys only: `toString` is in every object, and the schema refuses it as unknown.
    if (!field.enumerable || !('value' in field) || !Object.hasOwn(out, key)) return undefined;
    if (value === undefined) continue;
    const range: IntRule | undefined = shardLockInts[key as LockIntField];
    if (range === undefined ? value !== 'sha256' && value !== 'hypervector' : !intWithin(value, range))
      return undefined;
    out[key as string] = value;
  }
  return out as unknown as ShardLockConfig;
}

function intWithin(value: unknown, [min, max]: IntRule): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max;
}
