import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { type AesGcmBackendName, type AesGcmKey, aesGcmKey, aesGcmLengths } from './aes-gcm.js';
import { assert, assertBytes, assertInt } from './assert.js';
import { equalBytes, randomBytes } from './bytes.js';
import { TrinityError } from './errors.js';

/**
 * The segmented AEAD format (version 1), the STREAM construction over AES-256-GCM:
 *
 *   header (32 bytes) = "TRE" | version 1 | algorithm 1 | segmentBytes (u32 BE) | nonce prefix (7)
 *                       | key commitment (16)
 *   segment i         = AES-256-GCM(key, nonce = prefix | i (u32 BE) | final (0 or 1),
 *                                   aad = header, plaintext of segmentBytes, the last 0..segmentBytes)
 *
 * The index and the final flag are in the nonce, so a segment moved, dropped or passed off as the
 * last one fails its tag; the header is every segment's associated data, so a changed segment size
 * or prefix fails too. The commitment, HMAC-SHA256(key, "trinity/aead/v1 commit" | header[0..16])
 * cut to 16 bytes, tells a wrong key from a damaged segment and makes the ciphertext commit to one
 * key (GCM alone does not).
 */
export const aeadFormat = /* @__PURE__ */ (() =>
  // In a pure closure: a bundler keeps a bare object that reads another's property, used or not.
  ({
    version: 1,
    algorithmAes256Gcm: 1,
    headerBytes: 32,
    noncePrefixBytes: 7,
    commitmentBytes: 16,
    tagBytes: aesGcmLengths.tag,
    keyBytes: aesGcmLengths.key,
    /** Bounds on the plaintext bytes per segment: the memory a stream holds is about twice this. */
    segmentBytesMin: 256,
    segmentBytesMax: 16 * 1024 * 1024,
    /** The index is a u32 in the nonce. */
    segmentsMax: 2 ** 32,
  }) as const)();

/** Plaintext bytes per segment unless told otherwise (measured in bench/encryption.bench.ts). */
export const defaultSegmentBytes = 256 * 1024;

const magic = [0x54, 0x52, 0x45] as const; // "TRE"
const commitLabel = /* @__PURE__ */ new TextEncoder().encode('trinity/aead/v1 commit');

/** Why a ciphertext was refused. No plaintext of a segment that failed is ever returned. */
export type DecryptionErrorCode =
  /** The header is not a version-1 AES-256-GCM header, or its segment size is out of bounds. */
  | 'DECRYPT_HEADER_INVALID'
  /** The key does not match the header's key commitment. */
  | 'DECRYPT_WRONG_KEY'
  /** A segment failed its tag: a changed byte, a reordered or foreign segment. */
  | 'DECRYPT_AUTH_FAILED'
  /** The stream ended before its final segment (or inside the header). */
  | 'DECRYPT_TRUNCATED';

/** A ciphertext that does not decrypt under the given key; `code` says why. */
export class DecryptionError extends TrinityError {
  declare readonly code: DecryptionErrorCode;

  constructor(code: DecryptionErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? {} : { details });
  }
}

/** An encryptor or decryptor used after final() or after it failed. */
export class AeadStateError extends TrinityError {
  constructor(message: string) {
    super('AEAD_STATE', message);
  }
}

/** Ciphertext bytes of a `plainBytes` object: header, plaintext, and one tag per segment (at least one). */
export function encryptedSize(plainBytes: number, segmentBytes = defaultSegmentBytes): number {
  assertInt(plainBytes, 'plainBytes', 0);
  checkSegmentBytes(segmentBytes);
  const segments = Math.max(1, Math.ceil(plainBytes / segmentBytes));
  return aeadFormat.headerBytes + plainBytes + segments * aeadFormat.tagBytes;
}

/** Plaintext bytes of a `cipherBytes` ciphertext, or -1 when no plaintext encrypts to that length. */
export function decryptedSize(cipherBytes: number, segmentBytes = defaultSegmentBytes): number {
  assertInt(cipherBytes, 'cipherBytes', 0);
  checkSegmentBytes(segmentBytes);
  const body = cipherBytes - aeadFormat.headerBytes;
  if (body < aeadFormat.tagBytes) return -1;
  const sealedSegment = segmentBytes + aeadFormat.tagBytes;
  const full = Math.floor(body / sealedSegment);
  const rest = body - full * sealedSegment;
  if (rest === 0) return full * segmentBytes; // ends on a full final segment
  if (rest < aeadFormat.tagBytes) return -1;
  return full * segmentBytes + rest - aeadFormat.tagBytes;
}

function checkSegmentBytes(segmentBytes: number): void {
  assertInt(segmentBytes, 'segmentBytes', aeadFormat.segmentBytesMin, aeadFormat.segmentBytesMax);
}

/** A fresh random 256-bit object key from the platform's CSPRNG. */
export function generateObjectKey(): Uint8Array {
  return randomBytes(aeadFormat.keyBytes);
}

function commitment(key: Uint8Array, headerStart: Uint8Array): Uint8Array {
  const message = new Uint8Array(commitLabel.length + headerStart.length);
  message.set(commitLabel);
  message.set(headerStart, commitLabel.length);
  return hmac(nobleSha256, key, message).subarray(0, aeadFormat.commitmentBytes);
}

function buildHeader(key: Uint8Array, segmentBytes: number, noncePrefix: Uint8Array): Uint8Array {
  const header = new Uint8Array(aeadFormat.headerBytes);
  header.set(magic);
  header[3] = aeadFormat.version;
  header[4] = aeadFormat.algorithmAes256Gcm;
  new DataView(header.buffer).setUint32(5, segmentBytes);
  header.set(noncePrefix, 9);
  header.set(commitment(key, header.subarray(0, 16)), 16);
  return header;
}

interface ParsedHeader {
  readonly segmentBytes: number;
  readonly noncePrefix: Uint8Array;
}

function parseHeader(header: Uint8Array, key: Uint8Array, segmentBytesMax: number): ParsedHeader {
  const invalid = (why: string) => new DecryptionError('DECRYPT_HEADER_INVALID', `ciphertext header ${why}`);
  if (header[0] !== magic[0] || header[1] !== magic[1] || header[2] !== magic[2]) {
    throw invalid('does not start with "TRE"');
  }
  if (header[3] !== aeadFormat.version) throw invalid(`has unknown version ${header[3]}`);
  if (header[4] !== aeadFormat.algorithmAes256Gcm) throw invalid(`has unknown algorithm ${header[4]}`);
  const segmentBytes = new DataView(header.buffer, header.byteOffset).getUint32(5);
  if (segmentBytes < aeadFormat.segmentBytesMin || segmentBytes > segmentBytesMax) {
    throw invalid(
      `segment size ${segmentBytes} is outside [${aeadFormat.segmentBytesMin}, ${segmentBytesMax}]`,
    );
  }
  if (!equalBytes(commitment(key, header.subarray(0, 16)), header.subarray(16, 32))) {
    throw new DecryptionError('DECRYPT_WRONG_KEY', 'the key does not match the ciphertext');
  }
  return { segmentBytes, noncePrefix: header.slice(9, 16) };
}

function segmentNonce(prefix: Uint8Array, index: number, final: boolean): Uint8Array {
  assert(index < aeadFormat.segmentsMax, 'segment index beyond u32');
  const nonce = new Uint8Array(aesGcmLengths.nonce);
  nonce.set(prefix);
  new DataView(nonce.buffer).setUint32(7, index);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

/**
 * True for a promise. node:crypto answers synchronously, and `await` on a plain value still costs
 * a microtask turn per segment, which shows at small segments: callers await only promises.
 */
function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** Options of createEncryptor. */
export interface EncryptorInit {
  /** The 32-byte object key (generateObjectKey()). */
  readonly key: Uint8Array;
  /** Plaintext bytes per segment, in [256, 16 MiB]; default defaultSegmentBytes (256 KiB). */
  readonly segmentBytes?: number;
  /** Which AES-GCM implementation; default the fastest on this host. */
  readonly backend?: AesGcmBackendName;
  /** The 7-byte nonce prefix; default random. Fixed only for known-answer tests. */
  readonly noncePrefix?: Uint8Array;
}

/** Options of createDecryptor. */
export interface DecryptorInit {
  readonly key: Uint8Array;
  /** Refuse headers announcing larger segments (bounds the memory a stream holds); default 16 MiB. */
  readonly segmentBytesMax?: number;
  readonly backend?: AesGcmBackendName;
  /**
   * For a ranged read: the index of the first segment that follows the header in the input
   * (cipherRange() says which bytes to feed: the header, then the sealed segments from here).
   * Default 0.
   */
  readonly firstSegment?: number;
  /**
   * Whether the input ends with the object's final segment (default true). A ranged read that
   * stops before the end passes false: its last segment is then opened as a middle one.
   */
  readonly endsAtFinal?: boolean;
}

/** What a ranged read of plaintext bytes [start, end] (inclusive) must fetch and decrypt. */
export interface CipherRange {
  /** Ciphertext byte offsets of the sealed segments to feed after the header (end inclusive). */
  readonly cipherStart: number;
  readonly cipherEnd: number;
  /** createDecryptor's firstSegment and endsAtFinal for that input. */
  readonly firstSegment: number;
  readonly endsAtFinal: boolean;
  /** Plaintext bytes to drop from the front of the decrypted output, and how many to keep. */
  readonly skip: number;
  readonly length: number;
}

/**
 * The ciphertext a ranged read of plaintext [start, end] (inclusive, within `plainBytes`) needs:
 * the 32-byte header (always, at offset 0) and the whole segments holding those bytes.
 */
export function cipherRange(
  start: number,
  end: number,
  plainBytes: number,
  segmentBytes = defaultSegmentBytes,
): CipherRange {
  assertInt(plainBytes, 'plainBytes', 0);
  checkSegmentBytes(segmentBytes);
  assertInt(start, 'start', 0, Math.max(0, plainBytes - 1));
  assertInt(end, 'end', start, Math.max(0, plainBytes - 1));
  const segments = Math.max(1, Math.ceil(plainBytes / segmentBytes));
  const first = Math.floor(start / segmentBytes);
  const last = Math.min(segments - 1, Math.floor(end / segmentBytes));
  const sealed = segmentBytes + aeadFormat.tagBytes;
  const cipherStart = aeadFormat.headerBytes + first * sealed;
  const cipherEnd = Math.min(
    aeadFormat.headerBytes + (last + 1) * sealed,
    encryptedSize(plainBytes, segmentBytes),
  );
  return {
    cipherStart,
    cipherEnd: cipherEnd - 1,
    firstSegment: first,
    endsAtFinal: last === segments - 1,
    skip: start - first * segmentBytes,
    length: end - start + 1,
  };
}

/**
 * A push-style transform. `update(chunk)` takes any amount of input and returns the output pieces it
 * completed (possibly none); `final()` returns the rest. Concatenated, the pieces are the whole
 * output. Input chunks are only read during the call; returned pieces belong to the caller. Calls
 * must not overlap (await each). At most one segment of input is held between calls.
 */
export interface AeadTransform {
  update(chunk: Uint8Array): Promise<Uint8Array[]>;
  final(): Promise<Uint8Array[]>;
}

/** The encryptor's extra: the backend it uses. */
export interface Encryptor extends AeadTransform {
  readonly backend: AesGcmBackendName;
  readonly segmentBytes: number;
}

/** The decryptor's extra: the backend it uses. */
export interface Decryptor extends AeadTransform {
  readonly backend: AesGcmBackendName;
}

/**
 * Holds input until a whole unit is known not to be the last: a unit is released only when at least
 * one byte follows it, because the final unit is treated differently (its flag, its tag check).
 * Input arrives in caller-owned chunks, so what must wait is copied; two buffers take turns, so a
 * released unit is handed out without a second copy: it stays untouched until the next push.
 */
class Lookahead {
  // Allocated on first use: an object smaller than a segment never needs the second one.
  readonly #buffers: (Uint8Array | undefined)[] = [undefined, undefined];
  #turn = 0;
  #length = 0;

  constructor(readonly unitBytes: number) {}

  #held(): Uint8Array {
    this.#buffers[this.#turn] ??= new Uint8Array(this.unitBytes);
    return this.#buffers[this.#turn]!;
  }

  /**
   * Units of `chunk` (and of what was held) known not to be last; keeps the rest. The units are
   * views of `chunk` or of a held buffer, valid until the next push.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const units: Uint8Array[] = [];
    let offset = 0;
    if (this.#length > 0) {
      const take = Math.min(this.unitBytes - this.#length, chunk.length);
      this.#held().set(chunk.subarray(0, take), this.#length);
      this.#length += take;
      offset = take;
      if (this.#length < this.unitBytes || offset === chunk.length) return units;
      units.push(this.#held());
      this.#turn ^= 1;
      this.#length = 0;
    }
    while (chunk.length - offset > this.unitBytes) {
      units.push(chunk.subarray(offset, offset + this.unitBytes));
      offset += this.unitBytes;
    }
    this.#length = chunk.length - offset;
    if (this.#length > 0) this.#held().set(chunk.subarray(offset), 0);
    return units;
  }

  /** What is held: the last unit (0..unitBytes bytes). */
  rest(): Uint8Array {
    return this.#length === 0 ? new Uint8Array(0) : this.#held().subarray(0, this.#length);
  }
}

/** Guards a transform's lifecycle: one call at a time, nothing after final() or a failure. */
class Lifecycle {
  #state: 'open' | 'busy' | 'done' | 'failed' = 'open';
  #failure: unknown;

  async run<T>(what: string, step: () => Promise<T>, last = false): Promise<T> {
    if (this.#state === 'failed') throw this.#failure;
    if (this.#state !== 'open')
      throw new AeadStateError(
        `${what} called ${this.#state === 'busy' ? 'while another call runs' : 'after final()'}`,
      );
    this.#state = 'busy';
    try {
      const result = await step();
      this.#state = last ? 'done' : 'open';
      return result;
    } catch (error) {
      this.#state = 'failed';
      this.#failure = error;
      throw error;
    }
  }
}

/** Encrypts one object as a stream of segments under `init.key` (see aeadFormat). */
export async function createEncryptor(init: EncryptorInit): Promise<Encryptor> {
  assertBytes(init.key, 'key', aeadFormat.keyBytes);
  const segmentBytes = init.segmentBytes ?? defaultSegmentBytes;
  checkSegmentBytes(segmentBytes);
  const prefix = init.noncePrefix ?? randomBytes(aeadFormat.noncePrefixBytes);
  assertBytes(prefix, 'noncePrefix', aeadFormat.noncePrefixBytes);
  const cipher = await aesGcmKey(init.key, init.backend);
  const header = buildHeader(init.key, segmentBytes, prefix);
  const lookahead = new Lookahead(segmentBytes);
  const lifecycle = new Lifecycle();
  let index = 0;
  let headerSent = false;
  const seal = (plain: Uint8Array, final: boolean) =>
    cipher.seal(segmentNonce(prefix, index++, final), header, plain);
  const start = (out: Uint8Array[]) => {
    if (!headerSent) out.push(header);
    headerSent = true;
  };
  return {
    backend: cipher.backend,
    segmentBytes,
    update: (chunk) =>
      lifecycle.run('update', async () => {
        assertBytes(chunk, 'chunk');
        const out: Uint8Array[] = [];
        start(out);
        for (const unit of lookahead.push(chunk)) {
          const sealed = seal(unit, false);
          out.push(...(isPromise(sealed) ? await sealed : sealed));
        }
        return out;
      }),
    final: () =>
      lifecycle.run(
        'final',
        async () => {
          const out: Uint8Array[] = [];
          start(out);
          const sealed = seal(lookahead.rest(), true);
          out.push(...(isPromise(sealed) ? await sealed : sealed));
          return out;
        },
        true,
      ),
  };
}

function authenticated(plain: Uint8Array[] | null, index: number): Uint8Array[] {
  if (plain === null) {
    throw new DecryptionError('DECRYPT_AUTH_FAILED', `segment ${index} failed authentication`, {
      segment: index,
    });
  }
  return plain;
}

/** The decryptor's state: the header as it arrives, then segments through a lookahead. */
class SegmentDecryptor implements Decryptor {
  readonly #lifecycle = new Lifecycle();
  readonly #header = new Uint8Array(aeadFormat.headerBytes);
  #headerLength = 0;
  #parsed: ParsedHeader | undefined;
  #lookahead: Lookahead | undefined;
  #index: number;

  readonly #cipher: AesGcmKey;
  readonly #key: Uint8Array;
  readonly #segmentBytesMax: number;
  readonly #endsAtFinal: boolean;
  readonly backend: AesGcmBackendName;

  constructor(
    cipher: AesGcmKey,
    key: Uint8Array,
    segmentBytesMax: number,
    range: { firstSegment: number; endsAtFinal: boolean },
  ) {
    this.#cipher = cipher;
    this.#key = key;
    this.#segmentBytesMax = segmentBytesMax;
    this.#index = range.firstSegment;
    this.#endsAtFinal = range.endsAtFinal;
    this.backend = cipher.backend;
  }

  update(chunk: Uint8Array): Promise<Uint8Array[]> {
    return this.#lifecycle.run('update', async () => {
      assertBytes(chunk, 'chunk');
      const body = this.#parsed === undefined ? this.#takeHeader(chunk) : chunk;
      const out: Uint8Array[] = [];
      if (body === undefined) return out;
      for (const sealed of this.#lookahead!.push(body)) {
        const opened = this.#open(sealed, false);
        out.push(...authenticated(isPromise(opened) ? await opened : opened, this.#index++));
      }
      return out;
    });
  }

  final(): Promise<Uint8Array[]> {
    return this.#lifecycle.run('final', () => this.#openFinal(), true);
  }

  /** Feeds header bytes; returns the rest of `chunk` once the header is complete and checked. */
  #takeHeader(chunk: Uint8Array): Uint8Array | undefined {
    const take = Math.min(aeadFormat.headerBytes - this.#headerLength, chunk.length);
    this.#header.set(chunk.subarray(0, take), this.#headerLength);
    this.#headerLength += take;
    if (this.#headerLength < aeadFormat.headerBytes) return undefined;
    this.#parsed = parseHeader(this.#header, this.#key, this.#segmentBytesMax);
    this.#lookahead = new Lookahead(this.#parsed.segmentBytes + aeadFormat.tagBytes);
    return chunk.subarray(take);
  }

  /** Opens the segment at the current index (advanced by the caller once it authenticated). */
  #open(sealed: Uint8Array, final: boolean) {
    const nonce = segmentNonce(this.#parsed!.noncePrefix, this.#index, final);
    return this.#cipher.open(nonce, this.#header, sealed);
  }

  async #openFinal(): Promise<Uint8Array[]> {
    const at = this.#index;
    const truncated = (why: string) =>
      new DecryptionError('DECRYPT_TRUNCATED', `ciphertext ends ${why}`, { segment: at });
    if (this.#parsed === undefined) throw truncated(`inside its header (${this.#headerLength} bytes)`);
    const sealed = this.#lookahead!.rest();
    if (sealed.length < aeadFormat.tagBytes) throw truncated(`before its final segment ${at}`);
    if (!this.#endsAtFinal) {
      // A ranged read that stops early: its last segment is a whole middle one.
      if (sealed.length !== this.#parsed.segmentBytes + aeadFormat.tagBytes) {
        throw truncated(`inside segment ${at}`);
      }
      return authenticated(await this.#open(sealed, false), at);
    }
    const plain = await this.#open(sealed, true);
    if (plain !== null) return plain;
    // A whole segment that opens as a middle one means the real final segment was cut off.
    if (sealed.length === this.#parsed.segmentBytes + aeadFormat.tagBytes) {
      const middle = await this.#open(sealed, false);
      if (middle !== null) {
        for (const piece of middle) piece.fill(0);
        throw truncated(`after segment ${at}, which is not final`);
      }
    }
    return authenticated(null, at);
  }
}

/** Decrypts a stream made by createEncryptor, releasing each segment's plaintext only once its tag checked out. */
export async function createDecryptor(init: DecryptorInit): Promise<Decryptor> {
  assertBytes(init.key, 'key', aeadFormat.keyBytes);
  const segmentBytesMax = init.segmentBytesMax ?? aeadFormat.segmentBytesMax;
  checkSegmentBytes(segmentBytesMax);
  const firstSegment = init.firstSegment ?? 0;
  assertInt(firstSegment, 'firstSegment', 0, aeadFormat.segmentsMax - 1);
  const key = init.key.slice();
  return new SegmentDecryptor(await aesGcmKey(key, init.backend), key, segmentBytesMax, {
    firstSegment,
    endsAtFinal: init.endsAtFinal ?? true,
  });
}

/** Runs `source` through `transform`, yielding its output pieces as they complete. */
export async function* pipeThrough(
  transform: AeadTransform,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) yield* await transform.update(chunk);
  yield* await transform.final();
}

function joinPieces(pieces: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const piece of pieces) length += piece.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/** One-shot: the whole ciphertext of `plain` (encryptedSize(plain.length, segmentBytes) bytes). */
export async function encrypt(plain: Uint8Array, init: EncryptorInit): Promise<Uint8Array> {
  assertBytes(plain, 'plain');
  const encryptor = await createEncryptor(init);
  const sealed = joinPieces([...(await encryptor.update(plain)), ...(await encryptor.final())]);
  assert(sealed.length === encryptedSize(plain.length, encryptor.segmentBytes), 'ciphertext length');
  return sealed;
}

/** One-shot: the plaintext of a whole ciphertext, or a DecryptionError. */
export async function decrypt(sealed: Uint8Array, init: DecryptorInit): Promise<Uint8Array> {
  assertBytes(sealed, 'sealed');
  const decryptor = await createDecryptor(init);
  return joinPieces([...(await decryptor.update(sealed)), ...(await decryptor.final())]);
}
