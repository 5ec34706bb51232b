import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod/mini';
import type { fingerprintConfigZod, semanticIndexConfigZod, shardLockConfigZod } from '../src/config.js';
import {
  type FingerprintConfig,
  type FingerprintConfigInput,
  type IndexFullError,
  LockNotFoundError,
  type SemanticIndexConfig,
  type SemanticIndexConfigInput,
  type ShardLockConfig,
  type ShardLockConfigInput,
  type VsaErrorCode,
} from '../src/index.js';

// The interfaces are the API; the zod schemas are how they are checked. These fail to compile when
// the two drift apart (a field added to one only, a default dropped, a type changed).
describe('option and config types match their schemas', () => {
  it('fingerprint config', () => {
    expectTypeOf<keyof FingerprintConfigInput>().toEqualTypeOf<keyof z.input<typeof fingerprintConfigZod>>();
    expectTypeOf<z.input<typeof fingerprintConfigZod>>().toExtend<FingerprintConfigInput>();
    expectTypeOf<FingerprintConfigInput>().toExtend<z.input<typeof fingerprintConfigZod>>();
    expectTypeOf<z.output<typeof fingerprintConfigZod>>().toExtend<FingerprintConfig>();
    expectTypeOf<FingerprintConfig>().toExtend<z.output<typeof fingerprintConfigZod>>();
  });

  it('semantic index config', () => {
    expectTypeOf<keyof SemanticIndexConfigInput>().toEqualTypeOf<
      keyof z.input<typeof semanticIndexConfigZod>
    >();
    expectTypeOf<z.input<typeof semanticIndexConfigZod>>().toExtend<SemanticIndexConfigInput>();
    expectTypeOf<SemanticIndexConfigInput>().toExtend<z.input<typeof semanticIndexConfigZod>>();
    expectTypeOf<z.output<typeof semanticIndexConfigZod>>().toExtend<SemanticIndexConfig>();
    expectTypeOf<SemanticIndexConfig>().toExtend<z.output<typeof semanticIndexConfigZod>>();
  });

  it('shard lock config', () => {
    expectTypeOf<keyof ShardLockConfigInput>().toEqualTypeOf<keyof z.input<typeof shardLockConfigZod>>();
    expectTypeOf<z.input<typeof shardLockConfigZod>>().toExtend<ShardLockConfigInput>();
    expectTypeOf<ShardLockConfigInput>().toExtend<z.input<typeof shardLockConfigZod>>();
    expectTypeOf<z.output<typeof shardLockConfigZod>>().toExtend<ShardLockConfig>();
    expectTypeOf<ShardLockConfig>().toExtend<z.output<typeof shardLockConfigZod>>();
  });
});

describe('error codes are literal types', () => {
  it('each class carries its own code, the base the union', () => {
    expectTypeOf(new LockNotFoundError(new Uint8Array(32)).code).toEqualTypeOf<'LOCK_NOT_FOUND'>();
    expectTypeOf<IndexFullError['code']>().toEqualTypeOf<'INDEX_FULL'>();
    expectTypeOf<'INDEX_FILE_UNAVAILABLE'>().toExtend<VsaErrorCode>();
    expectTypeOf<'CONFIG_INVALID'>().not.toExtend<VsaErrorCode>();
  });
});
