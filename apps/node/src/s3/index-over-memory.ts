import type {
  BucketRecord,
  KeyRange,
  ObjectEntry,
  PartRecord,
  PutCondition,
  S3Index,
  UploadRange,
  UploadRecord,
} from './backend.js';
import type { IndexRecord, InMemoryS3Index } from './memory.js';

/**
 * An `S3Index` whose state is an `InMemoryS3Index`, made durable by a subclass: reads go to the
 * index `read()` gives, and every mutation goes through `mutate(record, apply)`, which applies it
 * to the index and persists it the subclass's way (`FileS3Index`: a log line, fsynced;
 * `NetworkS3Index`: a new snapshot under a compare-and-set head). `createBucket` is the subclass's
 * (each checks for an existing bucket its own way).
 */
export abstract class IndexOverMemory implements S3Index {
  /** The index reads see. */
  protected abstract read(): Promise<InMemoryS3Index>;
  /**
   * The index as this gateway last read or wrote it, if it may be behind (`getBucket`'s
   * `mayBeStale`); by default the one reads see.
   */
  protected readRecent(): Promise<InMemoryS3Index> {
    return this.read();
  }
  /** Applies a mutation (described by `record`) to the index and makes it durable. */
  protected abstract mutate<T>(
    record: IndexRecord,
    apply: (index: InMemoryS3Index) => Promise<T>,
  ): Promise<T>;

  abstract createBucket(record: BucketRecord): Promise<BucketRecord | undefined>;

  listBuckets(owner: string): Promise<BucketRecord[]> {
    return this.read().then((index) => index.listBuckets(owner));
  }

  async getBucket(
    name: string,
    options?: { readonly mayBeStale?: boolean },
  ): Promise<BucketRecord | undefined> {
    if (options?.mayBeStale === true) {
      const recent = await (await this.readRecent()).getBucket(name);
      if (recent !== undefined) return recent;
    }
    return (await this.read()).getBucket(name);
  }

  getBucketObject(
    bucket: string,
    key: string,
  ): Promise<{ readonly bucket: BucketRecord; readonly entry: ObjectEntry | undefined } | undefined> {
    return this.read().then((index) => index.getBucketObject(bucket, key));
  }

  deleteBucket(name: string): Promise<{ deleted: true; parts: PartRecord[] } | { deleted: false }> {
    return this.mutate({ op: 'deleteBucket', name }, (index) => index.deleteBucket(name));
  }

  getObject(bucket: string, key: string): Promise<ObjectEntry | undefined> {
    return this.read().then((index) => index.getObject(bucket, key));
  }

  putObject(
    bucket: string,
    key: string,
    entry: ObjectEntry,
    condition?: PutCondition,
  ): Promise<ObjectEntry | undefined> {
    // The condition is checked on the index under the mutation's exclusion; the record is the outcome.
    return this.mutate({ op: 'putObject', bucket, key, entry }, (index) =>
      index.putObject(bucket, key, entry, condition),
    );
  }

  deleteObject(bucket: string, key: string): Promise<ObjectEntry | undefined> {
    return this.mutate({ op: 'deleteObject', bucket, key }, (index) => index.deleteObject(bucket, key));
  }

  listObjects(bucket: string, range: KeyRange): Promise<Array<readonly [string, ObjectEntry]>> {
    return this.read().then((index) => index.listObjects(bucket, range));
  }

  createUpload(bucket: string, upload: UploadRecord): Promise<void> {
    return this.mutate({ op: 'createUpload', bucket, upload }, (index) => index.createUpload(bucket, upload));
  }

  getUpload(bucket: string, uploadId: string): Promise<UploadRecord | undefined> {
    return this.read().then((index) => index.getUpload(bucket, uploadId));
  }

  putPart(bucket: string, uploadId: string, part: PartRecord): Promise<PartRecord | undefined> {
    return this.mutate({ op: 'putPart', bucket, uploadId, part }, (index) =>
      index.putPart(bucket, uploadId, part),
    );
  }

  listParts(bucket: string, uploadId: string, afterPartNumber: number, limit: number): Promise<PartRecord[]> {
    return this.read().then((index) => index.listParts(bucket, uploadId, afterPartNumber, limit));
  }

  listUploads(bucket: string, range: UploadRange): Promise<UploadRecord[]> {
    return this.read().then((index) => index.listUploads(bucket, range));
  }

  abortUpload(bucket: string, uploadId: string): Promise<PartRecord[] | undefined> {
    return this.mutate({ op: 'abortUpload', bucket, uploadId }, (index) =>
      index.abortUpload(bucket, uploadId),
    );
  }

  completeUpload(
    bucket: string,
    uploadId: string,
    key: string,
    entry: ObjectEntry,
  ): Promise<{ replaced: ObjectEntry | undefined; unusedParts: PartRecord[] }> {
    return this.mutate({ op: 'completeUpload', bucket, uploadId, key, entry }, (index) =>
      index.completeUpload(bucket, uploadId, key, entry),
    );
  }
}
