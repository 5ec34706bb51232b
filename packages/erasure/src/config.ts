import { z } from 'zod';
import { InvalidShardCountError } from './errors.js';

/** At most this many shards in all: a shard index must fit in one GF(2^8) element. */
export const totalShardsMax = 256;

/** How the multiply-accumulate inner loop runs: WebAssembly SIMD when the host has it, else TypeScript. */
export const backendChoices = ['auto', 'wasm', 'wasm-relaxed-simd', 'wasm-simd', 'js'] as const;

/**
 * Settings of one Reed-Solomon encoder. `dataShards` (k) and `parityShards` (m): 1 <= k, 1 <= m,
 * k + m <= 256. `backend`: 'auto' picks WebAssembly relaxed SIMD where it validates, else SIMD,
 * else TypeScript; 'wasm' insists on WebAssembly; 'wasm-relaxed-simd' and 'wasm-simd' force one
 * kernel (BackendUnavailableError where it does not validate); 'js' forces the portable path. `decodeCacheSize`: how
 * many decode matrices (one per erasure pattern) are kept. `maxShardBytes`: larger shards are refused.
 */
export const erasureConfigSchema = z
  .object({
    dataShards: z.number().int().min(1).max(255).default(10),
    parityShards: z.number().int().min(1).max(255).default(4),
    backend: z.enum(backendChoices).default('auto'),
    decodeCacheSize: z.number().int().min(0).max(65_536).default(256),
    maxShardBytes: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31)
      .default(2 ** 30),
  })
  .strict()
  .refine((config) => config.dataShards + config.parityShards <= totalShardsMax, {
    message: `dataShards + parityShards must be <= ${totalShardsMax}`,
    path: ['parityShards'],
  });

/** What `createEncoder` takes: every field optional, defaults as in `erasureConfigSchema`. */
export type ErasureOptions = z.input<typeof erasureConfigSchema>;
/** The parsed, defaulted configuration. */
export type ErasureConfig = z.output<typeof erasureConfigSchema>;
export type Backend = (typeof backendChoices)[number];

/**
 * Checks the shard counts before the schema does, so that a bad count surfaces as
 * InvalidShardCountError (what callers match on) rather than a generic ConfigError.
 */
export function checkShardCounts(dataShards: unknown, parityShards: unknown): void {
  for (const [name, value] of [
    ['dataShards', dataShards],
    ['parityShards', parityShards],
  ] as const) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > totalShardsMax - 1) {
      throw new InvalidShardCountError(
        `${name} must be an integer in [1, ${totalShardsMax - 1}], got ${String(value)}`,
        {
          [name]: value,
        },
      );
    }
  }
  const k = (dataShards as number | undefined) ?? 10;
  const m = (parityShards as number | undefined) ?? 4;
  if (k + m > totalShardsMax) {
    throw new InvalidShardCountError(
      `dataShards + parityShards must be <= ${totalShardsMax}, got ${k} + ${m} = ${k + m}`,
      { dataShards: k, parityShards: m },
    );
  }
}
