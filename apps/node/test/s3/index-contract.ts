import { type Random, randomSeed, seededRandom } from '@trinity/core';
import { describe, expect, it } from 'vitest';
import type { ObjectEntry, PartRecord, S3Index } from '../../src/s3/backend.js';
import { compareKeys } from '../../src/s3/keys.js';

/**
 * The contract every `S3Index` keeps, as a reusable suite: run it against the in-memory index here
 * and against the daemon's network index when it exists (`s3IndexContract('mine', () => make())`).
 * Includes a seeded model-based fuzz (a Map and a sorted array as the model); a failure prints its
 * seed, and `S3_INDEX_SEED=<seed>` replays it.
 */

const entry = (n: number): ObjectEntry => ({
  pieces: [{ id: `piece-${n}`, sizeBytes: n }],
  sizeBytes: n,
  etag: n.toString(16).padStart(32, '0'),
  lastModifiedMs: n,
  contentType: 'application/octet-stream',
  userMetadata: { n: String(n) },
  headers: {},
});

const part = (partNumber: number, id: string): PartRecord => ({
  partNumber,
  piece: { id, sizeBytes: partNumber },
  etag: id.padStart(32, '0').slice(-32),
  lastModifiedMs: 0,
});

const upload = (uploadId: string, key: string) => ({
  uploadId,
  key,
  owner: 'owner',
  initiatedMs: 0,
  contentType: 'x/y',
  userMetadata: {},
  headers: {},
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { s3Code?: string }).s3Code;
  }
}

export function s3IndexContract(name: string, make: () => Promise<S3Index>): void {
  describe(`S3Index contract: ${name}`, () => {
    it('buckets: create once, list by owner in order, refuse deleting a non-empty one', async () => {
      const index = await make();
      expect(await index.createBucket({ name: 'bbb', owner: 'o1', createdMs: 1 })).toBeUndefined();
      expect(await index.createBucket({ name: 'aaa', owner: 'o1', createdMs: 2 })).toBeUndefined();
      expect(await index.createBucket({ name: 'ccc', owner: 'o2', createdMs: 3 })).toBeUndefined();
      expect((await index.createBucket({ name: 'bbb', owner: 'o2', createdMs: 4 }))?.owner).toBe('o1');
      expect((await index.listBuckets('o1')).map((b) => b.name)).toEqual(['aaa', 'bbb']);
      await index.putObject('aaa', 'k', entry(1));
      expect(await index.deleteBucket('aaa')).toEqual({ deleted: false });
      await index.deleteObject('aaa', 'k');
      expect((await index.deleteBucket('aaa')).deleted).toBe(true);
      expect(await index.getBucket('aaa')).toBeUndefined();
      expect(await codeOf(index.getObject('aaa', 'k'))).toBe('NoSuchBucket');
      expect(await codeOf(index.putObject('nope', 'k', entry(1)))).toBe('NoSuchBucket');
    });

    it('objects: put returns what it replaced, delete what it removed', async () => {
      const index = await make();
      await index.createBucket({ name: 'bkt', owner: 'o', createdMs: 0 });
      expect(await index.putObject('bkt', 'k', entry(1))).toBeUndefined();
      expect(await index.putObject('bkt', 'k', entry(2))).toEqual(entry(1));
      expect(await index.getObject('bkt', 'k')).toEqual(entry(2));
      expect(await index.deleteObject('bkt', 'k')).toEqual(entry(2));
      expect(await index.deleteObject('bkt', 'k')).toBeUndefined();
    });

    it('getBucketObject reads a bucket and one entry together; getBucket may be stale only about a bucket seen', async () => {
      const index = await make();
      expect(await index.getBucketObject('bkt', 'k')).toBeUndefined();
      expect(await index.getBucket('bkt', { mayBeStale: true })).toBeUndefined();
      await index.createBucket({ name: 'bkt', owner: 'o', createdMs: 5 });
      // Never stale about a bucket it has not seen: created now, found now.
      expect((await index.getBucket('bkt', { mayBeStale: true }))?.createdMs).toBe(5);
      expect(await index.getBucketObject('bkt', 'k')).toEqual({
        bucket: { name: 'bkt', owner: 'o', createdMs: 5 },
        entry: undefined,
      });
      await index.putObject('bkt', 'k', entry(3));
      expect(await index.getBucketObject('bkt', 'k')).toEqual({
        bucket: { name: 'bkt', owner: 'o', createdMs: 5 },
        entry: entry(3),
      });
      await index.deleteObject('bkt', 'k');
      await index.deleteBucket('bkt');
      expect(await index.getBucketObject('bkt', 'k')).toBeUndefined();
      expect(await index.getBucket('bkt')).toBeUndefined();
    });

    it('conditional puts check and write atomically', async () => {
      const index = await make();
      await index.createBucket({ name: 'bkt', owner: 'o', createdMs: 0 });
      const racers = await Promise.allSettled(
        [1, 2, 3].map((n) => index.putObject('bkt', 'c', entry(n), { ifNoneMatch: true })),
      );
      expect(racers.filter((r) => r.status === 'fulfilled').length).toBe(1);
      const winner = (await index.getObject('bkt', 'c'))!;
      expect(await codeOf(index.putObject('bkt', 'c', entry(9), { ifMatchEtag: 'nope' }))).toBe(
        'PreconditionFailed',
      );
      expect(await index.putObject('bkt', 'c', entry(9), { ifMatchEtag: winner.etag })).toEqual(winner);
      expect(await codeOf(index.putObject('bkt', 'missing', entry(1), { ifMatchEtag: winner.etag }))).toBe(
        'PreconditionFailed',
      );
      expect(await index.getObject('bkt', 'missing')).toBeUndefined();
    });

    it('multipart: parts replace by number, complete is atomic and reports unused parts, abort returns all', async () => {
      const index = await make();
      await index.createBucket({ name: 'bkt', owner: 'o', createdMs: 0 });
      await index.createUpload('bkt', upload('u2', 'b'));
      await index.createUpload('bkt', upload('u1', 'b'));
      await index.createUpload('bkt', upload('u3', 'a'));
      expect(
        (
          await index.listUploads('bkt', { prefix: '', afterKey: '', afterUploadId: '\uffff', limit: 10 })
        ).map((u) => u.uploadId),
      ).toEqual(['u3', 'u1', 'u2']);
      expect(
        (await index.listUploads('bkt', { prefix: '', afterKey: 'b', afterUploadId: 'u1', limit: 10 })).map(
          (u) => u.uploadId,
        ),
      ).toEqual(['u2']);
      expect(await index.putPart('bkt', 'u1', part(2, 'p2'))).toBeUndefined();
      expect(await index.putPart('bkt', 'u1', part(1, 'p1'))).toBeUndefined();
      expect(await index.putPart('bkt', 'u1', part(2, 'p2b'))).toEqual(part(2, 'p2'));
      expect(await index.putPart('bkt', 'u1', part(3, 'p3'))).toBeUndefined();
      expect((await index.listParts('bkt', 'u1', 0, 10)).map((p) => p.piece.id)).toEqual(['p1', 'p2b', 'p3']);
      expect((await index.listParts('bkt', 'u1', 1, 1)).map((p) => p.piece.id)).toEqual(['p2b']);
      const done = await index.completeUpload('bkt', 'u1', 'b', {
        ...entry(3),
        pieces: [part(1, 'p1').piece, part(2, 'p2b').piece],
      });
      expect(done.replaced).toBeUndefined();
      expect(done.unusedParts.map((p) => p.piece.id)).toEqual(['p3']);
      expect(await index.getUpload('bkt', 'u1')).toBeUndefined();
      expect((await index.getObject('bkt', 'b'))?.pieces.map((p) => p.id)).toEqual(['p1', 'p2b']);
      expect(await codeOf(index.putPart('bkt', 'u1', part(4, 'late')))).toBe('NoSuchUpload');
      expect(await codeOf(index.completeUpload('bkt', 'u1', 'b', entry(1)))).toBe('NoSuchUpload');
      await index.putPart('bkt', 'u2', part(1, 'q1'));
      expect((await index.abortUpload('bkt', 'u2'))?.map((p) => p.piece.id)).toEqual(['q1']);
      expect(await index.abortUpload('bkt', 'u2')).toBeUndefined();
    });

    it('seeded model-based fuzz: gets and listings agree with a Map and a sorted array', async () => {
      const seed = Number(process.env.S3_INDEX_SEED ?? randomSeed());
      try {
        await fuzz(await make(), seededRandom(seed), 400);
      } catch (error) {
        console.error(`S3Index fuzz failed; replay with S3_INDEX_SEED=${seed}`);
        throw error;
      }
    });
  });
}

const alphabet = ['a', 'b', '/', 'é', '\uE000', '𝄞'];

function randomKey(random: Random): string {
  let key = '';
  for (let n = random.int(1, 5); n > 0; n--) key += random.pick(alphabet);
  return key;
}

async function fuzz(index: S3Index, random: Random, steps: number): Promise<void> {
  await index.createBucket({ name: 'fuzz', owner: 'o', createdMs: 0 });
  const model = new Map<string, ObjectEntry>();
  for (let step = 0; step < steps; step++) {
    const key = randomKey(random);
    const roll = random.int(0, 9);
    if (roll < 5) {
      const e = entry(step);
      expect(await index.putObject('fuzz', key, e)).toEqual(model.get(key));
      model.set(key, e);
    } else if (roll < 7) {
      expect(await index.deleteObject('fuzz', key)).toEqual(model.get(key));
      model.delete(key);
    } else if (roll < 8) {
      expect(await index.getObject('fuzz', key)).toEqual(model.get(key));
    } else {
      const prefix = random.chance(0.5) ? '' : randomKey(random).slice(0, 1);
      const range = {
        from: randomKey(random),
        inclusive: random.chance(0.5),
        prefix,
        limit: random.int(1, 8),
      };
      const expected = [...model.keys()]
        .filter((k) => k.startsWith(prefix))
        .filter((k) => (range.inclusive ? compareKeys(k, range.from) >= 0 : compareKeys(k, range.from) > 0))
        .sort(compareKeys)
        .slice(0, range.limit);
      expect((await index.listObjects('fuzz', range)).map(([k]) => k)).toEqual(expected);
    }
  }
}
