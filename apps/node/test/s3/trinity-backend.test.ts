import '../../src/polyfill.js';
import { randomBytes } from 'node:crypto';
import { noopLogger } from '@trinity/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrinityNode } from '../../src/node/trinity-node.js';
import type { S3Backend } from '../../src/s3/backend.js';
import { S3Error } from '../../src/s3/errors.js';
import { TrinityS3Backend } from '../../src/s3/trinity-backend.js';
import { putObject, startNodes, tempDir } from '../helpers.js';
import { s3BackendContract } from './backend-contract.js';

/**
 * The Trinity-backed S3 backend over three in-process nodes (RS(2,1), small shards so a few hundred
 * KiB spans several stripes). Node 2 acts for another owner key than nodes 0 and 1.
 */
let nodes: TrinityNode[];
let close: (() => Promise<void>) | undefined;
let keys: Awaited<ReturnType<typeof tempDir>> | undefined;

beforeAll(async () => {
  keys = await tempDir('trinity-s3-backend-keys-');
  const otherOwnerKey = `${keys.path}/owner-2.key`;
  ({ nodes, close } = await startNodes('trinity-s3-backend-', 3, (i) => ({
    erasure: { dataShards: 2, parityShards: 1, shardBytes: 16 * 1024 },
    trust: { segmentBytes: 8 * 1024, ...(i === 2 ? { ownerKeyFile: otherOwnerKey } : {}) },
    fsync: false,
  })));
}, 300_000);

afterAll(async () => {
  await close?.();
  await keys?.remove();
}, 120_000);

function backendOf(node: TrinityNode): TrinityS3Backend {
  return new TrinityS3Backend({ objects: node.objects, logger: noopLogger });
}

/** The contract names its owner 'owner': here that is node 0's owner key. */
function asNodeOwner(backend: TrinityS3Backend, owner: string): S3Backend {
  return {
    putObject: (_owner, bytes, hints) => backend.putObject(owner, bytes, hints),
    getObject: (id, offset, length) => backend.getObject(id, offset, length),
    deleteObject: (id) => backend.deleteObject(id),
  };
}

s3BackendContract('trinity (3 in-process nodes)', async () => ({
  backend: asNodeOwner(backendOf(nodes[0]!), nodes[0]!.owner),
}));

async function read(backend: S3Backend, id: string, offset: number, length: number): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const piece of backend.getObject(id, offset, length)) out.push(Buffer.from(piece));
  return Buffer.concat(out);
}

async function* from(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

describe('TrinityS3Backend', () => {
  it('stores pieces as encrypted objects signed by the node owner, readable from another node', async () => {
    const data = randomBytes(100_000);
    const piece = await backendOf(nodes[0]!).putObject(nodes[0]!.owner, from(data), {
      sizeBytes: data.length,
    });
    const handle = await nodes[1]!.objects.open(piece.id);
    expect(handle.descriptor.owner).toBe(nodes[0]!.owner);
    expect(handle.encrypted).toBe(true);
    expect(handle.size).toBe(data.length);
    expect((await read(backendOf(nodes[1]!), piece.id, 99_000, 1000)).equals(data.subarray(99_000))).toBe(
      true,
    );
  });

  it('refuses an owner the node does not act for, and objects of another owner, with AccessDenied', async () => {
    expect(nodes[2]!.owner).not.toBe(nodes[0]!.owner);
    const backend = backendOf(nodes[0]!);
    await expect(backend.putObject(nodes[2]!.owner, from(Buffer.from('x')))).rejects.toMatchObject({
      s3Code: 'AccessDenied',
      status: 403,
    });
    // Stored by node 2 as its owner, encrypted and public: node 0 reads and deletes neither.
    for (const isPublic of [false, true]) {
      const id = await putObject(nodes[2]!.apiUrl, randomBytes(2000), 'foreign.bin', { public: isPublic });
      await expect(read(backend, id, 0, 10)).rejects.toBeInstanceOf(S3Error);
      await expect(read(backend, id, 0, 10)).rejects.toMatchObject({ s3Code: 'AccessDenied' });
      await expect(backend.deleteObject(id)).rejects.toMatchObject({ s3Code: 'AccessDenied' });
      expect((await nodes[2]!.objects.open(id)).size).toBe(2000);
    }
  });

  it('a deleted piece reads as NoSuchKey', async () => {
    const backend = backendOf(nodes[0]!);
    const piece = await backend.putObject(nodes[0]!.owner, from(Buffer.from('gone soon')));
    await backend.deleteObject(piece.id);
    await expect(read(backend, piece.id, 0, 4)).rejects.toMatchObject({ s3Code: 'NoSuchKey' });
  });
});
