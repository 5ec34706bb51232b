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
  /** Written, not synced, in write order. */
  pending: Uint8Array[];
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
    const size = file.durableLength + pendingBytes(file) + bytes.length;
    if (size > this.config.fileBytesMax) {
      throw new RangeError(`file ${name} would grow to ${size} bytes, over ${this.config.fileBytesMax}`);
    }
    file.pending.push(bytes.slice());
    this.stats.bytesWritten += bytes.length;
  }

  /** Makes every write to `name` durable; returns the bytes that became durable. */
  sync(name: string): number {
    const file = this.#files.get(name);
    this.stats.syncs++;
    if (file === undefined || file.pending.length === 0) return 0;
    let synced = 0;
    const pending = file.pending;
    for (let i = 0; i < pending.length; i++) {
      const chunk = pending[i]!;
      this.#appendDurable(file, chunk);
      synced += chunk.length;
    }
    // Emptied in place: a new array per sync was garbage on every sync of every log.
    pending.length = 0;
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
    const out = new Uint8Array(file.durableLength + pendingBytes(file));
    out.set(file.durable.subarray(0, file.durableLength));
    let offset = file.durableLength;
    for (const chunk of file.pending) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  /**
   * `length` bytes of `name` from `offset` (fewer at its end; empty if missing): a page read, without
   * copying the whole file as `read` does.
   */
  readRange(name: string, offset: number, length: number): Uint8Array {
    const file = this.#files.get(name);
    if (file === undefined) return new Uint8Array(0);
    if (file.pending.length === 0) {
      const end = Math.min(file.durableLength, offset + length);
      return file.durable.slice(Math.min(offset, end), end);
    }
    return this.read(name).slice(offset, offset + length);
  }

  /** Bytes written to `name` and not yet synced. */
  unsyncedBytes(name: string): number {
    const file = this.#files.get(name);
    return file === undefined ? 0 : pendingBytes(file);
  }

  /** Replaces `name` by `bytes`, durably (a write to a temp file, fsync, rename: atomic). */
  replace(name: string, bytes: Uint8Array): void {
    const file: SimFile = { durable: new Uint8Array(0), durableLength: 0, pending: [] };
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
      const pending = file.pending;
      file.pending = [];
      if (pending.length === 0) continue;
      const kept = this.#random.int(0, pending.length);
      for (let i = 0; i < kept; i++) {
        const chunk = pending[i]!;
        if (i === kept - 1 && this.#random.chance(0.5)) {
          const cut = this.#random.int(0, chunk.length - 1);
          this.#appendDurable(file, chunk.subarray(0, cut));
          this.stats.tornWrites++;
          this.stats.lostBytes += chunk.length - cut;
        } else this.#appendDurable(file, chunk);
      }
      for (let i = kept; i < pending.length; i++) this.stats.lostBytes += pending[i]!.length;
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
      file = { durable: new Uint8Array(256), durableLength: 0, pending: [] };
      this.#files.set(name, file);
    }
    return file;
  }

  #appendDurable(file: SimFile, bytes: Uint8Array): void {
    const need = file.durableLength + bytes.length;
    if (need > file.durable.length) {
      const grown = new Uint8Array(Math.max(need, file.durable.length * 2));
      grown.set(file.durable.subarray(0, file.durableLength));
      file.durable = grown;
    }
    file.durable.set(bytes, file.durableLength);
    file.durableLength = need;
  }
}

function pendingBytes(file: SimFile): number {
  let total = 0;
  for (const chunk of file.pending) total += chunk.length;
  return total;
}

function checkConfig(config: DiskConfig): DiskConfig {
  assertNumber(config.syncLatencyMsMin, 'syncLatencyMsMin', 0);
  assertNumber(config.syncLatencyMsMax, 'syncLatencyMsMax', config.syncLatencyMsMin);
  assertNumber(config.slowSyncRate, 'slowSyncRate', 0, 1);
  assertNumber(config.slowSyncMsMax, 'slowSyncMsMax', 0);
  assertInt(config.fileBytesMax, 'fileBytesMax', 1);
  return config;
}
