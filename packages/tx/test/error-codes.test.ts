import { describe, expectTypeOf, it } from 'vitest';
import type { ExportedErrorCodes } from '../../../scripts/error-codes.ts';
import type * as api from '../src/index.js';
import type { TxError, TxErrorCode } from '../src/index.js';

type ExportedCodes = ExportedErrorCodes<typeof api, 'TxError'>;

describe('error codes are literal types', () => {
  it('the union is exactly the codes of the exported error classes', () => {
    // Fails to compile when a class is added with a code outside the union (or with a plain
    // TrinityError, whose code is string), or when a code of the union has no class left.
    expectTypeOf<ExportedCodes>().toEqualTypeOf<TxErrorCode>();
  });

  it('each class carries its own code, the base the union', () => {
    expectTypeOf<api.TxLimitError['code']>().toEqualTypeOf<'TX_LIMIT'>();
    expectTypeOf<TxError['code']>().toEqualTypeOf<TxErrorCode>();
    expectTypeOf<api.TxLimitError>().toExtend<TxError>();
    expectTypeOf<'CONFIG_INVALID'>().not.toExtend<TxErrorCode>();
  });
});
