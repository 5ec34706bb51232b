import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { nodeBuiltin } from './_builtin.js';
import { assertBytes, assertInt } from './assert.js';

/** An incremental SHA-256: feed it pieces, then take the 32-byte digest once. */
export interface Sha256Hasher {
  update(data: Uint8Array): Sha256Hasher;
  digest(): Uint8Array;
}

interface NodeHash {
  update(data: Uint8Array): NodeHash;
  digest(): Uint8Array;
}

type CreateHash = (algorithm: 'sha256') => NodeHash;
type OneShotHash = (algorithm: 'sha256', data: Uint8Array, outputEncoding: 'latin1') => string;

/**
 * node:crypto's createHash when the host has it (Node, Deno, Bun: about 12x faster here), else
 * undefined. Loaded with process.getBuiltinModule so that browsers never see a node: import.
 */
function loadNodeCrypto(): { createHash?: CreateHash; hash?: OneShotHash } | undefined {
  return nodeBuiltin('node:crypto') as { createHash?: CreateHash; hash?: OneShotHash } | undefined;
}

const nodeCrypto = loadNodeCrypto();
const nodeCreateHash = typeof nodeCrypto?.createHash === 'function' ? nodeCrypto.createHash : undefined;
/**
 * node:crypto's one-shot `hash` (Node ≥ 20.12): about half the cost of createHash for short inputs.
 * Asked for a latin1 string (one character per byte), not a Buffer: a Buffer made on the C++ side
 * costs a new ArrayBuffer per call, most of a short hash (65 bytes: 0.87 µs with the Buffer, 0.33
 * with the string and its copy into bytes), which matters where a Merkle tree makes 511 calls per MiB.
 */
const nodeOneShot = typeof nodeCrypto?.hash === 'function' ? nodeCrypto.hash : undefined;

/** Which implementation `sha256()` uses on this host. */
export const sha256Backend: 'node:crypto' | '@noble/hashes' = nodeCreateHash
  ? 'node:crypto'
  : '@noble/hashes';

function toUint8(digest: Uint8Array): Uint8Array {
  // Node returns a Buffer; hand out a plain Uint8Array so equality and instanceof checks behave the same everywhere.
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

/** SHA-256 of `data` with the fastest implementation on this host. */
export function sha256(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  if (nodeOneShot) return copyLatin1(nodeOneShot('sha256', data, 'latin1'));
  if (nodeCreateHash) return toUint8(nodeCreateHash('sha256').update(data).digest());
  return nobleSha256(data);
}

/**
 * SHA-256 of `data` written to `out[offset..offset + 32)` instead of a new array: for callers that
 * hash many small inputs into one buffer (a Merkle tree's nodes). `out` may be `data`'s buffer; the
 * digest is written after `data` is read.
 */
export function sha256Into(data: Uint8Array, out: Uint8Array, offset: number): void {
  assertBytes(data, 'data');
  assertBytes(out, 'out');
  assertInt(offset, 'offset', 0, out.length - 32);
  if (nodeOneShot) copyLatin1(nodeOneShot('sha256', data, 'latin1'), out, offset);
  else out.set(sha256(data), offset);
}

/** Writes a latin1 digest string (one byte per character, 32) into `out` at `offset`; returns `out`. */
function copyLatin1(digest: string, out: Uint8Array = new Uint8Array(32), offset = 0): Uint8Array {
  for (let i = 0; i < 32; i++) out[offset + i] = digest.charCodeAt(i);
  return out;
}

/** SHA-256 of `data` with @noble/hashes only (pure JS), whatever the host. */
export function sha256Portable(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return nobleSha256(data);
}

/** An incremental SHA-256 hasher with the fastest implementation on this host. */
export function createSha256(): Sha256Hasher {
  if (nodeCreateHash) {
    const inner = nodeCreateHash('sha256');
    const hasher: Sha256Hasher = {
      update(data) {
        assertBytes(data, 'data');
        inner.update(data);
        return hasher;
      },
      digest: () => toUint8(inner.digest()),
    };
    return hasher;
  }
  return createSha256Portable();
}

/** An incremental SHA-256 hasher on @noble/hashes only. */
export function createSha256Portable(): Sha256Hasher {
  const inner = nobleSha256.create();
  const hasher: Sha256Hasher = {
    update(data) {
      assertBytes(data, 'data');
      inner.update(data);
      return hasher;
    },
    digest: () => inner.digest(),
  };
  return hasher;
}
