import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod/mini';
import type { erasureConfigZod } from '../src/config.js';
import type { erasurePolicyZod } from '../src/durability.js';
import {
  type ErasureConfig,
  type ErasureErrorCode,
  type ErasureOptions,
  type ErasurePolicy,
  type ErasurePolicyInput,
  type InvalidShardCountError,
  type StripeConfig,
  type StripeOptions,
  TooFewShardsError,
} from '../src/index.js';
import type { stripeOptionsZod } from '../src/stripes.js';

// The interfaces are the API; the zod schemas are how they are checked. These fail to compile when
// the two drift apart (a field added to one only, a default dropped, a type changed).
describe('option and config types match their schemas', () => {
  it('erasure config', () => {
    expectTypeOf<keyof ErasureOptions>().toEqualTypeOf<keyof z.input<typeof erasureConfigZod>>();
    expectTypeOf<z.input<typeof erasureConfigZod>>().toExtend<ErasureOptions>();
    expectTypeOf<ErasureOptions>().toExtend<z.input<typeof erasureConfigZod>>();
    expectTypeOf<z.output<typeof erasureConfigZod>>().toExtend<ErasureConfig>();
    expectTypeOf<ErasureConfig>().toExtend<z.output<typeof erasureConfigZod>>();
  });

  it('stripe options', () => {
    expectTypeOf<keyof StripeOptions>().toEqualTypeOf<keyof z.input<typeof stripeOptionsZod>>();
    expectTypeOf<z.input<typeof stripeOptionsZod>>().toExtend<StripeOptions>();
    expectTypeOf<StripeOptions>().toExtend<z.input<typeof stripeOptionsZod>>();
    expectTypeOf<z.output<typeof stripeOptionsZod>>().toExtend<StripeConfig>();
    expectTypeOf<StripeConfig>().toExtend<z.output<typeof stripeOptionsZod>>();
  });

  it('erasure policy', () => {
    expectTypeOf<keyof ErasurePolicyInput>().toEqualTypeOf<keyof z.input<typeof erasurePolicyZod>>();
    expectTypeOf<z.input<typeof erasurePolicyZod>>().toExtend<ErasurePolicyInput>();
    expectTypeOf<ErasurePolicyInput>().toExtend<z.input<typeof erasurePolicyZod>>();
    expectTypeOf<z.output<typeof erasurePolicyZod>>().toExtend<ErasurePolicy>();
    expectTypeOf<ErasurePolicy>().toExtend<z.output<typeof erasurePolicyZod>>();
  });
});

describe('error codes are literal types', () => {
  it('each class carries its own code, the base the union', () => {
    expectTypeOf(new TooFewShardsError('x').code).toEqualTypeOf<'ERASURE_TOO_FEW_SHARDS'>();
    expectTypeOf<InvalidShardCountError['code']>().toEqualTypeOf<'ERASURE_INVALID_SHARD_COUNT'>();
    expectTypeOf<'ERASURE_TOO_FEW_SHARDS'>().toExtend<ErasureErrorCode>();
    expectTypeOf<'CONFIG_INVALID'>().not.toExtend<ErasureErrorCode>();
  });
});
