import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ObjectEntry } from '../../src/s3/backend.js';
import { FileS3Index } from '../../src/s3/file-index.js';
import { s3IndexContract } from './index-contract.js';

const dirs: string[] = [];
const opened: FileS3Index[] = [];

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'trinity-s3-index-'));
  dirs.push(dir);
  return join(dir, 'index.log');
}

async function openIndex(path: string): Promise<FileS3Index> {
  const index = await FileS3Index.open(path);
  opened.push(index);
  return index;
}

afterAll(async () => {
  for (const index of opened) await index.close().catch(() => {});
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

s3IndexContract('file-backed', async () => openIndex(await tempPath()));

const entry = (n: number): ObjectEntry => ({
  pieces: [{ id: `p${n}`, sizeBytes: n }],
  sizeBytes: n,
  etag: 'e'.repeat(32),
  lastModifiedMs: n,
  contentType: 'text/plain',
  userMetadata: { k: 'v\nwith newline \u2028' },
  headers: {},
});

async function populate(index: FileS3Index): Promise<void> {
  await index.createBucket({ name: 'bkt', owner: 'o', createdMs: 1 });
  for (let i = 0; i < 20; i++) await index.putObject('bkt', `key/${i}`, entry(i));
  await index.deleteObject('bkt', 'key/3');
  await index.createUpload('bkt', {
    uploadId: 'u'.repeat(32),
    key: 'mp',
    owner: 'o',
    initiatedMs: 5,
    contentType: 'x/y',
    userMetadata: {},
    headers: {},
  });
  await index.putPart('bkt', 'u'.repeat(32), {
    partNumber: 1,
    piece: { id: 'q', sizeBytes: 1 },
    etag: 'f'.repeat(32),
    lastModifiedMs: 6,
  });
}

describe('FileS3Index persistence', () => {
  it('reopening replays every acknowledged mutation', async () => {
    const path = await tempPath();
    const first = await FileS3Index.open(path);
    await populate(first);
    const before = [...first.records()];
    await first.close();
    const second = await openIndex(path);
    expect([...second.records()]).toEqual(before);
    expect(await second.getObject('bkt', 'key/3')).toBeUndefined();
    expect((await second.getObject('bkt', 'key/4'))?.userMetadata).toEqual({ k: 'v\nwith newline \u2028' });
  });

  it('a torn last line is cut off; the records before it survive', async () => {
    const path = await tempPath();
    const first = await FileS3Index.open(path);
    await populate(first);
    const before = [...first.records()];
    await first.close();
    const intact = await readFile(path);
    await appendFile(path, '0badc0de {"op":"putObject","bucket":"bkt","ke');
    const second = await openIndex(path);
    expect([...second.records()]).toEqual(before);
    expect((await readFile(path)).length).toBe(intact.length);
    await second.putObject('bkt', 'after', entry(99));
    await second.close();
    const third = await openIndex(path);
    expect((await third.getObject('bkt', 'after'))?.sizeBytes).toBe(99);
  });

  it('a log mostly of overwrites is compacted on open, to the same state', async () => {
    const path = await tempPath();
    const first = await FileS3Index.open(path);
    await populate(first);
    for (let i = 0; i < 30; i++) await first.putObject('bkt', 'key/0', entry(100 + i));
    const before = [...first.records()];
    await first.close();
    const grownBytes = (await readFile(path)).length;
    const second = await FileS3Index.open(path, { compactRecordsMin: 10, compactRatio: 2 });
    opened.push(second);
    expect([...second.records()]).toEqual(before);
    expect((await readFile(path)).length).toBeLessThan(grownBytes);
    await second.deleteObject('bkt', 'key/1');
    await second.close();
    const third = await openIndex(path);
    expect(await third.getObject('bkt', 'key/1')).toBeUndefined();
    expect((await third.getObject('bkt', 'key/0'))?.sizeBytes).toBe(129);
  });

  it('a bad line in the middle is corruption and refuses to open', async () => {
    const path = await tempPath();
    const first = await FileS3Index.open(path);
    await populate(first);
    await first.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[3] = lines[3]!.replace('key', 'kez');
    await writeFile(path, lines.join('\n'));
    await expect(FileS3Index.open(path)).rejects.toThrow(/corrupt at line 4/);
  });
});
