import { describe, expectTypeOf, it } from 'vitest';
import type { ExportedErrorCodes } from '../../../scripts/error-codes.ts';
import type * as api from '../src/index.js';
import type { SimError, SimErrorCode } from '../src/index.js';

type ExportedCodes = ExportedErrorCodes<typeof api, 'SimError'>;

describe('error codes are literal types', () => {
  it('the union is exactly the codes of the exported error classes', () => {
    expectTypeOf<ExportedCodes>().toEqualTypeOf<SimErrorCode>();
  });

  it('each class carries its own code', () => {
    expectTypeOf<api.SimLimitError['code']>().toEqualTypeOf<'SIM_LIMIT'>();
    expectTypeOf<api.SimUsageError['code']>().toEqualTypeOf<'SIM_USAGE'>();
    expectTypeOf<api.UnknownScenarioError['code']>().toEqualTypeOf<'SIM_UNKNOWN_SCENARIO'>();
    expectTypeOf<api.SimRpcError['code']>().toEqualTypeOf<'SIM_RPC'>();
    expectTypeOf<SimError['code']>().toEqualTypeOf<SimErrorCode>();
  });
});
