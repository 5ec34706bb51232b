import { assert, assertBytes, assertInt, equalBytes, sha256, sha256Into } from '@trinity/core';

/**
 * Merkle trees over a shard's bytes, for proof-of-storage: the owner signs each shard's root in the
 * descriptor; a holder proves it has leaf i by sending the leaf and the sibling hashes up to the root.
 *
 * Shape (v1):
 * - leaves are `leafBytes` slices of the shard (default 4 KiB); the last is zero-padded to full size;
 *   a shard of 0 bytes has one all-zero leaf.
 * - leaf hash  = SHA-256(0x00 || leaf), inner hash = SHA-256(0x01 || left || right): a leaf can never
 *   be passed off as an inner node or the other way round.
 * - levels are paired left to right; an unpaired last node moves up unchanged (the RFC 6962 shape).
 * - root = SHA-256(0x02 || u32be(leafBytes) || u64be(sizeBytes) || top): the leaf size and the exact
 *   byte length (hence the leaf count and the padding) are bound into the root, so a proof for a
 *   shorter or differently cut shard never verifies.
 *
 * Why 4 KiB leaves: a proof costs one leaf plus 32 bytes per level, so big leaves make big proofs
 * (64 leaves of 64 KiB would be 4 MiB per answer); small leaves make the tree expensive (64-byte
 * leaves as in Sia need one SHA-256 call per 64 bytes plus as many inner hashes, about 20x slower in
 * Node where each call has a fixed cost). At 4 KiB the inner hashes add under 3 % to hashing the
 * shard, a 1 MiB shard has 256 leaves (8 levels, 256-byte paths), and a leaf is one disk page, so a
 * holder answers a challenge with one page read per leaf.
 */

/** The leaf size descriptors use unless they say otherwise. */
export const merkleLeafBytesDefault = 4096;

/** Leaf sizes accepted: powers of two in this range. */
export const merkleLimits = {
  leafBytesMin: 64,
  leafBytesMax: 1024 * 1024,
  /** Leaves per tree; with 4 KiB leaves this is a 4 GiB shard. */
  leavesMax: 1 << 20,
} as const;

const LEAF = 0x00;
const INNER = 0x01;
const ROOT = 0x02;

function checkLeafBytes(leafBytes: number): void {
  assertInt(leafBytes, 'leafBytes', merkleLimits.leafBytesMin, merkleLimits.leafBytesMax);
  if ((leafBytes & (leafBytes - 1)) !== 0)
    throw new RangeError(`leafBytes must be a power of two, got ${leafBytes}`);
}

/** Leaves of a shard of `sizeBytes` bytes (at least one). */
export function merkleLeafCount(sizeBytes: number, leafBytes = merkleLeafBytesDefault): number {
  checkLeafBytes(leafBytes);
  assertInt(sizeBytes, 'sizeBytes', 0, merkleLimits.leavesMax * leafBytes);
  return Math.max(1, Math.ceil(sizeBytes / leafBytes));
}

/** Hashes leaves into one reused buffer (prefix byte, leaf, zero padding) to avoid a copy per call. */
class LeafHasher {
  readonly #scratch: Uint8Array;
  constructor(readonly leafBytes: number) {
    this.#scratch = new Uint8Array(1 + leafBytes);
    this.#scratch[0] = LEAF;
  }

  /** Hash of a leaf given as up to leafBytes bytes (padded with zeros). */
  hash(leaf: Uint8Array): Uint8Array {
    return sha256(this.#load(leaf));
  }

  /** `hash(leaf)` written to `out` at `offset`, without a new array per leaf. */
  hashInto(leaf: Uint8Array, out: Uint8Array, offset: number): void {
    sha256Into(this.#load(leaf), out, offset);
  }

  #load(leaf: Uint8Array): Uint8Array {
    assert(leaf.length <= this.leafBytes, 'leaf longer than leafBytes');
    this.#scratch.set(leaf, 1);
    if (leaf.length < this.leafBytes) this.#scratch.fill(0, 1 + leaf.length);
    return this.#scratch;
  }
}

/** SHA-256(0x01 || left || right) of two 32-byte node hashes. */
export function merkleInnerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  assertBytes(left, 'left', 32);
  assertBytes(right, 'right', 32);
  return innerHash(left, right);
}

const innerScratch = new Uint8Array(65);
/** merkleInnerHash without the checks, for callers that only hold 32-byte hashes. */
function innerHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  innerScratch[0] = INNER;
  innerScratch.set(left, 1);
  innerScratch.set(right, 33);
  return sha256(innerScratch);
}

/** SHA-256(0x00 || leaf zero-padded to leafBytes). */
export function merkleLeafHash(leaf: Uint8Array, leafBytes = merkleLeafBytesDefault): Uint8Array {
  checkLeafBytes(leafBytes);
  assertBytes(leaf, 'leaf');
  if (leaf.length > leafBytes)
    throw new RangeError(`leaf is ${leaf.length} bytes, over leafBytes ${leafBytes}`);
  return hasherFor(leafBytes).hash(leaf);
}

/** One reusable hasher per leaf size (at most 15 sizes are valid). */
const hashers = new Map<number, LeafHasher>();
function hasherFor(leafBytes: number): LeafHasher {
  let hasher = hashers.get(leafBytes);
  if (hasher === undefined) {
    checkLeafBytes(leafBytes);
    hasher = new LeafHasher(leafBytes);
    hashers.set(leafBytes, hasher);
  }
  return hasher;
}

function finalRoot(top: Uint8Array, sizeBytes: number, leafBytes: number): Uint8Array {
  const input = new Uint8Array(1 + 4 + 8 + 32);
  const view = new DataView(input.buffer);
  input[0] = ROOT;
  view.setUint32(1, leafBytes);
  view.setBigUint64(5, BigInt(sizeBytes));
  input.set(top, 13);
  return sha256(input);
}

/**
 * The next level up of a level held as consecutive 32-byte hashes: pairs hashed left to right, an
 * unpaired last node carried up unchanged.
 */
function parentLevel(level: Uint8Array): Uint8Array {
  const width = level.length / 32;
  const pairs = width >> 1;
  const parents = new Uint8Array((pairs + (width & 1)) * 32);
  for (let i = 0; i < pairs; i++) innerHashOfPairInto(level, 2 * i * 32, parents, i * 32);
  if ((width & 1) === 1) parents.set(level.subarray((width - 1) * 32), pairs * 32);
  return parents;
}

/** Every level of a tree from its leaf hashes (consecutive 32-byte hashes), bottom first. */
function levelsFrom(leaves: Uint8Array): Uint8Array[] {
  const levels = [leaves];
  while (levels[levels.length - 1]!.length > 32) levels.push(parentLevel(levels[levels.length - 1]!));
  return levels;
}

/**
 * A whole Merkle tree (every level kept: 64 bytes per leaf), for a holder that answers challenges
 * without rehashing the shard each time. Build it with `fromBytes` or a `MerkleTreeBuilder`.
 */
export class MerkleTree {
  readonly sizeBytes: number;
  readonly leafBytes: number;
  /** The root as the descriptor commits to it. */
  readonly root: Uint8Array;
  /**
   * Each level's hashes back to back, 32 bytes each, leaves first: a few buffers per tree rather than
   * an object per node (a holder keeps a tree per shard, and hundreds of thousands of small kept
   * objects were what its garbage collector spent its time on).
   */
  readonly #levels: readonly Uint8Array[];

  private constructor(levels: Uint8Array[], sizeBytes: number, leafBytes: number) {
    this.#levels = levels;
    this.sizeBytes = sizeBytes;
    this.leafBytes = leafBytes;
    const top = levels[levels.length - 1]!;
    assert(top.length === 32, 'merkle tree: top level must hold one node');
    this.root = finalRoot(top, sizeBytes, leafBytes);
  }

  /** The tree over leaf hashes already computed (in order) for a shard of `sizeBytes`. */
  static fromLeafHashes(
    leafHashes: readonly Uint8Array[],
    sizeBytes: number,
    leafBytes = merkleLeafBytesDefault,
  ): MerkleTree {
    const count = merkleLeafCount(sizeBytes, leafBytes);
    if (leafHashes.length !== count) {
      throw new RangeError(`a ${sizeBytes}-byte shard has ${count} leaves, got ${leafHashes.length} hashes`);
    }
    const leaves = new Uint8Array(count * 32);
    for (const [i, hash] of leafHashes.entries()) {
      assertBytes(hash, 'leaf hash', 32);
      leaves.set(hash, i * 32);
    }
    return new MerkleTree(levelsFrom(leaves), sizeBytes, leafBytes);
  }

  /** The tree of a shard held in memory. */
  static fromBytes(shard: Uint8Array, leafBytes = merkleLeafBytesDefault): MerkleTree {
    const builder = new MerkleTreeBuilder(leafBytes);
    builder.update(shard);
    return builder.tree();
  }

  get leafCount(): number {
    return this.#levels[0]!.length / 32;
  }

  /** Leaf `index`'s hash (a view of the tree's own bytes: do not change it). */
  leafHash(index: number): Uint8Array {
    assertInt(index, 'index', 0, this.leafCount - 1);
    return this.#levels[0]!.subarray(index * 32, index * 32 + 32);
  }

  /**
   * The sibling hashes from leaf `index` up to the top, bottom first (levels with no sibling
   * skipped); views of the tree's own bytes: do not change them.
   */
  path(index: number): Uint8Array[] {
    assertInt(index, 'index', 0, this.leafCount - 1);
    const levels = this.#levels;
    const path: Uint8Array[] = [];
    let i = index;
    for (let l = 0; l + 1 < levels.length; l++) {
      const sibling = i % 2 === 1 ? i - 1 : i + 1;
      if (sibling * 32 < levels[l]!.length) path.push(levels[l]!.subarray(sibling * 32, sibling * 32 + 32));
      i >>= 1;
    }
    return path;
  }
}

/**
 * Builds a Merkle tree from a stream of chunks of any size, holding one partial leaf and the leaf
 * hashes (32 bytes per leaf) rather than the shard.
 */
export class MerkleTreeBuilder {
  readonly leafBytes: number;
  readonly #hasher: LeafHasher;
  readonly #leafHashes: Uint8Array[] = [];
  readonly #partial: Uint8Array;
  #partialBytes = 0;
  #sizeBytes = 0;
  #done = false;

  constructor(leafBytes = merkleLeafBytesDefault) {
    checkLeafBytes(leafBytes);
    this.leafBytes = leafBytes;
    this.#hasher = new LeafHasher(leafBytes);
    this.#partial = new Uint8Array(leafBytes);
  }

  /** Feeds the next bytes of the shard. The chunk is not kept. */
  update(chunk: Uint8Array): this {
    assert(!this.#done, 'MerkleTreeBuilder: update after tree()');
    assertBytes(chunk, 'chunk');
    if (this.#sizeBytes + chunk.length > merkleLimits.leavesMax * this.leafBytes) {
      throw new RangeError(`shard over ${merkleLimits.leavesMax} leaves of ${this.leafBytes} bytes`);
    }
    this.#sizeBytes += chunk.length;
    let offset = 0;
    if (this.#partialBytes > 0) {
      const take = Math.min(chunk.length, this.leafBytes - this.#partialBytes);
      this.#partial.set(chunk.subarray(0, take), this.#partialBytes);
      this.#partialBytes += take;
      offset = take;
      if (this.#partialBytes < this.leafBytes) return this;
      this.#leafHashes.push(this.#hasher.hash(this.#partial));
      this.#partialBytes = 0;
    }
    // Whole leaves straight from the chunk (the hasher copies them once into its scratch buffer).
    for (; offset + this.leafBytes <= chunk.length; offset += this.leafBytes) {
      this.#leafHashes.push(this.#hasher.hash(chunk.subarray(offset, offset + this.leafBytes)));
    }
    this.#partial.set(chunk.subarray(offset), 0);
    this.#partialBytes = chunk.length - offset;
    return this;
  }

  /** Bytes fed so far. */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** Finishes: the tree of everything fed. The builder cannot be fed after this. */
  tree(): MerkleTree {
    assert(!this.#done, 'MerkleTreeBuilder: tree() called twice');
    this.#done = true;
    if (this.#partialBytes > 0 || this.#leafHashes.length === 0) {
      this.#leafHashes.push(this.#hasher.hash(this.#partial.subarray(0, this.#partialBytes)));
    }
    return MerkleTree.fromLeafHashes(this.#leafHashes, this.#sizeBytes, this.leafBytes);
  }

  /** Finishes and returns just the root. */
  root(): Uint8Array {
    return this.tree().root;
  }
}

/**
 * The Merkle root of a shard held in memory (the value a descriptor commits to). The same root as
 * `MerkleTree.fromBytes(shard).root`, without the builder or keeping the tree: the leaf hashes go
 * into one flat buffer and each level up into another (`levelsFrom`, as a MerkleTree's), not an
 * object per node (a put's coordinator computes this for every shard, and a kept hash object per
 * node was the largest share of its heap allocations).
 */
export function merkleRoot(shard: Uint8Array, leafBytes = merkleLeafBytesDefault): Uint8Array {
  assertBytes(shard, 'shard');
  return rootOf(shard, leafBytes, false);
}

/**
 * `merkleRoot(shard, leafBytes)` without copying each leaf into a scratch buffer for its prefix: the
 * prefix goes into the byte before the leaf, in `shard` itself, and that byte is put back as soon as
 * the leaf is hashed (the first leaf and a short last one still go through the scratch buffer).
 * Same root, about 0.1 ms less per MiB of shard (a put's coordinator computes this for every shard).
 *
 * Guarantees: no byte outside `shard`'s view is ever written, and every byte is back as it was when
 * the call returns or throws (it is synchronous throughout). Precondition, which no code can check:
 * nothing reads or writes `shard` from another thread while it runs: no file write from it or read
 * into it pending on libuv's threads, no `randomFill`, asynchronous zlib or native addon working on
 * it, no memory mapped to a file (a concurrent writer's byte would be overwritten by the restore).
 * (Socket and TLS writes read on the main thread and are unaffected.) Memory that may be shared
 * (SharedArrayBuffer of any realm, shared WebAssembly memory) takes the copying path.
 */
export function merkleRootInPlace(shard: Uint8Array, leafBytes = merkleLeafBytesDefault): Uint8Array {
  assertBytes(shard, 'shard');
  return rootOf(shard, leafBytes, isPlainArrayBuffer(shard.buffer));
}

/**
 * The root of a checked `shard`. With `inPlace`, each whole leaf after the first is hashed with its
 * prefix written into the byte before it, [start - 1, start + leafBytes), and that byte put back at
 * once; every other leaf goes through the hasher's scratch copy. The leaf size is checked (by
 * merkleLeafCount) before any byte is written.
 */
function rootOf(shard: Uint8Array, leafBytes: number, inPlace: boolean): Uint8Array {
  const count = merkleLeafCount(shard.length, leafBytes);
  const hasher = hasherFor(leafBytes);
  const leaves = new Uint8Array(count * 32);
  const inPlaceEnd = inPlace ? Math.floor(shard.length / leafBytes) : 0;
  for (let i = 0; i < count; i++) {
    const start = i * leafBytes;
    if (i === 0 || i >= inPlaceEnd) {
      hasher.hashInto(shard.subarray(start, Math.min(start + leafBytes, shard.length)), leaves, i * 32);
      continue;
    }
    const saved = shard[start - 1]!;
    shard[start - 1] = LEAF;
    try {
      sha256Into(shard.subarray(start - 1, start + leafBytes), leaves, i * 32);
    } finally {
      shard[start - 1] = saved;
    }
  }
  const levels = levelsFrom(leaves);
  return finalRoot(levels[levels.length - 1]!, shard.length, leafBytes);
}

const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'byteLength')?.get;

/**
 * Whether `buffer` is a writable ArrayBuffer of any realm: not a SharedArrayBuffer (the getter's
 * brand check throws for one), not an immutable one (a proposal some engines ship). Internal: not
 * exported from the package.
 */
export function isPlainArrayBuffer(buffer: ArrayBufferLike): boolean {
  if (arrayBufferByteLength === undefined) return false;
  try {
    arrayBufferByteLength.call(buffer);
  } catch {
    return false;
  }
  return (buffer as { readonly immutable?: boolean }).immutable !== true;
}

/** Writes SHA-256(0x01 || the 64 bytes of `nodes` at `from`), two adjacent node hashes, to `out` at `to`. */
function innerHashOfPairInto(nodes: Uint8Array, from: number, out: Uint8Array, to: number): void {
  innerScratch[0] = INNER;
  for (let j = 0; j < 64; j++) innerScratch[1 + j] = nodes[from + j]!;
  sha256Into(innerScratch, out, to);
}

/** The number of sibling hashes in leaf `index`'s path in a tree of `leafCount` leaves. */
export function merklePathLength(index: number, leafCount: number): number {
  let length = 0;
  for (let i = index, width = leafCount; width > 1; i >>= 1, width = Math.ceil(width / 2)) {
    const sibling = i % 2 === 1 ? i - 1 : i + 1;
    if (sibling < width) length++;
  }
  return length;
}

/**
 * True when `leaf` (the unpadded leaf bytes) at `index` with sibling `path` hashes up to `root` for a
 * shard of `sizeBytes`. False for any malformed input (index out of range, a leaf not exactly as long
 * as that leaf of the shard, a path of the wrong length).
 */
export function verifyMerklePath(
  root: Uint8Array,
  sizeBytes: number,
  index: number,
  leaf: Uint8Array,
  path: readonly Uint8Array[],
  leafBytes = merkleLeafBytesDefault,
): boolean {
  if (!(leaf instanceof Uint8Array) || leaf.length !== expectedLeafLength(index, sizeBytes, leafBytes))
    return false;
  return verifyMerkleLeafHashPath(root, sizeBytes, index, hasherFor(leafBytes).hash(leaf), path, leafBytes);
}

/** verifyMerklePath from the leaf's hash (merkleLeafHash) instead of its bytes. */
export function verifyMerkleLeafHashPath(
  root: Uint8Array,
  sizeBytes: number,
  index: number,
  leafHash: Uint8Array,
  path: readonly Uint8Array[],
  leafBytes = merkleLeafBytesDefault,
): boolean {
  const count = merkleLeafCount(sizeBytes, leafBytes);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) return false;
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== 32) return false;
  if (!Array.isArray(path) || path.length !== merklePathLength(index, count)) return false;
  let node = leafHash;
  let p = 0;
  for (let i = index, width = count; width > 1; i >>= 1, width = Math.ceil(width / 2)) {
    const right = i % 2 === 0;
    const sibling = right ? i + 1 : i - 1;
    if (sibling >= width) continue;
    const hash = path[p++];
    if (!(hash instanceof Uint8Array) || hash.length !== 32) return false;
    node = right ? innerHash(node, hash) : innerHash(hash, node);
  }
  return equalBytes(finalRoot(node, sizeBytes, leafBytes), root);
}

/** The unpadded length of leaf `index` of a shard: leafBytes, or less for the last. */
export function expectedLeafLength(
  index: number,
  sizeBytes: number,
  leafBytes = merkleLeafBytesDefault,
): number {
  return Math.max(0, Math.min(leafBytes, sizeBytes - index * leafBytes));
}
