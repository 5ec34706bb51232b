import { z } from 'zod';
import { defaultCodebookSeed } from './codebook.js';
import { hypervectorDimsMax, hypervectorDimsMin } from './hypervector.js';

const dims = z.number().int().min(hypervectorDimsMin).max(hypervectorDimsMax);
const codebookSeed = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
/** Which implementation runs the hot loops: the WebAssembly SIMD kernel, plain TypeScript, or the best available. */
const kernel = z.enum(['auto', 'wasm', 'js']);

/** Settings of a FingerprintEncoder. Fingerprints are comparable only between equal `dims` and `codebookSeed`. */
export const fingerprintConfigSchema = z
  .object({
    /** Dimensions of the fingerprint hypervectors. */
    dims: dims.default(1024),
    /** Seed of the byte codebook (xoshiro128** via @trinity/core). */
    codebookSeed: codebookSeed.default(defaultCodebookSeed),
    kernel: kernel.default('auto'),
  })
  .strict();

export type FingerprintConfig = z.output<typeof fingerprintConfigSchema>;
export type FingerprintConfigInput = z.input<typeof fingerprintConfigSchema>;

/** Settings of a SemanticIndex. `dims` and `codebookSeed` are those of its fingerprints. */
export const semanticIndexConfigSchema = z
  .object({
    dims: dims.default(1024),
    codebookSeed: codebookSeed.default(defaultCodebookSeed),
    kernel: kernel.default('auto'),
    /** Most entries the index accepts (also capped by what 4 GiB of WebAssembly memory can address). */
    maxEntries: z.number().int().min(1).max(100_000_000).default(4_000_000),
    /** Entries allocated up front; the index doubles its capacity as it fills. */
    initialCapacity: z.number().int().min(1).max(100_000_000).default(1024),
    /** Largest `topK` / `maxResults` a search may ask for. */
    resultsMax: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict();

export type SemanticIndexConfig = z.output<typeof semanticIndexConfigSchema>;
export type SemanticIndexConfigInput = z.input<typeof semanticIndexConfigSchema>;

/** Settings of a ShardLockManager (seed v2.1 defaults). */
export const shardLockConfigSchema = z
  .object({
    /** A lock expires this long after it was granted (or last re-acquired); then anyone may take it. */
    lockTimeoutMs: z.number().int().min(1).max(86_400_000).default(60_000),
    /** Locks one holder may hold at once. */
    maxLocksPerHolder: z.number().int().min(1).max(1_000_000).default(64),
    /** Locks the whole table holds at once. */
    maxLocks: z.number().int().min(1).max(100_000_000).default(1_000_000),
    /**
     * Released shards whose last fencing token `latestFencingToken` still answers (the most recent
     * ones). Off by default: fencing needs only the live lock's token, and remembering costs a map
     * update per release.
     */
    rememberedTokens: z.number().int().min(0).max(10_000_000).default(0),
    /** How a grant binds holder to shard: SHA-256(shard XOR holder) (seed) or a bound hypervector. */
    binding: z.enum(['sha256', 'hypervector']).default('sha256'),
    /** Dimensions of the hypervector binding. */
    bindingDims: dims.default(1024),
    /** No fencing token is lower than this (give it the highest token a store has seen, after a restart). */
    firstFencingToken: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(1),
    /**
     * Tokens are at least floor(nowMs) × this, so a restarted manager keeps issuing larger tokens without
     * persisted state as long as its clock did not go back. 0 turns clock-derived tokens off.
     */
    fencingTokensPerMs: z.number().int().min(0).max(1024).default(1024),
  })
  .strict();

export type ShardLockConfig = z.output<typeof shardLockConfigSchema>;
export type ShardLockConfigInput = z.input<typeof shardLockConfigSchema>;
