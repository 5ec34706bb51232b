import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type {
  adaptiveRouterConfigSchema,
  customRegionSchema,
  latencyTrackerConfigSchema,
  placementConfigSchema,
  rebalanceConfigSchema,
  routerConfigSchema,
  routerWeightsSchema,
  topologyConfigSchema,
} from '../src/config.js';
import type {
  AdaptiveRouterConfig,
  AdaptiveRouterConfigInput,
  CustomRegion,
  CustomRegionInput,
  LatencyTrackerConfig,
  LatencyTrackerConfigInput,
  PlacementConfig,
  PlacementConfigInput,
  RebalanceConfig,
  RebalanceConfigInput,
  RouterConfig,
  RouterConfigInput,
  RouterWeights,
  RouterWeightsInput,
  TopologyConfig,
  TopologyConfigInput,
} from '../src/index.js';

// The interfaces are the documented API; the zod schemas are how they are checked. These fail to
// compile when the two drift apart (a field added to one only, a default dropped, a type changed).
describe('option and config types match their schemas', () => {
  it('custom region', () => {
    expectTypeOf<keyof CustomRegionInput>().toEqualTypeOf<keyof z.input<typeof customRegionSchema>>();
    expectTypeOf<z.input<typeof customRegionSchema>>().toExtend<CustomRegionInput>();
    expectTypeOf<CustomRegionInput>().toExtend<z.input<typeof customRegionSchema>>();
    expectTypeOf<z.output<typeof customRegionSchema>>().toExtend<CustomRegion>();
    expectTypeOf<CustomRegion>().toExtend<z.output<typeof customRegionSchema>>();
  });

  it('topology config', () => {
    expectTypeOf<keyof TopologyConfigInput>().toEqualTypeOf<keyof z.input<typeof topologyConfigSchema>>();
    expectTypeOf<z.input<typeof topologyConfigSchema>>().toExtend<TopologyConfigInput>();
    expectTypeOf<TopologyConfigInput>().toExtend<z.input<typeof topologyConfigSchema>>();
    expectTypeOf<z.output<typeof topologyConfigSchema>>().toExtend<TopologyConfig>();
    expectTypeOf<TopologyConfig>().toExtend<z.output<typeof topologyConfigSchema>>();
  });

  it('latency tracker config', () => {
    expectTypeOf<keyof LatencyTrackerConfigInput>().toEqualTypeOf<
      keyof z.input<typeof latencyTrackerConfigSchema>
    >();
    expectTypeOf<z.input<typeof latencyTrackerConfigSchema>>().toExtend<LatencyTrackerConfigInput>();
    expectTypeOf<LatencyTrackerConfigInput>().toExtend<z.input<typeof latencyTrackerConfigSchema>>();
    expectTypeOf<z.output<typeof latencyTrackerConfigSchema>>().toExtend<LatencyTrackerConfig>();
    expectTypeOf<LatencyTrackerConfig>().toExtend<z.output<typeof latencyTrackerConfigSchema>>();
  });

  it('placement config', () => {
    expectTypeOf<keyof PlacementConfigInput>().toEqualTypeOf<keyof z.input<typeof placementConfigSchema>>();
    expectTypeOf<z.input<typeof placementConfigSchema>>().toExtend<PlacementConfigInput>();
    expectTypeOf<PlacementConfigInput>().toExtend<z.input<typeof placementConfigSchema>>();
    expectTypeOf<z.output<typeof placementConfigSchema>>().toExtend<PlacementConfig>();
    expectTypeOf<PlacementConfig>().toExtend<z.output<typeof placementConfigSchema>>();
  });

  it('router weights', () => {
    expectTypeOf<keyof RouterWeightsInput>().toEqualTypeOf<keyof z.input<typeof routerWeightsSchema>>();
    expectTypeOf<z.input<typeof routerWeightsSchema>>().toExtend<RouterWeightsInput>();
    expectTypeOf<RouterWeightsInput>().toExtend<z.input<typeof routerWeightsSchema>>();
    expectTypeOf<z.output<typeof routerWeightsSchema>>().toExtend<RouterWeights>();
    expectTypeOf<RouterWeights>().toExtend<z.output<typeof routerWeightsSchema>>();
  });

  it('router config', () => {
    expectTypeOf<keyof RouterConfigInput>().toEqualTypeOf<keyof z.input<typeof routerConfigSchema>>();
    expectTypeOf<z.input<typeof routerConfigSchema>>().toExtend<RouterConfigInput>();
    expectTypeOf<RouterConfigInput>().toExtend<z.input<typeof routerConfigSchema>>();
    expectTypeOf<z.output<typeof routerConfigSchema>>().toExtend<RouterConfig>();
    expectTypeOf<RouterConfig>().toExtend<z.output<typeof routerConfigSchema>>();
  });

  it('adaptive router config', () => {
    expectTypeOf<keyof AdaptiveRouterConfigInput>().toEqualTypeOf<
      keyof z.input<typeof adaptiveRouterConfigSchema>
    >();
    expectTypeOf<z.input<typeof adaptiveRouterConfigSchema>>().toExtend<AdaptiveRouterConfigInput>();
    expectTypeOf<AdaptiveRouterConfigInput>().toExtend<z.input<typeof adaptiveRouterConfigSchema>>();
    expectTypeOf<z.output<typeof adaptiveRouterConfigSchema>>().toExtend<AdaptiveRouterConfig>();
    expectTypeOf<AdaptiveRouterConfig>().toExtend<z.output<typeof adaptiveRouterConfigSchema>>();
  });

  it('rebalance config', () => {
    expectTypeOf<keyof RebalanceConfigInput>().toEqualTypeOf<keyof z.input<typeof rebalanceConfigSchema>>();
    expectTypeOf<z.input<typeof rebalanceConfigSchema>>().toExtend<RebalanceConfigInput>();
    expectTypeOf<RebalanceConfigInput>().toExtend<z.input<typeof rebalanceConfigSchema>>();
    expectTypeOf<z.output<typeof rebalanceConfigSchema>>().toExtend<RebalanceConfig>();
    expectTypeOf<RebalanceConfig>().toExtend<z.output<typeof rebalanceConfigSchema>>();
  });
});
