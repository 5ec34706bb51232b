import { assertInt, describe, equalBytes, parseConfig } from '@trinity/core';
import { selectKernel } from './backend.js';
import { checkShardCounts, type ErasureConfig, type ErasureOptions, erasureConfigSchema } from './config.js';
import { LruCache } from './decode-cache.js';
import { DataSizeError, ShardSizeError, ShardTypeError, TooFewShardsError } from './errors.js';
import type { CodingRows, Kernel, KernelName } from './kernel.js';
import { encodingMatrix, invertMatrix, type Matrix, multiplyMatrices, selectRows } from './matrix.js';
import { checkAllPresent, checkNoOverlap, checkPartial, checkShardArray, type ShardList } from './shards.js';

/** Counters of one encoder, for metrics and tests. */
export interface EncoderStats {
  readonly decodeCacheEntries: number;
  readonly decodeCacheHits: number;
  readonly decodeCacheMisses: number;
}

/**
 * A systematic Reed-Solomon code RS(k, m) over GF(2^8). Shards are Uint8Arrays of one length;
 * shards 0..k-1 hold data, k..k+m-1 parity. Methods never keep references to the shards passed in.
 */
export interface Encoder {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  /** The kernel in use: 'wasm-relaxed-simd', 'wasm-simd' or 'js'. */
  readonly backend: KernelName;
  /** Computes the m parity shards from the k data shards, writing the parity buffers in place. */
  encode(shards: readonly Uint8Array[]): void;
  /** True when the parity shards match the data shards. Every shard must be present. */
  verify(shards: readonly Uint8Array[]): boolean;
  /**
   * Rebuilds every missing (null) shard from any k present ones and stores the new buffers in
   * `shards`; returns `shards`. With `present`, every entry must be a buffer and those flagged
   * false are overwritten in place (no allocation). Throws TooFewShardsError with fewer than k.
   */
  reconstruct(shards: (Uint8Array | null | undefined)[], present?: readonly boolean[]): Uint8Array[];
  /** Like `reconstruct` but rebuilds only the missing data shards (cheaper when parity is not needed). */
  reconstructData(
    shards: (Uint8Array | null | undefined)[],
    present?: readonly boolean[],
  ): (Uint8Array | null | undefined)[];
  /** Cuts `data` into k data shards (zero-padded to one length) plus m zeroed parity shards, ready for encode. */
  split(data: Uint8Array): Uint8Array[];
  /** The first `size` bytes of the data shards, concatenated (the inverse of split). */
  join(shards: ShardList, size: number): Uint8Array;
  /** The shard length `split` uses for `dataBytes` bytes: ceil(dataBytes / k). */
  shardBytesFor(dataBytes: number): number;
  /**
   * k + m zeroed shards of `shardBytes` bytes. On the WebAssembly backend they live in the kernel's
   * memory, so encode and reconstruct read and write them without a copy; `releaseShards` returns
   * them early (else they are reclaimed when garbage collected).
   */
  allocateShards(shardBytes: number): Uint8Array[];
  releaseShards(shards: ShardList): void;
  stats(): EncoderStats;
}

/** verify recomputes parity in chunks of this many columns. */
const verifyChunkBytes = 65_536;

function firstPresent(present: readonly boolean[], count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < present.length && out.length < count; i++) if (present[i]) out.push(i);
  return out;
}

class ReedSolomonEncoder implements Encoder {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  readonly backend: KernelName;
  readonly #config: ErasureConfig;
  readonly #kernel: Kernel;
  readonly #matrix: Matrix;
  readonly #parity: CodingRows;
  readonly #cache: LruCache<CodingRows>;

  constructor(config: ErasureConfig) {
    this.#config = config;
    this.dataShards = config.dataShards;
    this.parityShards = config.parityShards;
    this.totalShards = config.dataShards + config.parityShards;
    this.#kernel = selectKernel(config.backend);
    this.backend = this.#kernel.name;
    this.#matrix = encodingMatrix(this.dataShards, this.parityShards);
    this.#parity = {
      rows: this.parityShards,
      cols: this.dataShards,
      coefficients: this.#matrix.data.slice(this.dataShards * this.dataShards),
    };
    this.#cache = new LruCache(config.decodeCacheSize);
  }

  encode(shards: readonly Uint8Array[]): void {
    const length = checkAllPresent(shards, this.totalShards, this.#config.maxShardBytes);
    const parity = Array.from({ length: this.parityShards }, (_, j) => this.dataShards + j);
    checkNoOverlap(shards, parity);
    this.#kernel.multiply(
      this.#parity,
      shards.slice(0, this.dataShards),
      shards.slice(this.dataShards),
      length,
    );
  }

  verify(shards: readonly Uint8Array[]): boolean {
    const length = checkAllPresent(shards, this.totalShards, this.#config.maxShardBytes);
    // Recompute the parity a column chunk at a time, so memory stays bounded and a mismatch stops early.
    const chunk = Math.min(length, verifyChunkBytes);
    const computed = Array.from({ length: this.parityShards }, () => new Uint8Array(chunk));
    for (let start = 0; start < length; start += chunk) {
      const end = Math.min(length, start + chunk);
      const outputs = end - start === chunk ? computed : computed.map((c) => c.subarray(0, end - start));
      const inputs = shards.slice(0, this.dataShards).map((shard) => shard.subarray(start, end));
      this.#kernel.multiply(this.#parity, inputs, outputs, end - start);
      for (let j = 0; j < this.parityShards; j++) {
        if (!equalBytes(outputs[j]!, shards[this.dataShards + j]!.subarray(start, end))) return false;
      }
    }
    return true;
  }

  reconstruct(shards: (Uint8Array | null | undefined)[], present?: readonly boolean[]): Uint8Array[] {
    this.#rebuild(shards, present, false);
    return shards as Uint8Array[];
  }

  reconstructData(
    shards: (Uint8Array | null | undefined)[],
    present?: readonly boolean[],
  ): (Uint8Array | null | undefined)[] {
    this.#rebuild(shards, present, true);
    return shards;
  }

  #rebuild(shards: (Uint8Array | null | undefined)[], presentMask: unknown, dataOnly: boolean): void {
    const { length, present } = checkPartial(
      shards,
      this.totalShards,
      this.#config.maxShardBytes,
      presentMask,
    );
    const inputs = firstPresent(present, this.dataShards);
    if (inputs.length < this.dataShards) {
      throw new TooFewShardsError(`need ${this.dataShards} shards to reconstruct, got ${inputs.length}`, {
        needed: this.dataShards,
        present: inputs.length,
      });
    }
    const limit = dataOnly ? this.dataShards : this.totalShards;
    const targets: number[] = [];
    for (let i = 0; i < limit; i++) if (!present[i]) targets.push(i);
    if (targets.length === 0) return;
    const inputShards = inputs.map((i) => shards[i]!);
    if (presentMask === undefined) {
      const inWasm = inputShards.every((shard) => this.#kernel.owns(shard));
      for (const t of targets) shards[t] = inWasm ? this.#kernel.allocate(length) : new Uint8Array(length);
    } else {
      checkNoOverlap(shards, targets);
    }
    const rows = this.#recoveryRows(inputs, targets);
    this.#kernel.multiply(
      rows,
      inputShards,
      targets.map((t) => shards[t]!),
      length,
    );
  }

  /** Coefficients giving each target shard from the chosen k input shards, cached per pattern. */
  #recoveryRows(inputs: readonly number[], targets: readonly number[]): CodingRows {
    const key = `${inputs.join(',')}/${targets.join(',')}`;
    return this.#cache.getOrCreate(key, () => {
      const k = this.dataShards;
      const decode = invertMatrix(selectRows(this.#matrix, inputs));
      const coefficients = new Uint8Array(targets.length * k);
      targets.forEach((t, r) => {
        // A data shard is a row of the decode matrix; a parity shard is its encoding row times it.
        const row = t < k ? selectRows(decode, [t]) : multiplyMatrices(selectRows(this.#matrix, [t]), decode);
        coefficients.set(row.data, r * k);
      });
      return { rows: targets.length, cols: k, coefficients };
    });
  }

  split(data: Uint8Array): Uint8Array[] {
    if (!(data instanceof Uint8Array))
      throw new ShardTypeError(`data must be a Uint8Array, got ${describe(data)}`);
    if (data.length === 0) throw new DataSizeError('cannot split empty data');
    const shardBytes = this.shardBytesFor(data.length);
    if (shardBytes > this.#config.maxShardBytes) {
      throw new ShardSizeError(
        `${data.length} bytes need ${shardBytes}-byte shards, over the ${this.#config.maxShardBytes}-byte limit`,
      );
    }
    const block = new Uint8Array(shardBytes * this.totalShards);
    block.set(data);
    return Array.from({ length: this.totalShards }, (_, i) =>
      block.subarray(i * shardBytes, (i + 1) * shardBytes),
    );
  }

  join(shards: ShardList, size: number): Uint8Array {
    if (!Array.isArray(shards) || shards.length !== this.dataShards)
      checkShardArray(shards, this.totalShards);
    const data = shards.slice(0, this.dataShards);
    data.forEach((shard, i) => {
      if (shard === null || shard === undefined) {
        throw new TooFewShardsError(`data shard ${i} is missing; call reconstructData first`, { index: i });
      }
    });
    const length = checkAllPresent(data, this.dataShards, this.#config.maxShardBytes);
    const capacity = length * this.dataShards;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > capacity) {
      throw new DataSizeError(`size must be an integer in [0, ${capacity}], got ${describe(size)}`, {
        capacity,
      });
    }
    const out = new Uint8Array(size);
    for (let i = 0, offset = 0; offset < size; i++, offset += length) {
      out.set((data[i] as Uint8Array).subarray(0, Math.min(length, size - offset)), offset);
    }
    return out;
  }

  shardBytesFor(dataBytes: number): number {
    assertInt(dataBytes, 'dataBytes', 0);
    return Math.ceil(dataBytes / this.dataShards);
  }

  allocateShards(shardBytes: number): Uint8Array[] {
    if (typeof shardBytes !== 'number' || !Number.isSafeInteger(shardBytes) || shardBytes < 1) {
      throw new ShardSizeError(`shardBytes must be a positive integer, got ${describe(shardBytes)}`);
    }
    if (shardBytes > this.#config.maxShardBytes) {
      throw new ShardSizeError(
        `shardBytes ${shardBytes} is over the ${this.#config.maxShardBytes}-byte limit`,
      );
    }
    return Array.from({ length: this.totalShards }, () => this.#kernel.allocate(shardBytes));
  }

  releaseShards(shards: ShardList): void {
    if (!Array.isArray(shards)) throw new ShardTypeError(`shards must be an array, got ${describe(shards)}`);
    for (const shard of shards) if (shard instanceof Uint8Array) this.#kernel.release(shard);
  }

  stats(): EncoderStats {
    return {
      decodeCacheEntries: this.#cache.size,
      decodeCacheHits: this.#cache.hits,
      decodeCacheMisses: this.#cache.misses,
    };
  }
}

/**
 * A Reed-Solomon encoder for `dataShards` + `parityShards` shards (see `erasureConfigSchema`).
 * Parity is byte-identical to Backblaze JavaReedSolomon, klauspost/reedsolomon and reed-solomon-erasure.
 */
export function createEncoder(options: ErasureOptions = {}): Encoder {
  if (options !== null && typeof options === 'object')
    checkShardCounts(options.dataShards, options.parityShards);
  return new ReedSolomonEncoder(parseConfig(erasureConfigSchema, options, 'erasure config'));
}
