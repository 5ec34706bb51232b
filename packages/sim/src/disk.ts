import { assertInt, assertNumber } from '@trinity/core';
import type { SimRandom } from './random.js';

/** How a simulated disk behaves; defaults in `defaultDiskConfig`. */
export interface DiskConfig {
  /** An fsync takes this many ms at least ... */
  readonly syncLatencyMsMin: number;
  /** ... and at most this many (uniform). */
  readonly syncLatencyMsMax: number;
  /** Share of syncs that are slow (a busy or failing device) ... */
  readonly slowSyncRate: number;
  /** ... taking up to this many ms. */
  readonly slowSyncMsMax: number;
  /** Bytes one file may hold at most (RangeError beyond: a runaway scenario). */
  readonly fileBytesMax: number;
}

export const defaultDiskConfig: DiskConfig = {
  syncLatencyMsMin: 0.1,
  syncLatencyMsMax: 2,
  slowSyncRate: 0.01,
  slowSyncMsMax: 100,
  fileBytesMax: 256 * 1024 * 1024,
};

export interface DiskStats {
  syncs: number;
  bytesWritten: number;
  crashes: number;
  /** Crashes that cut a write in the middle. */
  tornWrites: number;
  /** Unsynced bytes lost in crashes. */
  lostBytes: number;
  bitFlips: number;
}

interface SimFile {
  /** Durable bytes (what survives any crash). */
  durable: Uint8Array;
  durableLength: number;
  /**
   * Written, not synced: the writes' bytes one after the other in `pending[0, pendingLength)`, and
   * where each write ends in `pendingEnds[0, pendingCount)`. One buffer per file, reused from sync
   * to sync: a typed array per write (off the JS heap, with its own backing store) cost more than
   * the write.
   */
  pending: Uint8Array;
  pendingLength: number;
  pendingEnds: number[];
  pendingCount: number;
}

const noBytes = new Uint8Array(0);
/** A pending buffer larger than this is let go after a sync (shard files: one big write, then none). */
const pendingKeepBytes = 4096;

function newFile(durable: Uint8Array): SimFile {
  return { durable, durableLength: 0, pending: noBytes, pendingLength: 0, pendingEnds: [], pendingCount: 0 };
}

/**
 * A simulated disk of append-only files with the failure modes that matter to a log: writes sit in
 * the page cache until `sync`; a crash keeps the durable bytes and a random prefix of the unsynced
 * ones, cutting the last kept write at a random byte (a torn write); bit rot flips a bit of durable
 * data. Time is the caller's: `syncLatencyMs` draws how long a sync takes, the caller schedules it.
 */
export class SimDisk {
  readonly config: DiskConfig;
  readonly stats: DiskStats = {
    syncs: 0,
    bytesWritten: 0,
    crashes: 0,
    tornWrites: 0,
    lostBytes: 0,
    bitFlips: 0,
  };
  readonly #random: SimRandom;
  readonly #files = new Map<string, SimFile>();

  constructor(random: SimRandom, config: Partial<DiskConfig> = {}) {
    this.config = checkConfig({ ...defaultDiskConfig, ...config });
    this.#random = random;
  }

  /** Appends `bytes` to `name` (created if missing); durable only after `sync`. Copies `bytes`. */
  append(name: string, bytes: Uint8Array): void {
    const file = this.#file(name);
    const size = file.durableLength + file.pendingLength + bytes.length;
    if (size > this.config.fileBytesMax) {
      throw new RangeError(`file ${name} would grow to ${size} bytes, over ${this.config.fileBytesMax}`);
    }
    const end = file.pendingLength + bytes.length;
    file.pending = withRoom(file.pending, file.pendingLength, end, 256);
    file.pending.set(bytes, file.pendingLength);
    file.pendingLength = end;
    file.pendingEnds[file.pendingCount++] = end;
    this.stats.bytesWritten += bytes.length;
  }

  /** Makes every write to `name` durable; returns the bytes that became durable. */
  sync(name: string): number {
    const file = this.#files.get(name);
    this.stats.syncs++;
    if (file === undefined || file.pendingCount === 0) return 0;
    const synced = file.pendingLength;
    this.#appendDurable(file, file.pending.subarray(0, synced));
    clearPending(file);
    return synced;
  }

  /** How long the next sync takes, in ms (seeded). */
  syncLatencyMs(): number {
    const { syncLatencyMsMin, syncLatencyMsMax, slowSyncRate, slowSyncMsMax } = this.config;
    if (this.#random.chance(slowSyncRate)) return syncLatencyMsMax + this.#random.float() * slowSyncMsMax;
    return syncLatencyMsMin + this.#random.float() * (syncLatencyMsMax - syncLatencyMsMin);
  }

  /** The file as the running process sees it (durable and cached writes); empty if missing. */
  read(name: string): Uint8Array {
    const file = this.#files.get(name);
    if (file === undefined) return new Uint8Array(0);
    const out = new Uint8Array(file.durableLength + file.pendingLength);
    out.set(file.durable.subarray(0, file.durableLength));
    out.set(file.pending.subarray(0, file.pendingLength), file.durableLength);
    return out;
  }

  /**
   * `length` bytes of `name` from `offset` (fewer at its end; empty if missing): a page read, without
   * copying the whole file as `read` does.
   */
  readRange(name: string, offset: number, length: number): Uint8Array {
    const file = this.#files.get(name);
    if (file === undefined) return new Uint8Array(0);
    if (file.pendingCount === 0) {
      const end = Math.min(file.durableLength, offset + length);
      return file.durable.slice(Math.min(offset, end), end);
    }
    return this.read(name).slice(offset, offset + length);
  }

  /** Bytes written to `name` and not yet synced. */
  unsyncedBytes(name: string): number {
    const file = this.#files.get(name);
    return file === undefined ? 0 : file.pendingLength;
  }

  /** Replaces `name` by `bytes`, durably (a write to a temp file, fsync, rename: atomic). */
  replace(name: string, bytes: Uint8Array): void {
    const file = newFile(noBytes);
    this.#appendDurable(file, bytes);
    this.#files.set(name, file);
    this.stats.bytesWritten += bytes.length;
  }

  /**
   * Power loss: every file keeps its durable bytes and a random number of its unsynced writes, the
   * last of them possibly cut short (torn). What a process restarted on this disk then reads.
   */
  crash(): void {
    this.stats.crashes++;
    for (const file of this.#files.values()) {
      const count = file.pendingCount;
      if (count === 0) continue;
      const { pending, pendingEnds } = file;
      const kept = this.#random.int(0, count);
      // The kept writes are a prefix: whole ones, the last possibly cut short.
      let keptEnd = kept === 0 ? 0 : pendingEnds[kept - 1]!;
      if (kept > 0 && this.#random.chance(0.5)) {
        const start = kept === 1 ? 0 : pendingEnds[kept - 2]!;
        const cut = this.#random.int(0, keptEnd - start - 1);
        this.stats.tornWrites++;
        keptEnd = start + cut;
      }
      this.#appendDurable(file, pending.subarray(0, keptEnd));
      this.stats.lostBytes += file.pendingLength - keptEnd;
      clearPending(file);
    }
  }

  /** Flips one random bit of the durable bytes of `name`; returns its byte offset (-1 for an empty file). */
  flipBit(name: string): number {
    const file = this.#files.get(name);
    if (file === undefined || file.durableLength === 0) return -1;
    const offset = this.#random.int(0, file.durableLength - 1);
    file.durable[offset]! ^= 1 << this.#random.int(0, 7);
    this.stats.bitFlips++;
    return offset;
  }

  /** Names of the files on the disk, sorted. */
  files(): string[] {
    return [...this.#files.keys()].sort();
  }

  #file(name: string): SimFile {
    let file = this.#files.get(name);
    if (file === undefined) {
      file = newFile(new Uint8Array(256));
      this.#files.set(name, file);
    }
    return file;
  }

  #appendDurable(file: SimFile, bytes: Uint8Array): void {
    const need = file.durableLength + bytes.length;
    file.durable = withRoom(file.durable, file.durableLength, need);
    file.durable.set(bytes, file.durableLength);
    file.durableLength = need;
  }
}

/**
 * `buffer` when it holds `need` bytes, else a larger copy of its first `length` bytes (at least
 * twice the size, and at least `min`).
 */
function withRoom(buffer: Uint8Array, length: number, need: number, min = 0): Uint8Array {
  if (need <= buffer.length) return buffer;
  const grown = new Uint8Array(Math.max(need, 2 * buffer.length, min));
  grown.set(buffer.subarray(0, length));
  return grown;
}

function clearPending(file: SimFile): void {
  file.pendingLength = 0;
  file.pendingCount = 0;
  if (file.pending.length > pendingKeepBytes) file.pending = noBytes;
}

function checkConfig(config: DiskConfig): DiskConfig {
  assertNumber(config.syncLatencyMsMin, 'syncLatencyMsMin', 0);
  assertNumber(config.syncLatencyMsMax, 'syncLatencyMsMax', config.syncLatencyMsMin);
  assertNumber(config.slowSyncRate, 'slowSyncRate', 0, 1);
  assertNumber(config.slowSyncMsMax, 'slowSyncMsMax', 0);
  assertInt(config.fileBytesMax, 'fileBytesMax', 1);
  return config;
}
