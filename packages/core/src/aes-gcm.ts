import { nodeBuiltin } from './_builtin.js';
import { assertBytes } from './assert.js';
import { TrinityError } from './errors.js';

/** Byte lengths of AES-256-GCM as Trinity uses it: a 256-bit key, 96-bit nonces and 128-bit tags. */
export const aesGcmLengths = { key: 32, nonce: 12, tag: 16 } as const;

/** Which implementation of AES-256-GCM seals and opens. */
export type AesGcmBackendName = 'node:crypto' | 'webcrypto';

/**
 * AES-256-GCM under one key. `seal` returns `ciphertext || tag` (16 bytes longer than `plain`) and
 * `open` the plaintext, each as pieces whose concatenation is the result: node:crypto hands back
 * its output buffers as they come (one per nodeUpdateChunkBytes, the tag last) instead of copying
 * them into one array. `open` returns null when the tag does not match, and then no byte of the
 * unauthenticated plaintext. Inputs are only read during the call, never kept or written; the
 * returned arrays belong to the caller. node:crypto answers synchronously, WebCrypto with a
 * promise: await either.
 */
export interface AesGcmKey {
  readonly backend: AesGcmBackendName;
  seal(nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array[] | Promise<Uint8Array[]>;
  open(
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
  ): Uint8Array[] | null | Promise<Uint8Array[] | null>;
}

/** The requested backend does not exist on this host (e.g. node:crypto in a browser). */
export class BackendUnavailableError extends TrinityError {
  constructor(backend: string) {
    super('AEAD_BACKEND_UNAVAILABLE', `AES-GCM backend ${backend} is not available on this host`, {
      details: { backend },
    });
  }
}

interface NodeAead {
  setAAD(aad: Uint8Array): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}
interface NodeCipher extends NodeAead {
  getAuthTag(): Uint8Array;
}
interface NodeDecipher extends NodeAead {
  setAuthTag(tag: Uint8Array): unknown;
}
interface NodeCrypto {
  createCipheriv(algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array): NodeCipher;
  createDecipheriv(algorithm: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array): NodeDecipher;
}

function loadNodeCrypto(): NodeCrypto | undefined {
  const crypto = nodeBuiltin('node:crypto') as Partial<NodeCrypto> | undefined;
  if (typeof crypto?.createCipheriv !== 'function' || typeof crypto.createDecipheriv !== 'function') {
    return undefined;
  }
  return crypto as NodeCrypto;
}

const nodeCrypto = /* @__PURE__ */ loadNodeCrypto();

/**
 * Bytes handed to one `cipher.update` call. Node 20's update allocates its output (input length + 1
 * bytes), then allocates a second, zero-filled buffer of the exact length and copies into it: two
 * allocations, a memset and a memcpy per call. Above glibc's mmap threshold (128 KiB) each of those
 * is fresh pages that the kernel faults in and zeroes. Pieces of 64 KiB keep both buffers in
 * malloc's recycled heap; bench/encryption.bench.ts measures the alternatives.
 */
export const nodeUpdateChunkBytes = 65_536;

function checkInputs(nonce: Uint8Array, aad: Uint8Array, data: Uint8Array): void {
  assertBytes(nonce, 'nonce', aesGcmLengths.nonce);
  assertBytes(aad, 'aad');
  assertBytes(data, 'data');
}

/** Node returns Buffers; hand out plain Uint8Array views so that equality and instanceof behave alike everywhere. */
function plainView(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Runs `input` through `cipher`, appending the output to `pieces` (also when final() throws). */
function runInPieces(cipher: NodeAead, input: Uint8Array, pieces: Uint8Array[]): Uint8Array[] {
  for (let offset = 0; offset < input.length; offset += nodeUpdateChunkBytes) {
    const piece = cipher.update(input.subarray(offset, offset + nodeUpdateChunkBytes));
    if (piece.length > 0) pieces.push(plainView(piece));
  }
  const rest = cipher.final();
  if (rest.length > 0) pieces.push(plainView(rest));
  return pieces;
}

function nodeKey(crypto: NodeCrypto, key: Uint8Array): AesGcmKey {
  const raw = key.slice();
  return {
    backend: 'node:crypto',
    seal(nonce, aad, plain) {
      checkInputs(nonce, aad, plain);
      const cipher = crypto.createCipheriv('aes-256-gcm', raw, nonce);
      if (aad.length > 0) cipher.setAAD(aad);
      const pieces = runInPieces(cipher, plain, []);
      pieces.push(plainView(cipher.getAuthTag()));
      return pieces;
    },
    open(nonce, aad, sealed) {
      checkInputs(nonce, aad, sealed);
      const bodyLength = sealed.length - aesGcmLengths.tag;
      if (bodyLength < 0) return null;
      const decipher = crypto.createDecipheriv('aes-256-gcm', raw, nonce);
      if (aad.length > 0) decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(bodyLength));
      const pieces: Uint8Array[] = [];
      try {
        return runInPieces(decipher, sealed.subarray(0, bodyLength), pieces);
      } catch {
        // final() threw: the tag did not match. Wipe what was decrypted so it cannot leak by reuse.
        for (const piece of pieces) piece.fill(0);
        return null;
      }
    },
  };
}

interface Subtle {
  importKey(
    format: 'raw',
    key: Uint8Array,
    algorithm: 'AES-GCM',
    extractable: false,
    usages: ('encrypt' | 'decrypt')[],
  ): Promise<unknown>;
  encrypt(algorithm: AesGcmParams, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(algorithm: AesGcmParams, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}
interface AesGcmParams {
  name: 'AES-GCM';
  iv: Uint8Array;
  additionalData: Uint8Array;
  tagLength: 128;
}

function subtle(): Subtle | undefined {
  return (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle;
}

async function webCryptoKey(api: Subtle, key: Uint8Array): Promise<AesGcmKey> {
  const handle = await api.importKey('raw', key.slice(), 'AES-GCM', false, ['encrypt', 'decrypt']);
  const params = (nonce: Uint8Array, aad: Uint8Array): AesGcmParams => ({
    name: 'AES-GCM',
    iv: nonce,
    additionalData: aad,
    tagLength: 128,
  });
  return {
    backend: 'webcrypto',
    async seal(nonce, aad, plain) {
      checkInputs(nonce, aad, plain);
      return [new Uint8Array(await api.encrypt(params(nonce, aad), handle, plain))];
    },
    async open(nonce, aad, sealed) {
      checkInputs(nonce, aad, sealed);
      if (sealed.length < aesGcmLengths.tag) return null;
      try {
        return [new Uint8Array(await api.decrypt(params(nonce, aad), handle, sealed))];
      } catch {
        return null; // OperationError: the tag did not match
      }
    },
  };
}

/** The backends this host has, fastest first: node:crypto where it exists, WebCrypto where `crypto.subtle` does. */
export function aesGcmBackends(): AesGcmBackendName[] {
  const names: AesGcmBackendName[] = [];
  if (nodeCrypto !== undefined) names.push('node:crypto');
  if (subtle() !== undefined) names.push('webcrypto');
  return names;
}

/**
 * Prepares `key` (32 bytes) for AES-256-GCM with `backend`, by default the fastest this host has.
 * Throws BackendUnavailableError when the host has no such backend.
 */
export async function aesGcmKey(key: Uint8Array, backend?: AesGcmBackendName): Promise<AesGcmKey> {
  assertBytes(key, 'key', aesGcmLengths.key);
  const chosen = backend ?? aesGcmBackends()[0];
  if (chosen === 'node:crypto' && nodeCrypto !== undefined) return nodeKey(nodeCrypto, key);
  const api = subtle();
  if (chosen === 'webcrypto' && api !== undefined) return webCryptoKey(api, key);
  throw new BackendUnavailableError(chosen ?? 'any');
}
