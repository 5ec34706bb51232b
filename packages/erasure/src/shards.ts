import { describe } from '@trinity/core';
import { InvalidShardCountError, ShardOverlapError, ShardSizeError, ShardTypeError } from './errors.js';

/** A list of shards by index; `null` (or `undefined`) marks a missing shard. */
export type ShardList = readonly (Uint8Array | null | undefined)[];

/** Throws unless `shards` is an array of exactly `total` entries. */
export function checkShardArray(shards: unknown, total: number): asserts shards is ShardList {
  if (!Array.isArray(shards)) throw new ShardTypeError(`shards must be an array, got ${describe(shards)}`);
  if (shards.length !== total) {
    throw new InvalidShardCountError(`expected ${total} shards, got ${shards.length}`, {
      expected: total,
      received: shards.length,
    });
  }
}

/** Checks one shard's type and length against the first shard's; returns its length. */
function checkShard(shard: unknown, index: number, length: number, maxShardBytes: number): number {
  if (!(shard instanceof Uint8Array)) {
    throw new ShardTypeError(`shard ${index} must be a Uint8Array or null, got ${describe(shard)}`);
  }
  if (length < 0) {
    if (shard.length === 0) throw new ShardSizeError(`shard ${index} is empty`, { index });
    if (shard.length > maxShardBytes) {
      throw new ShardSizeError(
        `shard ${index} is ${shard.length} bytes, over the ${maxShardBytes}-byte limit`,
        {
          index,
          length: shard.length,
        },
      );
    }
    return shard.length;
  }
  if (shard.length !== length) {
    throw new ShardSizeError(`shard ${index} is ${shard.length} bytes, expected ${length} like the others`, {
      index,
      length: shard.length,
      expected: length,
    });
  }
  return length;
}

/** Every shard present, all Uint8Arrays of one non-zero length (returned). */
export function checkAllPresent(shards: unknown, total: number, maxShardBytes: number): number {
  checkShardArray(shards, total);
  let length = -1;
  for (let i = 0; i < total; i++) {
    const shard = shards[i];
    if (shard === null || shard === undefined) {
      throw new ShardTypeError(`shard ${i} is missing; this operation needs every shard`);
    }
    length = checkShard(shard, i, length, maxShardBytes);
  }
  return length;
}

/**
 * Some shards missing. Without `present`, a shard is present when it is not null/undefined; with
 * it, every shard must be a buffer and `present[i]` says whether shard i holds valid bytes (the
 * others are overwritten in place). Returns the common length (-1 when no shard is present) and the mask.
 */
export function checkPartial(
  shards: unknown,
  total: number,
  maxShardBytes: number,
  presentMask: unknown,
): { length: number; present: boolean[] } {
  checkShardArray(shards, total);
  if (presentMask !== undefined) {
    if (!Array.isArray(presentMask) || presentMask.length !== total) {
      throw new ShardTypeError(`present must be an array of ${total} booleans, got ${describe(presentMask)}`);
    }
    const length = checkAllPresent(shards, total, maxShardBytes);
    return { length, present: presentMask.map((flag) => flag === true) };
  }
  let length = -1;
  const present = new Array<boolean>(total);
  for (let i = 0; i < total; i++) {
    const shard = shards[i];
    present[i] = shard !== null && shard !== undefined;
    if (present[i]) length = checkShard(shard, i, length, maxShardBytes);
  }
  return { length, present };
}

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}

/** Throws ShardOverlapError when a shard about to be written shares bytes with any other shard. */
export function checkNoOverlap(shards: ShardList, outputs: readonly number[]): void {
  for (const o of outputs) {
    const output = shards[o];
    if (output === null || output === undefined) continue;
    for (let j = 0; j < shards.length; j++) {
      const other = shards[j];
      if (j === o || other === null || other === undefined) continue;
      if (overlaps(output, other)) {
        throw new ShardOverlapError(`shard ${o} (written) shares memory with shard ${j}`);
      }
    }
  }
}
