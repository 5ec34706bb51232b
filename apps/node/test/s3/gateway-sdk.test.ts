import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  otherAccessKeyId,
  otherSecret,
  patternBytes,
  startTestGateway,
  type TestGateway,
} from './helpers.js';
import { expectSameTree, makeTree, treeFiles } from './tree.js';

const MiB = 1024 * 1024;

let t: TestGateway;
let s3: S3Client;

beforeAll(async () => {
  t = await startTestGateway('s3.test');
  s3 = t.client();
});

afterAll(async () => {
  await t?.stop();
});

/** The S3 error code and HTTP status a call fails with. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('the call succeeded');
}

async function bodyBytes(output: { Body?: unknown }): Promise<Buffer> {
  const body = output.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await body.transformToByteArray());
}

const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

/** A raw HTTP request to the gateway (for URLs the SDK presigned, and for Host headers DNS cannot give). */
function raw(
  method: string,
  url: string,
  options: { host?: string; body?: Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: t.gateway.port,
        method,
        path: target.pathname + target.search,
        headers: { host: options.host ?? target.host, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('buckets', () => {
  it('create, head, locate, list, refuse a duplicate and a bad name, delete', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'alpha' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'beta' }));
    await s3.send(new HeadBucketCommand({ Bucket: 'alpha' }));
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: 'alpha' }));
    expect(location.LocationConstraint ?? '').toBe('');
    expect((await s3.send(new GetBucketVersioningCommand({ Bucket: 'alpha' }))).Status).toBeUndefined();
    const list = await s3.send(new ListBucketsCommand({}));
    expect(list.Buckets?.map((b) => b.Name)).toEqual(['alpha', 'beta']);
    expect(await failure(s3.send(new CreateBucketCommand({ Bucket: 'alpha' })))).toEqual({
      name: 'BucketAlreadyOwnedByYou',
      status: 409,
    });
    expect((await failure(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).status).toBe(400);
    expect((await failure(s3.send(new HeadBucketCommand({ Bucket: 'missing' })))).status).toBe(404);
    await s3.send(new DeleteBucketCommand({ Bucket: 'beta' }));
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'beta' })))).toEqual({
      name: 'NoSuchBucket',
      status: 404,
    });
  });

  it("another owner's bucket is neither visible nor usable", async () => {
    const other = t.client({ accessKeyId: otherAccessKeyId, secretAccessKey: otherSecret });
    expect((await other.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    expect(await failure(other.send(new CreateBucketCommand({ Bucket: 'alpha' })))).toEqual({
      name: 'BucketAlreadyExists',
      status: 409,
    });
    expect(await failure(other.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'x' })))).toMatchObject({
      name: 'AccessDenied',
      status: 403,
    });
  });

  it('refuses to delete a bucket that holds an object', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'full' }));
    await s3.send(new PutObjectCommand({ Bucket: 'full', Key: 'k', Body: 'x' }));
    expect(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'full' })))).toEqual({
      name: 'BucketNotEmpty',
      status: 409,
    });
    await s3.send(new DeleteObjectCommand({ Bucket: 'full', Key: 'k' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'full' }));
  });
});

describe('objects', () => {
  const body = patternBytes(100_000, 7);

  it('put and get keep bytes, ETag, Content-Type and user metadata', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'alpha',
        Key: 'dir/hello world ü+%.bin',
        Body: body,
        ContentType: 'application/x-test',
        Metadata: { colour: 'blue', 'two-words': 'a b' },
        CacheControl: 'max-age=60',
      }),
    );
    expect(put.ETag).toBe(`"${md5Hex(body)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dir/hello world ü+%.bin' }));
    expect(Buffer.compare(await bodyBytes(got), body)).toBe(0);
    expect(got.ETag).toBe(put.ETag);
    expect(got.ContentType).toBe('application/x-test');
    expect(got.ContentLength).toBe(body.length);
    expect(got.Metadata).toEqual({ colour: 'blue', 'two-words': 'a b' });
    expect(got.CacheControl).toBe('max-age=60');
    expect(got.LastModified).toBeInstanceOf(Date);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'dir/hello world ü+%.bin' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(put.ETag);
  });

  it('response-* overrides set the answer headers; a value that cannot be a header is refused', async () => {
    const key = { Bucket: 'alpha', Key: 'dir/hello world ü+%.bin' };
    const got = await s3.send(
      new GetObjectCommand({
        ...key,
        ResponseContentType: 'text/x-override',
        ResponseContentDisposition: 'attachment',
      }),
    );
    expect(got.ContentType).toBe('text/x-override');
    expect(got.ContentDisposition).toBe('attachment');
    await bodyBytes(got);
    expect(
      await failure(s3.send(new GetObjectCommand({ ...key, ResponseContentType: 'text/€' }))),
    ).toMatchObject({
      name: 'InvalidArgument',
      status: 400,
    });
  });

  it('a verified CRC32 is kept and returned when asked for; the SDK checks the body against it', async () => {
    const data = patternBytes(5000, 21);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'alpha', Key: 'crc', Body: data, ChecksumAlgorithm: 'CRC32' }),
    );
    expect(put.ChecksumCRC32).toMatch(/^[A-Za-z0-9+/]{6}==$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'crc', ChecksumMode: 'ENABLED' }));
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(Buffer.compare(await bodyBytes(got), data)).toBe(0);
    // The SDK really checks: a stored checksum that does not match the bytes fails the read.
    const entry = (await t.index.getObject('alpha', 'crc'))!;
    await t.index.putObject('alpha', 'crc-wrong', {
      ...entry,
      checksum: { algorithm: 'crc32', valueBase64: 'AAAAAA==' },
    });
    const wrong = await s3.send(
      new GetObjectCommand({ Bucket: 'alpha', Key: 'crc-wrong', ChecksumMode: 'ENABLED' }),
    );
    await expect(bodyBytes(wrong)).rejects.toThrow(/checksum/i);
    await t.index.deleteObject('alpha', 'crc-wrong');
    // A range carries no whole-object checksum.
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: 'alpha', Key: 'crc', ChecksumMode: 'ENABLED', Range: 'bytes=0-9' }),
    );
    expect(ranged.ChecksumCRC32).toBeUndefined();
    await bodyBytes(ranged);
  });

  it('conditional writes: If-None-Match * creates once, If-Match replaces only the named version', async () => {
    const key = { Bucket: 'alpha', Key: 'lockfile' };
    const first = await s3.send(new PutObjectCommand({ ...key, Body: 'v1', IfNoneMatch: '*' }));
    expect(
      await failure(s3.send(new PutObjectCommand({ ...key, Body: 'v2', IfNoneMatch: '*' }))),
    ).toMatchObject({
      status: 412,
    });
    expect(
      await failure(s3.send(new PutObjectCommand({ ...key, Body: 'v2', IfMatch: '"0000"' }))),
    ).toMatchObject({
      status: 412,
    });
    await s3.send(new PutObjectCommand({ ...key, Body: 'v2', IfMatch: first.ETag }));
    expect((await bodyBytes(await s3.send(new GetObjectCommand(key)))).toString()).toBe('v2');
    // Racing creators: exactly one wins, and the losers' bytes are freed.
    const before = t.backend.objectCount;
    const race = await Promise.allSettled(
      [1, 2, 3, 4].map((i) =>
        s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'race', Body: `w${i}`, IfNoneMatch: '*' })),
      ),
    );
    expect(race.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect(t.backend.objectCount).toBe(before + 1);
  });

  it('an empty object round-trips', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'empty', Body: new Uint8Array(0) }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'empty' }));
    expect((await bodyBytes(got)).length).toBe(0);
    expect(got.ETag).toBe(`"${md5Hex(new Uint8Array(0))}"`);
  });

  it('ranged reads: first bytes, a middle slice, a suffix, past the end', async () => {
    const get = async (Range: string) =>
      s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'dir/hello world ü+%.bin', Range }));
    const first = await get('bytes=0-9');
    expect(Buffer.compare(await bodyBytes(first), body.subarray(0, 10))).toBe(0);
    expect(first.ContentRange).toBe(`bytes 0-9/${body.length}`);
    expect(first.$metadata.httpStatusCode).toBe(206);
    expect(Buffer.compare(await bodyBytes(await get('bytes=50000-50000')), body.subarray(50000, 50001))).toBe(
      0,
    );
    expect(Buffer.compare(await bodyBytes(await get('bytes=-100')), body.subarray(-100))).toBe(0);
    expect(Buffer.compare(await bodyBytes(await get('bytes=99990-200000')), body.subarray(99990))).toBe(0);
    expect(await failure(get('bytes=100000-'))).toEqual({ name: 'InvalidRange', status: 416 });
  });

  it('conditional GETs: If-None-Match answers 304, a failed If-Match 412', async () => {
    const key = { Bucket: 'alpha', Key: 'dir/hello world ü+%.bin' };
    const etag = `"${md5Hex(body)}"`;
    expect((await failure(s3.send(new GetObjectCommand({ ...key, IfNoneMatch: etag })))).status).toBe(304);
    expect(await failure(s3.send(new GetObjectCommand({ ...key, IfMatch: '"0000"' })))).toMatchObject({
      status: 412,
    });
    const ok = await s3.send(new GetObjectCommand({ ...key, IfMatch: etag, IfModifiedSince: new Date(0) }));
    expect((await bodyBytes(ok)).length).toBe(body.length);
    const future = new Date(Date.now() + 3600_000);
    expect((await failure(s3.send(new GetObjectCommand({ ...key, IfModifiedSince: future })))).status).toBe(
      304,
    );
  });

  it('a missing key is NoSuchKey, on GET and on HEAD', async () => {
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'nope' })))).toEqual({
      name: 'NoSuchKey',
      status: 404,
    });
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'nope' })))).status).toBe(
      404,
    );
  });

  it('copy keeps or replaces metadata; copying onto itself unchanged is refused', async () => {
    const copy = await s3.send(
      new CopyObjectCommand({
        Bucket: 'alpha',
        Key: 'copy',
        CopySource: 'alpha/dir/hello%20world%20%C3%BC%2B%25.bin',
      }),
    );
    expect(copy.CopyObjectResult?.ETag).toBe(`"${md5Hex(body)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'copy' }));
    expect(Buffer.compare(await bodyBytes(got), body)).toBe(0);
    expect(got.Metadata).toEqual({ colour: 'blue', 'two-words': 'a b' });
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'alpha',
        Key: 'copy',
        CopySource: 'alpha/copy',
        MetadataDirective: 'REPLACE',
        Metadata: { colour: 'red' },
        ContentType: 'text/plain',
      }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'alpha', Key: 'copy' }));
    expect(replaced.Metadata).toEqual({ colour: 'red' });
    expect(replaced.ContentType).toBe('text/plain');
    expect(
      await failure(
        s3.send(new CopyObjectCommand({ Bucket: 'alpha', Key: 'copy', CopySource: 'alpha/copy' })),
      ),
    ).toMatchObject({
      name: 'InvalidRequest',
      status: 400,
    });
  });

  it('delete and DeleteObjects remove keys and free their storage', async () => {
    const before = t.backend.objectCount;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'del/1', Body: 'one' }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'del/2', Body: 'two' }));
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'del/3', Body: 'three' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'del/1' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'alpha', Key: 'del/1' }));
    const result = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'alpha',
        Delete: { Objects: [{ Key: 'del/2' }, { Key: 'del/3' }, { Key: 'del/never' }] },
      }),
    );
    expect(result.Deleted?.map((d) => d.Key).sort()).toEqual(['del/2', 'del/3', 'del/never']);
    expect(t.backend.objectCount).toBe(before);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'alpha', Prefix: 'del/' }));
    expect(listed.KeyCount).toBe(0);
  });

  it('an overwrite frees the replaced bytes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'over', Body: 'first' }));
    const count = t.backend.objectCount;
    await s3.send(new PutObjectCommand({ Bucket: 'alpha', Key: 'over', Body: 'second' }));
    expect(t.backend.objectCount).toBe(count);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'over' }));
    expect((await bodyBytes(got)).toString()).toBe('second');
  });
});

describe('listings', () => {
  const keys = [
    'a.txt',
    'docs/one.md',
    'docs/two.md',
    'docs/deep/three.md',
    'img/1.png',
    'img/2.png',
    'img/3.png',
    'z',
    'é/1',
    '𝄞/1',
  ];

  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'listing' }));
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'listing', Key, Body: Key }));
  });

  async function listAllV2(params: {
    Prefix?: string;
    Delimiter?: string;
    MaxKeys: number;
    StartAfter?: string;
  }) {
    const items: string[] = [];
    let ContinuationToken: string | undefined;
    for (let pages = 0; pages < 50; pages++) {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'listing', ...params, ContinuationToken }),
      );
      items.push(
        ...(page.Contents ?? []).map((c) => c.Key!),
        ...(page.CommonPrefixes ?? []).map((p) => `${p.Prefix}*`),
      );
      expect((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0)).toBeLessThanOrEqual(
        params.MaxKeys,
      );
      if (!page.IsTruncated) return items;
      ContinuationToken = page.NextContinuationToken;
    }
    throw new Error('listing did not end');
  }

  it('ListObjectsV2 in UTF-8 key order, at every page size', async () => {
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const MaxKeys of [1, 2, 3, 1000]) {
      expect((await listAllV2({ MaxKeys })).sort()).toEqual([...sorted].sort());
    }
    const page = await s3.send(new ListObjectsV2Command({ Bucket: 'listing' }));
    expect(page.Contents?.map((c) => c.Key)).toEqual(sorted);
  });

  it('delimiter and prefix roll keys up into common prefixes across pages', async () => {
    for (const MaxKeys of [1, 2, 5]) {
      expect(await listAllV2({ Delimiter: '/', MaxKeys })).toEqual(
        expect.arrayContaining(['a.txt', 'docs/*', 'img/*', 'z', 'é/*', '𝄞/*']),
      );
      expect((await listAllV2({ Delimiter: '/', MaxKeys })).length).toBe(6);
      expect(await listAllV2({ Prefix: 'docs/', Delimiter: '/', MaxKeys })).toEqual(
        expect.arrayContaining(['docs/one.md', 'docs/two.md', 'docs/deep/*']),
      );
    }
    expect(await listAllV2({ Prefix: 'img/', MaxKeys: 2, StartAfter: 'img/1.png' })).toEqual([
      'img/2.png',
      'img/3.png',
    ]);
  });

  it('ListObjects v1 pages with markers', async () => {
    const items: string[] = [];
    let Marker: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await s3.send(
        new ListObjectsCommand({ Bucket: 'listing', Delimiter: '/', MaxKeys: 2, Marker }),
      );
      items.push(
        ...(page.Contents ?? []).map((c) => c.Key!),
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!),
      );
      if (!page.IsTruncated) break;
      Marker = page.NextMarker;
    }
    expect(items.sort()).toEqual(['a.txt', 'docs/', 'img/', 'z', 'é/', '𝄞/'].sort());
  });
});

describe('a directory tree of 1,000 files', () => {
  it('goes up (PutObject, lib-storage multipart for the big file), lists in pages, comes back byte-identical, and is deleted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trinity-s3-sdk-tree-'));
    try {
      await makeTree(join(dir, 'src'), 1000);
      const files = await treeFiles(join(dir, 'src'));
      expect(files.size).toBe(1004);
      await s3.send(new CreateBucketCommand({ Bucket: 'tree' }));
      /** Runs `task` over `items`, 8 at a time (what the shell clients do). */
      const eachBounded = async <T>(items: readonly T[], task: (item: T) => Promise<void>) => {
        let next = 0;
        const worker = async () => {
          while (next < items.length) await task(items[next++]!);
        };
        await Promise.all(Array.from({ length: 8 }, worker));
      };
      await eachBounded([...files], async ([name, bytes]) => {
        const params = { Bucket: 'tree', Key: `up/${name}`, Body: bytes };
        if (bytes.length <= 5 * MiB) await s3.send(new PutObjectCommand(params));
        else await new Upload({ client: s3, params, partSize: 5 * MiB, queueSize: 2 }).done();
      });
      const big = await s3.send(new HeadObjectCommand({ Bucket: 'tree', Key: 'up/big.bin' }));
      expect(big.ETag).toMatch(/-2"$/);
      // Back: list in pages of 250, get every key.
      const keys: string[] = [];
      let pages = 0;
      let ContinuationToken: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: 'tree', Prefix: 'up/', MaxKeys: 250, ContinuationToken }),
        );
        pages++;
        keys.push(...(page.Contents ?? []).map((c) => c.Key!));
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken !== undefined);
      expect(pages).toBe(5);
      expect(keys.length).toBe(files.size);
      await eachBounded(keys, async (key) => {
        const path = join(dir, 'back', key.slice('up/'.length));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(
          path,
          await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: 'tree', Key: key }))),
        );
      });
      await expectSameTree(join(dir, 'src'), join(dir, 'back'));
      // Deleted in batches of DeleteObjects; then the bucket.
      for (let i = 0; i < keys.length; i += 1000) {
        const out = await s3.send(
          new DeleteObjectsCommand({
            Bucket: 'tree',
            Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
          }),
        );
        expect(out.Errors ?? []).toEqual([]);
      }
      expect((await s3.send(new ListObjectsV2Command({ Bucket: 'tree' }))).KeyCount).toBe(0);
      await s3.send(new DeleteBucketCommand({ Bucket: 'tree' }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('multipart', () => {
  it('lib-storage uploads 12 MiB in three parts; the ETag has the multipart form', async () => {
    const data = patternBytes(12 * MiB + 123, 11);
    const upload = new Upload({
      client: s3,
      params: { Bucket: 'alpha', Key: 'big.bin', Body: data, ContentType: 'application/x-big' },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    const done = await upload.done();
    const partMd5s = [0, 1, 2].map((i) =>
      createHash('md5')
        .update(data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB))
        .digest(),
    );
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-3"`;
    expect(done.ETag).toBe(expected);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'big.bin' }));
    expect(got.ETag).toBe(expected);
    expect(got.ContentType).toBe('application/x-big');
    expect(md5Hex(await bodyBytes(got))).toBe(md5Hex(data));
    // A range across the boundary between part 1 and part 2.
    const across = await s3.send(
      new GetObjectCommand({ Bucket: 'alpha', Key: 'big.bin', Range: `bytes=${5 * MiB - 3}-${5 * MiB + 2}` }),
    );
    expect(Buffer.compare(await bodyBytes(across), data.subarray(5 * MiB - 3, 5 * MiB + 3))).toBe(0);
    // GET by part number: the second part's bytes, with the parts count.
    const part2 = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'big.bin', PartNumber: 2 }));
    expect(part2.PartsCount).toBe(3);
    expect(part2.ContentRange).toBe(`bytes ${5 * MiB}-${10 * MiB - 1}/${data.length}`);
    expect(md5Hex(await bodyBytes(part2))).toBe(md5Hex(data.subarray(5 * MiB, 10 * MiB)));
    expect(
      await failure(s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'big.bin', PartNumber: 4 }))),
    ).toMatchObject({
      status: 416,
    });
  });

  it('list parts and uploads, refuse small parts and unknown ETags, abort frees everything', async () => {
    const before = t.backend.objectCount;
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp' }));
    const part = (PartNumber: number, Body: Buffer) =>
      s3.send(new UploadPartCommand({ Bucket: 'alpha', Key: 'mp', UploadId, PartNumber, Body }));
    const p1 = await part(1, Buffer.from('small one'));
    const p2 = await part(2, Buffer.from('small two'));
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'alpha', Key: 'mp', UploadId, MaxParts: 1 }));
    expect(parts.Parts?.map((p) => p.PartNumber)).toEqual([1]);
    expect(parts.IsTruncated).toBe(true);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'alpha' }));
    expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toContainEqual(['mp', UploadId]);
    const complete = (Parts: Array<{ PartNumber: number; ETag: string | undefined }>) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'alpha',
          Key: 'mp',
          UploadId,
          MultipartUpload: { Parts },
        }),
      );
    expect(
      await failure(
        complete([
          { PartNumber: 1, ETag: p1.ETag },
          { PartNumber: 2, ETag: p2.ETag },
        ]),
      ),
    ).toMatchObject({
      name: 'EntityTooSmall',
    });
    expect(await failure(complete([{ PartNumber: 1, ETag: '"00"' }]))).toMatchObject({ name: 'InvalidPart' });
    expect(
      await failure(
        complete([
          { PartNumber: 2, ETag: p2.ETag },
          { PartNumber: 1, ETag: p1.ETag },
        ]),
      ),
    ).toMatchObject({
      name: 'InvalidPartOrder',
    });
    expect(await failure(part(10_001, Buffer.from('x')))).toMatchObject({ status: 400 });
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'alpha', Key: 'mp', UploadId }));
    expect(t.backend.objectCount).toBe(before);
    expect(await failure(part(3, Buffer.from('late')))).toMatchObject({ name: 'NoSuchUpload', status: 404 });
  });

  it('a single small part completes; UploadPartCopy copies a range of another object', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'alpha', Key: 'pc' }));
    const copied = await s3.send(
      new UploadPartCopyCommand({
        Bucket: 'alpha',
        Key: 'pc',
        UploadId,
        PartNumber: 1,
        CopySource: 'alpha/big.bin',
        CopySourceRange: 'bytes=10-19',
      }),
    );
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'alpha',
        Key: 'pc',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copied.CopyPartResult?.ETag }] },
      }),
    );
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'alpha', Key: 'pc' }));
    expect(Buffer.compare(await bodyBytes(got), patternBytes(12 * MiB + 123, 11).subarray(10, 20))).toBe(0);
  });
});

describe('abandoned uploads', () => {
  it('abortStaleUploads aborts only uploads older than the age given and frees their parts', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'stale' }));
    const before = t.backend.objectCount;
    const start = async (Key: string) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'stale', Key }));
      await s3.send(new UploadPartCommand({ Bucket: 'stale', Key, UploadId, PartNumber: 1, Body: 'part' }));
      return UploadId;
    };
    // Two uploads stamped two minutes ago (the gateway's clock set back), one now.
    t.clock.offsetMs = -120_000;
    try {
      await start('old-1');
      await start('old-2');
    } finally {
      t.clock.offsetMs = 0;
    }
    const recent = await start('recent');
    expect(t.backend.objectCount).toBe(before + 3);
    expect(await t.gateway.abortStaleUploads('stale', 60_000)).toBe(2);
    expect(t.backend.objectCount).toBe(before + 1);
    const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'stale' }));
    expect(left.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['recent', recent]]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'stale', Key: 'recent', UploadId: recent }));
    expect(t.backend.objectCount).toBe(before);
  });
});

describe('authentication', () => {
  it('presigned GET and PUT work; an expired presigned URL is refused', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'alpha', Key: 'presigned' }), {
      expiresIn: 60,
    });
    const put = await raw('PUT', putUrl, { body: Buffer.from('via presigned put') });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'presigned' }), {
      expiresIn: 60,
    });
    const get = await raw('GET', getUrl);
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe('via presigned put');
    t.clock.offsetMs = 61_000;
    try {
      const expired = await raw('GET', getUrl);
      expect(expired.status).toBe(403);
      expect(expired.body.toString()).toContain('<Code>AccessDenied</Code>');
    } finally {
      t.clock.offsetMs = 0;
    }
  });

  it('virtual-host style: the bucket comes from the Host header', async () => {
    const vhost = t.client({ endpoint: 'http://s3.test:9', forcePathStyle: false });
    const url = await getSignedUrl(vhost, new GetObjectCommand({ Bucket: 'alpha', Key: 'presigned' }), {
      expiresIn: 60,
    });
    expect(new URL(url).host).toBe('alpha.s3.test:9');
    const get = await raw('GET', url);
    expect(get.status).toBe(200);
    expect(get.body.toString()).toBe('via presigned put');
  });

  it('virtual-host style with the SDK itself: bucket and object operations', async () => {
    const vhost = t.client({
      endpoint: `http://s3.test:${t.gateway.port}`,
      forcePathStyle: false,
      resolveToGateway: true,
    });
    await vhost.send(new CreateBucketCommand({ Bucket: 'vhost-bucket' }));
    await vhost.send(new PutObjectCommand({ Bucket: 'vhost-bucket', Key: 'a/b c', Body: 'virtual' }));
    const got = await vhost.send(new GetObjectCommand({ Bucket: 'vhost-bucket', Key: 'a/b c' }));
    expect((await bodyBytes(got)).toString()).toBe('virtual');
    const listed = await vhost.send(new ListObjectsV2Command({ Bucket: 'vhost-bucket', Delimiter: '/' }));
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/']);
    // The same bucket through path style.
    expect(
      (await s3.send(new HeadObjectCommand({ Bucket: 'vhost-bucket', Key: 'a/b c' }))).ContentLength,
    ).toBe(7);
  });

  it('a wrong secret, an unknown key and an unsigned request are refused', async () => {
    const wrong = t.client({ secretAccessKey: 'not-the-secret' });
    expect(await failure(wrong.send(new ListBucketsCommand({})))).toEqual({
      name: 'SignatureDoesNotMatch',
      status: 403,
    });
    const unknown = t.client({ accessKeyId: 'NOSUCHKEY' });
    expect(await failure(unknown.send(new ListBucketsCommand({})))).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
    const anonymous = await raw('GET', `${t.endpoint}/alpha/presigned`);
    expect(anonymous.status).toBe(403);
    expect(anonymous.body.toString()).toContain('<Code>AccessDenied</Code>');
  });

  it('a tampered presigned URL fails its signature', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'alpha', Key: 'presigned' }), {
      expiresIn: 60,
    });
    const tampered = await raw('GET', url.replace('/presigned?', '/copy?'));
    expect(tampered.status).toBe(403);
    expect(tampered.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');
  });

  it('a clock more than 15 minutes off is RequestTimeTooSkewed', async () => {
    t.clock.offsetMs = 16 * 60_000;
    try {
      expect(await failure(s3.send(new ListBucketsCommand({})))).toEqual({
        name: 'RequestTimeTooSkewed',
        status: 403,
      });
    } finally {
      t.clock.offsetMs = 0;
    }
  });
});
