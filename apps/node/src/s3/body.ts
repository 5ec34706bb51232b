import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { decodeAwsChunked } from './aws-chunked.js';
import { S3Error } from './errors.js';
import type { PayloadCheck } from './sigv4.js';

/**
 * A request body on its way to storage: decoded (aws-chunked), counted, hashed (MD5 for the ETag,
 * SHA-256 when the signature covers it) and checked against its declared length, `Content-MD5` and
 * `x-amz-checksum-*`, all while it streams. A failed check throws from the stream at its end, which
 * makes the backend's `putObject` reject and keep nothing; memory stays bounded by one network read.
 */

export interface BodyExpectations {
  readonly check: PayloadCheck;
  /** The body is aws-chunked (`Content-Encoding: aws-chunked` or a STREAMING-* payload mode). */
  readonly chunked: boolean;
  /** Decoded bytes the request declares (Content-Length, or x-amz-decoded-content-length when chunked). */
  readonly declaredBytes: number | undefined;
  readonly bytesMax: number;
  /** `Content-MD5`, decoded. */
  readonly contentMd5: Buffer | undefined;
  /** An `x-amz-checksum-<algorithm>` header, or the one named by `x-amz-trailer`. */
  readonly checksum: { readonly algorithm: string; readonly expectedBase64: string | undefined } | undefined;
}

export interface BodyResult {
  readonly sizeBytes: number;
  readonly md5: Buffer;
  /** The `x-amz-checksum-*` the client sent and the gateway verified (crc32, sha1, sha256 only). */
  readonly checksum: { readonly algorithm: string; readonly valueBase64: string } | undefined;
}

/** The checksum algorithms whose value is verified; others (crc32c, crc64nvme) are accepted unverified. */
const verifiedChecksums = new Set(['crc32', 'sha1', 'sha256']);

export class VerifiedBody {
  readonly #expect: BodyExpectations;
  #result: BodyResult | undefined;

  constructor(expect: BodyExpectations) {
    this.#expect = expect;
  }

  /** The decoded size the request declared, if it did. */
  get declaredBytes(): number | undefined {
    return this.#expect.declaredBytes;
  }

  /** What the stream measured; only after it has been consumed to its end without throwing. */
  get result(): BodyResult {
    if (this.#result === undefined) throw new Error('the body has not been read to its end');
    return this.#result;
  }

  async *stream(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    const expect = this.#expect;
    let trailers: ReadonlyMap<string, string> | undefined;
    const decoded = expect.chunked
      ? decodeAwsChunked(source, {
          ...(expect.check.mode === 'chunked-signed' ? { signing: expect.check } : {}),
          trailer:
            expect.check.mode === 'chunked-unsigned' ||
            (expect.check.mode === 'chunked-signed' && expect.check.trailer),
          onTrailers: (t) => (trailers = t),
        })
      : source;
    const md5 = createHash('md5');
    const sha256 = expect.check.mode === 'sha256' ? createHash('sha256') : undefined;
    const checksum = checksumState(expect.checksum?.algorithm);
    let sizeBytes = 0;
    for await (const piece of decoded) {
      sizeBytes += piece.length;
      if (sizeBytes > expect.bytesMax) {
        throw new S3Error(
          'EntityTooLarge',
          `your proposed upload exceeds the maximum allowed size of ${expect.bytesMax} bytes`,
        );
      }
      if (expect.declaredBytes !== undefined && sizeBytes > expect.declaredBytes) {
        throw new S3Error('IncompleteBody', 'the body is longer than its declared length');
      }
      md5.update(piece);
      sha256?.update(piece);
      checksum?.update(piece);
      yield piece;
    }
    if (expect.declaredBytes !== undefined && sizeBytes !== expect.declaredBytes) {
      throw new S3Error(
        'IncompleteBody',
        'you did not provide the number of bytes specified by the Content-Length header',
      );
    }
    const digest = md5.digest();
    const verified = this.#checkHashes(digest, sha256, checksum, trailers);
    this.#result = { sizeBytes, md5: digest, checksum: verified };
  }

  #checkHashes(
    md5: Buffer,
    sha256: Hash | undefined,
    checksum: ChecksumState | undefined,
    trailers: ReadonlyMap<string, string> | undefined,
  ): BodyResult['checksum'] {
    const expect = this.#expect;
    if (expect.check.mode === 'sha256' && sha256?.digest('hex') !== expect.check.sha256Hex) {
      throw new S3Error(
        'XAmzContentSHA256Mismatch',
        "the provided 'x-amz-content-sha256' header does not match what was computed",
      );
    }
    if (expect.contentMd5 !== undefined && !md5.equals(expect.contentMd5)) {
      throw new S3Error('BadDigest', 'the Content-MD5 you specified did not match what we received');
    }
    if (expect.checksum === undefined || checksum === undefined) return undefined;
    const wanted =
      expect.checksum.expectedBase64 ?? trailers?.get(`x-amz-checksum-${expect.checksum.algorithm}`);
    if (wanted === undefined) {
      throw new S3Error(
        'InvalidRequest',
        `the x-amz-checksum-${expect.checksum.algorithm} trailer is missing`,
      );
    }
    if (checksum.digestBase64() !== wanted) {
      throw new S3Error(
        'BadDigest',
        `the ${expect.checksum.algorithm.toUpperCase()} you specified did not match the calculated checksum`,
      );
    }
    return { algorithm: expect.checksum.algorithm, valueBase64: wanted };
  }
}

interface ChecksumState {
  update(bytes: Uint8Array): void;
  digestBase64(): string;
}

function checksumState(algorithm: string | undefined): ChecksumState | undefined {
  if (algorithm === undefined || !verifiedChecksums.has(algorithm)) return undefined;
  if (algorithm === 'crc32') {
    let value = 0;
    return {
      update: (bytes) => {
        value = crc32(bytes, value);
      },
      digestBase64: () => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(value >>> 0);
        return out.toString('base64');
      },
    };
  }
  const hash = createHash(algorithm);
  return { update: (bytes) => hash.update(bytes), digestBase64: () => hash.digest('base64') };
}

/** The checksum a request declares: `x-amz-checksum-<alg>` header, or `x-amz-trailer` naming one. */
export function declaredChecksum(
  headers: ReadonlyMap<string, readonly string[]>,
): BodyExpectations['checksum'] {
  const trailer = headers.get('x-amz-trailer')?.[0]?.trim().toLowerCase();
  if (trailer !== undefined) {
    const m = /^x-amz-checksum-([a-z0-9]+)$/.exec(trailer);
    if (m === null)
      throw new S3Error('InvalidRequest', `unsupported x-amz-trailer "${trailer.slice(0, 60)}"`);
    return { algorithm: m[1]!, expectedBase64: undefined };
  }
  for (const [name, values] of headers) {
    const m = /^x-amz-checksum-(crc32|crc32c|crc64nvme|sha1|sha256)$/.exec(name);
    if (m !== null) return { algorithm: m[1]!, expectedBase64: values[0] ?? '' };
  }
  return undefined;
}
