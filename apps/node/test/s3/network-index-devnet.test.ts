import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/polyfill.js';
import type { Devnet } from '../../src/cli/devnet.js';
import { FileAccessKeyStore } from '../../src/s3/access-keys.js';
import { accessKeysPath } from '../../src/s3/s3-service.js';
import { loadOrCreateOwnerKey } from '../../src/stores/owner-key.js';
import { startDevnet, until } from '../helpers.js';
import { patternBytes } from './helpers.js';

/**
 * The network index across real node processes: a 4-node devnet (one owner key, as `trinity devnet`
 * sets up) where nodes 0 and 1 both serve S3 with the default `s3.index: network`, each with its own
 * access key bound to that owner. What one gateway writes the other sees at once.
 */
let devnet: Devnet;
let close: (() => Promise<void>) | undefined;
const clients: S3Client[] = [];

async function gatewayClient(index: number, owner: string): Promise<S3Client> {
  const node = devnet.nodes[index]!;
  const store = await FileAccessKeyStore.open(accessKeysPath(node.dataDir));
  const key = await store.create(owner, Date.now());
  const s3 = new S3Client({
    endpoint: node.ready!.s3Url!,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretKey },
    maxAttempts: 1,
  });
  clients.push(s3);
  return s3;
}

async function bodyOf(s3: S3Client, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: 'shared', Key: key }));
  return Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

async function keysOf(s3: S3Client): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'shared' }));
  return (listed.Contents ?? []).map((entry) => entry.Key!);
}

let s0: S3Client;
let s1: S3Client;
let ownerKey: string;

beforeAll(async () => {
  ({ devnet, close } = await startDevnet(
    'trinity-s3-netindex-',
    {
      erasure: { dataShards: 2, parityShards: 1, shardBytes: 64 * 1024 },
      s3: { enabled: true, port: 0 },
      pos: { enabled: false },
    },
    { nodes: 4 },
  ));
  const owner = await loadOrCreateOwnerKey(join(dirname(devnet.nodes[0]!.dataDir), 'owner.key'));
  ownerKey = owner.publicKey;
  s0 = await gatewayClient(0, owner.publicKey);
  s1 = await gatewayClient(1, owner.publicKey);
}, 300_000);

afterAll(async () => {
  for (const s3 of clients) s3.destroy();
  await close?.();
}, 120_000);

describe('the network S3 index across two node processes of one owner', () => {
  it("node 1's gateway lists and reads, byte-identical, what node 0's just wrote", async () => {
    const body = patternBytes(200_000 + 13, 5);
    await s0.send(new CreateBucketCommand({ Bucket: 'shared' }));
    await s0.send(new PutObjectCommand({ Bucket: 'shared', Key: 'docs/a.bin', Body: body }));
    const buckets = await s1.send(new ListBucketsCommand({}));
    expect((buckets.Buckets ?? []).map((b) => b.Name)).toEqual(['shared']);
    expect(await keysOf(s1)).toEqual(['docs/a.bin']);
    expect(Buffer.compare(await bodyOf(s1, 'docs/a.bin'), Buffer.from(body))).toBe(0);
  }, 120_000);

  it("an overwrite and a delete through node 1 are seen by node 0's gateway at once", async () => {
    const second = patternBytes(70_001, 9);
    await s1.send(new PutObjectCommand({ Bucket: 'shared', Key: 'docs/a.bin', Body: second }));
    expect(Buffer.compare(await bodyOf(s0, 'docs/a.bin'), Buffer.from(second))).toBe(0);
    await s1.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'docs/a.bin' }));
    await expect(
      s0.send(new GetObjectCommand({ Bucket: 'shared', Key: 'docs/a.bin' })),
    ).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    expect(await keysOf(s0)).toEqual([]);
  }, 120_000);

  it('concurrent puts of different keys through both gateways all survive (no lost update)', async () => {
    const keys = Array.from({ length: 16 }, (_, i) => `c/${String(i).padStart(2, '0')}`);
    await Promise.all(
      keys.map((key, i) =>
        (i % 2 === 0 ? s0 : s1).send(
          new PutObjectCommand({ Bucket: 'shared', Key: key, Body: patternBytes(1000 + i, i + 1) }),
        ),
      ),
    );
    expect(await keysOf(s0)).toEqual(keys);
    expect(await keysOf(s1)).toEqual(keys);
    for (const [i, key] of keys.entries()) {
      expect(
        Buffer.compare(await bodyOf(i % 2 === 0 ? s1 : s0, key), Buffer.from(patternBytes(1000 + i, i + 1))),
      ).toBe(0);
    }
  }, 300_000);

  it('with a replica of the head group killed, both gateways still read and write (a majority is left)', async () => {
    // The group is recorded in the head, which node 0 keeps (it is a member, or learned it).
    const state = JSON.parse(
      await readFile(join(devnet.nodes[0]!.dataDir, 's3', 'index-heads', `${ownerKey}.json`), 'utf8'),
    ) as { learned: { group: string[] } };
    const group = state.learned.group;
    expect(group).toHaveLength(3);
    const victim = devnet.nodes.find((node) => node.index > 1 && group.includes(node.ready!.peerId))!;
    expect(victim).toBeDefined();
    await devnet.kill(victim.index);
    await until(
      'the gateways to see the node gone',
      async () => ((await devnet.peerCount(0)) === 2 && (await devnet.peerCount(1)) === 2 ? true : undefined),
      60_000,
    );
    const body = patternBytes(5000, 42);
    await s1.send(new PutObjectCommand({ Bucket: 'shared', Key: 'after-kill', Body: body }));
    expect(Buffer.compare(await bodyOf(s0, 'after-kill'), Buffer.from(body))).toBe(0);
    await s0.send(new DeleteObjectCommand({ Bucket: 'shared', Key: 'after-kill' }));
    expect(await keysOf(s1)).not.toContain('after-kill');
  }, 300_000);
});
