import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type {
  bandwidthLedgerConfigSchema,
  manifestStoreConfigSchema,
  repairQueueConfigSchema,
  scrubberConfigSchema,
  shardStoreConfigSchema,
} from '../src/config.js';
import type {
  BandwidthLedgerConfig,
  BandwidthLedgerConfigInput,
  ManifestStoreConfig,
  ManifestStoreConfigInput,
  RepairQueueConfig,
  RepairQueueConfigInput,
  ScrubberConfig,
  ScrubberConfigInput,
  ShardStoreConfig,
  ShardStoreConfigInput,
} from '../src/index.js';

// The interfaces are the documented API; the zod schemas are how they are checked. These fail to
// compile when the two drift apart (a field added to one only, a default dropped, a type changed).
describe('option and config types match their schemas', () => {
  it('shard store config', () => {
    expectTypeOf<keyof ShardStoreConfigInput>().toEqualTypeOf<keyof z.input<typeof shardStoreConfigSchema>>();
    expectTypeOf<z.input<typeof shardStoreConfigSchema>>().toExtend<ShardStoreConfigInput>();
    expectTypeOf<ShardStoreConfigInput>().toExtend<z.input<typeof shardStoreConfigSchema>>();
    expectTypeOf<z.output<typeof shardStoreConfigSchema>>().toExtend<ShardStoreConfig>();
    expectTypeOf<ShardStoreConfig>().toExtend<z.output<typeof shardStoreConfigSchema>>();
  });

  it('manifest store config', () => {
    expectTypeOf<keyof ManifestStoreConfigInput>().toEqualTypeOf<
      keyof z.input<typeof manifestStoreConfigSchema>
    >();
    expectTypeOf<z.input<typeof manifestStoreConfigSchema>>().toExtend<ManifestStoreConfigInput>();
    expectTypeOf<ManifestStoreConfigInput>().toExtend<z.input<typeof manifestStoreConfigSchema>>();
    expectTypeOf<z.output<typeof manifestStoreConfigSchema>>().toExtend<ManifestStoreConfig>();
    expectTypeOf<ManifestStoreConfig>().toExtend<z.output<typeof manifestStoreConfigSchema>>();
  });

  it('scrubber config', () => {
    expectTypeOf<keyof ScrubberConfigInput>().toEqualTypeOf<keyof z.input<typeof scrubberConfigSchema>>();
    expectTypeOf<z.input<typeof scrubberConfigSchema>>().toExtend<ScrubberConfigInput>();
    expectTypeOf<ScrubberConfigInput>().toExtend<z.input<typeof scrubberConfigSchema>>();
    expectTypeOf<z.output<typeof scrubberConfigSchema>>().toExtend<ScrubberConfig>();
    expectTypeOf<ScrubberConfig>().toExtend<z.output<typeof scrubberConfigSchema>>();
  });

  it('repair queue config', () => {
    expectTypeOf<keyof RepairQueueConfigInput>().toEqualTypeOf<
      keyof z.input<typeof repairQueueConfigSchema>
    >();
    expectTypeOf<z.input<typeof repairQueueConfigSchema>>().toExtend<RepairQueueConfigInput>();
    expectTypeOf<RepairQueueConfigInput>().toExtend<z.input<typeof repairQueueConfigSchema>>();
    expectTypeOf<z.output<typeof repairQueueConfigSchema>>().toExtend<RepairQueueConfig>();
    expectTypeOf<RepairQueueConfig>().toExtend<z.output<typeof repairQueueConfigSchema>>();
  });

  it('bandwidth ledger config', () => {
    expectTypeOf<keyof BandwidthLedgerConfigInput>().toEqualTypeOf<
      keyof z.input<typeof bandwidthLedgerConfigSchema>
    >();
    expectTypeOf<z.input<typeof bandwidthLedgerConfigSchema>>().toExtend<BandwidthLedgerConfigInput>();
    expectTypeOf<BandwidthLedgerConfigInput>().toExtend<z.input<typeof bandwidthLedgerConfigSchema>>();
    expectTypeOf<z.output<typeof bandwidthLedgerConfigSchema>>().toExtend<BandwidthLedgerConfig>();
    expectTypeOf<BandwidthLedgerConfig>().toExtend<z.output<typeof bandwidthLedgerConfigSchema>>();
  });
});
