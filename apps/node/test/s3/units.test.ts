import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from '../../src/s3/aws-chunked.js';
import { evaluateConditions, parseRange } from '../../src/s3/conditions.js';
import { checkBucketName, checkKey } from '../../src/s3/keys.js';
import { multipartEtag } from '../../src/s3/multipart-ops.js';
import { headerMap, hostBucket, routeRequest } from '../../src/s3/request.js';
import { chunkStringToSign, hmacHex, signingKey, trailerStringToSign } from '../../src/s3/sigv4.js';

const key = signingKey('secret', { date: '20260101', region: 'us-east-1', service: 's3' });
const amzDate = '20260101T000000Z';
const scope = '20260101/us-east-1/s3/aws4_request';
const seed = 'ab'.repeat(32);

function encode(chunks: Uint8Array[]): Buffer {
  const out: Buffer[] = [];
  let previous = seed;
  for (const chunk of [...chunks, new Uint8Array(0)]) {
    const sig = hmacHex(
      key,
      chunkStringToSign(amzDate, scope, previous, createHash('sha256').update(chunk).digest('hex')),
    );
    out.push(
      Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`),
      Buffer.from(chunk),
      Buffer.from('\r\n'),
    );
    previous = sig;
  }
  return Buffer.concat(out);
}

function decodeAll(encoded: Uint8Array, cuts: number[]): Buffer {
  const decoder = new ChunkedDecoder({
    signing: { signingKey: key, amzDate, scope, seedSignatureHex: seed },
    trailer: false,
  });
  const out: Uint8Array[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c < encoded.length).sort((a, b) => a - b), encoded.length]) {
    for (const piece of decoder.push(encoded.subarray(at, cut))) out.push(Buffer.from(piece));
    at = cut;
  }
  decoder.end();
  return Buffer.concat(out);
}

describe('aws-chunked decoder (properties)', () => {
  const chunksArb = fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 6 });

  it('decodes any chunking, split anywhere, to the original bytes', () => {
    fc.assert(
      fc.property(chunksArb, fc.array(fc.nat(2000), { maxLength: 8 }), (chunks, cuts) => {
        expect(decodeAll(encode(chunks), cuts)).toEqual(Buffer.concat(chunks));
      }),
      { numRuns: 150 },
    );
  });

  it('any changed byte of the encoded body is refused (signature, framing or length)', () => {
    fc.assert(
      fc.property(chunksArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (chunks, where, delta) => {
        const encoded = encode(chunks);
        const i = where % encoded.length;
        const tampered = Buffer.from(encoded);
        tampered[i] = (tampered[i]! + delta) & 0xff;
        // Case-flipping a hex digit of a size is the one edit that keeps the same meaning.
        const sameMeaning =
          /[a-fA-F]/.test(String.fromCharCode(encoded[i]!)) &&
          String.fromCharCode(tampered[i]!).toLowerCase() === String.fromCharCode(encoded[i]!).toLowerCase();
        if (sameMeaning) return;
        expect(() => decodeAll(tampered, [])).toThrow();
      }),
      { numRuns: 300 },
    );
  });
});

describe('signed chunks with a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', () => {
  // Built from the documented string to sign; no client here sends this mode, so this checks the
  // decoder against the documentation as we read it, not against a second implementation.
  function encodeWithTrailer(data: Buffer, checksum: string, tamperValue = false): Buffer {
    const body = encode([data]);
    const withoutEnd = body.subarray(0, body.length - 2); // drop the final empty line
    const finalSig = /chunk-signature=([0-9a-f]{64})\r\n\r\n$/.exec(body.toString('latin1'))![1]!;
    const trailerText = `x-amz-checksum-crc32:${checksum}\n`;
    const sig = hmacHex(key, trailerStringToSign(amzDate, scope, finalSig, trailerText));
    const sent = tamperValue ? `x-amz-checksum-crc32:AAAAAA==` : `x-amz-checksum-crc32:${checksum}`;
    return Buffer.concat([withoutEnd, Buffer.from(`${sent}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`)]);
  }

  function run(encoded: Buffer): Map<string, string> {
    let trailers = new Map<string, string>();
    const decoder = new ChunkedDecoder({
      signing: { signingKey: key, amzDate, scope, seedSignatureHex: seed },
      trailer: true,
      onTrailers: (t) => (trailers = new Map(t)),
    });
    for (const _ of decoder.push(encoded));
    decoder.end();
    return trailers;
  }

  it('accepts a trailer whose signature chains from the last chunk', () => {
    const trailers = run(encodeWithTrailer(Buffer.from('hello'), 'NhCmhg=='));
    expect(trailers.get('x-amz-checksum-crc32')).toBe('NhCmhg==');
  });

  it('refuses a changed trailer value', () => {
    expect(() => run(encodeWithTrailer(Buffer.from('hello'), 'NhCmhg==', true))).toThrow(/trailer signature/);
  });
});

describe('Range', () => {
  it('agrees with a slow reference for every single range on small objects', () => {
    fc.assert(
      fc.property(fc.nat(20), fc.option(fc.nat(25)), fc.option(fc.nat(25)), (size, first, last) => {
        if (first === null && last === null) return;
        const header = `bytes=${first ?? ''}-${last ?? ''}`;
        let expected: { offsetBytes: number; lengthBytes: number } | 'invalid' | undefined;
        if (first === null) {
          expected =
            last === 0 || size === 0
              ? 'invalid'
              : { offsetBytes: size - Math.min(last!, size), lengthBytes: Math.min(last!, size) };
        } else if (last !== null && last < first) {
          expected = undefined;
        } else if (first >= size) {
          expected = 'invalid';
        } else {
          const end = Math.min(last ?? size - 1, size - 1);
          expected = { offsetBytes: first, lengthBytes: end - first + 1 };
        }
        if (expected === 'invalid') expect(() => parseRange(header, size)).toThrow(/not satisfiable/);
        else expect(parseRange(header, size)).toEqual(expected);
      }),
      { numRuns: 400 },
    );
    expect(parseRange('bytes=0-1,4-5', 10)).toBeUndefined();
    expect(parseRange('items=0-1', 10)).toBeUndefined();
  });
});

describe('conditional headers (RFC 9110 order)', () => {
  const etag = 'abc';
  const modifiedMs = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
  const at = (headers: Record<string, string>, prefix = '') =>
    evaluateConditions((n) => headers[n], prefix, etag, modifiedMs);

  it('If-Match and If-None-Match compare quoted, weak and wildcard tags', () => {
    expect(at({ 'if-match': '"abc"' })).toBe('proceed');
    expect(at({ 'if-match': '"x", W/"abc"' })).toBe('proceed');
    expect(at({ 'if-match': '*' })).toBe('proceed');
    expect(at({ 'if-match': '"x"' })).toBe('precondition-failed');
    expect(at({ 'if-none-match': '"abc"' })).toBe('not-modified');
    expect(at({ 'if-none-match': '"x"' })).toBe('proceed');
  });

  it('dates compare to the second; If-Match overrides If-Unmodified-Since, If-None-Match overrides If-Modified-Since', () => {
    const same = new Date(modifiedMs).toUTCString();
    const before = new Date(modifiedMs - 1000).toUTCString();
    expect(at({ 'if-modified-since': same })).toBe('not-modified');
    expect(at({ 'if-modified-since': before })).toBe('proceed');
    expect(at({ 'if-unmodified-since': before })).toBe('precondition-failed');
    expect(at({ 'if-unmodified-since': same })).toBe('proceed');
    expect(at({ 'if-match': '"abc"', 'if-unmodified-since': before })).toBe('proceed');
    expect(at({ 'if-none-match': '"x"', 'if-modified-since': same })).toBe('proceed');
    expect(at({ 'if-modified-since': 'not a date' })).toBe('proceed');
  });

  it('copy-source conditions fail with 412, never 304', () => {
    expect(at({ 'x-amz-copy-source-if-none-match': '"abc"' }, 'x-amz-copy-source-')).toBe(
      'precondition-failed',
    );
  });
});

describe('routing', () => {
  const route = (method: string, url: string, host = '127.0.0.1:9000', extra: Record<string, string> = {}) =>
    routeRequest(method, url, headerMap(['Host', host, ...Object.entries(extra).flat()]), 's3.example');

  it('path style and virtual-host style name the same bucket and key', () => {
    expect(route('GET', '/bkt/a/b%20c')).toMatchObject({
      bucket: 'bkt',
      key: 'a/b c',
      operation: 'GetObject',
    });
    expect(route('GET', '/a/b%20c', 'bkt.s3.example:9000')).toMatchObject({ bucket: 'bkt', key: 'a/b c' });
    expect(route('GET', '/', 's3.example')).toMatchObject({ bucket: undefined, operation: 'ListBuckets' });
    expect(route('GET', '/', 'bkt.s3.example')).toMatchObject({ bucket: 'bkt', operation: 'ListObjects' });
    expect(hostBucket('BKT.S3.EXAMPLE', 's3.example')).toBe('bkt');
    expect(hostBucket('other.host', 's3.example')).toBeUndefined();
    expect(hostBucket('bkt.s3.example', '')).toBeUndefined();
  });

  it('operations from method, subresource and headers', () => {
    expect(route('GET', '/bkt?list-type=2').operation).toBe('ListObjectsV2');
    expect(route('GET', '/bkt?uploads').operation).toBe('ListMultipartUploads');
    expect(route('GET', '/bkt?location').operation).toBe('GetBucketLocation');
    expect(route('POST', '/bkt?delete').operation).toBe('DeleteObjects');
    expect(route('PUT', '/bkt/k', undefined, { 'x-amz-copy-source': 'b/k' }).operation).toBe('CopyObject');
    expect(route('PUT', '/bkt/k?partNumber=1&uploadId=u').operation).toBe('UploadPart');
    expect(
      route('PUT', '/bkt/k?partNumber=1&uploadId=u', undefined, { 'x-amz-copy-source': 'b/k' }).operation,
    ).toBe('UploadPartCopy');
    expect(route('POST', '/bkt/k?uploads').operation).toBe('CreateMultipartUpload');
    expect(route('POST', '/bkt/k?uploadId=u').operation).toBe('CompleteMultipartUpload');
    expect(route('DELETE', '/bkt/k?uploadId=u').operation).toBe('AbortMultipartUpload');
    expect(route('GET', '/bkt/k?uploadId=u').operation).toBe('ListParts');
    expect(() => route('GET', '/bkt?policy')).toThrow(/not implemented/);
    expect(() => route('POST', '/bkt/k')).toThrow(/not allowed/);
    expect(() => route('GET', '/bkt/%ZZ')).toThrow(/percent-encoding/);
  });
});

describe('names', () => {
  it('bucket names follow the S3 rules', () => {
    for (const ok of ['abc', 'a-b.c', 'x'.repeat(63), '1bucket'])
      expect(() => checkBucketName(ok)).not.toThrow();
    for (const bad of [
      'ab',
      'x'.repeat(64),
      'Abc',
      'a_b',
      '-ab',
      'ab-',
      'a..b',
      'a.-b',
      '192.168.1.1',
      'xn--ab',
      'ab-s3alias',
    ]) {
      expect(() => checkBucketName(bad), bad).toThrow(/invalid bucket name/);
    }
  });

  it('keys are 1 to 1,024 bytes of well-formed UTF-8', () => {
    expect(() => checkKey('a'.repeat(1024))).not.toThrow();
    expect(() => checkKey('𝄞'.repeat(256))).not.toThrow();
    expect(() => checkKey('a'.repeat(1025))).toThrow(/1024/);
    expect(() => checkKey('')).toThrow(/empty/);
    expect(() => checkKey('a\uD800b')).toThrow(/well-formed/);
  });
});

describe('multipart ETag', () => {
  it('is the MD5 of the binary part MD5s and the part count', () => {
    const parts = [Buffer.from('part one'), Buffer.from('part two')].map((p) =>
      createHash('md5').update(p).digest(),
    );
    const expected = `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-2`;
    expect(multipartEtag(parts.map((p) => p.toString('hex')))).toBe(expected);
  });
});
