import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type { metricsConfigSchema } from '../src/config.js';
import type { MetricsConfig, MetricsConfigInput } from '../src/index.js';

// The interfaces are the documented API; the zod schema is how they are checked. These fail to
// compile when the two drift apart (a field added to one only, a default dropped, a type changed).
describe('option and config types match their schemas', () => {
  it('metrics config', () => {
    expectTypeOf<keyof MetricsConfigInput>().toEqualTypeOf<keyof z.input<typeof metricsConfigSchema>>();
    expectTypeOf<z.input<typeof metricsConfigSchema>>().toExtend<MetricsConfigInput>();
    expectTypeOf<MetricsConfigInput>().toExtend<z.input<typeof metricsConfigSchema>>();
    expectTypeOf<z.output<typeof metricsConfigSchema>>().toExtend<MetricsConfig>();
    expectTypeOf<MetricsConfig>().toExtend<z.output<typeof metricsConfigSchema>>();
  });
});
