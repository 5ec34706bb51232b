import { TrinityError } from '@trinity/core';

/** Every code an economics error carries: stable across releases, match on these. */
export type EconomicsErrorCode =
  | 'EVENT_INVALID'
  | 'EVENT_TOO_LARGE'
  | 'EVENT_SIGNATURE_INVALID'
  | 'EVENT_REPLAYED'
  | 'EVENT_OUT_OF_SEQUENCE'
  | 'EVENT_FROM_FUTURE'
  | 'ECONOMICS_LIMIT';

/** The base of the errors below: an event refused before it touched the state. */
export class EconomicsError extends TrinityError {
  declare readonly code: EconomicsErrorCode;

  constructor(code: EconomicsErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? {} : { details });
  }
}

/** An event (object or bytes) breaks the schema: a bad field, a non-canonical encoding, trailing bytes. */
export class EventFormatError extends EconomicsError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('EVENT_INVALID', message, details);
  }
}

/** An encoded event is longer than `EVENT_BYTES_MAX`; refused before decoding. */
export class EventTooLargeError extends EconomicsError {
  constructor(sizeBytes: number, sizeBytesMax: number) {
    super('EVENT_TOO_LARGE', `event is ${sizeBytes} bytes, at most ${sizeBytesMax} allowed`, {
      sizeBytes,
      sizeBytesMax,
    });
  }
}

/** The signature is not the actor's over the event's canonical encoding. */
export class EventSignatureError extends EconomicsError {
  constructor(actor: string, seq: number) {
    super('EVENT_SIGNATURE_INVALID', `event ${actor.slice(0, 16)}…/${seq} has an invalid signature`, {
      actor,
      seq,
    });
  }
}

/** The actor already has an event with this sequence number (a duplicate or an equivocation). */
export class EventReplayError extends EconomicsError {
  constructor(actor: string, seq: number, lastSeq: number) {
    super('EVENT_REPLAYED', `event ${actor.slice(0, 16)}…/${seq} is a replay (last seq ${lastSeq})`, {
      actor,
      seq,
      lastSeq,
    });
  }
}

/**
 * The event does not follow the actor's last one: a gap in sequence numbers (deliver the missing
 * ones first) or a time earlier than the actor's previous event.
 */
export class EventSequenceError extends EconomicsError {
  constructor(message: string, details: Record<string, unknown>) {
    super('EVENT_OUT_OF_SEQUENCE', message, details);
  }
}

/** A live event is stamped further ahead of this node's clock than `clockSkewMaxMs`: retry it later. */
export class EventFromFutureError extends EconomicsError {
  constructor(timeMs: number, nowMs: number, clockSkewMaxMs: number) {
    super(
      'EVENT_FROM_FUTURE',
      `event time ${timeMs} is more than ${clockSkewMaxMs} ms after now (${nowMs})`,
      {
        timeMs,
        nowMs,
        clockSkewMaxMs,
      },
    );
  }
}

/** A configured bound is reached (events held, genesis size). */
export class EconomicsLimitError extends EconomicsError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ECONOMICS_LIMIT', message, details);
  }
}

/**
 * Why a well-formed, correctly signed, in-sequence event had no effect. Such an event is still part
 * of the history (its sequence number is used): its effect is decided at its place in the canonical
 * order, the same on every node, so it is an outcome, not an error.
 */
export type RejectionCode =
  | 'AMOUNT_ZERO'
  | 'INSUFFICIENT_BALANCE'
  | 'INSUFFICIENT_STAKE'
  | 'INSUFFICIENT_DELEGATION'
  | 'NOT_AN_OPERATOR'
  | 'SELF_DELEGATION'
  | 'DELEGATION_LIMIT'
  | 'UNBONDING_LIMIT'
  | 'NOTHING_TO_WITHDRAW'
  | 'COMMISSION_TOO_HIGH'
  | 'SELF_REPORT'
  | 'REPORT_TOO_LARGE'
  | 'EVIDENCE_LIMIT'
  | 'REPORTER_NOT_STAKED'
  | 'NOTHING_TO_SLASH'
  | 'ESCROW_LIMIT'
  | 'ESCROW_NOT_FOUND'
  | 'NOT_ACCUSED'
  | 'DISPUTE_WINDOW_CLOSED'
  | 'NOT_VOTING'
  | 'SELF_VOTE'
  | 'REPORTER_VOTE'
  | 'VOTER_NOT_STAKED'
  | 'ALREADY_VOTED'
  | 'VOTE_LIMIT'
  | 'NOT_APPEALABLE'
  | 'NOT_ENTITLED_TO_APPEAL';
