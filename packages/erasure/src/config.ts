import type { ConfigSchema } from '@trinity/core';
import * as z from 'zod/mini';
import { InvalidShardCountError } from './errors.js';

/** At most this many shards in all: a shard index must fit in one GF(2^8) element. */
export const totalShardsMax = 256;

/** How the multiply-accumulate inner loop runs: WebAssembly SIMD when the host has it, else TypeScript. */
export const backendChoices = ['auto', 'wasm', 'wasm-relaxed-simd', 'wasm-simd', 'js'] as const;
export type Backend = (typeof backendChoices)[number];

/** What `createEncoder` takes. Every field is optional; the defaults are the stated ones. */
export interface ErasureOptions {
  /**
   * Data shards per stripe (k), 1 to 255, with `dataShards + parityShards <= 256`.
   * @defaultValue 10
   */
  readonly dataShards?: number | undefined;
  /**
   * Parity shards per stripe (m), 1 to 255: any m shards may be lost.
   * @defaultValue 4
   */
  readonly parityShards?: number | undefined;
  /**
   * 'auto' picks WebAssembly relaxed SIMD where it validates, else SIMD, else TypeScript; 'wasm'
   * insists on WebAssembly; 'wasm-relaxed-simd' and 'wasm-simd' force one kernel
   * (BackendUnavailableError where it does not validate); 'js' forces the portable path.
   * @defaultValue 'auto'
   */
  readonly backend?: Backend | undefined;
  /**
   * Decode matrices (one per erasure pattern) kept for reuse, 0 to 65,536.
   * @defaultValue 256
   */
  readonly decodeCacheSize?: number | undefined;
  /**
   * Larger shards are refused with ShardSizeError, 1 to 2^31.
   * @defaultValue 2 ** 30 (1 GiB)
   */
  readonly maxShardBytes?: number | undefined;
}

/** The parsed configuration: `ErasureOptions` with every default filled in. */
export interface ErasureConfig {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly backend: Backend;
  readonly decodeCacheSize: number;
  readonly maxShardBytes: number;
}

/** An integer in [min, max]: the rule every count and size here follows. */
export function intIn(min: number, max: number) {
  return z.int().check(z.minimum(min), z.maximum(max));
}

/** Refines a shape that has both shard counts so that k + m fits one GF(2^8) element. */
export function shardCountsFit<T extends { dataShards: number; parityShards: number }>() {
  return z.refine<T>((o) => o.dataShards + o.parityShards <= totalShardsMax, {
    message: `dataShards + parityShards must be <= ${totalShardsMax}`,
    path: ['parityShards'],
  });
}

/** @internal The zod schema behind `erasureConfigSchema` (tests compare its types with the interfaces). */
export const erasureConfigZod = z
  .strictObject({
    dataShards: z._default(intIn(1, 255), 10),
    parityShards: z._default(intIn(1, 255), 4),
    backend: z._default(z.enum(backendChoices), 'auto'),
    decodeCacheSize: z._default(intIn(0, 65_536), 256),
    maxShardBytes: z._default(intIn(1, 2 ** 31), 2 ** 30),
  })
  .check(shardCountsFit());

/**
 * Validates and defaults `ErasureOptions` (a Standard Schema v1 validator; see `parseConfig` in
 * @trinity/core). Which library implements it is not part of the API.
 */
export const erasureConfigSchema: ConfigSchema<ErasureOptions, ErasureConfig> = erasureConfigZod;

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
