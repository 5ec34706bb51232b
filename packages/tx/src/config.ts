import { z } from 'zod';

/** Wire and table bounds that are not configurable: they size what a peer may send. */
export const TX_ID_LENGTH_MAX = 64;
export const NODE_ID_LENGTH_MAX = 64;
export const TX_SHARDS_MAX = 64;
export const PAYLOAD_REF_LENGTH_MAX = 256;
export const REASON_LENGTH_MAX = 200;

const ms = (min: number, max: number, fallback: number) =>
  z.number().int().min(min).max(max).default(fallback);

/** Settings of the transaction log (`TxLog`, `MemoryTxLog`). */
export const txLogConfigSchema = z
  .object({
    /** Wait this long for more records before a group fdatasync (0: flush as soon as the disk is free). */
    groupCommitMaxDelayMs: ms(0, 100, 0),
    /** At most this many records share one fdatasync. */
    groupCommitMaxRecords: z.number().int().min(1).max(100_000).default(4_096),
    /** At most this many bytes are written by one group commit. */
    groupCommitMaxBytes: z
      .number()
      .int()
      .min(4_096)
      .max(64 * 1024 * 1024)
      .default(4 * 1024 * 1024),
    /** Largest encoded record accepted by `append` (and by replay: a larger length field is damage). */
    recordMaxBytes: z
      .number()
      .int()
      .min(256)
      .max(1024 * 1024)
      .default(64 * 1024),
    /**
     * Grow the file by this many zero bytes at a time, written and synced ahead of the records, so
     * that an append rewrites allocated space and its fdatasync flushes data without a journal
     * commit. 0 grows the file with every append.
     */
    preallocateBytes: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /** At most this many appends may wait for a group commit before `append` rejects (back-pressure). */
    pendingRecordsMax: z.number().int().min(1).max(10_000_000).default(1_000_000),
    /**
     * How a group write is made durable: `dsync` opens the log with O_DSYNC, so the write returns
     * once its data is on disk (one system call, one trip to the I/O thread pool); `fdatasync`
     * writes, then calls fdatasync. Both give the same guarantee; `dsync` falls back to `fdatasync`
     * where the platform has no O_DSYNC.
     */
    syncMode: z.enum(['dsync', 'fdatasync']).default('dsync'),
  })
  .strict();

/** Settings of the 2PC coordinator, participant, engine and saga runner. Every field has a default. */
export const txConfigSchema = z
  .object({
    /** Undecided transactions a coordinator runs at once (open, preparing, decision being logged). Seed: 256. */
    maxConcurrentTransactions: z.number().int().min(1).max(65_536).default(256),
    /**
     * Committed transactions a coordinator still resends to unacknowledging participants (a node
     * that is down keeps one here until it returns). Beyond it, new transactions are refused.
     */
    maxAwaitingAcks: z.number().int().min(1).max(4_194_304).default(65_536),
    /** Shards in one transaction. Seed: 64, which is also the wire bound. */
    maxShardsPerTransaction: z.number().int().min(1).max(TX_SHARDS_MAX).default(TX_SHARDS_MAX),
    /** A transaction not fully voted this long after prepare is aborted. */
    prepareTimeoutMs: ms(1, 3_600_000, 10_000),
    /** Coordinator: resend prepare to silent participants and commit to unacknowledged ones this often. */
    commitRetryIntervalMs: ms(1, 600_000, 1_000),
    /** Coordinator: commit resends back off, doubling, up to this interval. */
    commitRetryMaxIntervalMs: ms(1, 3_600_000, 60_000),
    /** Participant in doubt: ask the coordinator this often once the prepare deadline has passed. */
    statusQueryIntervalMs: ms(1, 600_000, 1_000),
    /** Participant: a prepare whose deadline is further away than this is refused (votes abort). */
    maxPrepareWindowMs: ms(1, 86_400_000, 600_000),
    /**
     * A finished outcome is remembered this long past its prepare deadline, to answer late
     * duplicates. Not needed for safety: a participant refuses a prepare past its deadline by its
     * own clock, the clock it forgets by.
     */
    clockSkewMarginMs: ms(0, 600_000, 1_000),
    /** Participant: renew a held shard lock this long before it expires (at most half its lifetime). */
    lockRenewMarginMs: ms(1, 3_600_000, 10_000),
    /** Participant: transactions tracked at once, including finished ones remembered until their deadline. */
    maxParticipantTransactions: z.number().int().min(1).max(4_194_304).default(262_144),
    /** Saga: a failed compensation is retried at most this many times (so run at most 1 + this). Seed: 3. */
    maxCompensationRetries: z.number().int().min(0).max(20).default(3),
    /** Saga: first retry delay; doubles on each retry up to `compensationBackoffMaxMs`. */
    compensationBackoffMs: ms(0, 600_000, 100),
    compensationBackoffMaxMs: ms(0, 3_600_000, 5_000),
    /** Engine: checkpoint the log once it has grown by this many bytes since the last checkpoint. */
    checkpointLogBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(64 * 1024 * 1024 * 1024)
      .default(64 * 1024 * 1024),
    ...txLogConfigSchema.shape,
  })
  .strict();

export type TxConfig = z.output<typeof txConfigSchema>;
export type TxConfigInput = z.input<typeof txConfigSchema>;
export type TxLogConfig = z.output<typeof txLogConfigSchema>;
export type TxLogConfigInput = z.input<typeof txLogConfigSchema>;

/** The log's part of a full tx config. */
export function logConfigOf(config: TxConfig): TxLogConfig {
  const { groupCommitMaxDelayMs, groupCommitMaxRecords, groupCommitMaxBytes, recordMaxBytes } = config;
  const { preallocateBytes, pendingRecordsMax, syncMode } = config;
  return {
    groupCommitMaxDelayMs,
    groupCommitMaxRecords,
    groupCommitMaxBytes,
    recordMaxBytes,
    preallocateBytes,
    pendingRecordsMax,
    syncMode,
  };
}
