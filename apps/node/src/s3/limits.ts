/**
 * Fixed limits of the S3 protocol as Amazon S3 documents them. Every request is checked against
 * these before the gateway acts on it. Tunable settings live in `config.ts`.
 */
export const s3Limits = {
  /** Object keys are at most 1,024 bytes of UTF-8. */
  keyBytesMax: 1024,
  /** Bucket names are 3 to 63 characters. */
  bucketNameLengthMin: 3,
  bucketNameLengthMax: 63,
  /** All `x-amz-meta-*` names and values together, in bytes of UTF-8. */
  userMetadataBytesMax: 2048,
  /** Keys a ListObjects page may return; a larger `max-keys` is clamped to this. */
  listKeysMax: 1000,
  /** Keys one DeleteObjects request may name. */
  deleteObjectsKeysMax: 1000,
  /** Multipart: part numbers 1 to 10,000. */
  partNumberMax: 10_000,
  /** Multipart: every part but the last is at least 5 MiB. */
  partBytesMin: 5 * 1024 * 1024,
  /** Multipart: a part is at most 5 GiB. */
  partBytesMax: 5 * 1024 * 1024 * 1024,
  /** A single PutObject (or CopyObject) body is at most 5 GiB. */
  putObjectBytesMax: 5 * 1024 * 1024 * 1024,
  /** An object (after multipart) is at most 5 TiB. */
  objectBytesMax: 5 * 1024 ** 4,
  /** A presigned URL lives at most seven days. */
  presignExpiresSecondsMax: 7 * 24 * 3600,
  /** A signed request's clock may differ from ours by at most 15 minutes. */
  clockSkewMsMax: 15 * 60 * 1000,
  /** One aws-chunked chunk header (`<hex>;chunk-signature=<64 hex>\r\n`) or trailer line, in bytes. */
  chunkLineBytesMax: 4096,
  /** All trailer lines of an aws-chunked body together, in bytes. */
  trailerBytesMax: 16 * 1024,
} as const;
