import { ed25519 as nobleEd25519 } from '@noble/curves/ed25519.js';
import { nodeBuiltin } from './_builtin.js';
import { assertBytes } from './assert.js';
import { TrinityError } from './errors.js';

/** Lengths of ed25519's byte strings (RFC 8032). */
export const ed25519Lengths = { secretKey: 32, publicKey: 32, signature: 64 } as const;

/**
 * Ed25519 signatures (RFC 8032) behind one interface: node:crypto where the host has it, else
 * @noble/curves. Keys and signatures are raw bytes: a 32-byte secret key (the seed), a 32-byte public
 * key and a 64-byte signature. Both backends verify strictly (canonical S, RFC 8032 rather than
 * ZIP-215), so two nodes on different hosts agree on every signature.
 */
export interface Ed25519 {
  /** Which implementation this is. */
  readonly backend: 'node:crypto' | '@noble/curves';
  /** A fresh secret key from the host's cryptographic random source. */
  randomSecretKey(): Uint8Array;
  /** The public key of `secretKey`. */
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** The 64-byte signature of `message` by `secretKey`. Deterministic. */
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** True when `signature` is `publicKey`'s valid signature of `message`; false for any malformed input. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /**
   * `verify` bound to one public key, for a caller that checks many signatures by the same key and
   * can keep the result (node:crypto: the key object is looked up once here, not at every call).
   * Same answers as `verify`: false for any malformed input, a malformed key included. Optional, so
   * that other implementations of this interface need not provide it.
   */
  verifier?(publicKey: Uint8Array): Ed25519Verifier;
}

/** `Ed25519.verify` with the public key bound. */
export type Ed25519Verifier = (signature: Uint8Array, message: Uint8Array) => boolean;

/** A key of the wrong length or shape was passed to sign/publicKey. */
export class KeyFormatError extends TrinityError {
  constructor(message: string) {
    super('KEY_FORMAT', message);
  }
}

function checkSecretKey(secretKey: Uint8Array): void {
  assertBytes(secretKey, 'secretKey');
  if (secretKey.length !== ed25519Lengths.secretKey) {
    throw new KeyFormatError(`ed25519 secret key must be 32 bytes (got ${secretKey.length})`);
  }
}

function wellFormed(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return (
    signature instanceof Uint8Array &&
    message instanceof Uint8Array &&
    publicKey instanceof Uint8Array &&
    signature.length === ed25519Lengths.signature &&
    publicKey.length === ed25519Lengths.publicKey
  );
}

/** The pure-JS implementation on @noble/curves, whatever the host. */
export const ed25519Portable: Ed25519 = {
  backend: '@noble/curves',
  randomSecretKey: () => nobleEd25519.utils.randomSecretKey(),
  publicKey(secretKey) {
    checkSecretKey(secretKey);
    return nobleEd25519.getPublicKey(secretKey);
  },
  sign(message, secretKey) {
    assertBytes(message, 'message');
    checkSecretKey(secretKey);
    return nobleEd25519.sign(message, secretKey);
  },
  verify(signature, message, publicKey) {
    if (!wellFormed(signature, message, publicKey)) return false;
    try {
      return nobleEd25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  verifier(publicKey) {
    const key = publicKey instanceof Uint8Array ? publicKey.slice() : publicKey;
    return (signature, message) => ed25519Portable.verify(signature, message, key);
  },
};

interface NodeKeyObject {
  export(options: { format: 'der'; type: 'spki' | 'pkcs8' }): Uint8Array;
  export(options: { format: 'jwk' }): { x?: unknown };
}
/** An ed25519 key as a JSON Web Key (RFC 8037): `x` the public key, `d` the secret key, base64url. */
interface OkpJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  d?: string;
}
interface NodeCrypto {
  createPrivateKey(
    input: { key: Uint8Array; format: 'der'; type: 'pkcs8' } | { key: OkpJwk; format: 'jwk' },
  ): NodeKeyObject;
  createPublicKey(
    input: NodeKeyObject | { key: Uint8Array; format: 'der'; type: 'spki' } | { key: OkpJwk; format: 'jwk' },
  ): NodeKeyObject;
  sign(algorithm: null, data: Uint8Array, key: NodeKeyObject): Uint8Array;
  verify(algorithm: null, data: Uint8Array, key: NodeKeyObject, signature: Uint8Array): boolean;
  randomBytes(size: number): Uint8Array;
}

// DER prefixes of an ed25519 key as PKCS#8 (private) and SPKI (public), RFC 8410: the raw 32 bytes follow.
// Marked pure so that a bundle without ed25519 drops them.
const PKCS8_PREFIX = /* @__PURE__ */ Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_PREFIX = /* @__PURE__ */ Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
]);

function withPrefix(prefix: Uint8Array, raw: Uint8Array): Uint8Array {
  const der = new Uint8Array(prefix.length + raw.length);
  der.set(prefix);
  der.set(raw, prefix.length);
  return der;
}

function toPlain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A bounded map from raw key bytes to node:crypto key objects: building a KeyObject costs about as
 * much as a verify, and a node verifies many signatures of few keys (its peers, its owners).
 */
class KeyCache<V> {
  readonly #entries = new Map<string, V>();
  constructor(readonly sizeMax: number) {}

  get(raw: Uint8Array, make: () => V): V {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
    let value = this.#entries.get(id);
    if (value === undefined) {
      value = make();
      if (this.#entries.size >= this.sizeMax) {
        // Drop the oldest entry (Map keeps insertion order): a plain FIFO bound, no LRU bookkeeping.
        const oldest = this.#entries.keys().next().value as string;
        this.#entries.delete(oldest);
      }
      this.#entries.set(id, value);
    }
    return value;
  }
}

/** How many public and secret keys the node:crypto backend keeps as prepared key objects. */
export const ed25519KeyCacheSize = 4096;

/** A secret key's node:crypto key object, and its raw public key once asked for. */
interface SecretKeyEntry {
  readonly object: NodeKeyObject;
  publicKey: Uint8Array | undefined;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/**
 * How keys enter and leave node:crypto. DER (PKCS#8, SPKI) goes through OpenSSL 3's decoder and
 * encoder framework, which costs more than a signature (measured on Node 20.20 / OpenSSL 3.0: a
 * PKCS#8 import 470 µs, an SPKI export 125 µs and import 160 µs, a signature 70 µs); a JSON Web Key
 * is the raw bytes in base64url, handed to OpenSSL's raw-key functions (55, 14 and 23 µs). A private
 * JWK must carry `x`, the public key we are about to derive; Node checks only that it is a string
 * and derives the public key from `d` itself, so an empty `x` is passed. `jwk: false` is the DER
 * path, for a host where that does not hold (`loadNodeCrypto` tests it).
 */
interface KeyCodec {
  readonly jwk: boolean;
}

function importSecretKey(crypto: NodeCrypto, codec: KeyCodec, secretKey: Uint8Array): NodeKeyObject {
  if (codec.jwk)
    return crypto.createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: '', d: base64url(secretKey) },
      format: 'jwk',
    });
  return crypto.createPrivateKey({ key: withPrefix(PKCS8_PREFIX, secretKey), format: 'der', type: 'pkcs8' });
}

function importPublicKey(crypto: NodeCrypto, codec: KeyCodec, publicKey: Uint8Array): NodeKeyObject {
  if (codec.jwk)
    return crypto.createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: base64url(publicKey) },
      format: 'jwk',
    });
  return crypto.createPublicKey({ key: withPrefix(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' });
}

function derivePublicKey(crypto: NodeCrypto, codec: KeyCodec, secretKey: NodeKeyObject): Uint8Array {
  const publicKey = crypto.createPublicKey(secretKey);
  if (codec.jwk) {
    const { x } = publicKey.export({ format: 'jwk' });
    if (typeof x !== 'string') throw new KeyFormatError('node:crypto exported an ed25519 JWK without x');
    return toPlain(Buffer.from(x, 'base64url'));
  }
  return toPlain(publicKey.export({ format: 'der', type: 'spki' })).slice(SPKI_PREFIX.length);
}

function nodeEd25519(crypto: NodeCrypto, codec: KeyCodec): Ed25519 {
  const publicKeys = new KeyCache<NodeKeyObject | null>(ed25519KeyCacheSize);
  const secretKeys = new KeyCache<SecretKeyEntry>(ed25519KeyCacheSize);
  const secretKeyEntry = (secretKey: Uint8Array) =>
    secretKeys.get(secretKey, () => ({
      object: importSecretKey(crypto, codec, secretKey),
      publicKey: undefined,
    }));
  // A public key node:crypto refuses is remembered as null (OpenSSL 3.0 takes any 32 bytes here, and
  // refuses a key that is not a point on the curve at verify).
  const publicKeyObject = (publicKey: Uint8Array) =>
    publicKeys.get(publicKey, () => {
      try {
        return importPublicKey(crypto, codec, publicKey);
      } catch {
        return null;
      }
    });
  const verifyWith = (key: NodeKeyObject, signature: Uint8Array, message: Uint8Array) => {
    try {
      return crypto.verify(null, message, key, signature);
    } catch {
      return false;
    }
  };
  return {
    backend: 'node:crypto',
    randomSecretKey: () => toPlain(crypto.randomBytes(32)),
    publicKey(secretKey) {
      checkSecretKey(secretKey);
      // Deriving it costs about three signatures: a signer that names its key in what it signs (a
      // proof-of-storage answer) asks for it at every signature, so it is kept beside the key object.
      const entry = secretKeyEntry(secretKey);
      if (entry.publicKey === undefined) entry.publicKey = derivePublicKey(crypto, codec, entry.object);
      // A copy: the caller may change the bytes it gets.
      return entry.publicKey.slice();
    },
    sign(message, secretKey) {
      assertBytes(message, 'message');
      checkSecretKey(secretKey);
      return toPlain(crypto.sign(null, message, secretKeyEntry(secretKey).object));
    },
    verify(signature, message, publicKey) {
      if (!wellFormed(signature, message, publicKey)) return false;
      const key = publicKeyObject(publicKey);
      return key !== null && verifyWith(key, signature, message);
    },
    verifier(publicKey) {
      const key =
        publicKey instanceof Uint8Array && publicKey.length === ed25519Lengths.publicKey
          ? publicKeyObject(publicKey)
          : null;
      return (signature, message) =>
        key !== null &&
        signature instanceof Uint8Array &&
        message instanceof Uint8Array &&
        signature.length === ed25519Lengths.signature &&
        verifyWith(key, signature, message);
    },
  };
}

function loadNodeCrypto(): { crypto: NodeCrypto; codec: KeyCodec } | undefined {
  const crypto = nodeBuiltin('node:crypto') as Partial<NodeCrypto> | undefined;
  if (typeof crypto?.sign !== 'function' || typeof crypto.verify !== 'function') return undefined;
  if (typeof (globalThis as { Buffer?: unknown }).Buffer !== 'function') return undefined;
  const der = works(crypto as NodeCrypto, { jwk: false });
  // A host whose OpenSSL lacks ed25519 fails here, and gets the portable backend instead.
  if (der === undefined) return undefined;
  // The JWK path only where it gives the DER path's public key and a signature that verifies with it.
  const jwk = works(crypto as NodeCrypto, { jwk: true });
  const agree =
    jwk !== undefined &&
    jwk.publicKey.length === der.publicKey.length &&
    jwk.publicKey.every((b, i) => b === der.publicKey[i]);
  return { crypto: crypto as NodeCrypto, codec: { jwk: agree } };
}

/** A known key's public key and a signature it makes and verifies, or undefined when any step fails. */
function works(crypto: NodeCrypto, codec: KeyCodec): { publicKey: Uint8Array } | undefined {
  try {
    const candidate = nodeEd25519(crypto, codec);
    const secret = new Uint8Array(32).fill(7);
    const publicKey = candidate.publicKey(secret);
    const sig = candidate.sign(new Uint8Array([1]), secret);
    return candidate.verify(sig, new Uint8Array([1]), publicKey) ? { publicKey } : undefined;
  } catch {
    return undefined;
  }
}

const nodeCrypto = /* @__PURE__ */ loadNodeCrypto();

// Each export below is one pure-annotated call on `nodeCrypto` itself: a top-level property read
// (`nodeCrypto.crypto`) would count as a possible side effect, and a bundler would then keep the
// whole module, @noble/curves with it, in bundles that never use ed25519.

/** Ed25519 with the fastest implementation on this host (node:crypto is ~14× @noble/curves at verify). */
export const ed25519: Ed25519 = /* @__PURE__ */ backendOf(nodeCrypto, undefined);

/**
 * Internal, for tests: how the node:crypto backend imports keys on this host (`jwk` where
 * `loadNodeCrypto` found it agrees with DER), and that backend on the DER path alone.
 */
export const _ed25519KeyImport: 'jwk' | 'der' | undefined = /* @__PURE__ */ keyImportOf(nodeCrypto);
export const _ed25519Der: Ed25519 | undefined = /* @__PURE__ */ backendOf(nodeCrypto, { jwk: false });

/** node:crypto's backend with the codec found at load (or `codec`); the portable one without node:crypto. */
function backendOf(loaded: { crypto: NodeCrypto; codec: KeyCodec } | undefined, codec: undefined): Ed25519;
function backendOf(
  loaded: { crypto: NodeCrypto; codec: KeyCodec } | undefined,
  codec: KeyCodec,
): Ed25519 | undefined;
function backendOf(
  loaded: { crypto: NodeCrypto; codec: KeyCodec } | undefined,
  codec: KeyCodec | undefined,
): Ed25519 | undefined {
  if (loaded === undefined) return codec === undefined ? ed25519Portable : undefined;
  return nodeEd25519(loaded.crypto, codec ?? loaded.codec);
}

function keyImportOf(loaded: { codec: KeyCodec } | undefined): 'jwk' | 'der' | undefined {
  if (loaded === undefined) return undefined;
  return loaded.codec.jwk ? 'jwk' : 'der';
}
