import { randomBytes } from 'node:crypto';
import type {
  AccessKeyStore,
  BucketRecord,
  KeyRange,
  ObjectEntry,
  PartRecord,
  PutCondition,
  PutHints,
  S3Backend,
  S3Index,
  StoredPiece,
  UploadRange,
  UploadRecord,
} from './backend.js';
import { conditionHolds } from './conditions.js';
import { S3Error } from './errors.js';
import { compareKeys } from './keys.js';

/**
 * In-memory implementations of the gateway's storage interfaces, for tests and examples only: one
 * process, nothing persisted, nothing replicated. Bounded so a test cannot exhaust memory.
 */

export interface InMemoryLimits {
  readonly objectsMax: number;
  readonly bytesMax: number;
}

/** Byte objects held in memory. */
export class InMemoryS3Backend implements S3Backend {
  readonly #objects = new Map<string, { owner: string; chunks: Uint8Array[]; sizeBytes: number }>();
  readonly #limits: InMemoryLimits;
  #bytes = 0;

  constructor(limits: InMemoryLimits = { objectsMax: 100_000, bytesMax: 1024 * 1024 * 1024 }) {
    this.#limits = limits;
  }

  get objectCount(): number {
    return this.#objects.size;
  }

  get storedBytes(): number {
    return this.#bytes;
  }

  async putObject(owner: string, bytes: AsyncIterable<Uint8Array>, _hints?: PutHints): Promise<StoredPiece> {
    if (this.#objects.size >= this.#limits.objectsMax)
      throw new S3Error('ServiceUnavailable', 'object store full');
    const chunks: Uint8Array[] = [];
    let sizeBytes = 0;
    // Nothing is kept until the source ends: a source that throws leaves no object behind.
    for await (const chunk of bytes) {
      sizeBytes += chunk.length;
      if (this.#bytes + sizeBytes > this.#limits.bytesMax)
        throw new S3Error('ServiceUnavailable', 'object store full');
      chunks.push(Uint8Array.from(chunk));
    }
    const id = randomBytes(16).toString('hex');
    this.#objects.set(id, { owner, chunks, sizeBytes });
    this.#bytes += sizeBytes;
    return { id, sizeBytes };
  }

  async *getObject(id: string, offsetBytes: number, lengthBytes: number): AsyncIterable<Uint8Array> {
    const object = this.#objects.get(id);
    if (object === undefined) throw new S3Error('InternalError', `stored object ${id} is missing`);
    let skip = offsetBytes;
    let left = lengthBytes;
    for (const chunk of object.chunks) {
      if (left === 0) return;
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      const piece = chunk.subarray(skip, Math.min(chunk.length, skip + left));
      skip = 0;
      left -= piece.length;
      yield piece;
    }
  }

  async deleteObject(id: string): Promise<void> {
    const object = this.#objects.get(id);
    if (object === undefined) return;
    this.#objects.delete(id);
    this.#bytes -= object.sizeBytes;
  }
}

interface MemoryBucket {
  readonly record: BucketRecord;
  /** Keys in `compareKeys` order. */
  readonly keys: string[];
  readonly objects: Map<string, ObjectEntry>;
  readonly uploads: Map<string, { record: UploadRecord; parts: Map<number, PartRecord> }>;
}

/** The bucket/key index held in memory: strongly consistent, trivially, within one process. */
export class InMemoryS3Index implements S3Index {
  readonly #buckets = new Map<string, MemoryBucket>();
  readonly #bucketsMax: number;

  constructor(bucketsMax = 1000) {
    this.#bucketsMax = bucketsMax;
  }

  /** An independent copy, in O(entries) without re-encoding (entries and records are never changed in place). */
  clone(): InMemoryS3Index {
    const copy = new InMemoryS3Index(this.#bucketsMax);
    for (const [name, bucket] of this.#buckets) {
      copy.#buckets.set(name, {
        record: bucket.record,
        keys: [...bucket.keys],
        objects: new Map(bucket.objects),
        uploads: new Map(
          [...bucket.uploads].map(([id, upload]) => [
            id,
            { record: upload.record, parts: new Map(upload.parts) },
          ]),
        ),
      });
    }
    return copy;
  }

  async listBuckets(owner: string): Promise<BucketRecord[]> {
    return [...this.#buckets.values()]
      .filter((b) => b.record.owner === owner)
      .map((b) => b.record)
      .sort((a, b) => compareKeys(a.name, b.name));
  }

  async getBucket(
    name: string,
    _options?: { readonly mayBeStale?: boolean },
  ): Promise<BucketRecord | undefined> {
    return this.#buckets.get(name)?.record;
  }

  async getBucketObject(
    bucket: string,
    key: string,
  ): Promise<{ readonly bucket: BucketRecord; readonly entry: ObjectEntry | undefined } | undefined> {
    const b = this.#buckets.get(bucket);
    return b === undefined ? undefined : { bucket: b.record, entry: b.objects.get(key) };
  }

  async createBucket(record: BucketRecord): Promise<BucketRecord | undefined> {
    const existing = this.#buckets.get(record.name);
    if (existing !== undefined) return existing.record;
    if (this.#buckets.size >= this.#bucketsMax) {
      throw new S3Error('InvalidRequest', `at most ${this.#bucketsMax} buckets`);
    }
    this.#buckets.set(record.name, { record, keys: [], objects: new Map(), uploads: new Map() });
    return undefined;
  }

  async deleteBucket(name: string): Promise<{ deleted: true; parts: PartRecord[] } | { deleted: false }> {
    const bucket = this.#bucket(name);
    if (bucket.keys.length > 0) return { deleted: false };
    this.#buckets.delete(name);
    return { deleted: true, parts: [...bucket.uploads.values()].flatMap((u) => [...u.parts.values()]) };
  }

  async getObject(bucket: string, key: string): Promise<ObjectEntry | undefined> {
    return this.#bucket(bucket).objects.get(key);
  }

  async putObject(
    bucket: string,
    key: string,
    entry: ObjectEntry,
    condition?: PutCondition,
  ): Promise<ObjectEntry | undefined> {
    const b = this.#bucket(bucket);
    const previous = b.objects.get(key);
    if (condition !== undefined && !conditionHolds(condition, previous)) {
      throw new S3Error(
        'PreconditionFailed',
        'at least one of the pre-conditions you specified did not hold',
        {
          Condition: 'ifNoneMatch' in condition ? 'If-None-Match' : 'If-Match',
        },
      );
    }
    if (previous === undefined) b.keys.splice(lowerBound(b.keys, key), 0, key);
    b.objects.set(key, entry);
    return previous;
  }

  async deleteObject(bucket: string, key: string): Promise<ObjectEntry | undefined> {
    const b = this.#bucket(bucket);
    const previous = b.objects.get(key);
    if (previous === undefined) return undefined;
    b.objects.delete(key);
    b.keys.splice(lowerBound(b.keys, key), 1);
    return previous;
  }

  async listObjects(bucket: string, range: KeyRange): Promise<Array<readonly [string, ObjectEntry]>> {
    const b = this.#bucket(bucket);
    const start = compareKeys(range.from, range.prefix) >= 0 ? range.from : range.prefix;
    let i = lowerBound(b.keys, start);
    if (start === range.from && !range.inclusive && b.keys[i] === range.from) i++;
    const out: Array<readonly [string, ObjectEntry]> = [];
    for (; i < b.keys.length && out.length < range.limit; i++) {
      const key = b.keys[i]!;
      if (!key.startsWith(range.prefix)) break;
      out.push([key, b.objects.get(key)!]);
    }
    return out;
  }

  async createUpload(bucket: string, upload: UploadRecord): Promise<void> {
    this.#bucket(bucket).uploads.set(upload.uploadId, { record: upload, parts: new Map() });
  }

  async getUpload(bucket: string, uploadId: string): Promise<UploadRecord | undefined> {
    return this.#bucket(bucket).uploads.get(uploadId)?.record;
  }

  async putPart(bucket: string, uploadId: string, part: PartRecord): Promise<PartRecord | undefined> {
    const upload = this.#upload(bucket, uploadId);
    const previous = upload.parts.get(part.partNumber);
    upload.parts.set(part.partNumber, part);
    return previous;
  }

  async listParts(
    bucket: string,
    uploadId: string,
    afterPartNumber: number,
    limit: number,
  ): Promise<PartRecord[]> {
    return [...this.#upload(bucket, uploadId).parts.values()]
      .filter((p) => p.partNumber > afterPartNumber)
      .sort((a, b) => a.partNumber - b.partNumber)
      .slice(0, limit);
  }

  async listUploads(bucket: string, range: UploadRange): Promise<UploadRecord[]> {
    return [...this.#bucket(bucket).uploads.values()]
      .map((u) => u.record)
      .filter((u) => u.key.startsWith(range.prefix))
      .filter((u) => {
        const c = compareKeys(u.key, range.afterKey);
        return c > 0 || (c === 0 && u.uploadId > range.afterUploadId);
      })
      .sort((a, b) => compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : 1))
      .slice(0, range.limit);
  }

  async abortUpload(bucket: string, uploadId: string): Promise<PartRecord[] | undefined> {
    const b = this.#bucket(bucket);
    const upload = b.uploads.get(uploadId);
    if (upload === undefined) return undefined;
    b.uploads.delete(uploadId);
    return [...upload.parts.values()];
  }

  async completeUpload(
    bucket: string,
    uploadId: string,
    key: string,
    entry: ObjectEntry,
  ): Promise<{ replaced: ObjectEntry | undefined; unusedParts: PartRecord[] }> {
    const upload = this.#upload(bucket, uploadId);
    const used = new Set(entry.pieces.map((p) => p.id));
    this.#bucket(bucket).uploads.delete(uploadId);
    const replaced = await this.putObject(bucket, key, entry);
    return { replaced, unusedParts: [...upload.parts.values()].filter((p) => !used.has(p.piece.id)) };
  }

  /**
   * The whole state as the mutations that rebuild it, in an order that replays cleanly (buckets
   * first, then objects, uploads and parts): what `FileS3Index` writes as a compacted log.
   */
  *records(): Generator<IndexRecord> {
    for (const bucket of this.#buckets.values()) {
      yield { op: 'createBucket', record: bucket.record };
      for (const key of bucket.keys)
        yield { op: 'putObject', bucket: bucket.record.name, key, entry: bucket.objects.get(key)! };
      for (const upload of bucket.uploads.values()) {
        yield { op: 'createUpload', bucket: bucket.record.name, upload: upload.record };
        for (const part of upload.parts.values()) {
          yield { op: 'putPart', bucket: bucket.record.name, uploadId: upload.record.uploadId, part };
        }
      }
    }
  }

  #bucket(name: string): MemoryBucket {
    const bucket = this.#buckets.get(name);
    if (bucket === undefined)
      throw new S3Error('NoSuchBucket', 'the specified bucket does not exist', { BucketName: name });
    return bucket;
  }

  #upload(bucket: string, uploadId: string): { record: UploadRecord; parts: Map<number, PartRecord> } {
    const upload = this.#bucket(bucket).uploads.get(uploadId);
    if (upload === undefined) {
      throw new S3Error('NoSuchUpload', 'the specified multipart upload does not exist', {
        UploadId: uploadId,
      });
    }
    return upload;
  }
}

/** One mutation of an S3Index, as `FileS3Index` logs it. */
export type IndexRecord =
  | { readonly op: 'createBucket'; readonly record: BucketRecord }
  | { readonly op: 'deleteBucket'; readonly name: string }
  | { readonly op: 'putObject'; readonly bucket: string; readonly key: string; readonly entry: ObjectEntry }
  | { readonly op: 'deleteObject'; readonly bucket: string; readonly key: string }
  | { readonly op: 'createUpload'; readonly bucket: string; readonly upload: UploadRecord }
  | { readonly op: 'putPart'; readonly bucket: string; readonly uploadId: string; readonly part: PartRecord }
  | { readonly op: 'abortUpload'; readonly bucket: string; readonly uploadId: string }
  | {
      readonly op: 'completeUpload';
      readonly bucket: string;
      readonly uploadId: string;
      readonly key: string;
      readonly entry: ObjectEntry;
    };

/** Applies one logged mutation to an index (replay). */
export async function applyRecord(index: S3Index, record: IndexRecord): Promise<void> {
  switch (record.op) {
    case 'createBucket':
      await index.createBucket(record.record);
      return;
    case 'deleteBucket':
      await index.deleteBucket(record.name);
      return;
    case 'putObject':
      await index.putObject(record.bucket, record.key, record.entry);
      return;
    case 'deleteObject':
      await index.deleteObject(record.bucket, record.key);
      return;
    case 'createUpload':
      await index.createUpload(record.bucket, record.upload);
      return;
    case 'putPart':
      await index.putPart(record.bucket, record.uploadId, record.part);
      return;
    case 'abortUpload':
      await index.abortUpload(record.bucket, record.uploadId);
      return;
    case 'completeUpload':
      await index.completeUpload(record.bucket, record.uploadId, record.key, record.entry);
      return;
  }
}

/** Access keys held in memory. */
export class InMemoryAccessKeyStore implements AccessKeyStore {
  readonly #keys = new Map<string, { secretKey: string; owner: string }>();

  add(accessKeyId: string, secretKey: string, owner: string): void {
    this.#keys.set(accessKeyId, { secretKey, owner });
  }

  async lookup(accessKeyId: string): Promise<{ secretKey: string; owner: string } | undefined> {
    return this.#keys.get(accessKeyId);
  }
}

/** The first index whose key is not before `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
