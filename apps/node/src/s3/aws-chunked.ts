import { createHash, type Hash } from 'node:crypto';
import { S3Error } from './errors.js';
import { s3Limits } from './limits.js';
import { chunkStringToSign, hmacHex, signaturesEqual, trailerStringToSign } from './sigv4.js';

/**
 * Decoder of `Content-Encoding: aws-chunked` bodies ("Signature Calculations for the Authorization
 * Header: Transferring Payload in Multiple Chunks" in the S3 API reference):
 *
 *     <hex size>[;chunk-signature=<sig>]\r\n<size bytes>\r\n ... 0[;chunk-signature=<sig>]\r\n[trailers]\r\n
 *
 * It works incrementally: chunk data is passed on as it arrives (never a whole chunk held), only a
 * header or trailer line is buffered, bounded by `s3Limits.chunkLineBytesMax`. With signed chunks each
 * chunk's signature, chained from the seed signature, is checked when the chunk ends; a failure throws,
 * so the consumer (which must not publish an object whose body threw) discards what it received.
 */

export interface ChunkSigning {
  readonly signingKey: Uint8Array;
  readonly amzDate: string;
  readonly scope: string;
  readonly seedSignatureHex: string;
}

export interface AwsChunkedOptions {
  /** Present when chunks carry signatures; absent for STREAMING-UNSIGNED-PAYLOAD-TRAILER. */
  readonly signing?: ChunkSigning;
  /** Trailing headers are expected after the final chunk. */
  readonly trailer: boolean;
  /** Receives the trailing headers (lowercase names) once the body is complete. */
  readonly onTrailers?: (trailers: ReadonlyMap<string, string>) => void;
}

const sizeLinePattern = /^([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}))?$/;
const trailerSignatureName = 'x-amz-trailer-signature';
const trailersMax = 16;

type State = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

export async function* decodeAwsChunked(
  source: AsyncIterable<Uint8Array>,
  options: AwsChunkedOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const decoder = new ChunkedDecoder(options);
  for await (const piece of source) {
    yield* decoder.push(piece);
  }
  decoder.end();
}

/** The sans-IO core of `decodeAwsChunked`: bytes in, data slices out, errors thrown. */
export class ChunkedDecoder {
  readonly #options: AwsChunkedOptions;
  #state: State = 'size';
  #line: number[] = [];
  #remaining = 0;
  #chunkSignatureHex: string | undefined;
  #previousSignatureHex: string;
  #hash: Hash | undefined;
  #trailerLines: string[] = [];
  #trailerBytes = 0;

  constructor(options: AwsChunkedOptions) {
    this.#options = options;
    this.#previousSignatureHex = options.signing?.seedSignatureHex ?? '';
  }

  /** Feeds the next bytes of the encoded body; returns the decoded data they complete. */
  *push(bytes: Uint8Array): Generator<Uint8Array, void, undefined> {
    let at = 0;
    while (at < bytes.length) {
      if (this.#state === 'data') {
        const take = Math.min(this.#remaining, bytes.length - at);
        const slice = bytes.subarray(at, at + take);
        this.#hash?.update(slice);
        this.#remaining -= take;
        at += take;
        if (this.#remaining === 0) this.#state = 'data-end';
        yield slice;
        continue;
      }
      if (this.#state === 'done') throw incomplete('bytes after the end of the aws-chunked body');
      const line = this.#takeLine(bytes, at);
      at = line.at;
      if (line.text !== undefined) this.#onLine(line.text);
    }
  }

  /** The encoded body ended: it must have ended exactly after its final chunk (and trailers). */
  end(): void {
    if (this.#state !== 'done') throw incomplete('the aws-chunked body ended before its final chunk');
  }

  #takeLine(bytes: Uint8Array, from: number): { at: number; text: string | undefined } {
    let at = from;
    while (at < bytes.length) {
      const b = bytes[at++]!;
      this.#line.push(b);
      const n = this.#line.length;
      if (n >= 2 && this.#line[n - 2] === 13 && b === 10) {
        const text = Buffer.from(this.#line.slice(0, n - 2)).toString('latin1');
        this.#line = [];
        return { at, text };
      }
      if (n > s3Limits.chunkLineBytesMax) {
        throw incomplete(`an aws-chunked line exceeds ${s3Limits.chunkLineBytesMax} bytes`);
      }
    }
    return { at, text: undefined };
  }

  #onLine(text: string): void {
    switch (this.#state) {
      case 'size':
        this.#onSizeLine(text);
        return;
      case 'data-end':
        if (text !== '') throw incomplete('chunk data longer than its declared size');
        this.#finishChunk();
        this.#state = 'size';
        return;
      case 'trailer':
        this.#onTrailerLine(text);
        return;
      default:
        throw new Error(`unreachable chunk state ${this.#state}`);
    }
  }

  #onSizeLine(text: string): void {
    const m = sizeLinePattern.exec(text);
    if (m === null) throw incomplete(`malformed aws-chunked size line "${text.slice(0, 80)}"`);
    const size = Number.parseInt(m[1]!, 16);
    if (size > s3Limits.partBytesMax)
      throw new S3Error('EntityTooLarge', 'an aws-chunked chunk is too large');
    if ((m[2] === undefined) !== (this.#options.signing === undefined)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        this.#options.signing === undefined ? 'unexpected chunk signature' : 'a chunk has no chunk-signature',
      );
    }
    this.#chunkSignatureHex = m[2];
    this.#hash = this.#options.signing === undefined ? undefined : createHash('sha256');
    if (size > 0) {
      this.#remaining = size;
      this.#state = 'data';
      return;
    }
    this.#finishChunk();
    // The final chunk: trailer lines (if declared) and the empty line that ends the body follow.
    this.#state = 'trailer';
  }

  #finishChunk(): void {
    const signing = this.#options.signing;
    if (signing === undefined || this.#hash === undefined) return;
    const expected = hmacHex(
      signing.signingKey,
      chunkStringToSign(signing.amzDate, signing.scope, this.#previousSignatureHex, this.#hash.digest('hex')),
    );
    if (!signaturesEqual(expected, this.#chunkSignatureHex ?? '')) {
      throw new S3Error('SignatureDoesNotMatch', 'a chunk signature does not match');
    }
    this.#previousSignatureHex = expected;
    this.#hash = undefined;
  }

  /** Trailer lines until an empty one; a body without trailers has just the empty line. */
  #onTrailerLine(text: string): void {
    if (text !== '') {
      if (!this.#options.trailer) throw incomplete('trailing headers in a body that declared none');
      this.#trailerBytes += text.length + 2;
      if (this.#trailerBytes > s3Limits.trailerBytesMax || this.#trailerLines.length >= trailersMax) {
        throw incomplete('the aws-chunked trailer is too large');
      }
      this.#trailerLines.push(text);
      return;
    }
    this.#state = 'done';
    this.#finishTrailers();
  }

  #finishTrailers(): void {
    const trailers = new Map<string, string>();
    let signatureHex: string | undefined;
    const signedText: string[] = [];
    for (const line of this.#trailerLines) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw incomplete(`malformed trailer line "${line.slice(0, 80)}"`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === trailerSignatureName) {
        signatureHex = value;
        continue;
      }
      trailers.set(name, value);
      signedText.push(`${name}:${value}\n`);
    }
    const signing = this.#options.signing;
    if (signing !== undefined && this.#options.trailer) {
      const expected = hmacHex(
        signing.signingKey,
        trailerStringToSign(signing.amzDate, signing.scope, this.#previousSignatureHex, signedText.join('')),
      );
      if (!signaturesEqual(expected, signatureHex ?? '')) {
        throw new S3Error('SignatureDoesNotMatch', 'the trailer signature does not match');
      }
    }
    this.#options.onTrailers?.(trailers);
  }
}

function incomplete(message: string): S3Error {
  return new S3Error('IncompleteBody', message);
}
