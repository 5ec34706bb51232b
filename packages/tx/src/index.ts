export {
  logConfigOf,
  NODE_ID_LENGTH_MAX,
  PAYLOAD_REF_LENGTH_MAX,
  REASON_LENGTH_MAX,
  TX_ID_LENGTH_MAX,
  TX_SHARDS_MAX,
  type TxConfig,
  type TxConfigInput,
  type TxLogConfig,
  type TxLogConfigInput,
  txConfigSchema,
  txLogConfigSchema,
} from './config.js';
export {
  Coordinator,
  type CoordinatorInit,
  type CoordinatorTxState,
  type CoordinatorTxStatus,
} from './coordinator.js';
export { crc32c } from './crc32c.js';
export type { CommitShard, StageShard, TxEffect, TxOutcome, Vote } from './effects.js';
export {
  type ExecuteOptions,
  TxEngine,
  type TxEngineInit,
  type TxParticipantSpec,
  type TxResult,
  type TxStagingHost,
  type TxTransport,
} from './engine.js';
export {
  SagaCompensationError,
  TxEngineStoppedError,
  TxError,
  type TxErrorCode,
  TxLimitError,
  TxLogClosedError,
  TxLogCorruptError,
  TxMessageError,
  TxNotFoundError,
  TxStateError,
} from './errors.js';
export { decodeFrames, encodeFrame, FRAME_HEADER_BYTES, LOG_MAGIC } from './log-codec.js';
export {
  type CoordCommitRecord,
  type CoordEndRecord,
  type CoordinatorRecord,
  isCoordinatorRecord,
  NODE_ID_PATTERN,
  nodeIdSchema,
  type PartCommitRecord,
  type PartEndRecord,
  type ParticipantRecord,
  type PartPreparedRecord,
  SHARD_HASH_PATTERN,
  shardHashSchema,
  TX_ID_PATTERN,
  type TxLogRecord,
  txIdSchema,
  txLogRecordSchema,
} from './log-record.js';
export { MemoryTxLog } from './memory-tx-log.js';
export {
  type AbortMessage,
  type AckMessage,
  type CommitMessage,
  type CoordinatorMessage,
  decodeTxMessage,
  encodeTxMessage,
  isCoordinatorMessage,
  type ParticipantMessage,
  type PrepareMessage,
  parseTxMessage,
  type StatusQueryMessage,
  type StatusReplyMessage,
  senderOf,
  TX_MESSAGE_BYTES_MAX,
  type TxMessage,
  txMessageSchema,
  type VoteMessage,
} from './messages.js';
export { OrphanSweep } from './orphans.js';
export { Participant, type ParticipantInit, type ParticipantTxState } from './participant.js';
export { SAGA_STEPS_MAX, type SagaResult, SagaRunner, type SagaRunnerInit, type SagaStep } from './saga.js';
export { type LockGrant, lockHolderId, type ShardLocks } from './shard-locks.js';
export { registerTxMetrics, TxStats } from './stats.js';
export { type AppendCallback, TxLog, type TxLogRecovery, type TxLogStore } from './tx-log.js';
