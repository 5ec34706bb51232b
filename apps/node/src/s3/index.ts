export { type AccessKeyRecord, accessKeysMax, FileAccessKeyStore, generateAccessKey } from './access-keys.js';
export type {
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
export { type S3GatewayConfig, type S3GatewayConfigInput, s3GatewayConfigSchema } from './config.js';
export { S3Error, type S3ErrorCode, s3ErrorStatus } from './errors.js';
export { FileS3Index, type FileS3IndexOptions } from './file-index.js';
export { S3Gateway, type S3GatewayComponents, s3Gateway } from './gateway.js';
export { compareKeys } from './keys.js';
export { abortStaleUploads } from './lifecycle.js';
export { s3Limits } from './limits.js';
export { type IndexRecord, InMemoryAccessKeyStore, InMemoryS3Backend, InMemoryS3Index } from './memory.js';
