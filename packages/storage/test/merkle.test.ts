import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { seededRandom, toHex } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MerkleTree,
  MerkleTreeBuilder,
  merkleLeafCount,
  merklePathLength,
  merkleRoot,
  merkleRootInPlace,
  verifyMerklePath,
} from '../src/index.js';
import { isPlainArrayBuffer } from '../src/merkle.js';

// A slow, independent reference: node:crypto directly, the RFC 6962 recursive split (largest power
// of two below n on the left), padding and root binding written out from the spec in merkle.ts.
function h(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function referenceRoot(shard: Uint8Array, leafBytes: number): Uint8Array {
  const count = Math.max(1, Math.ceil(shard.length / leafBytes));
  const leaves: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const leaf = new Uint8Array(leafBytes);
    leaf.set(shard.subarray(i * leafBytes, (i + 1) * leafBytes));
    leaves.push(h(Uint8Array.of(0), leaf));
  }
  const tree = (nodes: Uint8Array[]): Uint8Array => {
    if (nodes.length === 1) return nodes[0]!;
    let k = 1;
    while (k * 2 < nodes.length) k *= 2;
    return h(Uint8Array.of(1), tree(nodes.slice(0, k)), tree(nodes.slice(k)));
  };
  const tail = new Uint8Array(12);
  new DataView(tail.buffer).setUint32(0, leafBytes);
  new DataView(tail.buffer).setBigUint64(4, BigInt(shard.length));
  return h(Uint8Array.of(2), tail, tree(leaves));
}

const leafSizes = [64, 128, 4096] as const;
const shardArb = (maxLeaves: number) =>
  fc.constantFrom(...leafSizes).chain((leafBytes) =>
    fc
      .record({
        leafBytes: fc.constant(leafBytes),
        seed: fc.integer(),
        size: fc.integer({ min: 0, max: Math.min(maxLeaves * leafBytes, 96 * 1024) }),
      })
      .map(({ leafBytes, seed, size }) => ({ leafBytes, shard: seededRandom(seed).bytes(size) })),
  );

/** The known-answer vectors: each a seeded shard's size, leaf size and root. */
function readVectors(): { seed: number; sizeBytes: number; leafBytes: number; root: string }[] {
  return JSON.parse(readFileSync(new URL('./vectors/merkle.json', import.meta.url), 'utf8'));
}

describe('merkleRoot', () => {
  it('matches the known-answer vectors', () => {
    const vectors = readVectors();
    expect(vectors.length).toBeGreaterThan(5);
    for (const v of vectors) {
      const shard = seededRandom(v.seed).bytes(v.sizeBytes);
      expect(toHex(merkleRoot(shard, v.leafBytes)), `size ${v.sizeBytes} leaf ${v.leafBytes}`).toBe(v.root);
      expect(toHex(referenceRoot(shard, v.leafBytes))).toBe(v.root);
    }
  });

  it('equals the slow reference, and the streaming builder equals it for any chunking', () => {
    fc.assert(
      fc.property(
        shardArb(40),
        fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 12 }),
        ({ leafBytes, shard }, cuts) => {
          const expected = toHex(referenceRoot(shard, leafBytes));
          expect(toHex(merkleRoot(shard, leafBytes))).toBe(expected);
          const builder = new MerkleTreeBuilder(leafBytes);
          let offset = 0;
          for (const cut of cuts) {
            const end = Math.min(shard.length, offset + cut);
            builder.update(shard.subarray(offset, end));
            offset = end;
          }
          builder.update(shard.subarray(offset));
          expect(builder.sizeBytes).toBe(shard.length);
          expect(toHex(builder.root())).toBe(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('merkleRootInPlace equals the reference and leaves the shard as it was, also inside a larger buffer', () => {
    fc.assert(
      fc.property(shardArb(40), fc.integer({ min: 0, max: 70 }), ({ leafBytes, shard }, at) => {
        const expected = toHex(referenceRoot(shard, leafBytes));
        // A view at an offset into a larger buffer: the bytes around it must not be touched either.
        const outer = seededRandom(at).bytes(shard.length + at + 3);
        outer.set(shard, at);
        const before = Uint8Array.from(outer);
        const view = outer.subarray(at, at + shard.length);
        expect(toHex(merkleRootInPlace(view, leafBytes))).toBe(expected);
        expect(toHex(outer)).toBe(toHex(before));
      }),
      { numRuns: 150 },
    );
  });

  it('merkleRootInPlace matches the known-answer vectors and every size around whole leaves', () => {
    const vectors = readVectors();
    for (const v of vectors) {
      const shard = seededRandom(v.seed).bytes(v.sizeBytes);
      expect(toHex(merkleRootInPlace(shard, v.leafBytes)), `size ${v.sizeBytes} leaf ${v.leafBytes}`).toBe(
        v.root,
      );
    }
    // A put's shards are whole multiples of the leaf: those sizes, and each one byte off.
    const L = 4096;
    for (const size of [0, 1, L - 1, L, L + 1, 2 * L, 3 * L, 3 * L + 1, 256 * L]) {
      const shard = seededRandom(size).bytes(size);
      const before = Uint8Array.from(shard);
      expect(toHex(merkleRootInPlace(shard)), `size ${size}`).toBe(toHex(merkleRoot(before)));
      expect(Buffer.compare(shard, before), `size ${size} unchanged`).toBe(0);
    }
  });

  it('merkleRootInPlace writes only into plain ArrayBuffers: shared memory of any realm or of WebAssembly is copied', () => {
    expect(isPlainArrayBuffer(new ArrayBuffer(8))).toBe(true);
    expect(isPlainArrayBuffer(runInNewContext('new ArrayBuffer(8)') as ArrayBuffer)).toBe(true);
    expect(isPlainArrayBuffer(new SharedArrayBuffer(8))).toBe(false);
    expect(isPlainArrayBuffer(runInNewContext('new SharedArrayBuffer(8)') as SharedArrayBuffer)).toBe(false);
    // (The package's types do not include WebAssembly's; the context evaluates it.)
    const wasm = runInNewContext('new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true })') as {
      buffer: SharedArrayBuffer;
    };
    expect(isPlainArrayBuffer(wasm.buffer)).toBe(false);
    for (const [seed, buffer] of [
      [3, new SharedArrayBuffer(3 * 4096 + 5)],
      [4, wasm.buffer],
    ] as const) {
      const shard = new Uint8Array(buffer, 0, 3 * 4096 + 5);
      shard.set(seededRandom(seed).bytes(shard.length));
      const before = Uint8Array.from(shard);
      expect(toHex(merkleRootInPlace(shard))).toBe(toHex(referenceRoot(before, 4096)));
      expect(Buffer.compare(shard, before)).toBe(0);
    }
  });

  it('binds the length: trailing zeros, a shorter or longer shard give another root', () => {
    const shard = seededRandom(7).bytes(5000);
    const roots = new Set(
      [
        shard,
        shard.subarray(0, 4999),
        Uint8Array.from([...shard, 0]),
        new Uint8Array(0),
        new Uint8Array(1),
      ].map((s) => toHex(merkleRoot(s))),
    );
    expect(roots.size).toBe(5);
    expect(toHex(merkleRoot(shard, 4096))).not.toBe(toHex(merkleRoot(shard, 2048)));
  });

  it('rejects bad leaf sizes', () => {
    expect(() => merkleRoot(new Uint8Array(10), 100)).toThrow(RangeError);
    expect(() => merkleRoot(new Uint8Array(10), 32)).toThrow(RangeError);
    expect(() => new MerkleTreeBuilder(3000)).toThrow(RangeError);
    expect(merkleLeafCount(0)).toBe(1);
    expect(merkleLeafCount(4097)).toBe(2);
  });
});

describe('Merkle paths', () => {
  it('the path of every leaf verifies; any flipped byte in leaf or path, or another index, fails', () => {
    fc.assert(
      fc.property(shardArb(24), fc.nat(), fc.nat(), ({ leafBytes, shard }, pick, bit) => {
        const tree = MerkleTree.fromBytes(shard, leafBytes);
        expect(toHex(tree.root)).toBe(toHex(referenceRoot(shard, leafBytes)));
        for (let i = 0; i < tree.leafCount; i++) {
          const leaf = shard.subarray(i * leafBytes, (i + 1) * leafBytes);
          const path = tree.path(i);
          expect(path.length).toBe(merklePathLength(i, tree.leafCount));
          expect(verifyMerklePath(tree.root, shard.length, i, leaf, path, leafBytes)).toBe(true);
        }
        const i = pick % tree.leafCount;
        const leaf = shard.slice(i * leafBytes, (i + 1) * leafBytes);
        const path = tree.path(i);
        if (leaf.length > 0) {
          const flipped = leaf.slice();
          flipped[bit % leaf.length]! ^= 1 << (bit % 8);
          expect(verifyMerklePath(tree.root, shard.length, i, flipped, path, leafBytes)).toBe(false);
        }
        if (path.length > 0) {
          const badPath = path.map((p) => p.slice());
          badPath[bit % path.length]![bit % 32]! ^= 1 << (bit % 8);
          expect(verifyMerklePath(tree.root, shard.length, i, leaf, badPath, leafBytes)).toBe(false);
          expect(verifyMerklePath(tree.root, shard.length, i, leaf, path.slice(1), leafBytes)).toBe(false);
        }
        if (tree.leafCount > 1) {
          const other = (i + 1) % tree.leafCount;
          expect(verifyMerklePath(tree.root, shard.length, other, leaf, path, leafBytes)).toBe(false);
        }
        // A padded last leaf is not the leaf: the unpadded bytes are what a proof carries.
        const padded = new Uint8Array(leafBytes);
        padded.set(leaf);
        if (leaf.length < leafBytes) {
          expect(verifyMerklePath(tree.root, shard.length, i, padded, path, leafBytes)).toBe(false);
        }
        expect(verifyMerklePath(tree.root, shard.length + 1, i, leaf, path, leafBytes)).toBe(false);
      }),
      { numRuns: 120 },
    );
  });

  it('is false, never a throw, for out-of-range indices and malformed paths', () => {
    const shard = seededRandom(3).bytes(3 * 4096);
    const tree = MerkleTree.fromBytes(shard);
    const leaf = shard.subarray(0, 4096);
    for (const index of [-1, 3, 1.5, Number.NaN]) {
      expect(verifyMerklePath(tree.root, shard.length, index, leaf, tree.path(0))).toBe(false);
    }
    expect(verifyMerklePath(tree.root, shard.length, 0, leaf, [new Uint8Array(31), tree.path(0)[1]!])).toBe(
      false,
    );
  });
});
