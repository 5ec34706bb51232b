import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { noopLogger, SystemClock } from '@trinity/core';
import { afterAll, describe, expect, it } from 'vitest';
import { FileAccessKeyStore, generateAccessKey } from '../../src/s3/access-keys.js';
import { S3Gateway } from '../../src/s3/gateway.js';
import { InMemoryS3Backend, InMemoryS3Index } from '../../src/s3/memory.js';

const dirs: string[] = [];
const owner = 'c'.repeat(64);

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trinity-s3-keys-'));
  dirs.push(dir);
  return join(dir, 's3-keys.json');
}

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('access keys', () => {
  it('generated keys have the documented form and do not repeat', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const key = generateAccessKey(owner, 1);
      expect(key.accessKeyId).toMatch(/^TRN[A-Z2-7]{17}$/);
      expect(key.secretKey).toMatch(/^[A-Za-z0-9+/]{40}$/);
      ids.add(key.accessKeyId);
    }
    expect(ids.size).toBe(200);
    expect(() => generateAccessKey('not hex', 1)).toThrow(RangeError);
  });

  it('the file store keeps keys across reopening, with mode 0600, and revokes', async () => {
    const path = await tempFile();
    const store = await FileAccessKeyStore.open(path);
    const a = await store.create(owner, 10);
    const b = await store.create('d'.repeat(64), 11);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const again = await FileAccessKeyStore.open(path);
    expect(await again.lookup(a.accessKeyId)).toMatchObject({ secretKey: a.secretKey, owner });
    expect(again.list(owner)).toEqual([{ accessKeyId: a.accessKeyId, owner, createdMs: 10 }]);
    expect(JSON.stringify(again.list())).not.toContain(a.secretKey);
    expect(await again.revoke(b.accessKeyId)).toBe(true);
    expect(await again.revoke(b.accessKeyId)).toBe(false);
    expect(await (await FileAccessKeyStore.open(path)).lookup(b.accessKeyId)).toBeUndefined();
  });

  it('a malformed file is refused with its name', async () => {
    const path = await tempFile();
    await writeFile(path, JSON.stringify({ version: 1, keys: [{ accessKeyId: 'x' }] }));
    await expect(FileAccessKeyStore.open(path)).rejects.toThrow(/s3-keys\.json is malformed/);
  });

  it('a created key signs requests the gateway accepts; a revoked one is refused', async () => {
    const store = await FileAccessKeyStore.open(await tempFile());
    const key = await store.create(owner, Date.now());
    const gateway = new S3Gateway(
      { port: 0 },
      {
        backend: new InMemoryS3Backend(),
        index: new InMemoryS3Index(),
        accessKeys: store,
        clock: new SystemClock(),
        logger: noopLogger,
      },
    );
    await gateway.start();
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${gateway.port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretKey },
      maxAttempts: 1,
    });
    try {
      expect((await client.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
      await store.revoke(key.accessKeyId);
      await expect(client.send(new ListBucketsCommand({}))).rejects.toMatchObject({
        name: 'InvalidAccessKeyId',
      });
    } finally {
      client.destroy();
      await gateway.stop();
    }
  });
});
