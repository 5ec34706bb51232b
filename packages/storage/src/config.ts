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
    /** Records (object manifests) staged by one transaction beside its shards. */
    maxRecordsPerTransaction: z.number().int().min(1).max(4096).default(64),
    /** Bytes of one staged record. */
    maxRecordBytes: z
      .number()
      .int()
      .min(1024)
      .max(64 * MiB)
      .default(4 * MiB),
    /** Committed shards tracked in memory; also bounds the fencing-token table. */
    maxShardCount: z.number().int().min(1).max(100_000_000).default(4_000_000),
    /** Corrupt files kept in quarantine/ for inspection; past this they are deleted instead. */
    maxQuarantinedFiles: z.number().int().min(0).max(1_000_000).default(1000),
    /** Parallel file system calls while scanning at open. */
    scanConcurrency: z.number().int().min(1).max(256).default(32),
  })
  .strict();

/** An options type with every default filled in: each field required, documentation kept. */
type Filled<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

/** What `ShardStore.open` takes (`shardStoreConfigSchema`). Every field is optional. */
export interface ShardStoreConfigInput {
  /**
   * Bytes of committed plus staged shards the store accepts, 0 to 2^50.
   * @defaultValue 10 GiB
   */
  readonly capacityBytes?: number | undefined;
  /**
   * The largest shard accepted, 1 byte to 256 MiB.
   * @defaultValue 16 MiB
   */
  readonly maxShardBytes?: number | undefined;
  /**
   * Levels of fan-out folders, 0 to 3, two hex characters each (`ab/cd/abcd…`). Fixed when the
   * store is created.
   * @defaultValue 2
   */
  readonly fanOutLevels?: number | undefined;
  /**
   * fsync files and folders before a write resolves. Turn off only in tests.
   * @defaultValue true
   */
  readonly fsync?: boolean | undefined;
  /**
   * Transactions with staged shards at once, 1 to 65,536.
   * @defaultValue 256
   */
  readonly maxStagedTransactions?: number | undefined;
  /**
   * Shards staged by one transaction, 1 to 4,096.
   * @defaultValue 64
   */
  readonly maxShardsPerTransaction?: number | undefined;
  /**
   * Records (object manifests) staged by one transaction beside its shards, 1 to 4,096.
   * @defaultValue 64
   */
  readonly maxRecordsPerTransaction?: number | undefined;
  /**
   * Bytes of one staged record, 1 KiB to 64 MiB.
   * @defaultValue 4 * MiB
   */
  readonly maxRecordBytes?: number | undefined;
  /**
   * Committed shards tracked in memory, 1 to 100,000,000; also bounds the fencing-token table.
   * @defaultValue 4_000_000
   */
  readonly maxShardCount?: number | undefined;
  /**
   * Corrupt files kept in quarantine/ for inspection, 0 to 1,000,000; past this they are deleted instead.
   * @defaultValue 1000
   */
  readonly maxQuarantinedFiles?: number | undefined;
  /**
   * Parallel file system calls while scanning at open, 1 to 256.
   * @defaultValue 32
   */
  readonly scanConcurrency?: number | undefined;
}

/** The parsed shard store settings: `ShardStoreConfigInput` with every default filled in. */
export type ShardStoreConfig = Filled<ShardStoreConfigInput>;

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

/** What `ManifestStore.open` takes (`manifestStoreConfigSchema`). Every field is optional. */
export interface ManifestStoreConfigInput {
  /**
   * The largest encoded manifest accepted, 1 KiB to 256 MiB (about 150 bytes per shard entry).
   * @defaultValue 64 MiB
   */
  readonly maxManifestBytes?: number | undefined;
  /**
   * Manifests kept at once (and, separately, signed descriptors), 1 to 10,000,000.
   * @defaultValue 1_000_000
   */
  readonly maxManifests?: number | undefined;
  /**
   * Owner-signed tombstones remembered at once (each until its retention ends), 1 to 10,000,000.
   * @defaultValue 1_000_000
   */
  readonly maxTombstones?: number | undefined;
  /**
   * fsync files and folders before a write resolves. Turn off only in tests.
   * @defaultValue true
   */
  readonly fsync?: boolean | undefined;
}

/** The parsed manifest store settings: `ManifestStoreConfigInput` with every default filled in. */
export type ManifestStoreConfig = Filled<ManifestStoreConfigInput>;

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

/** What a `Scrubber` takes (`scrubberConfigSchema`). Every field is optional. */
export interface ScrubberConfigInput {
  /**
   * Long-run read rate of the scrubber in bytes per second, 1 to 16 GiB.
   * @defaultValue 32 MiB
   */
  readonly bytesPerSecond?: number | undefined;
  /**
   * Bytes the scrubber may read at once after being idle, 1 to 16 GiB.
   * @defaultValue 16 MiB
   */
  readonly burstBytes?: number | undefined;
  /**
   * Pause between the end of one round and the start of the next, 1 ms to 30 days.
   * @defaultValue 3_600_000 (1 hour)
   */
  readonly intervalMs?: number | undefined;
  /**
   * Corrupt hashes listed in one report, 1 to 1,000,000 (all are still passed to onCorruption).
   * @defaultValue 1000
   */
  readonly maxReportedCorruptions?: number | undefined;
}

/** The parsed scrubber settings: `ScrubberConfigInput` with every default filled in. */
export type ScrubberConfig = Filled<ScrubberConfigInput>;

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

/** What a `RepairQueue` takes (`repairQueueConfigSchema`). Every field is optional. */
export interface RepairQueueConfigInput {
  /**
   * Long-run repair traffic (bytes fetched plus bytes stored) per second, 1 to 16 GiB.
   * @defaultValue 64 MiB
   */
  readonly bytesPerSecond?: number | undefined;
  /**
   * Bytes of repair that may start at once after being idle, 1 to 16 GiB.
   * @defaultValue 256 MiB
   */
  readonly burstBytes?: number | undefined;
  /**
   * Stripes being repaired at once, 1 to 1,024.
   * @defaultValue 4
   */
  readonly maxConcurrentStripes?: number | undefined;
  /**
   * Tasks waiting, 1 to 10,000,000; past this the least endangered are dropped (the next plan
   * finds them again).
   * @defaultValue 100_000
   */
  readonly maxQueuedTasks?: number | undefined;
  /**
   * Tries of one task before it is given up, 1 to 100.
   * @defaultValue 3
   */
  readonly maxAttempts?: number | undefined;
}

/** The parsed repair queue settings: `RepairQueueConfigInput` with every default filled in. */
export type RepairQueueConfig = Filled<RepairQueueConfigInput>;

/** Settings of a BandwidthLedger. */
export const bandwidthLedgerConfigSchema = z
  .object({
    /** Peers tracked one by one; the least recently active is evicted (its bytes stay in the totals). */
    maxPeers: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict();

/** What a `BandwidthLedger` takes (`bandwidthLedgerConfigSchema`). Every field is optional. */
export interface BandwidthLedgerConfigInput {
  /**
   * Peers tracked one by one, 1 to 1,000,000; the least recently active is evicted (its bytes stay
   * in the totals).
   * @defaultValue 10_000
   */
  readonly maxPeers?: number | undefined;
}

/** The parsed bandwidth ledger settings: `BandwidthLedgerConfigInput` with every default filled in. */
export type BandwidthLedgerConfig = Filled<BandwidthLedgerConfigInput>;
