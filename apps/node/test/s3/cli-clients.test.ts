import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/polyfill.js';
import { S3Gateway } from '../../src/s3/gateway.js';
import { startDevnet } from '../helpers.js';
import { accessKeyId, patternBytes, secretAccessKey, startTestGateway, type TestGateway } from './helpers.js';
import { expectSameTree, makeTree } from './tree.js';

/**
 * Two real S3 clients from the shell against the gateway, `aws` (botocore) and `rclone` (aws-sdk-go):
 * each creates a bucket, uploads small and multipart objects, lists with a prefix and a delimiter
 * across pages, reads ranges, copies, uses presigned GET and PUT URLs, deletes, and syncs a directory
 * tree of 1,000 files there and back, byte-identical. What each client sent is checked at the
 * gateway, so "multipart", "paged" and "ranged" are facts, not assumptions about the client. A
 * missing client fails in CI and is skipped with a message elsewhere.
 */

const run = promisify(execFile);
/** The first `name` on PATH, like `command -v`. */
function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((dir) => join(dir, name))
    .find((path) => existsSync(path));
}

const awsPath = onPath('aws');
const rclonePath = onPath('rclone');
const inCi = process.env.CI === 'true';
for (const [name, path] of [
  ['aws', awsPath],
  ['rclone', rclonePath],
] as const) {
  if (path === undefined)
    console.warn(`${name} is not on PATH: its S3 shell-client tests are ${inCi ? 'failing' : 'skipped'}`);
}

/**
 * Files in the tree: the 1,000 by default (this file takes about 3.5 min on the shared,
 * loaded 2-core VM; README "Compatibility", "Many small objects"). `TRINITY_S3_CLI_FILES` sets
 * another count.
 */
const fileCount = Number(process.env.TRINITY_S3_CLI_FILES ?? 1000);
if (!Number.isSafeInteger(fileCount) || fileCount < 1) {
  throw new Error('TRINITY_S3_CLI_FILES must be a positive integer');
}

const MiB = 1024 * 1024;

/** What reached a gateway: each request's method, URL and the headers the checks look at. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly range: string | undefined;
  readonly copySource: string | undefined;
}
const seen: Seen[] = [];
function recordRequest(req: IncomingMessage): void {
  const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  seen.push({
    method: req.method ?? '',
    url: req.url ?? '',
    range: first(req.headers.range),
    copySource: first(req.headers['x-amz-copy-source']),
  });
}
const handle = S3Gateway.prototype.handle;
beforeAll(() => {
  // Every gateway in this process (the in-memory one and the node's) records what clients send.
  S3Gateway.prototype.handle = function (this: S3Gateway, req: IncomingMessage, res: ServerResponse) {
    recordRequest(req);
    return handle.call(this, req, res);
  };
});
afterAll(() => {
  S3Gateway.prototype.handle = handle;
});

/** The requests to `bucket` seen since `from` (an index into `seen`), with their query parsed. */
function requestsTo(bucket: string, from: number): Array<Seen & { path: string; query: URLSearchParams }> {
  return seen.slice(from).flatMap((request) => {
    const url = new URL(request.url, 'http://gateway');
    const path = decodeURIComponent(url.pathname);
    return path === `/${bucket}` || path.startsWith(`/${bucket}/`)
      ? [{ ...request, path, query: url.searchParams }]
      : [];
  });
}

/** An S3 endpoint with a bucket `shell` and a key that may use it. */
interface Target {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

function sdkClient(t: Target): S3Client {
  return new S3Client({
    endpoint: t.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: t.accessKeyId, secretAccessKey: t.secretAccessKey },
  });
}

/** The gateway alone, over the in-memory backend and index. */
async function inMemoryTarget(): Promise<Target> {
  const t: TestGateway = await startTestGateway();
  await t.client().send(new CreateBucketCommand({ Bucket: 'shell' }));
  return { endpoint: t.endpoint, accessKeyId, secretAccessKey, stop: () => t.stop() };
}

/**
 * An HTTP proxy in this process in front of `upstream` that records each request in `seen` (the
 * gateway it fronts runs in another process) and passes requests and replies through unchanged,
 * the Host header included, so SigV4 signatures still hold.
 */
async function recordingProxy(upstream: string): Promise<{ url: string; close: () => Promise<void> }> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const server = createServer((req, res) => {
    recordRequest(req);
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.rawHeaders);
        reply.pipe(res);
      },
    );
    forward.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502).end(String(error));
      else res.destroy(error);
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 60_000;
  server.requestTimeout = 0; // a multipart part may take minutes on a loaded machine
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/**
 * The gateway of a real node (Trinity backend, the network index) in a devnet of three node
 * processes (RS(2,1)): node 0 serves S3 with the devnet's access key; clients reach it through a
 * recording proxy. Processes, not nodes in this process, so the nodes' work spreads over the cores.
 */
async function daemonTarget(): Promise<Target> {
  const { devnet, close } = await startDevnet(
    'trinity-s3-cli-devnet-',
    { erasure: { dataShards: 2, parityShards: 1, shardBytes: 256 * 1024 }, fsync: false },
    { nodes: 3, s3: true },
  );
  let proxy: Awaited<ReturnType<typeof recordingProxy>> | undefined;
  const stop = async () => {
    await proxy?.close();
    await close();
  };
  try {
    const key = await devnet.s3AccessKey();
    proxy = await recordingProxy(devnet.s3Url);
    const target = {
      endpoint: proxy.url,
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretKey,
      stop,
    };
    const client = sdkClient(target);
    await client.send(new CreateBucketCommand({ Bucket: 'shell' }));
    client.destroy();
    return target;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The stderr of a command that must fail. */
async function failing(command: Promise<unknown>): Promise<string> {
  try {
    await command;
  } catch (error) {
    return String((error as { stderr?: unknown }).stderr ?? error);
  }
  throw new Error('the command succeeded');
}

/** A presigned PUT (neither shell client makes one: the SDK's presigner does), sent with fetch. */
async function presignedPut(t: Target, bucket: string, key: string, body: Buffer): Promise<void> {
  const client = sdkClient(t);
  try {
    const url = await getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: 300,
    });
    expect(new URL(url).searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    const res = await fetch(url, { method: 'PUT', body });
    expect(res.status, await res.text()).toBe(200);
  } finally {
    client.destroy();
  }
}

/** A presigned GET URL fetched: its bytes; and the same URL with its signature altered is refused. */
async function fetchPresigned(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const bytes = Buffer.from(await res.arrayBuffer());
  const tampered = new URL(url);
  const signature = tampered.searchParams.get('X-Amz-Signature')!;
  tampered.searchParams.set('X-Amz-Signature', `${signature[0] === '0' ? '1' : '0'}${signature.slice(1)}`);
  const refused = await fetch(tampered);
  expect(refused.status).toBe(403);
  expect(await refused.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
  return bytes;
}

/** The files every client's operations test uploads (a fresh directory under `dir`). */
async function opsFiles(dir: string): Promise<{ small: Buffer; big: Buffer; listDir: string }> {
  await mkdir(join(dir, 'list', 'a'), { recursive: true });
  await mkdir(join(dir, 'list', 'b'), { recursive: true });
  const small = Buffer.from('a small object, with some text in it\n');
  const big = patternBytes(12 * MiB + 5, 7);
  await writeFile(join(dir, 'small.txt'), small);
  await writeFile(join(dir, 'big.bin'), big);
  for (const name of ['a/1.txt', 'a/2.txt', 'b/1.txt', 'c.txt', 'd.txt']) {
    await writeFile(join(dir, 'list', name), `listed ${name}\n`);
  }
  return { small, big, listDir: join(dir, 'list') };
}

// Both targets sync; the operations tests run against the node (the in-memory gateway's operations
// are the SDK suite's, gateway-sdk.test.ts), since every aws command costs a Python start-up.
for (const [name, makeTarget, operations] of [
  ['gateway over the in-memory backend', inMemoryTarget, false],
  ['gateway of a node in a devnet of 3 processes', daemonTarget, true],
] as const) {
  describe(`shell clients: ${name}`, () => {
    let t: Target;
    let dir: string;
    let env: NodeJS.ProcessEnv;

    beforeAll(async () => {
      t = await makeTarget();
      dir = await mkdtemp(join(tmpdir(), 'trinity-s3-cli-'));
      await makeTree(join(dir, 'src'), fileCount);
      const { AWS_CA_BUNDLE: _ca, ...rest } = process.env;
      env = {
        ...rest,
        HOME: dir,
        AWS_ACCESS_KEY_ID: t.accessKeyId,
        AWS_SECRET_ACCESS_KEY: t.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_CONFIG_FILE: join(dir, 'aws-config'),
        AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'),
        RCLONE_CONFIG: join(dir, 'rclone.conf'),
        RCLONE_CONFIG_T_TYPE: 's3',
        RCLONE_CONFIG_T_PROVIDER: 'Other',
        RCLONE_CONFIG_T_ACCESS_KEY_ID: t.accessKeyId,
        RCLONE_CONFIG_T_SECRET_ACCESS_KEY: t.secretAccessKey,
        RCLONE_CONFIG_T_ENDPOINT: t.endpoint,
        RCLONE_CONFIG_T_REGION: 'us-east-1',
      };
      // aws CLI 1.x presigns with Signature Version 2 unless told otherwise; the gateway takes V4 only.
      await writeFile(
        env.AWS_CONFIG_FILE!,
        '[default]\nregion = us-east-1\ns3 =\n  signature_version = s3v4\n',
      );
      await writeFile(env.RCLONE_CONFIG!, '');
    }, 300_000);

    afterAll(async () => {
      await t?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }, 120_000);

    // Hang detectors, not speed requirements: a 1,000-file sync took up to ~3 min at a load of 10.
    const options = () => ({ env, timeout: 600_000, maxBuffer: 64 * MiB });
    const aws = (...args: string[]) => run(awsPath!, ['--endpoint-url', t.endpoint, ...args], options());
    const rclone = (...args: string[]) => run(rclonePath!, ['--retries', '1', ...args], options());
    const rcloneBytes = async (...args: string[]) =>
      (await run(rclonePath!, ['--retries', '1', ...args], { ...options(), encoding: 'buffer' })).stdout;

    if (operations) {
      it.skipIf(awsPath === undefined && !inCi)(
        'aws: bucket, small and multipart uploads, paged listing by prefix and delimiter, ranges, copy, presigned GET and PUT, delete',
        { timeout: 600_000 },
        async () => {
          expect(awsPath, 'the aws CLI is not installed').toBeDefined();
          const bucket = 'aws-ops';
          const local = join(dir, 'aws-ops');
          const { small, big, listDir } = await opsFiles(local);
          const from = seen.length;

          await aws('s3', 'mb', `s3://${bucket}`);
          await aws('s3api', 'head-bucket', '--bucket', bucket);
          expect((await aws('s3', 'ls')).stdout).toMatch(new RegExp(` ${bucket}$`, 'm'));

          // Small, with metadata; multipart above aws's 8 MiB threshold (two parts of 8 MiB and 4 MiB + 5 B).
          await aws(
            's3',
            'cp',
            '--content-type',
            'text/plain',
            '--metadata',
            'colour=blue',
            join(local, 'small.txt'),
            `s3://${bucket}/small.txt`,
          );
          await aws('s3', 'cp', join(local, 'big.bin'), `s3://${bucket}/big.bin`);
          const smallHead = JSON.parse(
            (await aws('s3api', 'head-object', '--bucket', bucket, '--key', 'small.txt')).stdout,
          );
          expect(smallHead).toMatchObject({
            ContentLength: small.length,
            ContentType: 'text/plain',
            Metadata: { colour: 'blue' },
          });
          const bigHead = JSON.parse(
            (await aws('s3api', 'head-object', '--bucket', bucket, '--key', 'big.bin')).stdout,
          );
          expect(bigHead.ContentLength).toBe(big.length);
          expect(bigHead.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
          const parts = requestsTo(bucket, from).filter(
            (r) => r.method === 'PUT' && r.query.has('partNumber'),
          );
          expect(parts.map((r) => r.query.get('partNumber')).sort()).toEqual(['1', '2']);

          // A listing by prefix and delimiter, one entry a page: v2 (continuation tokens) and v1 (markers).
          await aws('s3', 'cp', '--recursive', listDir, `s3://${bucket}/list/`);
          const listFrom = seen.length;
          const v2 = JSON.parse(
            (
              await aws(
                's3api',
                'list-objects-v2',
                '--bucket',
                bucket,
                '--prefix',
                'list/',
                '--delimiter',
                '/',
                '--page-size',
                '1',
              )
            ).stdout,
          );
          const v1 = JSON.parse(
            (
              await aws(
                's3api',
                'list-objects',
                '--bucket',
                bucket,
                '--prefix',
                'list/',
                '--delimiter',
                '/',
                '--page-size',
                '1',
              )
            ).stdout,
          );
          for (const listing of [v2, v1]) {
            expect(listing.CommonPrefixes.map((p: { Prefix: string }) => p.Prefix)).toEqual([
              'list/a/',
              'list/b/',
            ]);
            expect(listing.Contents.map((c: { Key: string }) => c.Key)).toEqual(['list/c.txt', 'list/d.txt']);
          }
          const lists = requestsTo(bucket, listFrom).filter(
            (r) => r.method === 'GET' && r.query.get('delimiter') === '/',
          );
          expect(
            lists.every((r) => r.query.get('prefix') === 'list/' && r.query.get('max-keys') === '1'),
          ).toBe(true);
          expect(lists.filter((r) => r.query.has('continuation-token')).length).toBeGreaterThanOrEqual(3);
          expect(lists.filter((r) => r.query.has('marker')).length).toBeGreaterThanOrEqual(3);
          // `aws s3 ls` lists with the delimiter too.
          const ls = (await aws('s3', 'ls', `s3://${bucket}/list/`)).stdout;
          expect(ls).toMatch(/PRE a\//);
          expect(ls).toMatch(/ c\.txt$/m);

          // Ranged reads: across the part boundary at 8 MiB, and the last 7 bytes.
          await aws(
            's3api',
            'get-object',
            '--bucket',
            bucket,
            '--key',
            'big.bin',
            '--range',
            `bytes=${8 * MiB - 8}-${8 * MiB + 7}`,
            join(local, 'range.out'),
          );
          expect(await readFile(join(local, 'range.out'))).toEqual(big.subarray(8 * MiB - 8, 8 * MiB + 8));
          await aws(
            's3api',
            'get-object',
            '--bucket',
            bucket,
            '--key',
            'big.bin',
            '--range',
            'bytes=-7',
            join(local, 'suffix.out'),
          );
          expect(await readFile(join(local, 'suffix.out'))).toEqual(big.subarray(big.length - 7));
          expect(requestsTo(bucket, from).filter((r) => r.range !== undefined).length).toBeGreaterThanOrEqual(
            2,
          );

          // Copy: the small one by CopyObject, the big one by a multipart copy (UploadPartCopy).
          const copyFrom = seen.length;
          await aws('s3', 'cp', `s3://${bucket}/small.txt`, `s3://${bucket}/copy/small.txt`);
          await aws('s3', 'cp', `s3://${bucket}/big.bin`, `s3://${bucket}/copy/big.bin`);
          const copies = requestsTo(bucket, copyFrom).filter((r) => r.copySource !== undefined);
          expect(copies.some((r) => !r.query.has('partNumber'))).toBe(true);
          expect(copies.some((r) => r.query.has('partNumber'))).toBe(true);
          await aws('s3', 'cp', `s3://${bucket}/copy/big.bin`, join(local, 'big.copy'));
          expect(Buffer.compare(await readFile(join(local, 'big.copy')), big)).toBe(0);
          await aws('s3', 'cp', `s3://${bucket}/copy/small.txt`, join(local, 'small.copy'));
          expect(await readFile(join(local, 'small.copy'))).toEqual(small);

          // Presigned GET from `aws s3 presign` (V4, see the config above); presigned PUT from the SDK.
          const url = (
            await aws('s3', 'presign', `s3://${bucket}/small.txt`, '--expires-in', '300')
          ).stdout.trim();
          expect(await fetchPresigned(url)).toEqual(small);
          const putBody = Buffer.from('put through a presigned URL\n');
          await presignedPut(t, bucket, 'presigned.txt', putBody);
          await aws('s3', 'cp', `s3://${bucket}/presigned.txt`, join(local, 'presigned.out'));
          expect(await readFile(join(local, 'presigned.out'))).toEqual(putBody);

          // Delete: one object, a bucket that is not empty (refused), everything, the bucket.
          await aws('s3', 'rm', `s3://${bucket}/small.txt`);
          expect(
            await failing(aws('s3api', 'head-object', '--bucket', bucket, '--key', 'small.txt')),
          ).toMatch(/404|Not Found/);
          expect(await failing(aws('s3', 'rb', `s3://${bucket}`))).toMatch(/BucketNotEmpty/);
          // DeleteObjects (`aws s3 rm --recursive` deletes one key at a time).
          const deleted = await aws(
            's3api',
            'delete-objects',
            '--bucket',
            bucket,
            '--delete',
            JSON.stringify({
              Objects: [{ Key: 'copy/small.txt' }, { Key: 'copy/big.bin' }, { Key: 'never-there' }],
            }),
          );
          expect(
            JSON.parse(deleted.stdout)
              .Deleted.map((d: { Key: string }) => d.Key)
              .sort(),
          ).toEqual(['copy/big.bin', 'copy/small.txt', 'never-there']);
          expect(requestsTo(bucket, from).some((r) => r.method === 'POST' && r.query.has('delete'))).toBe(
            true,
          );
          const left = await aws('s3api', 'list-objects-v2', '--bucket', bucket, '--prefix', 'copy/');
          expect(JSON.parse(left.stdout || '{}').KeyCount ?? 0).toBe(0);
          await aws('s3', 'rm', '--recursive', `s3://${bucket}`);
          await aws('s3', 'rb', `s3://${bucket}`);
          expect(await failing(aws('s3api', 'head-bucket', '--bucket', bucket))).toMatch(/404|Not Found/);
        },
      );
    }

    it.skipIf(awsPath === undefined && !inCi)(
      `aws s3 sync of ${fileCount} files there and back is byte-identical`,
      { timeout: 1_200_000 },
      async () => {
        expect(awsPath, 'the aws CLI is not installed').toBeDefined();
        const from = seen.length;
        await aws('s3', 'sync', '--no-progress', join(dir, 'src'), 's3://shell/aws');
        expect(requestsTo('shell', from).some((r) => r.method === 'POST' && r.query.has('uploads'))).toBe(
          true,
        );
        await aws('s3', 'sync', '--no-progress', 's3://shell/aws', join(dir, 'aws-back'));
        await expectSameTree(join(dir, 'src'), join(dir, 'aws-back'));
        const { stdout } = await aws('s3', 'ls', 's3://shell/aws/');
        expect(stdout).toMatch(/PRE d0\//);
        // A second sync after deleting one file locally removes it remotely too.
        await rm(join(dir, 'aws-back', 'd1', 'f1.bin'));
        await aws('s3', 'sync', '--no-progress', '--delete', join(dir, 'aws-back'), 's3://shell/aws');
        const listing = await aws('s3', 'ls', '--recursive', 's3://shell/aws/d1/');
        expect(listing.stdout).not.toMatch(/f1\.bin/);
        expect(listing.stdout).toMatch(/f5\.bin/);
      },
    );

    if (operations) {
      it.skipIf(rclonePath === undefined && !inCi)(
        'rclone: bucket, small and multipart uploads, paged listing by prefix and delimiter, ranges, copy, presigned GET and PUT, delete',
        { timeout: 600_000 },
        async () => {
          expect(rclonePath, 'rclone is not installed').toBeDefined();
          const bucket = 'rclone-ops';
          const local = join(dir, 'rclone-ops');
          const { small, big, listDir } = await opsFiles(local);
          const from = seen.length;

          await rclone('mkdir', `t:${bucket}`);
          expect(requestsTo(bucket, from).some((r) => r.method === 'PUT' && r.path === `/${bucket}`)).toBe(
            true,
          );
          expect((await rclone('lsf', 't:')).stdout.split('\n')).toContain(`${bucket}/`);

          // Small; multipart with 5 MiB chunks (three parts).
          await rclone('copyto', join(local, 'small.txt'), `t:${bucket}/small.txt`);
          await rclone(
            'copyto',
            join(local, 'big.bin'),
            `t:${bucket}/big.bin`,
            '--s3-upload-cutoff',
            '5M',
            '--s3-chunk-size',
            '5M',
          );
          const parts = requestsTo(bucket, from).filter(
            (r) => r.method === 'PUT' && r.query.has('partNumber'),
          );
          expect(parts.map((r) => r.query.get('partNumber')).sort()).toEqual(['1', '2', '3']);
          const sizes = JSON.parse((await rclone('lsjson', `t:${bucket}`, '--files-only')).stdout) as Array<{
            Path: string;
            Size: number;
          }>;
          expect(Object.fromEntries(sizes.map((f) => [f.Path, f.Size]))).toEqual({
            'big.bin': big.length,
            'small.txt': small.length,
          });

          // A listing of one "directory" (prefix and delimiter), one entry a page.
          await rclone('copy', listDir, `t:${bucket}/list`);
          const listFrom = seen.length;
          const lsf = (await rclone('lsf', `t:${bucket}/list/`, '--s3-list-chunk', '1')).stdout;
          expect(lsf.split('\n').filter((line) => line !== '')).toEqual(['a/', 'b/', 'c.txt', 'd.txt']);
          const lists = requestsTo(bucket, listFrom).filter(
            (r) => r.method === 'GET' && r.query.get('delimiter') === '/',
          );
          expect(
            lists.every((r) => r.query.get('prefix') === 'list/' && r.query.get('max-keys') === '1'),
          ).toBe(true);
          expect(lists.length).toBeGreaterThanOrEqual(4);
          expect(
            lists.filter((r) => r.query.has('marker') || r.query.has('continuation-token')).length,
          ).toBeGreaterThanOrEqual(3);

          // Ranged reads: across the first part boundary, and from an offset to the end.
          const range = await rcloneBytes(
            'cat',
            '--offset',
            String(5 * MiB - 8),
            '--count',
            '16',
            `t:${bucket}/big.bin`,
          );
          expect(range).toEqual(big.subarray(5 * MiB - 8, 5 * MiB + 8));
          const tail = await rcloneBytes('cat', '--offset', String(big.length - 7), `t:${bucket}/big.bin`);
          expect(tail).toEqual(big.subarray(big.length - 7));
          expect(requestsTo(bucket, from).filter((r) => r.range !== undefined).length).toBeGreaterThanOrEqual(
            2,
          );

          // Copy within the bucket: server-side (CopyObject), no bytes through rclone.
          const copyFrom = seen.length;
          await rclone('copyto', `t:${bucket}/small.txt`, `t:${bucket}/copy/small.txt`);
          await rclone('copyto', `t:${bucket}/big.bin`, `t:${bucket}/copy/big.bin`);
          const copies = requestsTo(bucket, copyFrom).filter((r) => r.copySource !== undefined);
          expect(copies.map((r) => r.path).sort()).toEqual([
            `/${bucket}/copy/big.bin`,
            `/${bucket}/copy/small.txt`,
          ]);
          await rclone('copyto', `t:${bucket}/copy/big.bin`, join(local, 'big.copy'));
          expect(Buffer.compare(await readFile(join(local, 'big.copy')), big)).toBe(0);
          expect((await rclone('cat', `t:${bucket}/copy/small.txt`)).stdout).toBe(small.toString());

          // Presigned GET from `rclone link`; presigned PUT from the SDK (rclone makes none).
          const link = (await rclone('link', '--expire', '5m', `t:${bucket}/small.txt`)).stdout.trim();
          expect(new URL(link).searchParams.get('X-Amz-Expires')).toBe('300');
          expect(await fetchPresigned(link)).toEqual(small);
          const putBody = Buffer.from('put through a presigned URL\n');
          await presignedPut(t, bucket, 'presigned.txt', putBody);
          expect((await rclone('cat', `t:${bucket}/presigned.txt`)).stdout).toBe(putBody.toString());

          // Delete: one object, a bucket that is not empty (refused), then everything and the bucket.
          await rclone('deletefile', `t:${bucket}/small.txt`);
          expect((await rclone('lsf', `t:${bucket}`)).stdout.split('\n')).not.toContain('small.txt');
          expect(await failing(rclone('rmdir', `t:${bucket}`))).toMatch(/BucketNotEmpty/);
          await rclone('purge', `t:${bucket}`);
          expect((await rclone('lsf', 't:')).stdout.split('\n')).not.toContain(`${bucket}/`);
          expect(requestsTo(bucket, from).some((r) => r.method === 'DELETE' && r.path === `/${bucket}`)).toBe(
            true,
          );
        },
      );
    }

    it.skipIf(rclonePath === undefined && !inCi)(
      `rclone sync of ${fileCount} files there and back is byte-identical`,
      { timeout: 1_200_000 },
      async () => {
        expect(rclonePath, 'rclone is not installed').toBeDefined();
        const from = seen.length;
        await rclone(
          'sync',
          join(dir, 'src'),
          't:shell/rclone',
          '--s3-upload-cutoff',
          '5M',
          '--s3-chunk-size',
          '5M',
        );
        expect(requestsTo('shell', from).some((r) => r.method === 'POST' && r.query.has('uploads'))).toBe(
          true,
        );
        await rclone('sync', 't:shell/rclone', join(dir, 'rclone-back'));
        await expectSameTree(join(dir, 'src'), join(dir, 'rclone-back'));
        const check = await rclone('check', join(dir, 'src'), 't:shell/rclone');
        expect(check.stderr).toMatch(/0 differences found/);
      },
    );
  });
}
