import { type ConfigSchema, describe, equalBytes, parseConfig, sha256 } from '@trinity/core';
import * as z from 'zod/mini';
import { type Backend, backendChoices, checkShardCounts, intIn, shardCountsFit } from './config.js';
import { LruCache } from './decode-cache.js';
import {
  DataSizeError,
  ShardSizeError,
  ShardTypeError,
  StripeFormatError,
  TooFewShardsError,
} from './errors.js';
import { createEncoder, type Encoder } from './reed-solomon.js';

/** The largest shard a stripe may have (256 MiB): one stripe is held in memory at a time. */
export const stripeShardBytesMax = 256 * 1024 * 1024;

/** Options of the stripe encoder and decoder. Every field is optional; `shardBytes` only matters to the encoder. */
export interface StripeOptions {
  /**
   * Data shards per stripe (k), 1 to 255, with `dataShards + parityShards <= 256`.
   * @defaultValue 10
   */
  readonly dataShards?: number | undefined;
  /**
   * Parity shards per stripe (m), 1 to 255.
   * @defaultValue 4
   */
  readonly parityShards?: number | undefined;
  /**
   * Bytes per shard, 1 to `stripeShardBytesMax` (256 MiB); a stripe holds k × shardBytes bytes of data.
   * @defaultValue 1048576 (1 MiB)
   */
  readonly shardBytes?: number | undefined;
  /**
   * The kernel, as in `ErasureOptions.backend`.
   * @defaultValue 'auto'
   */
  readonly backend?: Backend | undefined;
}

/** `StripeOptions` with every default filled in. */
export interface StripeConfig {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly shardBytes: number;
  readonly backend: Backend;
}

/** @internal The zod schema behind `stripeOptionsSchema`. */
export const stripeOptionsZod = z
  .strictObject({
    dataShards: z._default(intIn(1, 255), 10),
    parityShards: z._default(intIn(1, 255), 4),
    shardBytes: z._default(intIn(1, stripeShardBytesMax), 1024 * 1024),
    backend: z._default(z.enum(backendChoices), 'auto'),
  })
  .check(shardCountsFit());

/** Validates and defaults `StripeOptions` (a Standard Schema v1 validator). */
export const stripeOptionsSchema: ConfigSchema<StripeOptions, StripeConfig> = stripeOptionsZod;

/** One stripe of an encoded stream: k + m shards of equal length and the SHA-256 of each. */
export interface EncodedStripe {
  /** 0, 1, 2, ... in stream order. */
  readonly index: number;
  /** Real bytes of the object in this stripe (the rest of the last stripe is zero padding). */
  readonly dataBytes: number;
  /** k data shards then m parity shards, each its own buffer. */
  readonly shards: Uint8Array[];
  /** hashes[i] = SHA-256(shards[i]). */
  readonly hashes: Uint8Array[];
}

/** One stripe as the decoder takes it back: any shard may be null (lost) or corrupt (hash mismatch). */
export interface StoredStripe {
  readonly shards: readonly (Uint8Array | null | undefined)[];
  readonly hashes: readonly Uint8Array[];
  readonly dataBytes: number;
}

const encoders = new LruCache<Encoder>(16);

function parseOptions(options: unknown): StripeConfig {
  if (options !== null && typeof options === 'object') {
    const { dataShards, parityShards } = options as { dataShards?: unknown; parityShards?: unknown };
    checkShardCounts(dataShards, parityShards);
  }
  return parseConfig(stripeOptionsSchema, options, 'stripe options');
}

/** A shared encoder per shape, so that decode matrices stay cached from one stripe to the next. */
function encoderFor(dataShards: number, parityShards: number, backend: Backend): Encoder {
  return encoders.getOrCreate(`${dataShards}/${parityShards}/${backend}`, () =>
    createEncoder({
      dataShards,
      parityShards,
      backend,
      maxShardBytes: stripeShardBytesMax,
    }),
  );
}

function sourceIterable(source: unknown): AsyncIterable<unknown> | Iterable<unknown> {
  const candidate = source as { [Symbol.asyncIterator]?: unknown; [Symbol.iterator]?: unknown } | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    (typeof candidate[Symbol.asyncIterator] !== 'function' &&
      typeof candidate[Symbol.iterator] !== 'function')
  ) {
    throw new ShardTypeError(
      `source must be an iterable or async iterable of Uint8Array, got ${describe(source)}`,
    );
  }
  return candidate as AsyncIterable<unknown> | Iterable<unknown>;
}

function finishStripe(
  encoder: Encoder,
  shards: Uint8Array[],
  index: number,
  dataBytes: number,
): EncodedStripe {
  encoder.encode(shards);
  return { index, dataBytes, shards, hashes: shards.map((shard) => sha256(shard)) };
}

/**
 * Shard buffers reused from one stripe to the next: a consumer that is done with a stripe's shards
 * (sent, written) gives them back, and later stripes are cut into them instead of new buffers. A
 * stream of stripes then allocates a window of buffers, not one per shard, and the garbage collector
 * is not woken by every megabyte. Keeps at most `keepMax` free buffers, of one length only.
 */
export class ShardPool {
  readonly #free: Uint8Array[] = [];
  readonly #keepMax: number;
  #bytes = -1;

  constructor(keepMax: number) {
    if (!Number.isInteger(keepMax) || keepMax < 0)
      throw new RangeError(`keepMax must be an integer ≥ 0, got ${keepMax}`);
    this.#keepMax = keepMax;
  }

  /** Free buffers held now. */
  get size(): number {
    return this.#free.length;
  }

  /** A buffer of `bytes` bytes: a given-back one (its old bytes still in it) or a new, zeroed one. */
  take(bytes: number): Uint8Array {
    if (bytes === this.#bytes) {
      const reused = this.#free.pop();
      if (reused !== undefined) return reused;
    }
    return new Uint8Array(bytes);
  }

  /** Gives buffers back; the caller must not touch them afterwards. Other lengths are dropped. */
  give(buffers: readonly Uint8Array[]): void {
    for (const buffer of buffers) {
      // Only whole buffers: a view into a larger one would hand out bytes it does not own.
      if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) continue;
      if (buffer.length !== this.#bytes) {
        this.#free.length = 0;
        this.#bytes = buffer.length;
      }
      if (this.#free.length >= this.#keepMax) return;
      this.#free.push(buffer);
    }
  }
}

/**
 * Cuts a byte stream of any length into stripes of k data shards of `shardBytes` each (the last
 * stripe zero-padded), adds m parity shards and the SHA-256 of every shard. Holds one stripe at a
 * time; every stripe gets fresh buffers, so a consumer may keep them, or, with `pool`, buffers taken
 * from the pool, which the consumer gives back when it is done with them. An empty stream yields
 * nothing.
 */
export async function* encodeStripes(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: StripeOptions,
  pool?: ShardPool,
): AsyncGenerator<EncodedStripe> {
  const { dataShards, parityShards, shardBytes, backend } = parseOptions(options);
  const iterable = sourceIterable(source);
  const encoder = encoderFor(dataShards, parityShards, backend);
  const stripeBytes = dataShards * shardBytes;
  let shards: Uint8Array[] | undefined;
  let filled = 0;
  let index = 0;
  for await (const chunk of iterable) {
    if (!(chunk instanceof Uint8Array)) {
      throw new ShardTypeError(`source yielded ${describe(chunk)}, expected Uint8Array chunks`);
    }
    for (let offset = 0; offset < chunk.length; ) {
      shards ??= Array.from({ length: dataShards + parityShards }, () =>
        pool === undefined ? new Uint8Array(shardBytes) : pool.take(shardBytes),
      );
      const shard = Math.floor(filled / shardBytes);
      const within = filled - shard * shardBytes;
      const take = Math.min(shardBytes - within, chunk.length - offset);
      shards[shard]!.set(chunk.subarray(offset, offset + take), within);
      filled += take;
      offset += take;
      if (filled === stripeBytes) {
        yield finishStripe(encoder, shards, index++, filled);
        shards = undefined;
        filled = 0;
      }
    }
  }
  if (shards !== undefined && filled > 0) {
    // The padding of the last stripe is zeros, also in a reused buffer.
    for (let i = 0; i < dataShards; i++) shards[i]!.fill(0, Math.max(0, filled - i * shardBytes));
    yield finishStripe(encoder, shards, index, filled);
  }
}

/** Options of `decodeStripe`: the code's shape and how many real bytes the stripe holds. */
export interface DecodeStripeOptions {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly dataBytes: number;
  readonly backend?: Backend;
}

function checkStripeShape(shards: unknown, hashes: unknown, total: number): void {
  if (!Array.isArray(shards) || shards.length !== total) {
    throw new StripeFormatError(`a stripe needs ${total} shard slots, got ${describe(shards)}`);
  }
  if (!Array.isArray(hashes) || hashes.length !== total) {
    throw new StripeFormatError(`a stripe needs ${total} hashes, got ${describe(hashes)}`);
  }
  hashes.forEach((hash, i) => {
    if (!(hash instanceof Uint8Array) || hash.length !== 32) {
      throw new StripeFormatError(`hash ${i} must be a 32-byte Uint8Array, got ${describe(hash)}`);
    }
  });
  shards.forEach((shard, i) => {
    if (shard !== null && shard !== undefined && !(shard instanceof Uint8Array)) {
      throw new ShardTypeError(`shard ${i} must be a Uint8Array or null, got ${describe(shard)}`);
    }
  });
}

/**
 * Which shards to use: data shards first, then parity, each hashed and kept only when its hash
 * matches, until k good ones are found (so a healthy stripe costs k hashes, not k + m).
 */
function pickValidShards(
  shards: readonly (Uint8Array | null | undefined)[],
  hashes: readonly Uint8Array[],
  dataShards: number,
): (Uint8Array | null)[] {
  const valid: (Uint8Array | null)[] = shards.map(() => null);
  let count = 0;
  let length = -1;
  for (let i = 0; i < shards.length && (count < dataShards || i < dataShards); i++) {
    const shard = shards[i];
    if (shard === null || shard === undefined || shard.length === 0) continue;
    if (!equalBytes(sha256(shard), hashes[i]!)) continue;
    if (length >= 0 && shard.length !== length) {
      throw new ShardSizeError(`shard ${i} is ${shard.length} bytes, other valid shards are ${length}`);
    }
    length = shard.length;
    valid[i] = shard;
    count++;
  }
  if (count < dataShards) {
    throw new TooFewShardsError(`need ${dataShards} valid shards, got ${count}`, {
      needed: dataShards,
      valid: count,
    });
  }
  return valid;
}

/**
 * The `dataBytes` bytes of one stripe from any k of its shards whose SHA-256 matches `hashes`
 * (a mismatching shard counts as missing). Throws TooFewShardsError with fewer than k valid shards.
 */
export function decodeStripe(
  shards: readonly (Uint8Array | null | undefined)[],
  hashes: readonly Uint8Array[],
  options: DecodeStripeOptions,
): Uint8Array {
  const { dataBytes, ...rest } = (options ?? {}) as DecodeStripeOptions;
  const { dataShards, parityShards, backend } = parseOptions(rest);
  checkStripeShape(shards, hashes, dataShards + parityShards);
  if (typeof dataBytes !== 'number' || !Number.isSafeInteger(dataBytes) || dataBytes < 1) {
    throw new DataSizeError(`dataBytes must be a positive integer, got ${describe(dataBytes)}`);
  }
  const valid = pickValidShards(shards, hashes, dataShards);
  const encoder = encoderFor(dataShards, parityShards, backend);
  if (valid.slice(0, dataShards).some((shard) => shard === null)) encoder.reconstructData(valid);
  return encoder.join(valid, dataBytes);
}

/** The bytes of a stream of stored stripes, in order: the inverse of `encodeStripes`. */
export async function* decodeStripes(
  source: AsyncIterable<StoredStripe> | Iterable<StoredStripe>,
  options: Omit<DecodeStripeOptions, 'dataBytes'>,
): AsyncGenerator<Uint8Array> {
  const iterable = sourceIterable(source);
  let index = 0;
  for await (const stripe of iterable) {
    if (stripe === null || typeof stripe !== 'object') {
      throw new StripeFormatError(`stripe ${index} must be an object, got ${describe(stripe)}`);
    }
    const { shards, hashes, dataBytes } = stripe as StoredStripe;
    yield decodeStripe(shards, hashes, { ...options, dataBytes });
    index++;
  }
}
