import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { txConfigSchema, txLogConfigSchema } from '../src/config.js';
import type { TxConfig, TxConfigInput, TxLogConfig, TxLogConfigInput } from '../src/index.js';

// The interfaces are the documented API; the zod schemas are how they are checked. These fail to
// compile when the two drift apart (a field added to one only, a default dropped, a type changed).
describe('option and config types match their schemas', () => {
  it('tx log config', () => {
    expectTypeOf<keyof TxLogConfigInput>().toEqualTypeOf<keyof z.input<typeof txLogConfigSchema>>();
    expectTypeOf<z.input<typeof txLogConfigSchema>>().toExtend<TxLogConfigInput>();
    expectTypeOf<TxLogConfigInput>().toExtend<z.input<typeof txLogConfigSchema>>();
    expectTypeOf<z.output<typeof txLogConfigSchema>>().toExtend<TxLogConfig>();
    expectTypeOf<TxLogConfig>().toExtend<z.output<typeof txLogConfigSchema>>();
  });

  it('tx config', () => {
    expectTypeOf<keyof TxConfigInput>().toEqualTypeOf<keyof z.input<typeof txConfigSchema>>();
    expectTypeOf<z.input<typeof txConfigSchema>>().toExtend<TxConfigInput>();
    expectTypeOf<TxConfigInput>().toExtend<z.input<typeof txConfigSchema>>();
    expectTypeOf<z.output<typeof txConfigSchema>>().toExtend<TxConfig>();
    expectTypeOf<TxConfig>().toExtend<z.output<typeof txConfigSchema>>();
  });
});
