import { type FileHandle, open, readFile, rename } from 'node:fs/promises';
import { assert, equalBytes, fromHex, sha256, toHex } from '@trinity/core';
import { syncDir, writeAll, writeNewFile } from '@trinity/core/fs';
import { isNotFound, tempPath } from './_fs.js';
import { StoreFormatError } from './errors.js';

const magic = new TextEncoder().encode('TRFENC01');
const recordBytes = 48; // hash 32 + token u64 8 + checksum 8

function encodeRecord(hashHex: string, token: number): Uint8Array {
  const record = new Uint8Array(recordBytes);
  record.set(fromHex(hashHex), 0);
  new DataView(record.buffer).setBigUint64(32, BigInt(token));
  record.set(sha256(record.subarray(0, 40)).subarray(0, 8), 40);
  return record;
}

function decodeRecord(record: Uint8Array): { hashHex: string; token: number } | undefined {
  const check = sha256(record.subarray(0, 40)).subarray(0, 8);
  if (!equalBytes(check, record.subarray(40, 48))) return undefined;
  const token = new DataView(record.buffer, record.byteOffset, record.byteLength).getBigUint64(32);
  if (token > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { hashHex: toHex(record.subarray(0, 32)), token: Number(token) };
}

/**
 * The highest fencing token seen per shard hash, kept in an append-only file of checksummed
 * 48-byte records so that a restart remembers them. A torn or corrupt tail is dropped at open and
 * the file is rewritten with only the entries the store still needs.
 */
export class FencingLog {
  readonly #path: string;
  readonly #tmpDir: string;
  readonly #dir: string;
  readonly #sync: boolean;
  readonly #tokens = new Map<string, number>();
  #handle: FileHandle | undefined;
  #endOffset = 0;
  #tail: Promise<void> = Promise.resolve();

  private constructor(dir: string, path: string, tmpDir: string, sync: boolean) {
    this.#dir = dir;
    this.#path = path;
    this.#tmpDir = tmpDir;
    this.#sync = sync;
  }

  /** Loads the log, keeps the entries `isLive` accepts, and rewrites the file compactly. */
  static async open(
    dir: string,
    path: string,
    tmpDir: string,
    sync: boolean,
    isLive: (hashHex: string) => boolean,
  ): Promise<FencingLog> {
    const log = new FencingLog(dir, path, tmpDir, sync);
    await log.#load();
    for (const hashHex of [...log.#tokens.keys()]) if (!isLive(hashHex)) log.#tokens.delete(hashHex);
    await log.#rewrite();
    log.#handle = await open(path, 'r+');
    return log;
  }

  get size(): number {
    return this.#tokens.size;
  }

  highest(hashHex: string): number | undefined {
    return this.#tokens.get(hashHex);
  }

  /** Records `token` for the hash if it is the highest so far; durable before it resolves. */
  raise(hashHex: string, token: number): Promise<void> {
    return this.raiseMany([[hashHex, token]]);
  }

  /**
   * Records every (hash, token) that raises its hash's highest token, with one write and one
   * datasync for all of them; durable before it resolves.
   */
  raiseMany(entries: readonly (readonly [hashHex: string, token: number])[]): Promise<void> {
    const run = async (): Promise<void> => {
      const raised = new Map<string, number>();
      for (const [hashHex, token] of entries) {
        const current = raised.get(hashHex) ?? this.#tokens.get(hashHex);
        if (current === undefined || token > current) raised.set(hashHex, token);
      }
      if (raised.size === 0) return;
      const handle = this.#handle;
      assert(handle !== undefined, 'fencing log is closed');
      const out = new Uint8Array(raised.size * recordBytes);
      let offset = 0;
      for (const [hashHex, token] of raised) {
        out.set(encodeRecord(hashHex, token), offset);
        offset += recordBytes;
      }
      await writeAll(handle, out, this.#endOffset);
      if (this.#sync) await handle.datasync();
      this.#endOffset += out.length;
      for (const [hashHex, token] of raised) this.#tokens.set(hashHex, token);
      // Raising the same hashes again and again grows the file; past 4x its live size, rewrite it.
      if (this.#endOffset > magic.length + recordBytes * (4 * this.#tokens.size + 1024))
        await this.#compactOnline();
    };
    const result = this.#tail.then(run);
    this.#tail = result.catch(() => {});
    return result;
  }

  /** Drops the file handle without waiting, as the kernel does for a process that died. */
  abandon(): void {
    const handle = this.#handle;
    this.#handle = undefined;
    handle?.close().catch(() => {});
  }

  async close(): Promise<void> {
    await this.#tail;
    await this.#handle?.close();
    this.#handle = undefined;
  }

  async #load(): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.#path);
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (bytes.length < magic.length || !equalBytes(bytes.subarray(0, magic.length), magic)) {
      throw new StoreFormatError(`fencing log ${this.#path} has an unknown header`);
    }
    for (let offset = magic.length; offset + recordBytes <= bytes.length; offset += recordBytes) {
      const record = decodeRecord(bytes.subarray(offset, offset + recordBytes));
      if (record === undefined) break; // torn or corrupt tail: everything after it is untrusted
      const current = this.#tokens.get(record.hashHex) ?? -1;
      if (record.token > current) this.#tokens.set(record.hashHex, record.token);
    }
  }

  async #compactOnline(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
    await this.#rewrite();
    this.#handle = await open(this.#path, 'r+');
  }

  async #rewrite(): Promise<void> {
    const out = new Uint8Array(magic.length + recordBytes * this.#tokens.size);
    out.set(magic, 0);
    let offset = magic.length;
    for (const [hashHex, token] of this.#tokens) {
      out.set(encodeRecord(hashHex, token), offset);
      offset += recordBytes;
    }
    const tmp = tempPath(this.#tmpDir, 'fencing');
    await writeNewFile(tmp, out, { fsync: this.#sync });
    await rename(tmp, this.#path);
    await syncDir(this.#dir, { fsync: this.#sync });
    this.#endOffset = out.length;
  }
}
