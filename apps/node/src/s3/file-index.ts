import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, stat, truncate } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { crc32 } from 'node:zlib';
import type { BucketRecord } from './backend.js';
import { S3Error } from './errors.js';
import { IndexOverMemory } from './index-over-memory.js';
import { applyRecord, type IndexRecord, InMemoryS3Index } from './memory.js';

/**
 * A single-node, persistent `S3Index`: the in-memory index plus an append-only log of its mutations,
 * each line `<crc32 hex> <json>` and fsynced before the mutation is acknowledged. Opening replays the
 * log; a torn last line (a crash mid-append) is cut off, any other bad line is corruption and refuses
 * to open. When the log has grown to several times the live state it is compacted (rewritten from the
 * state, fsynced, renamed over).
 *
 * This is NOT the network index issue #20 asks for: one node's gateway sees its own buckets only and
 * they are lost with its disk. It lets a single-node daemon run the gateway until the network index
 * (README "The index") exists. Mutations are serialised; the whole state lives in memory.
 */

export interface FileS3IndexOptions {
  /** One log line at most; an entry with 10,000 parts is about 1 MiB of JSON. */
  readonly lineBytesMax?: number;
  /** Compact on open when the log holds this many times more records than the live state… */
  readonly compactRatio?: number;
  /** …and more than this many records. */
  readonly compactRecordsMin?: number;
  readonly bucketsMax?: number;
}

const defaultLineBytesMax = 4 * 1024 * 1024;

export class FileS3Index extends IndexOverMemory {
  readonly #memory: InMemoryS3Index;
  readonly #path: string;
  readonly #lineBytesMax: number;
  #file: FileHandle;
  #queue: Promise<unknown> = Promise.resolve();
  #failed: unknown;

  private constructor(memory: InMemoryS3Index, path: string, file: FileHandle, lineBytesMax: number) {
    super();
    this.#memory = memory;
    this.#path = path;
    this.#file = file;
    this.#lineBytesMax = lineBytesMax;
  }

  static async open(path: string, options: FileS3IndexOptions = {}): Promise<FileS3Index> {
    const lineBytesMax = options.lineBytesMax ?? defaultLineBytesMax;
    const memory = new InMemoryS3Index(options.bucketsMax);
    const logged = await replay(path, memory, lineBytesMax);
    let live = 0;
    for (const _ of memory.records()) live++;
    if (logged > (options.compactRecordsMin ?? 1000) && logged > live * (options.compactRatio ?? 4)) {
      await compact(path, memory);
    }
    const file = await open(path, 'a');
    return new FileS3Index(memory, path, file, lineBytesMax);
  }

  /** The live state as log records (for tests and for a future migration to the network index). */
  records(): Generator<IndexRecord> {
    return this.#memory.records();
  }

  async close(): Promise<void> {
    await this.#queue.catch(() => {});
    await this.#file.close();
  }

  protected read(): Promise<InMemoryS3Index> {
    return Promise.resolve(this.#memory);
  }

  /** Runs one mutation at a time: apply in memory (an S3Error there logs nothing), then log and fsync. */
  protected mutate<T>(record: IndexRecord, apply: (index: InMemoryS3Index) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#failed !== undefined) {
        throw new S3Error(
          'ServiceUnavailable',
          `the index log ${this.#path} failed earlier; restart to recover`,
        );
      }
      const result = await apply(this.#memory);
      try {
        const json = JSON.stringify(record);
        const line = `${(crc32(json) >>> 0).toString(16).padStart(8, '0')} ${json}\n`;
        if (Buffer.byteLength(line) > this.#lineBytesMax) {
          throw new Error(
            `an index record of ${Buffer.byteLength(line)} bytes exceeds ${this.#lineBytesMax}`,
          );
        }
        await this.#file.appendFile(line);
        await this.#file.datasync();
      } catch (error) {
        // Memory is ahead of the disk now: stop (fail closed) rather than acknowledge what may be lost.
        this.#failed = error;
        throw new S3Error('ServiceUnavailable', `could not write the index log: ${String(error)}`);
      }
      return result;
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => {});
    return next;
  }

  async createBucket(record: BucketRecord): Promise<BucketRecord | undefined> {
    const existing = await this.#memory.getBucket(record.name);
    if (existing !== undefined) return existing;
    return this.mutate({ op: 'createBucket', record }, (index) => index.createBucket(record));
  }
}

/** Replays the log into `memory`; returns how many records it held. Cuts a torn last line off. */
async function replay(path: string, memory: InMemoryS3Index, lineBytesMax: number): Promise<number> {
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  );
  if (size === undefined) return 0;
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let goodBytes = 0;
  let count = 0;
  let pending: { line: string; why: string } | undefined;
  for await (const line of lines) {
    if (pending !== undefined) throw corrupt(path, pending.why, count + 1);
    const record = parseLine(line, lineBytesMax);
    if (typeof record === 'string') {
      pending = { line, why: record };
      continue;
    }
    await applyRecord(memory, record).catch((error: unknown) => {
      if (!(error instanceof S3Error)) throw error;
    });
    goodBytes += Buffer.byteLength(line) + 1;
    count++;
  }
  // Only the last line may be bad (a torn append); a good last line may lack its newline.
  if (goodBytes === size + 1) {
    const file = await open(path, 'a');
    await file.appendFile('\n');
    await file.datasync();
    await file.close();
  } else if (goodBytes !== size) {
    await truncate(path, goodBytes);
  }
  return count;
}

function parseLine(line: string, lineBytesMax: number): IndexRecord | string {
  if (line.length > lineBytesMax) return 'line too long';
  const m = /^([0-9a-f]{8}) (.*)$/s.exec(line);
  if (m === null) return 'no checksum';
  if ((crc32(m[2]!) >>> 0).toString(16).padStart(8, '0') !== m[1]) return 'checksum mismatch';
  try {
    return JSON.parse(m[2]!) as IndexRecord;
  } catch {
    return 'bad JSON';
  }
}

function corrupt(path: string, why: string, lineNumber: number): Error {
  return new Error(`the S3 index log ${path} is corrupt at line ${lineNumber}: ${why}`);
}

async function compact(path: string, memory: InMemoryS3Index): Promise<void> {
  const tmp = `${path}.compact`;
  const file = await open(tmp, 'w');
  try {
    for (const record of memory.records()) {
      const json = JSON.stringify(record);
      await file.appendFile(`${(crc32(json) >>> 0).toString(16).padStart(8, '0')} ${json}\n`);
    }
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
}
