import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ObjectEntry } from '../../src/s3/backend.js';
import { compareKeys, prefixSuccessor } from '../../src/s3/keys.js';
import {
  commonPrefixOf,
  decodeContinuationToken,
  encodeContinuationToken,
  listPage,
} from '../../src/s3/listing.js';
import { InMemoryS3Index } from '../../src/s3/memory.js';
import { uploadsPage } from '../../src/s3/multipart-ops.js';

const entry = (sizeBytes: number): ObjectEntry => ({
  pieces: [],
  sizeBytes,
  etag: 'e',
  lastModifiedMs: 0,
  contentType: 'application/octet-stream',
  userMetadata: {},
  headers: {},
});

/** The slow reference: every item at once, rolled up and filtered by the rules in listing.ts. */
function referenceListing(keys: string[], prefix: string, delimiter: string, startAfter: string): string[] {
  const items = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix) || compareKeys(key, startAfter) <= 0) continue;
    const rollUp = commonPrefixOf(key, prefix, delimiter);
    if (rollUp !== undefined && compareKeys(rollUp, startAfter) <= 0) continue;
    items.add(rollUp ?? key);
  }
  return [...items].sort(compareKeys);
}

// Characters chosen to hit the corners: the delimiter, a BMP character above the surrogates (sorts
// before astral characters in UTF-8 but after them in UTF-16) and an astral one.
const char = fc.constantFrom('a', 'b', '/', 'é', '\uE000', '𝄞', '\u{10FFFF}');
const key = fc.array(char, { minLength: 1, maxLength: 6 }).map((cs) => cs.join(''));

describe('compareKeys', () => {
  it('is UTF-8 byte order (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }),
        fc.string({ unit: 'binary', maxLength: 12 }),
        (a, b) => {
          const expected = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
          expect(Math.sign(compareKeys(a, b))).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('prefixSuccessor sorts after every extension of the prefix and before everything else after it', () => {
    fc.assert(
      fc.property(key, key, (p, other) => {
        const next = prefixSuccessor(p);
        if (next === undefined) return;
        expect(compareKeys(p + other, next)).toBeLessThan(0);
        if (!other.startsWith(p) && compareKeys(other, p) > 0)
          expect(compareKeys(other, next)).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('listPage', () => {
  it('pages of any size concatenate to the reference listing (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(key, { maxLength: 30 }),
        fc.array(char, { maxLength: 2 }).map((cs) => cs.join('')),
        fc.constantFrom('', '/', 'b', 'a/'),
        fc.option(key, { nil: '' }),
        fc.integer({ min: 1, max: 6 }),
        async (keys, prefix, delimiter, startAfter, maxKeys) => {
          const index = new InMemoryS3Index();
          await index.createBucket({ name: 'b', owner: 'o', createdMs: 0 });
          for (const [i, k] of keys.entries()) await index.putObject('b', k, entry(i));
          const expected = referenceListing(keys, prefix, delimiter, startAfter);
          const got: string[] = [];
          let after = startAfter;
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThanOrEqual(expected.length + 1);
            const page = await listPage((range) => index.listObjects('b', range), {
              prefix,
              delimiter,
              startAfter: after,
              maxKeys,
            });
            const items = [...page.contents.map(([k]) => k), ...page.commonPrefixes].sort(compareKeys);
            expect(items.length).toBeLessThanOrEqual(maxKeys);
            got.push(...items);
            if (!page.isTruncated) break;
            expect(items.length).toBe(maxKeys);
            after = page.lastItem!;
            expect(after).toBe(items.at(-1));
          }
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('max-keys 0 answers an empty, untruncated page', async () => {
    const index = new InMemoryS3Index();
    await index.createBucket({ name: 'b', owner: 'o', createdMs: 0 });
    await index.putObject('b', 'k', entry(1));
    const page = await listPage((r) => index.listObjects('b', r), {
      prefix: '',
      delimiter: '',
      startAfter: '',
      maxKeys: 0,
    });
    expect(page).toMatchObject({ contents: [], commonPrefixes: [], isTruncated: false });
  });

  it('continuation tokens round-trip and malformed ones are refused', () => {
    for (const item of ['a', 'photos/', '𝄞/é'])
      expect(decodeContinuationToken(encodeContinuationToken(item))).toBe(item);
    for (const bad of ['', '!!', 'a=', 'YR', '_w']) {
      expect(() => decodeContinuationToken(bad)).toThrow(/continuation token/);
    }
  });
});

describe('uploadsPage', () => {
  it('pages of any size list every upload and common prefix exactly once (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(key, fc.integer({ min: 0, max: 3 })), { maxLength: 20 }),
        fc.array(char, { maxLength: 1 }).map((cs) => cs.join('')),
        fc.constantFrom('', '/', 'b'),
        fc.integer({ min: 1, max: 4 }),
        async (specs, prefix, delimiter, maxUploads) => {
          const index = new InMemoryS3Index();
          await index.createBucket({ name: 'b', owner: 'o', createdMs: 0 });
          const ids = new Set<string>();
          for (const [i, [k, n]] of specs.entries()) {
            const uploadId = `${n}${String(i).padStart(31, '0')}`;
            ids.add(uploadId);
            await index.createUpload('b', {
              uploadId,
              key: k,
              owner: 'o',
              initiatedMs: 0,
              contentType: '',
              userMetadata: {},
              headers: {},
            });
          }
          const expected = new Set<string>();
          for (const [i, [k, n]] of specs.entries()) {
            if (!k.startsWith(prefix)) continue;
            const cp = commonPrefixOf(k, prefix, delimiter);
            expected.add(cp === undefined ? `${k}#${n}${String(i).padStart(31, '0')}` : `${cp}*`);
          }
          const got: string[] = [];
          let keyMarker = '';
          let uploadIdMarker = '';
          for (let pages = 0; ; pages++) {
            expect(pages).toBeLessThanOrEqual(expected.size + 1);
            const page = await uploadsPage((r) => index.listUploads('b', r), {
              prefix,
              delimiter,
              keyMarker,
              uploadIdMarker,
              maxUploads,
            });
            const items = [
              ...page.uploads.map((u) => `${u.key}#${u.uploadId}`),
              ...page.commonPrefixes.map((c) => `${c}*`),
            ];
            expect(items.length).toBeLessThanOrEqual(maxUploads);
            got.push(...items);
            if (!page.truncated) break;
            keyMarker = page.next!.key;
            uploadIdMarker = page.next!.uploadId;
          }
          expect(got.length).toBe(new Set(got).size);
          expect(new Set(got)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
