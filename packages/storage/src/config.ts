import { z } from 'zod';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Settings of a ShardStore. Every field has a default; `fsync: false` is for tests only. */
export const shardStoreConfigSchema = z
  .object({
    /** Bytes of committed plus staged shards the store accepts. */
    capacityBytes: z
      .number()
      .int()
      .min(0)
      .max(2 ** 50)
      .default(10 * GiB),
    /** The largest shard accepted. */
    maxShardBytes: z
      .number()
      .int()
      .min(1)
      .max(256 * MiB)
      .default(16 * MiB),
    /** Levels of fan-out folders, two hex characters each (`ab/cd/abcd…`). Fixed when the store is created. */
    fanOutLevels: z.number().int().min(0).max(3).default(2),
    /** fsync files and folders before a write resolves. Turn off only in tests. */
    fsync: z.boolean().default(true),
    /** Transactions with staged shards at once (the seed's 256 concurrent transactions). */
    maxStagedTransactions: z.number().int().min(1).max(65_536).default(256),
    /** Shards staged by one transaction (the seed's 64 shards per transaction). */
    maxShardsPerTransaction: z.number().int().min(1).max(4096).default(64),
    /** Committed shards tracked in memory; also bounds the fencing-token table. */
    maxShardCount: z.number().int().min(1).max(100_000_000).default(4_000_000),
    /** Corrupt files kept in quarantine/ for inspection; past this they are deleted instead. */
    maxQuarantinedFiles: z.number().int().min(0).max(1_000_000).default(1000),
    /** Parallel file system calls while scanning at open. */
    scanConcurrency: z.number().int().min(1).max(256).default(32),
  })
  .strict();

export type ShardStoreConfigInput = z.input<typeof shardStoreConfigSchema>;
export type ShardStoreConfig = z.output<typeof shardStoreConfigSchema>;

/** Settings of a ManifestStore. */
export const manifestStoreConfigSchema = z
  .object({
    /** The largest encoded manifest accepted (about 150 bytes per shard entry). */
    maxManifestBytes: z
      .number()
      .int()
      .min(KiB)
      .max(256 * MiB)
      .default(64 * MiB),
    /** Manifests kept at once (and, separately, signed descriptors). */
    maxManifests: z.number().int().min(1).max(10_000_000).default(1_000_000),
    /** Owner-signed tombstones remembered at once (each until its retention ends). */
    maxTombstones: z.number().int().min(1).max(10_000_000).default(1_000_000),
    fsync: z.boolean().default(true),
  })
  .strict();

export type ManifestStoreConfigInput = z.input<typeof manifestStoreConfigSchema>;
export type ManifestStoreConfig = z.output<typeof manifestStoreConfigSchema>;

/** Settings of a Scrubber. */
export const scrubberConfigSchema = z
  .object({
    /** Long-run read rate of the scrubber. */
    bytesPerSecond: z
      .number()
      .int()
      .min(1)
      .max(16 * GiB)
      .default(32 * MiB),
    /** Bytes the scrubber may read at once after being idle. */
    burstBytes: z
      .number()
      .int()
      .min(1)
      .max(16 * GiB)
      .default(16 * MiB),
    /** Pause between the end of one round and the start of the next. */
    intervalMs: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 3_600_000)
      .default(3_600_000),
    /** Corrupt hashes listed in one report (all are still passed to onCorruption). */
    maxReportedCorruptions: z.number().int().min(1).max(1_000_000).default(1000),
  })
  .strict();

export type ScrubberConfigInput = z.input<typeof scrubberConfigSchema>;
export type ScrubberConfig = z.output<typeof scrubberConfigSchema>;

/** Settings of a RepairQueue (the seed v1.8's rate-limited repair). */
export const repairQueueConfigSchema = z
  .object({
    /** Long-run repair traffic (bytes fetched plus bytes stored). */
    bytesPerSecond: z
      .number()
      .int()
      .min(1)
      .max(16 * GiB)
      .default(64 * MiB),
    /** Bytes of repair that may start at once after being idle. */
    burstBytes: z
      .number()
      .int()
      .min(1)
      .max(16 * GiB)
      .default(256 * MiB),
    /** Stripes being repaired at once. */
    maxConcurrentStripes: z.number().int().min(1).max(1024).default(4),
    /** Tasks waiting; past this the least endangered are dropped (the next plan finds them again). */
    maxQueuedTasks: z.number().int().min(1).max(10_000_000).default(100_000),
    /** Tries of one task before it is given up (the seed's 3 retries). */
    maxAttempts: z.number().int().min(1).max(100).default(3),
  })
  .strict();

export type RepairQueueConfigInput = z.input<typeof repairQueueConfigSchema>;
export type RepairQueueConfig = z.output<typeof repairQueueConfigSchema>;

/** Settings of a BandwidthLedger. */
export const bandwidthLedgerConfigSchema = z
  .object({
    /** Peers tracked one by one; the least recently active is evicted (its bytes stay in the totals). */
    maxPeers: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict();

export type BandwidthLedgerConfigInput = z.input<typeof bandwidthLedgerConfigSchema>;
export type BandwidthLedgerConfig = z.output<typeof bandwidthLedgerConfigSchema>;
