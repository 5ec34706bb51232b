import '../../src/polyfill.js';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ManualClock, MemoryLogger } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../../src/config/config.js';
import { TrinityNode } from '../../src/node/trinity-node.js';
import { FileAccessKeyStore } from '../../src/s3/access-keys.js';
import { accessKeysPath, s3Service, snapshotPrefix } from '../../src/s3/s3-service.js';
import { readOwnerKey } from '../../src/stores/owner-key.js';
import { cliPath, startNodes, tempDir, until } from '../helpers.js';
import { patternBytes } from './helpers.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const md5Hex = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

/**
 * The S3 gateway through the real daemon: three in-process nodes (RS(2,1)); node 2 serves S3
 * (`s3.enabled`, a free port), its access keys made with the `trinity s3 keys` CLI. Pieces are
 * Trinity objects any node reads; the key index is the owner's network index (`s3.index` default).
 */
let nodes: TrinityNode[];
let close: (() => Promise<void>) | undefined;
let key: { accessKeyId: string; secretAccessKey: string; owner: string };
const clients: S3Client[] = [];

const gatewayNode = () => nodes[2]!;
const endpoint = () => gatewayNode().s3!.url;

function client(credentials: { accessKeyId: string; secretAccessKey: string } = key): S3Client {
  const s3 = new S3Client({
    endpoint: endpoint(),
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: 1,
  });
  clients.push(s3);
  return s3;
}

async function keysCli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const node = gatewayNode();
  return run(process.execPath, [
    cliPath,
    's3',
    'keys',
    ...args,
    '--data-dir',
    node.config.dataDir,
    '--owner-key',
    node.config.trust.ownerKeyFile!,
  ]);
}

async function bodyBytes(output: { Body?: unknown }): Promise<Buffer> {
  const body = output.Body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await body.transformToByteArray());
}

/** Object ids (Trinity pieces) the gateway's index (the network index, by default) refers to. */
async function indexedPieceIds(): Promise<Set<string>> {
  const records = JSON.stringify(await gatewayNode().s3!.indexRecords());
  return new Set([...records.matchAll(/"id":"([0-9a-f]{64})"/g)].map((m) => m[1]!));
}

beforeAll(async () => {
  ({ nodes, close } = await startNodes('trinity-s3-daemon-', 3, (i) => ({
    erasure: { dataShards: 2, parityShards: 1, shardBytes: 256 * 1024 },
    fsync: false,
    ...(i === 2 ? { s3: { enabled: true, port: 0 } } : {}),
  })));
  const { stdout } = await keysCli('create', '--json');
  const created = JSON.parse(stdout) as { accessKeyId: string; secretAccessKey: string; owner: string };
  key = created;
}, 300_000);

afterAll(async () => {
  for (const s3 of clients) s3.destroy();
  await close?.();
}, 120_000);

describe('trinity s3 keys', () => {
  it('creates a key bound to the owner key (0600 file), lists it without its secret, revokes it', async () => {
    expect(key.accessKeyId).toMatch(/^TRN[A-Z2-7]{17}$/);
    expect(key.secretAccessKey).toHaveLength(40);
    expect(key.owner).toBe(gatewayNode().owner);
    const path = accessKeysPath(gatewayNode().config.dataDir);
    expect((await stat(path)).mode & 0o777).toBe(0o600);

    const plain = await keysCli('create');
    expect(plain.stdout).toMatch(/^AWS_ACCESS_KEY_ID=TRN[A-Z2-7]{17}\nAWS_SECRET_ACCESS_KEY=\S{40}\n$/);
    expect(plain.stderr).toContain('not shown again');
    const second = /AWS_ACCESS_KEY_ID=(\S+)\nAWS_SECRET_ACCESS_KEY=(\S+)/.exec(plain.stdout)!;
    const listed = JSON.parse((await keysCli('list', '--json')).stdout) as { keys: object[] };
    expect(listed.keys).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toContain(key.secretAccessKey);

    // The running node sees the new key at once, and stops honouring it once revoked.
    const s3 = client({ accessKeyId: second[1]!, secretAccessKey: second[2]! });
    expect((await s3.send(new ListBucketsCommand({}))).Buckets).toBeDefined();
    await keysCli('revoke', second[1]!);
    await expect(s3.send(new ListBucketsCommand({}))).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
    await expect(keysCli('revoke', second[1]!)).rejects.toMatchObject({ code: 3 });
  });
});

describe('S3 through the daemon', () => {
  const small = Buffer.from('hello from the S3 gateway of a Trinity node\n');
  const big = patternBytes(11 * MiB + 4321, 7);

  it('creates a bucket and puts a small object with its metadata', async () => {
    const s3 = client();
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'photos',
        Key: 'notes/hello.txt',
        Body: small,
        ContentType: 'text/plain',
        Metadata: { colour: 'blue' },
      }),
    );
    expect(put.ETag).toBe(`"${md5Hex(small)}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'photos', Key: 'notes/hello.txt' }));
    expect(head.ContentLength).toBe(small.length);
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ colour: 'blue' });
    expect(
      await bodyBytes(await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'notes/hello.txt' }))),
    ).toEqual(small);
  });

  it('stores a multipart upload (lib-storage) as Trinity objects owned by the owner, encrypted', async () => {
    const s3 = client();
    const before = await indexedPieceIds();
    const done = await new Upload({
      client: s3,
      params: { Bucket: 'photos', Key: 'big/video.bin', Body: big },
      partSize: 5 * MiB,
      queueSize: 2,
    }).done();
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/video.bin' }));
    expect(got.ETag).toBe(done.ETag);
    expect(md5Hex(await bodyBytes(got))).toBe(md5Hex(big));
    const pieces = [...(await indexedPieceIds())].filter((id) => !before.has(id));
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    // Every part is an ordinary object: read from another node, signed by and encrypted for the owner.
    for (const id of pieces) {
      const handle = await nodes[0]!.objects.open(id);
      expect(handle.descriptor.owner).toBe(gatewayNode().owner);
      expect(handle.encrypted).toBe(true);
    }
  });

  it('serves a range across a part boundary', async () => {
    const s3 = client();
    const start = 5 * MiB - 100;
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: 'photos',
        Key: 'big/video.bin',
        Range: `bytes=${start}-${start + 199}`,
      }),
    );
    expect(got.ContentRange).toBe(`bytes ${start}-${start + 199}/${big.length}`);
    expect(await bodyBytes(got)).toEqual(big.subarray(start, start + 200));
    const last = await s3.send(
      new GetObjectCommand({ Bucket: 'photos', Key: 'big/video.bin', Range: 'bytes=-1' }),
    );
    expect(await bodyBytes(last)).toEqual(big.subarray(big.length - 1));
  });

  it('lists with prefix and delimiter across pages', async () => {
    const s3 = client();
    const keys = ['a/1', 'a/2', 'b/1', 'b/x/2', 'c', 'd', 'e/1'];
    for (const k of keys) {
      await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: `tree/${k}`, Body: Buffer.from(k) }));
    }
    const seen: string[] = [];
    let ContinuationToken: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: 'photos',
          Prefix: 'tree/',
          Delimiter: '/',
          MaxKeys: 2,
          ...(ContinuationToken === undefined ? {} : { ContinuationToken }),
        }),
      );
      pages++;
      for (const o of page.Contents ?? []) seen.push(o.Key!);
      for (const p of page.CommonPrefixes ?? []) seen.push(p.Prefix!);
      if (!page.IsTruncated) break;
      ContinuationToken = page.NextContinuationToken;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(['tree/a/', 'tree/b/', 'tree/c', 'tree/d', 'tree/e/']);
    const flat = await s3.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'tree/b/' }));
    expect(flat.Contents?.map((o) => o.Key)).toEqual(['tree/b/1', 'tree/b/x/2']);
  });

  it('copies an object', async () => {
    const s3 = client();
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'photos',
        Key: 'copies/hello.txt',
        CopySource: 'photos/notes/hello.txt',
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'copies/hello.txt' }));
    expect(await bodyBytes(got)).toEqual(small);
    expect(got.Metadata).toEqual({ colour: 'blue' });
  });

  it('serves presigned PUT and GET', async () => {
    const s3 = client();
    const body = Buffer.from('through a presigned URL');
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'photos', Key: 'presigned' }), {
      expiresIn: 120,
    });
    const put = await fetch(putUrl, { method: 'PUT', body });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'photos', Key: 'presigned' }), {
      expiresIn: 120,
    });
    const got = await fetch(getUrl);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(body);
  });

  it('deletes an object and frees its Trinity object', async () => {
    const s3 = client();
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'doomed', Body: Buffer.from('bye') }));
    const before = await indexedPieceIds();
    await s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'doomed' }));
    await expect(s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'doomed' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    const live = new Set<string>();
    for (const id of before) {
      try {
        await nodes[0]!.objects.open(id);
        live.add(id);
      } catch (error) {
        expect((error as { status?: number }).status).toBe(404);
      }
    }
    // Exactly one piece (the deleted object's) is gone from the network.
    expect(before.size - live.size).toBe(1);
  });

  it('refuses an access key bound to another owner with 403 AccessDenied', async () => {
    const store = await FileAccessKeyStore.open(accessKeysPath(gatewayNode().config.dataDir));
    const foreign = await store.create('f'.repeat(64), Date.now());
    const s3 = client({ accessKeyId: foreign.accessKeyId, secretAccessKey: foreign.secretKey });
    const denied = { name: 'AccessDenied', $metadata: expect.objectContaining({ httpStatusCode: 403 }) };
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'notes/hello.txt' })),
    ).rejects.toMatchObject(denied);
    await expect(
      s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'intruder', Body: Buffer.from('x') })),
    ).rejects.toMatchObject(denied);
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'foreign-bucket' }))).rejects.toMatchObject(
      denied,
    );
    await expect(s3.send(new ListBucketsCommand({}))).rejects.toMatchObject(denied);
  });

  it('keeps its buckets, keys and access keys across a restart of the node', async () => {
    const old = gatewayNode();
    await old.stop();
    const again = await TrinityNode.create(old.config, new MemoryLogger());
    await again.start();
    nodes[2] = again;
    await until(
      'the restarted node to see its peers',
      async () => (again.membership.peers().length >= 2 ? true : undefined),
      120_000,
    );
    const s3 = client();
    const buckets = await s3.send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toEqual(['photos']);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'photos', Key: 'big/video.bin' }));
    expect(md5Hex(await bodyBytes(got))).toBe(md5Hex(big));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'photos', Prefix: 'tree/' }));
    expect(listed.KeyCount).toBe(7);
  });
});

/**
 * An S3 service of its own over node 0's objects, on an injected clock, with a client holding an
 * access key of node 0's owner. `close` removes everything, whatever happened.
 */
async function standaloneGateway(prefix: string, s3Config: Record<string, unknown>, pieceTag?: string) {
  const clock = new ManualClock(Date.now());
  const logger = new MemoryLogger();
  const dir = await tempDir(prefix);
  // An index of its own (`local`): the owner's network index is node 2's gateway's, which runs beside.
  const config = parseNodeConfig({ s3: { enabled: true, port: 0, index: 'local', ...s3Config } }).s3;
  const owner = nodes[0]!;
  const service = s3Service({ config, dataDir: dir.path, ...(pieceTag === undefined ? {} : { pieceTag }) })({
    objects: owner.objects,
    listing: owner.directory,
    clock,
    logger,
    heads: owner.s3Heads,
    ownerKey: await readOwnerKey(owner.config.trust.ownerKeyFile!),
  });
  let s3: S3Client | undefined;
  const close = async () => {
    s3?.destroy();
    await service.stop();
    await dir.remove();
  };
  try {
    await service.start();
    const store = await FileAccessKeyStore.open(accessKeysPath(dir.path));
    const record = await store.create(owner.owner, Date.now());
    s3 = new S3Client({
      endpoint: service.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: record.accessKeyId, secretAccessKey: record.secretKey },
      maxAttempts: 1,
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { clock, logger, dir, service, s3, owner, close };
}

describe('abandoned multipart uploads', () => {
  it('are aborted on the injected clock and their parts freed', async () => {
    const { clock, logger, dir, s3, close } = await standaloneGateway('trinity-s3-sweep-', {
      abandonedUploadMs: 60_000,
      uploadSweepIntervalMs: 10_000,
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: 'left' }),
      );
      await s3.send(
        new UploadPartCommand({
          Bucket: 'uploads',
          Key: 'left',
          UploadId,
          PartNumber: 1,
          Body: patternBytes(1000, 2),
        }),
      );
      const log = await readFile(join(dir.path, 's3', 'index.log'), 'utf8');
      const partId = /"id":"([0-9a-f]{64})"/.exec(log)![1]!;
      await nodes[0]!.objects.open(partId);
      const pending = async () =>
        (await s3.send(new ListMultipartUploadsCommand({ Bucket: 'uploads' }))).Uploads?.length ?? 0;

      clock.advance(30_000); // a sweep runs, but the upload is younger than abandonedUploadMs
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await pending()).toBe(1);

      clock.advance(40_000);
      await until(
        'the sweep to abort the upload',
        async () => ((await pending()) === 0 ? true : undefined),
        60_000,
      );
      // The upload leaves the index first, then its parts are deleted from the network.
      await until(
        'the part to be freed',
        async () =>
          (await nodes[0]!.objects.open(partId).then(
            () => false,
            () => true,
          ))
            ? true
            : undefined,
        120_000,
      );
      expect(logger.records.map((r) => r.message)).toContain('s3: abandoned multipart uploads aborted');
      await expect(nodes[0]!.objects.open(partId)).rejects.toMatchObject({ status: 404 });
    } finally {
      await close();
    }
  });
});

/** A body of one chunk, as the object service reads bodies. */
async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

describe('orphaned pieces', () => {
  it("a piece no index entry refers to is deleted after the grace period; indexed ones and other gateways' stay", async () => {
    const { service, s3, owner, clock, dir, close } = await standaloneGateway(
      'trinity-s3-orphans-',
      { orphanedPieceGraceMs: 60_000, uploadSweepIntervalMs: 3_600_000 },
      'gw-test',
    );
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'kept' }));
      await s3.send(new PutObjectCommand({ Bucket: 'kept', Key: 'indexed', Body: patternBytes(2000, 3) }));
      const log = await readFile(join(dir.path, 's3', 'index.log'), 'utf8');
      const indexed = /"id":"([0-9a-f]{64})"/.exec(log)![1]!;
      // A crash between storing a piece and indexing it: a piece of this gateway nothing refers to…
      const orphan = await owner.objects.put(once(patternBytes(1500, 4)), {
        name: 's3-piece/gw-test/0123abcd',
      });
      // …and a piece another gateway tagged, which this one must never touch.
      const foreign = await owner.objects.put(once(patternBytes(1500, 5)), {
        name: 's3-piece/gw-other/0123abcd',
      });
      expect(await service.sweepOrphanedPieces()).toBe(0); // first seen unreferenced now
      clock.advance(59_000);
      expect(await service.sweepOrphanedPieces()).toBe(0); // inside the grace period
      clock.advance(2_000);
      expect(await service.sweepOrphanedPieces()).toBe(1);
      await expect(owner.objects.open(orphan.id)).rejects.toMatchObject({ status: 404 });
      await owner.objects.open(indexed);
      await owner.objects.open(foreign.id);
      const body = await s3.send(new GetObjectCommand({ Bucket: 'kept', Key: 'indexed' }));
      expect(Buffer.from(await body.Body!.transformToByteArray())).toEqual(
        Buffer.from(patternBytes(2000, 3)),
      );
      await owner.objects.delete(foreign.id);
    } finally {
      await close();
    }
  });

  it("the network index's leaked snapshots are deleted after the grace period; the current one stays", async () => {
    const { service, s3, owner, clock, close } = await standaloneGateway(
      'trinity-s3-snapshots-',
      { index: 'network', orphanedPieceGraceMs: 60_000, uploadSweepIntervalMs: 3_600_000 },
      'gw-snap',
    );
    const snapshots = async () =>
      (await owner.directory.list(100_000, owner.owner)).filter((o) =>
        o.name?.startsWith(snapshotPrefix('gw-snap')),
      );
    /**
     * Writes until this gateway has stored a new snapshot: most writes only append to the head's
     * log, and a write that would pass its 20 KiB stores the whole state (each of these records
     * carries about 1.5 KB of metadata).
     */
    const fillLog = async (tag: string) => {
      for (let i = 0; i < 16; i++) {
        await s3.send(
          new PutObjectCommand({
            Bucket: 'snapshots',
            Key: `${tag}-${i}`,
            Body: Buffer.from('v'),
            Metadata: { pad: 'x'.repeat(1500) },
          }),
        );
      }
    };
    try {
      // This gateway writes the owner's index now: the current snapshot is named with its tag.
      await s3.send(new CreateBucketCommand({ Bucket: 'snapshots' }));
      await fillLog('first');
      await until(
        "this gateway's snapshot to be the only one",
        async () => ((await snapshots()).length === 1 ? true : undefined),
        60_000,
      );
      // A crash between storing a snapshot and swapping the head leaves one nothing names.
      const leaked = await owner.objects.put(once(patternBytes(100, 6)), {
        name: `${snapshotPrefix('gw-snap')}leaked`,
      });
      expect(await service.sweepOrphanedPieces()).toBe(0);
      clock.advance(61_000);
      expect(await service.sweepOrphanedPieces()).toBe(1);
      await expect(owner.objects.open(leaked.id)).rejects.toMatchObject({ status: 404 });
      expect((await snapshots()).length).toBe(1);
      // Writes that fill the log replace the snapshot and free the one replaced.
      const current = (await snapshots())[0]!.id;
      await fillLog('second');
      await until(
        'the replaced snapshot to be freed',
        async () => {
          const now = await snapshots();
          return now.length === 1 && now[0]!.id !== current ? true : undefined;
        },
        60_000,
      );
      clock.advance(61_000);
      expect(await service.sweepOrphanedPieces()).toBe(0);
      expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toContain('snapshots');
    } finally {
      await close();
    }
  });
});
