export {
  decodeEvent,
  EVENT_MAGIC,
  EVENT_VERSION,
  encodeEvent,
  encodeUnsigned,
  SIGNATURE_BYTES,
  signedPart,
} from './codec.js';
export {
  AMOUNT_MAX,
  amountSchema,
  BPS,
  type EconomicsConfig,
  type EconomicsConfigInput,
  EVENT_BYTES_MAX,
  economicsConfigSchema,
  GENESIS_ACCOUNTS_MAX,
  type Genesis,
  type GenesisInput,
  genesisSchema,
  nodeIdSchema,
  SLASH_REASONS,
  type SlashReason,
} from './config.js';
export { trimCount, trimmedMean } from './consensus.js';
export {
  EconomicsError,
  type EconomicsErrorCode,
  EconomicsLimitError,
  EventFormatError,
  EventFromFutureError,
  EventReplayError,
  EventSequenceError,
  EventSignatureError,
  EventTooLargeError,
  type RejectionCode,
} from './errors.js';
export { type EscrowDecision, type EscrowRound, type EscrowStatus, splitProRata } from './escrow.js';
export { compareEvents } from './event-heap.js';
export {
  type EconomicsEvent,
  EVENT_TYPES,
  type EventBody,
  type EventOf,
  type EventType,
  economicsEventSchema,
  escrowIdOf,
  escrowIdSchema,
  eventToJson,
  hash32Schema,
} from './events.js';
export type { LedgerCounters } from './ledger.js';
export { type Reputation, reporterScore } from './reputation.js';
export { SharedApply, type SharedApplyStats } from './shared.js';
export { EventSigner, type SignEventOptions, signEvent } from './signer.js';
export { type ApplyResult, EconomicsState, type EconomicsStateInit } from './state.js';
export type { EscrowView, NodeSummary } from './views.js';
