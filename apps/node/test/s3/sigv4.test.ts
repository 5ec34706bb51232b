import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeAwsChunked } from '../../src/s3/aws-chunked.js';
import { S3Error } from '../../src/s3/errors.js';
import {
  canonicalUri,
  chunkStringToSign,
  hmacHex,
  parseAmzDate,
  parseAuth,
  parseQuery,
  type SignedRequestParts,
  signingKey,
  uriDecode,
  uriEncode,
  verifyAuth,
} from '../../src/s3/sigv4.js';

// The worked examples of "Authenticating Requests (AWS Signature Version 4)" in the S3 API reference.
const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const accessKeyId = 'AKIAIOSFODNN7EXAMPLE';
const amzDate = '20130524T000000Z';
const nowMs = Date.UTC(2013, 4, 24);
const scope = `${accessKeyId}/20130524/us-east-1/s3/aws4_request`;
const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function request(
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
): { parts: SignedRequestParts; query: Map<string, string> } {
  const q = pathAndQuery.indexOf('?');
  const rawPath = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  const rawQuery = q < 0 ? '' : pathAndQuery.slice(q + 1);
  const map = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) map.set(name.toLowerCase(), [value]);
  return { parts: { method, rawPath, rawQuery, headers: map }, query: new Map(parseQuery(rawQuery)) };
}

function authorization(signedHeaders: string, signature: string): string {
  return `AWS4-HMAC-SHA256 Credential=${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
}

function verify(r: ReturnType<typeof request>, atMs = nowMs) {
  return verifyAuth(r.parts, parseAuth(r.parts, r.query), { secretKey, region: 'us-east-1', nowMs: atMs });
}

function s3Code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof S3Error) return error.s3Code;
    throw error;
  }
  return undefined;
}

describe('SigV4 known answers (AWS S3 documentation examples)', () => {
  it('GET Object with a Range header', () => {
    const r = request('GET', '/test.txt', {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': emptyHash,
      'x-amz-date': amzDate,
      authorization: authorization(
        'host;range;x-amz-content-sha256;x-amz-date',
        'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      ),
    });
    expect(verify(r)).toEqual({ mode: 'sha256', sha256Hex: emptyHash });
  });

  it('PUT Object with a signed payload and an escaped key', () => {
    const r = request('PUT', '/test%24file.text', {
      host: 'examplebucket.s3.amazonaws.com',
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-date': amzDate,
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
      authorization: authorization(
        'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
        '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
      ),
    });
    expect(verify(r).mode).toBe('sha256');
  });

  it('GET Bucket lifecycle (a subresource without a value)', () => {
    const r = request('GET', '/?lifecycle', {
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-date': amzDate,
      'x-amz-content-sha256': emptyHash,
      authorization: authorization(
        'host;x-amz-content-sha256;x-amz-date',
        'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
      ),
    });
    expect(verify(r).mode).toBe('sha256');
  });

  it('GET Bucket (list objects) with a query in unsorted order', () => {
    const r = request('GET', '/?prefix=J&max-keys=2', {
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-date': amzDate,
      'x-amz-content-sha256': emptyHash,
      authorization: authorization(
        'host;x-amz-content-sha256;x-amz-date',
        '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
      ),
    });
    expect(verify(r).mode).toBe('sha256');
  });

  it('a presigned GET URL, valid for a day and not a second more', () => {
    const url =
      '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      `&X-Amz-Credential=${encodeURIComponent(scope)}` +
      '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
      '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const r = request('GET', url, { host: 'examplebucket.s3.amazonaws.com' });
    expect(verify(r)).toEqual({ mode: 'unsigned' });
    expect(verify(r, nowMs + 86_400_000).mode).toBe('unsigned');
    expect(s3Code(() => verify(r, nowMs + 86_400_001))).toBe('AccessDenied');
    expect(s3Code(() => verify(r, nowMs - 16 * 60_000))).toBe('AccessDenied');
  });

  it('a streaming upload: seed signature and every chunk signature', async () => {
    const r = request('PUT', '/examplebucket/chunkObject.txt', {
      host: 's3.amazonaws.com',
      'x-amz-date': amzDate,
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': '66560',
      'content-length': '66824',
      authorization: authorization(
        'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
        '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      ),
    });
    const check = verify(r);
    if (check.mode !== 'chunked-signed') throw new Error(`mode ${check.mode}`);
    const chunk = (size: number, sig: string) =>
      Buffer.concat([
        Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`),
        Buffer.alloc(size, 'a'),
        Buffer.from('\r\n'),
      ]);
    const body = Buffer.concat([
      chunk(65536, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648'),
      chunk(1024, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497'),
      chunk(0, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9'),
    ]);
    expect(body.length).toBe(66824);
    const decode = (bytes: Buffer, pieceBytes: number) =>
      collect(decodeAwsChunked(pieces(bytes, pieceBytes), { signing: check, trailer: false }));
    // Any split of the encoded stream decodes to the same bytes.
    for (const pieceBytes of [1, 7, 1000, 70_000]) {
      const decoded = await decode(body, pieceBytes === 1 ? 3 : pieceBytes);
      expect(decoded.length).toBe(66560);
      expect(decoded.every((b) => b === 0x61)).toBe(true);
    }
    // One flipped data byte breaks that chunk's signature.
    const tampered = Buffer.from(body);
    tampered[66_000] = 0x62;
    await expect(decode(tampered, 4096)).rejects.toMatchObject({ s3Code: 'SignatureDoesNotMatch' });
    // A body cut before its final chunk is incomplete.
    await expect(decode(body.subarray(0, 66000), 4096)).rejects.toMatchObject({ s3Code: 'IncompleteBody' });
  });
});

describe('SigV4 refusals', () => {
  const base = {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': emptyHash,
    'x-amz-date': amzDate,
    authorization: authorization(
      'host;range;x-amz-content-sha256;x-amz-date',
      'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    ),
  };

  it('a changed signed header fails the signature', () => {
    expect(s3Code(() => verify(request('GET', '/test.txt', { ...base, range: 'bytes=0-10' })))).toBe(
      'SignatureDoesNotMatch',
    );
    expect(s3Code(() => verify(request('GET', '/test.txt2', base)))).toBe('SignatureDoesNotMatch');
  });

  it('more than 15 minutes of clock skew either way is RequestTimeTooSkewed', () => {
    const r = request('GET', '/test.txt', base);
    expect(verify(r, nowMs + 15 * 60_000).mode).toBe('sha256');
    expect(s3Code(() => verify(r, nowMs + 15 * 60_000 + 1))).toBe('RequestTimeTooSkewed');
    expect(s3Code(() => verify(r, nowMs - 15 * 60_000 - 1))).toBe('RequestTimeTooSkewed');
  });

  it('an unsigned x-amz-* header is refused', () => {
    expect(s3Code(() => verify(request('GET', '/test.txt', { ...base, 'x-amz-meta-a': 'b' })))).toBe(
      'AccessDenied',
    );
  });

  it('a presigned URL may not live longer than 7 days', () => {
    const url =
      '/k?X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      `&X-Amz-Credential=${encodeURIComponent(scope)}` +
      `&X-Amz-Date=${amzDate}&X-Amz-Expires=604801&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(64)}`;
    const r = request('GET', url, { host: 'h' });
    expect(s3Code(() => parseAuth(r.parts, r.query))).toBe('AuthorizationQueryParametersError');
  });

  it('a wrong region in the scope is named', () => {
    const r = request('GET', '/test.txt', base);
    expect(() =>
      verifyAuth(r.parts, parseAuth(r.parts, r.query), { secretKey, region: 'eu-west-1', nowMs }),
    ).toThrow(/us-east-1/);
  });

  it('malformed dates are refused', () => {
    expect(parseAmzDate('20130231T000000Z')).toBeUndefined();
    expect(parseAmzDate('20130524T240000Z')).toBeUndefined();
    expect(parseAmzDate('2013-05-24T00:00:00Z')).toBeUndefined();
    expect(parseAmzDate(amzDate)).toBe(nowMs);
  });
});

describe('SigV4 canonical forms', () => {
  it('uriEncode leaves only unreserved characters and encodes UTF-8 bytes in uppercase hex', () => {
    expect(uriEncode("a b/c!'()*~._-é", false)).toBe('a%20b%2Fc%21%27%28%29%2A~._-%C3%A9');
    expect(uriEncode('a b/c', true)).toBe('a%20b/c');
  });

  it('canonicalUri is stable under any client encoding of a key (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.boolean(), (key, encodeAll) => {
        // A client may encode more than it must (e.g. every byte); the canonical form is the same.
        const strict = uriEncode(key, true);
        const loose = encodeAll
          ? [...Buffer.from(key)]
              .map((b) => (b === 0x2f ? '/' : `%${b.toString(16).padStart(2, '0')}`))
              .join('')
          : strict;
        expect(canonicalUri(`/bucket/${loose}`)).toBe(`/bucket/${strict}`);
        expect(uriDecode(strict)).toBe(key);
      }),
      { numRuns: 200 },
    );
  });

  it('chunk signatures chain: a signature computed here matches the chunk decoder', async () => {
    const key = signingKey(secretKey, { date: '20130524', region: 'us-east-1', service: 's3' });
    const s = `20130524/us-east-1/s3/aws4_request`;
    let previous = 'seed'.padEnd(64, '0');
    const seed = previous;
    const data = [Buffer.from('hello '), Buffer.from('world'), Buffer.alloc(0)];
    const encoded: Buffer[] = [];
    for (const chunk of data) {
      const sig = hmacHex(
        key,
        chunkStringToSign(
          amzDate,
          s,
          previous,
          (await import('node:crypto')).createHash('sha256').update(chunk).digest('hex'),
        ),
      );
      encoded.push(
        Buffer.from(`${chunk.length.toString(16)};chunk-signature=${sig}\r\n`),
        chunk,
        Buffer.from('\r\n'),
      );
      previous = sig;
    }
    const out = await collect(
      decodeAwsChunked(pieces(Buffer.concat(encoded), 5), {
        signing: { signingKey: key, amzDate, scope: s, seedSignatureHex: seed },
        trailer: false,
      }),
    );
    expect(out.toString()).toBe('hello world');
  });

  it('unsigned chunks with a trailer deliver the trailing checksum', async () => {
    const body = Buffer.from('5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n');
    let trailers: ReadonlyMap<string, string> | undefined;
    const out = await collect(
      decodeAwsChunked(pieces(body, 2), { trailer: true, onTrailers: (t) => (trailers = t) }),
    );
    expect(out.toString()).toBe('hello');
    expect(trailers?.get('x-amz-checksum-crc32')).toBe('NhCmhg==');
  });
});

async function* pieces(bytes: Uint8Array, pieceBytes: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += pieceBytes) yield bytes.subarray(at, at + pieceBytes);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const piece of source) out.push(Buffer.from(piece));
  return Buffer.concat(out);
}
