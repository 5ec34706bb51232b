import { describe, expect, it } from 'vitest';
import { InMemoryS3Index } from '../../src/s3/memory.js';
import { s3IndexContract } from './index-contract.js';

s3IndexContract('in-memory', async () => new InMemoryS3Index());

describe('InMemoryS3Index.clone', () => {
  it('is an independent copy: changes to either leave the other as it was', async () => {
    const entry = (n: number) => ({
      pieces: [{ id: `p${n}`, sizeBytes: n }],
      sizeBytes: n,
      etag: String(n).padStart(32, '0'),
      lastModifiedMs: n,
      contentType: 'x/y',
      userMetadata: {},
      headers: {},
    });
    const upload = {
      uploadId: 'u1',
      key: 'm',
      owner: 'o',
      initiatedMs: 0,
      contentType: 'x/y',
      userMetadata: {},
      headers: {},
    };
    const a = new InMemoryS3Index();
    await a.createBucket({ name: 'b', owner: 'o', createdMs: 1 });
    await a.putObject('b', 'k1', entry(1));
    await a.createUpload('b', upload);
    await a.putPart('b', 'u1', {
      partNumber: 1,
      piece: { id: 'part1', sizeBytes: 1 },
      etag: 'e'.repeat(32),
      lastModifiedMs: 0,
    });
    const before = [...a.records()];
    const b = a.clone();
    expect([...b.records()]).toEqual(before);
    await b.putObject('b', 'k0', entry(0));
    await b.deleteObject('b', 'k1');
    await b.putPart('b', 'u1', {
      partNumber: 2,
      piece: { id: 'part2', sizeBytes: 2 },
      etag: 'f'.repeat(32),
      lastModifiedMs: 0,
    });
    await b.createBucket({ name: 'c', owner: 'o', createdMs: 2 });
    expect([...a.records()]).toEqual(before);
    await a.abortUpload('b', 'u1');
    expect((await b.listParts('b', 'u1', 0, 10)).map((p) => p.partNumber)).toEqual([1, 2]);
    expect(
      (await b.listObjects('b', { from: '', inclusive: true, prefix: '', limit: 10 })).map(([k]) => k),
    ).toEqual(['k0']);
  });
});
