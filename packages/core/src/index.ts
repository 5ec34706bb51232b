export {
  AeadStateError,
  type AeadTransform,
  aeadFormat,
  type CipherRange,
  cipherRange,
  createDecryptor,
  createEncryptor,
  DecryptionError,
  type DecryptionErrorCode,
  type Decryptor,
  type DecryptorInit,
  decrypt,
  decryptedSize,
  defaultSegmentBytes,
  type Encryptor,
  type EncryptorInit,
  encrypt,
  encryptedSize,
  generateObjectKey,
  pipeThrough,
} from './aead-segments.js';
export {
  type AesGcmBackendName,
  type AesGcmKey,
  aesGcmBackends,
  aesGcmKey,
  aesGcmLengths,
  BackendUnavailableError,
  nodeUpdateChunkBytes,
} from './aes-gcm.js';
export { assert, assertBytes, assertInt, assertNumber, describe, unreachable } from './assert.js';
export {
  bytesToUtf8,
  concatBytes,
  equalBytes,
  fromHex,
  isHex,
  randomBytes,
  toHex,
  utf8ToBytes,
  xorBytes,
} from './bytes.js';
export { type Clock, ManualClock, SystemClock, type TimerHandle } from './clock.js';
export {
  type ConfigInput,
  type ConfigOutput,
  type ConfigSchema,
  type ConfigSchemaResult,
  parseConfig,
} from './config.js';
export {
  type Ed25519,
  type Ed25519Verifier,
  ed25519,
  ed25519KeyCacheSize,
  ed25519Lengths,
  ed25519Portable,
  KeyFormatError,
} from './ed25519.js';
export {
  AssertionError,
  ConfigError,
  type ConfigIssue,
  type CoreErrorCode,
  isTrinityError,
  TrinityError,
} from './errors.js';
export {
  createSha256,
  createSha256Portable,
  type Sha256Hasher,
  sha256,
  sha256Backend,
  sha256Into,
  sha256Portable,
} from './hash.js';
export { hashHexPattern, isHashHex, isTxIdHex, txIdPattern } from './ids.js';
export {
  decodeReadCap,
  encodeReadCap,
  KeyUnwrapError,
  type KeyWrapInit,
  keyWrapFormat,
  type ReadCap,
  ReadCapError,
  readCapLength,
  readCapPrefix,
  unwrapObjectKey,
  wrapObjectKey,
} from './key-wrap.js';
export {
  type LogFields,
  type Logger,
  type LogLevel,
  type LogRecord,
  MemoryLogger,
  noopLogger,
} from './logger.js';
export {
  type Counter,
  type Gauge,
  type Histogram,
  type HistogramOptions,
  type Labels,
  MemoryMetrics,
  type MetricOptions,
  type Metrics,
  noopMetrics,
} from './metrics.js';
export { type Random, randomSeed, seededRandom, Xoshiro128 } from './random.js';
