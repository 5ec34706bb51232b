import { type FileHandle, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDir, writeAll } from '@trinity/core/fs';
import { NodeError } from '../errors.js';

/** Bytes before each record: its length (u16, big-endian) and the CRC-32 of its bytes (u32). */
const recordHeaderBytes = 6;
/** Largest record: an economics event is at most 256 bytes (`EVENT_BYTES_MAX`); room to spare. */
export const economicsRecordBytesMax = 1024;

/** The event log is full: its byte or record limit is reached. Nothing was written. */
export class EconomicsLogFullError extends NodeError {
  constructor(what: string) {
    super('ECONOMICS_LOG_FULL', `economics event log is full: ${what}`, 507);
  }
}

export interface EconomicsLogLimits {
  /** Largest the file may grow to. */
  readonly sizeBytesMax: number;
  /** Most records it may hold. */
  readonly recordsMax: number;
  /** fsync each group of appends (off only for throwaway test data). */
  readonly fsync: boolean;
}

/** What opening found. */
export interface EconomicsLogRecovery {
  readonly records: number;
  /** Bytes cut off the end: a record torn by a crash mid-append (or damaged bytes, and all after them). */
  readonly truncatedBytes: number;
}

interface Pending {
  readonly records: readonly Uint8Array[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Where the economics service keeps the events it accepted: the file log, or memory in the simulator. */
export interface EconomicsEventLog {
  /** The records there at open, oldest first; handed over once. */
  takeRecords(): Uint8Array[];
  /** Appends records; resolves once they are durable; EconomicsLogFullError (nothing written) past a limit. */
  append(records: readonly Uint8Array[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * An event log in memory, for the deterministic simulator and tests: `records` is its "disk", kept by
 * the caller across a node's restarts (an append is durable once it resolves, as with the file).
 */
export class MemoryEconomicsLog implements EconomicsEventLog {
  readonly #disk: Uint8Array[];
  readonly #recordsMax: number;
  #taken = false;
  #closed = false;

  constructor(disk: Uint8Array[], recordsMax: number) {
    this.#disk = disk;
    this.#recordsMax = recordsMax;
  }

  takeRecords(): Uint8Array[] {
    if (this.#taken) return [];
    this.#taken = true;
    return [...this.#disk];
  }

  async append(records: readonly Uint8Array[]): Promise<void> {
    if (this.#closed) throw new NodeError('ECONOMICS_LOG_CLOSED', 'event log is closed', 503);
    if (this.#disk.length + records.length > this.#recordsMax)
      throw new EconomicsLogFullError(`${this.#recordsMax} events`);
    for (const record of records) this.#disk.push(record.slice());
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/**
 * The economics events this node accepted, in one append-only file: per record its length, its
 * CRC-32 and its canonical bytes (`encodeEvent`). Appends made while a write is running share the
 * next write and fsync (group commit); an append resolves once its records are durable. Opening
 * reads every whole record and cuts off a torn tail (a crash mid-append leaves part of a record):
 * the node then replays what is left, and peers send back anything it lost (anti-entropy).
 */
export class EconomicsLog implements EconomicsEventLog {
  readonly path: string;
  readonly recovery: EconomicsLogRecovery;
  readonly #limits: EconomicsLogLimits;
  readonly #handle: FileHandle;
  #records: Uint8Array[] | undefined;
  #count: number;
  #sizeBytes: number;
  /** Bytes and records queued or being written: counted against the limits at append time. */
  #reservedBytes = 0;
  #reservedRecords = 0;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;

  private constructor(
    path: string,
    limits: EconomicsLogLimits,
    handle: FileHandle,
    records: Uint8Array[],
    sizeBytes: number,
    truncatedBytes: number,
  ) {
    this.path = path;
    this.#limits = limits;
    this.#handle = handle;
    this.#records = records;
    this.#count = records.length;
    this.#sizeBytes = sizeBytes;
    this.recovery = { records: records.length, truncatedBytes };
  }

  /** Opens (or creates) the log at `path`, cutting a torn tail off. */
  static async open(path: string, limits: EconomicsLogLimits): Promise<EconomicsLog> {
    let bytes: Uint8Array;
    let created = false;
    try {
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      bytes = new Uint8Array(0);
      created = true;
    }
    const { records, validBytes } = readRecords(bytes);
    const handle = await open(path, 'a+', 0o600);
    try {
      if (validBytes < bytes.length) {
        await handle.truncate(validBytes);
        await handle.sync();
      }
      if (created) await syncDir(dirname(path));
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new EconomicsLog(path, limits, handle, records, validBytes, bytes.length - validBytes);
  }

  /** The records recovered at open, oldest first; handed over once (the log keeps no copy after). */
  takeRecords(): Uint8Array[] {
    const records = this.#records ?? [];
    this.#records = undefined;
    return records;
  }

  get records(): number {
    return this.#count + this.#reservedRecords;
  }

  get sizeBytes(): number {
    return this.#sizeBytes + this.#reservedBytes;
  }

  /**
   * Appends `records` (each one event's bytes); resolves once they are durable. Throws
   * EconomicsLogFullError, writing nothing, when they would pass a limit.
   */
  append(records: readonly Uint8Array[]): Promise<void> {
    if (this.#closed)
      return Promise.reject(new NodeError('ECONOMICS_LOG_CLOSED', 'event log is closed', 503));
    if (records.length === 0) return Promise.resolve();
    let bytes = 0;
    for (const record of records) {
      if (record.length === 0 || record.length > economicsRecordBytesMax)
        throw new RangeError(`an event log record is 1 to ${economicsRecordBytesMax} bytes`);
      bytes += recordHeaderBytes + record.length;
    }
    if (this.records + records.length > this.#limits.recordsMax)
      return Promise.reject(new EconomicsLogFullError(`${this.#limits.recordsMax} events`));
    if (this.sizeBytes + bytes > this.#limits.sizeBytesMax)
      return Promise.reject(new EconomicsLogFullError(`${this.#limits.sizeBytesMax} bytes`));
    this.#reservedBytes += bytes;
    this.#reservedRecords += records.length;
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ records, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** Writes every queued append as one group: one write, one fsync. */
  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      const records = group.flatMap((p) => p.records);
      const bytes = encodeRecords(records);
      try {
        await writeAll(this.#handle, bytes, this.#sizeBytes);
        if (this.#limits.fsync) await this.#handle.datasync();
        this.#sizeBytes += bytes.length;
        this.#count += records.length;
        for (const p of group) p.resolve();
      } catch (error) {
        // The file may hold part of the group: cut it back so that later appends follow whole records.
        await this.#handle.truncate(this.#sizeBytes).catch(() => {});
        for (const p of group) p.reject(error);
      } finally {
        this.#reservedBytes -= bytes.length;
        this.#reservedRecords -= records.length;
      }
    }
    this.#flushing = undefined;
  }

  /** Waits for queued appends, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushing;
    await this.#handle.close();
  }
}

function encodeRecords(records: readonly Uint8Array[]): Uint8Array {
  const total = records.reduce((sum, r) => sum + recordHeaderBytes + r.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const record of records) {
    view.setUint16(offset, record.length);
    view.setUint32(offset + 2, crc32(record));
    out.set(record, offset + recordHeaderBytes);
    offset += recordHeaderBytes + record.length;
  }
  return out;
}

/** Every whole record from the start, up to the first torn or damaged one. */
function readRecords(bytes: Uint8Array): { records: Uint8Array[]; validBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let offset = 0;
  while (offset + recordHeaderBytes <= bytes.length) {
    const length = view.getUint16(offset);
    const end = offset + recordHeaderBytes + length;
    if (length === 0 || length > economicsRecordBytesMax || end > bytes.length) break;
    const record = bytes.slice(offset + recordHeaderBytes, end);
    if (crc32(record) !== view.getUint32(offset + 2)) break;
    records.push(record);
    offset = end;
  }
  return { records, validBytes: offset };
}
