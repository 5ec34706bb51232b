import { constants } from 'node:fs';
import { type FileHandle, open, readFile, rm, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { concatBytes, equalBytes, parseConfig } from '@trinity/core';
import { syncDir, writeAll, writeFileAtomic } from '@trinity/core/fs';
import { type TxLogConfig, type TxLogConfigInput, txLogConfigSchema } from './config.js';
import { TxLimitError, TxLogClosedError, TxLogCorruptError } from './errors.js';
import {
  allZero,
  decodeFrames,
  encodedBytes,
  encodeFrames,
  encodeRecord,
  FRAME_HEADER_BYTES,
  LOG_MAGIC,
  plainLength,
} from './log-codec.js';
import type { TxLogRecord } from './log-record.js';

/**
 * What the transaction machinery needs from a log. `TxLog` keeps it in a file; `MemoryTxLog` in
 * memory, for simulations.
 */
export interface TxLogStore {
  /** The records recovered when the log was opened, oldest first. */
  replay(): readonly TxLogRecord[];
  /**
   * Appends one record; resolves with its sequence number once it is durable (never before). The
   * log may keep the object until then (TxLog encodes it when its group is written): do not change it.
   */
  append(record: TxLogRecord): Promise<number>;
  /**
   * `append` with a callback instead of a promise (cheaper on a hot path): `done(undefined, seq,
   * record)` once durable, or `done(error, undefined, record)`. Called at most once, never
   * synchronously. The record is handed back so that one callback can serve every append.
   */
  appendThen(record: TxLogRecord, done: AppendCallback): void;
  /**
   * Replaces the log by `live`: records whose replay gives the same state as replaying everything
   * appended so far. Records appended after the call are kept after them. Atomic on a crash.
   */
  checkpoint(live: readonly TxLogRecord[]): Promise<void>;
  /** Flushes what is queued, then closes. Appends after this reject with TxLogClosedError. */
  close(): Promise<void>;
  /** Bytes appended since the log was opened or last checkpointed: when to checkpoint. */
  readonly bytesSinceCheckpoint: number;
}

/** Told once an append of `record` is durable (`error` undefined) or has failed. */
export type AppendCallback = (error: unknown, seq?: number, record?: TxLogRecord) => void;

/** What opening found: how much of a torn tail was cut off. */
export interface TxLogRecovery {
  readonly records: number;
  readonly truncatedBytes: number;
  readonly lastSeq: number;
}

interface Pending {
  /** The record appended (encoded when its group is written, handed back to `done`); undefined for a checkpoint or close marker. */
  readonly record: TxLogRecord | undefined;
  /** The record's encoded length if plain ASCII (`plainLength`, what the state machines write): for the group's byte limit. */
  readonly length: number;
  readonly live: readonly TxLogRecord[] | undefined;
  readonly done: AppendCallback;
}

/**
 * An append-only transaction log in one file: a magic header, then frames of (length, CRC-32C,
 * sequence number, JSON record). Appends made while a flush is running share the next write and
 * fdatasync (group commit). Opening cuts a torn tail off and refuses a log damaged before its tail.
 */
export class TxLog implements TxLogStore {
  readonly path: string;
  readonly recovery: TxLogRecovery;
  readonly #config: TxLogConfig;
  /** Writes are durable when they return (O_DSYNC): no fdatasync after them. */
  readonly #dsync: boolean;
  #handle: FileHandle;
  #records: TxLogRecord[];
  #sizeBytes: number;
  /** File length: records end at `#sizeBytes`, zeros written ahead follow up to here. */
  #allocatedBytes: number;
  #nextSeq: number;
  #bytesSinceCheckpoint = 0;
  #queue: Pending[] = [];
  #flushing = false;
  #closed = false;
  #failure: unknown;
  #syncs = 0;
  #syncedRecords = 0;
  #flushMs = 0;

  private constructor(path: string, config: TxLogConfig, handle: FileHandle, state: OpenState) {
    this.path = path;
    this.#config = config;
    this.#handle = handle;
    this.#dsync = dsyncFlag(config) !== 0;
    this.#records = state.records;
    this.#sizeBytes = state.sizeBytes;
    this.#allocatedBytes = state.fileBytes;
    this.#nextSeq = state.lastSeq + 1;
    this.recovery = {
      records: state.records.length,
      truncatedBytes: state.truncatedBytes,
      lastSeq: state.lastSeq,
    };
  }

  /** Opens (or creates) the log at `path`; throws TxLogCorruptError if it is damaged before its tail. */
  static async open(path: string, options: TxLogConfigInput = {}): Promise<TxLog> {
    const config = parseConfig(txLogConfigSchema, options, 'tx log config');
    await rm(`${path}.checkpoint`, { force: true });
    const state = await readLogFile(path, config.recordMaxBytes);
    const handle = await openForAppends(path, config);
    try {
      if (state.truncatedBytes > 0 || state.created) {
        await handle.truncate(state.fileBytes);
        await handle.datasync();
        if (state.created) await syncDir(dirname(path));
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new TxLog(path, config, handle, state);
  }

  replay(): readonly TxLogRecord[] {
    return this.#records;
  }

  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  get bytesSinceCheckpoint(): number {
    return this.#bytesSinceCheckpoint;
  }

  /** How many fdatasync calls appends have made (for tests and the benchmark). */
  get syncCount(): number {
    return this.#syncs;
  }

  /** Group commit so far: fdatasync calls, records they covered, time spent writing and syncing. */
  get groupCommitStats(): { syncs: number; records: number; flushMs: number } {
    return { syncs: this.#syncs, records: this.#syncedRecords, flushMs: this.#flushMs };
  }

  append(record: TxLogRecord): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.appendThen(record, (error, seq) => (error === undefined ? resolve(seq!) : reject(error)));
    });
  }

  appendThen(record: TxLogRecord, done: AppendCallback): void {
    // The record is encoded when its group is written (the text lives microseconds, not the
    // milliseconds a group waits): here only a bound, and the exact size when the bound is over.
    let length: number;
    try {
      length = plainLength(record);
      if (!Number.isFinite(length)) throw new TypeError('a field of the wrong type');
    } catch (thrown) {
      const reason = thrown instanceof Error ? thrown.message : String(thrown);
      failSoon(done, new TypeError(`tx log record is malformed: ${reason.slice(0, 200)}`), record);
      return;
    }
    const max = this.#config.recordMaxBytes;
    // A character takes at most 6 bytes encoded (an escape, or 3 UTF-8 bytes): exact only when over.
    const bytes = 6 * length > max ? encodedBytes(encodeRecord(record)) : 0;
    if (bytes > max) {
      failSoon(done, new TxLimitError(`tx log record of ${bytes} bytes exceeds recordMaxBytes`), record);
      return;
    }
    this.#enqueue(record, length, undefined, done);
  }

  checkpoint(live: readonly TxLogRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#enqueue(undefined, 0, [...live], (error) => (error === undefined ? resolve() : reject(error)));
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#failure === undefined)
      await new Promise<void>((resolve) => this.#enqueue(undefined, 0, undefined, () => resolve()));
    this.#closed = true;
    await this.#handle.close();
  }

  #enqueue(
    record: TxLogRecord | undefined,
    length: number,
    live: TxLogRecord[] | undefined,
    done: AppendCallback,
  ): void {
    let error: unknown;
    if (this.#closed || this.#failure !== undefined) error = new TxLogClosedError(this.path, this.#failure);
    else if (this.#queue.length >= this.#config.pendingRecordsMax) {
      error = new TxLimitError(`tx log has ${this.#queue.length} appends waiting (pendingRecordsMax)`);
    }
    if (error !== undefined) {
      failSoon(done, error, record);
      return;
    }
    this.#queue.push({ record, length, live, done });
    if (!this.#flushing) {
      this.#flushing = true;
      void this.#flushLoop();
    }
  }

  async #flushLoop(): Promise<void> {
    try {
      if (this.#config.groupCommitMaxDelayMs > 0) await sleep(this.#config.groupCommitMaxDelayMs);
      while (this.#queue.length > 0) {
        const head = this.#queue[0]!;
        if (head.record === undefined) {
          this.#queue.shift();
          if (head.live !== undefined) await this.#rewrite(head.live);
          notify(head.done, undefined, this.#nextSeq - 1);
          continue;
        }
        await this.#writeBatch(this.#takeBatch());
      }
    } catch (error) {
      this.#failure = error;
      for (const pending of this.#queue.splice(0))
        notify(pending.done, new TxLogClosedError(this.path, error), undefined, pending.record);
    } finally {
      this.#flushing = false;
    }
  }

  /** Leading appends up to the group limits; stops at a checkpoint or close marker. */
  #takeBatch(): Pending[] {
    let count = 0;
    let bytes = 0;
    while (count < this.#queue.length && count < this.#config.groupCommitMaxRecords) {
      const pending = this.#queue[count]!;
      if (pending.record === undefined) break;
      const frameBytes = FRAME_HEADER_BYTES + pending.length;
      if (count > 0 && bytes + frameBytes > this.#config.groupCommitMaxBytes) break;
      bytes += frameBytes;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  async #writeBatch(taken: Pending[]): Promise<void> {
    // A record that cannot be encoded fails its own append, not the log.
    const payloads: string[] = [];
    const batch: Pending[] = [];
    for (const pending of taken) {
      try {
        payloads.push(encodeRecord(pending.record!));
        batch.push(pending);
      } catch (error) {
        notify(pending.done, error, undefined, pending.record);
      }
    }
    if (batch.length === 0) return;
    const firstSeq = this.#nextSeq;
    this.#nextSeq += batch.length;
    const bytes = encodeFrames(payloads, firstSeq);
    const startMs = performance.now();
    const end = this.#sizeBytes + bytes.length;
    if (end > this.#allocatedBytes && this.#config.preallocateBytes > 0) await this.#preallocate(end);
    await writeAll(this.#handle, bytes, this.#sizeBytes);
    if (!this.#dsync) await this.#handle.datasync();
    this.#flushMs += performance.now() - startMs;
    this.#syncs++;
    this.#syncedRecords += batch.length;
    this.#sizeBytes = end;
    this.#allocatedBytes = Math.max(this.#allocatedBytes, end);
    this.#bytesSinceCheckpoint += bytes.length;
    for (let i = 0; i < batch.length; i++) {
      const pending = batch[i]!;
      notify(pending.done, undefined, firstSeq + i, pending.record);
    }
  }

  /** Checkpoint: the live records go to a new file that atomically replaces the log. */
  async #rewrite(live: readonly TxLogRecord[]): Promise<void> {
    const frames = encodeFrames(live.map(encodeRecord), this.#nextSeq);
    this.#nextSeq += live.length;
    const bytes = concatBytes(LOG_MAGIC, frames);
    await writeFileAtomic(this.path, bytes, { tempPath: `${this.path}.checkpoint` });
    const old = this.#handle;
    this.#handle = await openForAppends(this.path, this.#config);
    await old.close();
    this.#sizeBytes = bytes.length;
    this.#allocatedBytes = bytes.length;
    this.#bytesSinceCheckpoint = 0;
  }

  /** Writes zeros past the end so that later appends rewrite allocated blocks (synced with the batch). */
  async #preallocate(end: number): Promise<void> {
    // At most a quarter of the disk's free space: the zero tail must never fill the disk, not even
    // for the moment before an ENOSPC gives it back, or a neighbour's write (a manifest, a shard)
    // fails in that moment.
    const { bavail, bsize } = await statfs(dirname(this.path));
    const room = Math.floor((Number(bavail) * Number(bsize)) / 4 / 4096) * 4096;
    const grow = Math.min(this.#config.preallocateBytes, room);
    if (this.#allocatedBytes + grow <= end) return;
    const target = this.#allocatedBytes + grow;
    const zeros = new Uint8Array(Math.min(1024 * 1024, target - this.#allocatedBytes));
    const before = this.#allocatedBytes;
    try {
      for (let position = before; position < target; position += zeros.length) {
        await writeAll(this.#handle, zeros.subarray(0, Math.min(zeros.length, target - position)), position);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT') throw error;
      // Preallocation is a speed-up, not a need: on a full disk give back what it took and let the
      // append grow the file (it fails on its own if even that does not fit).
      await this.#handle.truncate(Math.max(before, this.#sizeBytes));
      return;
    }
    this.#allocatedBytes = target;
  }
}

interface OpenState {
  records: TxLogRecord[];
  lastSeq: number;
  /** End of the last valid record. */
  sizeBytes: number;
  /** Length the file should have: records plus a preallocated zero tail, torn bytes cut off. */
  fileBytes: number;
  zeroTailBytes: number;
  truncatedBytes: number;
  created: boolean;
}

async function readLogFile(path: string, recordMaxBytes: number): Promise<OpenState> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    bytes = new Uint8Array(0);
  }
  const magicLength = LOG_MAGIC.length;
  if (bytes.length < magicLength) {
    // Absent, or torn while being created: only a prefix of the magic may be there.
    if (!equalBytes(bytes, LOG_MAGIC.subarray(0, bytes.length))) {
      throw new TxLogCorruptError(path, 0, 'not a transaction log (bad magic)');
    }
    const handle = await open(path, 'w');
    try {
      await writeAll(handle, LOG_MAGIC, 0);
    } finally {
      await handle.close();
    }
    return {
      records: [],
      lastSeq: 0,
      sizeBytes: magicLength,
      fileBytes: magicLength,
      zeroTailBytes: 0,
      truncatedBytes: 0,
      created: true,
    };
  }
  if (!equalBytes(bytes.subarray(0, magicLength), LOG_MAGIC)) {
    throw new TxLogCorruptError(path, 0, 'not a transaction log (bad magic)');
  }
  const decoded = decodeFrames(bytes, magicLength, recordMaxBytes);
  if (decoded.corruption !== undefined) {
    throw new TxLogCorruptError(path, decoded.corruption.offset, decoded.corruption.reason);
  }
  // Zeros after the records are space written ahead, kept; anything else there is a torn tail, cut off.
  const zeroTail = allZero(bytes, decoded.validEnd);
  return {
    records: decoded.records,
    lastSeq: decoded.lastSeq ?? 0,
    sizeBytes: decoded.validEnd,
    fileBytes: zeroTail ? bytes.length : decoded.validEnd,
    zeroTailBytes: zeroTail ? bytes.length - decoded.validEnd : 0,
    truncatedBytes: zeroTail ? 0 : bytes.length - decoded.validEnd,
    created: false,
  };
}

/** Calls back without letting the caller's exception reach the flush loop (it is rethrown apart). */
function notify(done: AppendCallback, error: unknown, seq?: number, record?: TxLogRecord): void {
  try {
    done(error, seq, record);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}

/** O_DSYNC where the platform has it (Linux, macOS, the BSDs); 0 elsewhere. */
const O_DSYNC = constants.O_DSYNC ?? 0;

/** O_DSYNC in `dsync` mode where the platform has it, else 0 (write + fdatasync). */
function dsyncFlag(config: TxLogConfig): number {
  return config.syncMode === 'dsync' ? O_DSYNC : 0;
}

/** The log file opened for reading and writing; with O_DSYNC in `dsync` mode. */
function openForAppends(path: string, config: TxLogConfig): Promise<FileHandle> {
  return open(path, constants.O_RDWR | dsyncFlag(config));
}

/** Callbacks that must not run synchronously run on this (cheaper than queueMicrotask's AsyncResource). */
const resolved = Promise.resolve();

/** Tells `done` that its append failed, on a later microtask (never synchronously). */
function failSoon(done: AppendCallback, error: unknown, record: TxLogRecord | undefined): void {
  void resolved.then(() => done(error, undefined, record));
}

function sleep(delayMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}
