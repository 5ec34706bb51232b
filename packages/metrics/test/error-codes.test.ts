import { describe, expectTypeOf, it } from 'vitest';
import type { ExportedErrorCodes } from '../../../scripts/error-codes.ts';
import type * as api from '../src/index.js';
import type { MetricsError, MetricsErrorCode } from '../src/index.js';

type ExportedCodes = ExportedErrorCodes<typeof api, 'MetricsError'>;

describe('error codes are literal types', () => {
  it('the union is exactly the codes of the exported error classes', () => {
    // Fails to compile when a class is added with a code outside the union (or with a plain
    // TrinityError, whose code is string), or when a code of the union has no class left.
    expectTypeOf<ExportedCodes>().toEqualTypeOf<MetricsErrorCode>();
  });

  it('each class carries its own code, the base the union', () => {
    expectTypeOf<api.MetricLabelError['code']>().toEqualTypeOf<'METRIC_LABELS_INVALID'>();
    expectTypeOf<MetricsError['code']>().toEqualTypeOf<MetricsErrorCode>();
    expectTypeOf<api.MetricLabelError>().toExtend<MetricsError>();
    expectTypeOf<'CONFIG_INVALID'>().not.toExtend<MetricsErrorCode>();
  });
});
