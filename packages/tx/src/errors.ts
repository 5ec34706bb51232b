import { TrinityError } from '@trinity/core';

/** A limit of the config was reached: too many concurrent transactions, shards, or a full table. */
export class TxLimitError extends TrinityError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TX_LIMIT', message, details === undefined ? {} : { details });
  }
}

/** No transaction with this id is known (never begun, or already finished and forgotten). */
export class TxNotFoundError extends TrinityError {
  constructor(txId: string) {
    super('TX_NOT_FOUND', `transaction ${txId} is not known`, { details: { txId } });
  }
}

/** The call does not fit the transaction's current state (e.g. addParticipant after prepare). */
export class TxStateError extends TrinityError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TX_STATE', message, details === undefined ? {} : { details });
  }
}

/** A protocol message or log record failed validation; never acted on. */
export class TxMessageError extends TrinityError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('TX_MESSAGE_INVALID', message, details === undefined ? {} : { details });
  }
}

/**
 * The transaction log is damaged before its tail: a record that is not the last one fails its
 * checksum or sequence. Never skipped: the node must stop and an operator must look.
 */
export class TxLogCorruptError extends TrinityError {
  constructor(path: string, offset: number, reason: string) {
    super('TX_LOG_CORRUPT', `transaction log ${path} is corrupt at byte ${offset}: ${reason}`, {
      details: { path, offset, reason },
    });
  }
}

/** The log was closed (or failed earlier and stopped); nothing more can be appended. */
export class TxLogClosedError extends TrinityError {
  constructor(path: string, cause?: unknown) {
    super('TX_LOG_CLOSED', `transaction log ${path} is closed`, cause === undefined ? {} : { cause });
  }
}

/** A saga step failed and a compensation still failed after every retry: the saga is stuck. */
export class SagaCompensationError extends TrinityError {
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
export class TxEngineStoppedError extends TrinityError {
  constructor(reason: string, cause?: unknown) {
    super('TX_ENGINE_STOPPED', `transaction engine stopped: ${reason}`, cause === undefined ? {} : { cause });
  }
}
