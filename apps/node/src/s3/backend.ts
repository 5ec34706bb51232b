/**
 * What the S3 gateway needs from the storage below it: two narrow interfaces the daemon implements.
 *
 * - `S3Backend` stores immutable byte objects (Trinity objects: owned, encrypted, erasure-coded).
 * - `S3Index` maps bucket → key → object, and tracks multipart uploads. It is metadata of the network,
 *   not of one node; see README "The index" for how the daemon's implementation should store it.
 *
 * The gateway computes ETags (MD5) and checks every signature and hash itself, so a backend sees only
 * bytes that an authenticated owner sent; it publishes nothing in the index until a body is complete
 * and verified.
 */

/** A stored byte object: one part of an S3 object's content. */
export interface StoredPiece {
  readonly id: string;
  readonly sizeBytes: number;
}

/** What the gateway knows about a body before it streams; a backend may plan stripes with it. */
export interface PutHints {
  /** The exact size when the request declared it (the stream is checked against it), else undefined. */
  readonly sizeBytes: number | undefined;
}

export interface S3Backend {
  /**
   * Stores the bytes as a new object owned by `owner` (an owner public key, hex). When `bytes` throws
   * (a bad signature, a client that went away), this rejects with that error and keeps nothing.
   */
  putObject(owner: string, bytes: AsyncIterable<Uint8Array>, hints?: PutHints): Promise<StoredPiece>;
  /**
   * Streams `lengthBytes` bytes of the object from `offsetBytes`. The caller has checked the range
   * against the object's size. Ranged reads fetch only what they need.
   */
  getObject(id: string, offsetBytes: number, lengthBytes: number): AsyncIterable<Uint8Array>;
  /** Frees the object; deleting one that is already gone is not an error. */
  deleteObject(id: string): Promise<void>;
}

/** One S3 object as the index records it. Immutable: an overwrite replaces the whole entry. */
export interface ObjectEntry {
  /** The content is these pieces concatenated: one for PutObject, one per part after multipart. */
  readonly pieces: readonly StoredPiece[];
  readonly sizeBytes: number;
  /** Without quotes: the MD5 hex, or `<md5 of md5s>-<parts>` after multipart. */
  readonly etag: string;
  readonly lastModifiedMs: number;
  readonly contentType: string;
  /** `x-amz-meta-*` names (lowercase, without the prefix) → values. */
  readonly userMetadata: Readonly<Record<string, string>>;
  /** Stored representation headers returned on GET: content-encoding, cache-control, … */
  readonly headers: Readonly<Record<string, string>>;
  /** A whole-object checksum the client sent with PutObject and the gateway verified. */
  readonly checksum?: { readonly algorithm: string; readonly valueBase64: string };
}

export interface BucketRecord {
  readonly name: string;
  readonly owner: string;
  readonly createdMs: number;
}

export interface UploadRecord {
  readonly uploadId: string;
  readonly key: string;
  readonly owner: string;
  readonly initiatedMs: number;
  readonly contentType: string;
  readonly userMetadata: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
}

export interface PartRecord {
  readonly partNumber: number;
  readonly piece: StoredPiece;
  /** MD5 hex of the part, without quotes. */
  readonly etag: string;
  readonly lastModifiedMs: number;
}

/** A conditional write: the key must not exist (`If-None-Match: *`), or must have this ETag (`If-Match`). */
export type PutCondition = { readonly ifNoneMatch: true } | { readonly ifMatchEtag: string };

/** Where a key listing starts: after (or at, when `inclusive`) `from`; keys outside `prefix` are skipped. */
export interface KeyRange {
  readonly from: string;
  readonly inclusive: boolean;
  readonly prefix: string;
  /** At most this many entries; the index may return fewer only when no more keys follow. */
  readonly limit: number;
}

export interface UploadRange {
  readonly prefix: string;
  /** Uploads with a key after this one, or with this key and an upload id after `afterUploadId`. */
  readonly afterKey: string;
  readonly afterUploadId: string;
  readonly limit: number;
}

/**
 * The bucket and key index. Every method is atomic on its own; read-after-write consistency is
 * expected (a put, then a get or list from any gateway, sees it). Keys order by `compareKeys`.
 * Methods that name a bucket throw `S3Error('NoSuchBucket')` when it does not exist.
 */
export interface S3Index {
  /** The owner's buckets, by name. */
  listBuckets(owner: string): Promise<BucketRecord[]>;
  /**
   * `mayBeStale`: a bucket this gateway has seen may be answered from what it last read, without
   * asking anyone (a bucket it has not seen is always looked up). Only for a caller whose next step is
   * a mutation that checks the bucket again, atomically (a PutObject's or UploadPart's index write):
   * it saves a network read per request and at worst stores a body the index then refuses.
   */
  getBucket(name: string, options?: { readonly mayBeStale?: boolean }): Promise<BucketRecord | undefined>;
  /**
   * The bucket and the entry of one of its keys, read together (one read: a network index asks its
   * head once). Undefined when the bucket does not exist; `entry` undefined when the key does not.
   */
  getBucketObject(
    bucket: string,
    key: string,
  ): Promise<{ readonly bucket: BucketRecord; readonly entry: ObjectEntry | undefined } | undefined>;
  /** Creates the bucket if the name is free; else returns the existing record and changes nothing. */
  createBucket(record: BucketRecord): Promise<BucketRecord | undefined>;
  /** Deletes the bucket if it holds no object; returns the pending uploads it dropped, to free their parts. */
  deleteBucket(name: string): Promise<{ deleted: true; parts: PartRecord[] } | { deleted: false }>;

  getObject(bucket: string, key: string): Promise<ObjectEntry | undefined>;
  /**
   * Sets the key; returns the entry it replaced, whose pieces the caller frees. With a `condition`
   * (S3 conditional writes) the check and the write are one atomic step; an unmet condition throws
   * `S3Error('PreconditionFailed')` and changes nothing.
   */
  putObject(
    bucket: string,
    key: string,
    entry: ObjectEntry,
    condition?: PutCondition,
  ): Promise<ObjectEntry | undefined>;
  /** Removes the key; returns the entry removed, if any. */
  deleteObject(bucket: string, key: string): Promise<ObjectEntry | undefined>;
  /** Entries in key order from `range.from`, only keys starting with `range.prefix`. */
  listObjects(bucket: string, range: KeyRange): Promise<Array<readonly [string, ObjectEntry]>>;

  createUpload(bucket: string, upload: UploadRecord): Promise<void>;
  getUpload(bucket: string, uploadId: string): Promise<UploadRecord | undefined>;
  /** Records a part; returns the part it replaced. Throws `S3Error('NoSuchUpload')` when the upload is gone. */
  putPart(bucket: string, uploadId: string, part: PartRecord): Promise<PartRecord | undefined>;
  /** Parts by number, after `afterPartNumber`. Throws `S3Error('NoSuchUpload')`. */
  listParts(bucket: string, uploadId: string, afterPartNumber: number, limit: number): Promise<PartRecord[]>;
  /** Uploads ordered by key (`compareKeys`), then upload id (the gateway makes ids time-ordered). */
  listUploads(bucket: string, range: UploadRange): Promise<UploadRecord[]>;
  /** Removes the upload; returns all its parts (the caller frees them), or undefined if it was gone. */
  abortUpload(bucket: string, uploadId: string): Promise<PartRecord[] | undefined>;
  /**
   * Atomically removes the upload and sets `key` to `entry`; returns the entry replaced and the parts
   * `entry` does not use (both for the caller to free). Throws `S3Error('NoSuchUpload')`.
   */
  completeUpload(
    bucket: string,
    uploadId: string,
    key: string,
    entry: ObjectEntry,
  ): Promise<{ replaced: ObjectEntry | undefined; unusedParts: PartRecord[] }>;
}

/** Access keys: an access key id → its secret and the owner public key it acts for. */
export interface AccessKeyStore {
  lookup(accessKeyId: string): Promise<{ readonly secretKey: string; readonly owner: string } | undefined>;
}
