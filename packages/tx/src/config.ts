import { parseConfig } from '@trinity/core';
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
     * commit. 0 grows the file with every append. Never more than a quarter of the disk's free
     * space at the time: the zero tail never fills the disk, even for a moment.
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

/** An options type with every default filled in: each field required, documentation kept. */
type Filled<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> };

/** What `TxLog` and `MemoryTxLog` take (`txLogConfigSchema`). Every field is optional. */
export interface TxLogConfigInput {
  /**
   * Wait this long for more records before a group fdatasync, 0 to 100 ms (0: flush as soon as the
   * disk is free).
   * @defaultValue 0
   */
  readonly groupCommitMaxDelayMs?: number | undefined;
  /**
   * At most this many records share one fdatasync, 1 to 100,000.
   * @defaultValue 4096
   */
  readonly groupCommitMaxRecords?: number | undefined;
  /**
   * At most this many bytes are written by one group commit, 4 KiB to 64 MiB.
   * @defaultValue 4 * 1024 * 1024 (4 MiB)
   */
  readonly groupCommitMaxBytes?: number | undefined;
  /**
   * Largest encoded record accepted by `append` (and by replay: a larger length field is damage),
   * 256 bytes to 1 MiB.
   * @defaultValue 64 * 1024 (64 KiB)
   */
  readonly recordMaxBytes?: number | undefined;
  /**
   * Grow the file by this many zero bytes at a time, written and synced ahead of the records, so
   * that an append rewrites allocated space and its fdatasync flushes data without a journal
   * commit; 0 to 1 GiB. 0 grows the file with every append.
   * @defaultValue 16 * 1024 * 1024 (16 MiB)
   */
  readonly preallocateBytes?: number | undefined;
  /**
   * At most this many appends may wait for a group commit before `append` rejects (back-pressure),
   * 1 to 10,000,000.
   * @defaultValue 1_000_000
   */
  readonly pendingRecordsMax?: number | undefined;
  /**
   * How a group write is made durable: `dsync` opens the log with O_DSYNC, so the write returns once
   * its data is on disk (one system call); `fdatasync` writes, then calls fdatasync. Both give the
   * same guarantee; `dsync` falls back to `fdatasync` where the platform has no O_DSYNC.
   * @defaultValue 'dsync'
   */
  readonly syncMode?: 'dsync' | 'fdatasync' | undefined;
}

/** The parsed log settings: `TxLogConfigInput` with every default filled in. */
export type TxLogConfig = Filled<TxLogConfigInput>;

/**
 * What the 2PC coordinator, participant, engine and saga runner take (`txConfigSchema`): their own
 * settings plus the log's. Every field is optional.
 */
export interface TxConfigInput extends TxLogConfigInput {
  /**
   * Undecided transactions a coordinator runs at once (open, preparing, decision being logged),
   * 1 to 65,536.
   * @defaultValue 256
   */
  readonly maxConcurrentTransactions?: number | undefined;
  /**
   * Committed transactions a coordinator still resends to unacknowledging participants (a node that
   * is down keeps one here until it returns), 1 to 4,194,304. Beyond it, new transactions are refused.
   * @defaultValue 65_536
   */
  readonly maxAwaitingAcks?: number | undefined;
  /**
   * Shards in one transaction, 1 to 64 (`TX_SHARDS_MAX`, the wire bound).
   * @defaultValue 64
   */
  readonly maxShardsPerTransaction?: number | undefined;
  /**
   * A transaction not fully voted this long after prepare is aborted; 1 ms to 1 hour.
   * @defaultValue 10_000 (10 s)
   */
  readonly prepareTimeoutMs?: number | undefined;
  /**
   * Coordinator: resend prepare to silent participants and commit to unacknowledged ones this often;
   * 1 ms to 10 minutes.
   * @defaultValue 1_000 (1 s)
   */
  readonly commitRetryIntervalMs?: number | undefined;
  /**
   * Coordinator: commit resends back off, doubling, up to this interval; 1 ms to 1 hour.
   * @defaultValue 60_000 (1 minute)
   */
  readonly commitRetryMaxIntervalMs?: number | undefined;
  /**
   * Participant in doubt: ask the coordinator this often once the prepare deadline has passed;
   * 1 ms to 10 minutes.
   * @defaultValue 1_000 (1 s)
   */
  readonly statusQueryIntervalMs?: number | undefined;
  /**
   * Participant: a prepare whose deadline is further away than this is refused (votes abort);
   * 1 ms to 1 day.
   * @defaultValue 600_000 (10 minutes)
   */
  readonly maxPrepareWindowMs?: number | undefined;
  /**
   * A finished outcome is remembered this long past its prepare deadline, to answer late duplicates;
   * 0 to 10 minutes. Not needed for safety: a participant refuses a prepare past its deadline by its
   * own clock, the clock it forgets by.
   * @defaultValue 1_000 (1 s)
   */
  readonly clockSkewMarginMs?: number | undefined;
  /**
   * Participant: renew a held shard lock this long before it expires (at most half its lifetime);
   * 1 ms to 1 hour.
   * @defaultValue 10_000 (10 s)
   */
  readonly lockRenewMarginMs?: number | undefined;
  /**
   * Participant: transactions tracked at once, including finished ones remembered until their
   * deadline; 1 to 4,194,304.
   * @defaultValue 262_144
   */
  readonly maxParticipantTransactions?: number | undefined;
  /**
   * Saga: a failed compensation is retried at most this many times (so run at most 1 + this), 0 to 20.
   * @defaultValue 3
   */
  readonly maxCompensationRetries?: number | undefined;
  /**
   * Saga: first retry delay, 0 to 10 minutes; doubles on each retry up to `compensationBackoffMaxMs`.
   * @defaultValue 100
   */
  readonly compensationBackoffMs?: number | undefined;
  /**
   * Saga: the longest delay between two compensation retries, 0 to 1 hour.
   * @defaultValue 5_000 (5 s)
   */
  readonly compensationBackoffMaxMs?: number | undefined;
  /**
   * Engine: checkpoint the log once it has grown by this many bytes since the last checkpoint,
   * 64 KiB to 64 GiB.
   * @defaultValue 64 * 1024 * 1024 (64 MiB)
   */
  readonly checkpointLogBytes?: number | undefined;
}

/** The parsed settings: `TxConfigInput` with every default filled in. */
export type TxConfig = Filled<TxConfigInput>;

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

/** Distinct config inputs whose parse is remembered (a process has a handful). */
const parsedConfigsMax = 64;
const parsedConfigs = new Map<string, TxConfig>();
/** Every config `_parseTxConfig` returned (frozen): taken as they are when passed in again. */
const parsedOutputs = new WeakSet<object>();

/**
 * `parseConfig(txConfigSchema, input)`, remembered by the input's content: a node builds its
 * coordinator and participant again at every restart, and a simulator builds thousands of them,
 * each from the same few inputs; the schema's parse costs tens of microseconds, the lookup one.
 * Only inputs made of plain numbers, strings and booleans are remembered (their JSON text is then
 * exactly their content); the result is frozen, so sharing it is safe. Bad input throws as before.
 */
export function _parseTxConfig(input: TxConfigInput | undefined): TxConfig {
  // A parse result handed back (a machine's `config`, passed to the next one): frozen, so as it was.
  if (input !== undefined && parsedOutputs.has(input)) return input as TxConfig;
  const key = plainConfigKey(input ?? {});
  const known = key === undefined ? undefined : parsedConfigs.get(key);
  if (known !== undefined) return known;
  const config = Object.freeze(parseConfig(txConfigSchema, input ?? {}, 'tx config'));
  parsedOutputs.add(config);
  if (key !== undefined && parsedConfigs.size < parsedConfigsMax) parsedConfigs.set(key, config);
  return config;
}

/** The JSON text of a plain object of finite numbers, strings and booleans; undefined for anything else. */
function plainConfigKey(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const proto = Object.getPrototypeOf(input);
  if (proto !== Object.prototype && proto !== null) return undefined;
  let fields = 0;
  for (const key in input) {
    if (!Object.hasOwn(input, key)) return undefined;
    const value = (input as Record<string, unknown>)[key];
    const type = typeof value;
    if (type === 'number' ? !Number.isFinite(value) : type !== 'string' && type !== 'boolean')
      return undefined;
    fields++;
  }
  // Hidden fields (not enumerable, symbols) would be read by the schema but not written in the key.
  if (Reflect.ownKeys(input).length !== fields) return undefined;
  return JSON.stringify(input);
}
