import { TrinityError } from '@trinity/core';

/** Every `code` an error of @trinity/tx carries; stable across releases. */
export type TxErrorCode =
  | 'TX_LIMIT'
  | 'TX_NOT_FOUND'
  | 'TX_STATE'
  | 'TX_MESSAGE_INVALID'
  | 'TX_LOG_CORRUPT'
  | 'TX_LOG_CLOSED'
  | 'SAGA_COMPENSATION_FAILED'
  | 'TX_ENGINE_STOPPED';

/** The base of every error @trinity/tx throws on purpose; match on `code` or `name`. */
export class TxError<Code extends TxErrorCode = TxErrorCode> extends TrinityError<Code> {}

/** A limit of the config was reached: too many concurrent transactions, shards, or a full table. */
export class TxLimitError extends TxError<'TX_LIMIT'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TX_LIMIT', message, details === undefined ? {} : { details });
  }
}

/** No transaction with this id is known (never begun, or already finished and forgotten). */
export class TxNotFoundError extends TxError<'TX_NOT_FOUND'> {
  constructor(txId: string) {
    super('TX_NOT_FOUND', `transaction ${txId} is not known`, { details: { txId } });
  }
}

/** The call does not fit the transaction's current state (e.g. addParticipant after prepare). */
export class TxStateError extends TxError<'TX_STATE'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TX_STATE', message, details === undefined ? {} : { details });
  }
}

/** A protocol message or log record failed validation; never acted on. */
export class TxMessageError extends TxError<'TX_MESSAGE_INVALID'> {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TX_MESSAGE_INVALID', message, details === undefined ? {} : { details });
  }
}

/**
 * The transaction log is damaged before its tail: a record that is not the last one fails its
 * checksum or sequence. Never skipped: the node must stop and an operator must look.
 */
export class TxLogCorruptError extends TxError<'TX_LOG_CORRUPT'> {
  constructor(path: string, offset: number, reason: string) {
    super('TX_LOG_CORRUPT', `transaction log ${path} is corrupt at byte ${offset}: ${reason}`, {
      details: { path, offset, reason },
    });
  }
}

/** The log was closed (or failed earlier and stopped); nothing more can be appended. */
export class TxLogClosedError extends TxError<'TX_LOG_CLOSED'> {
  constructor(path: string, cause?: unknown) {
    super('TX_LOG_CLOSED', `transaction log ${path} is closed`, cause === undefined ? {} : { cause });
  }
}

/** A saga step failed and a compensation still failed after every retry: the saga is stuck. */
export class SagaCompensationError extends TxError<'SAGA_COMPENSATION_FAILED'> {
  readonly failedCompensations: readonly string[];

  constructor(sagaName: string, failedCompensations: readonly string[], cause: unknown) {
    super(
      'SAGA_COMPENSATION_FAILED',
      `saga ${sagaName}: compensation of ${failedCompensations.join(', ')} failed after every retry`,
      { cause, details: { sagaName, failedCompensations: [...failedCompensations] } },
    );
    this.failedCompensations = failedCompensations;
  }
}

/** The engine stopped (closed, or its log failed) while the transaction was in flight. */
export class TxEngineStoppedError extends TxError<'TX_ENGINE_STOPPED'> {
  constructor(reason: string, cause?: unknown) {
    super('TX_ENGINE_STOPPED', `transaction engine stopped: ${reason}`, cause === undefined ? {} : { cause });
  }
}
