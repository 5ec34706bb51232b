import type { TxLogRecord } from './log-record.js';
import type { TxMessage } from './messages.js';

export type TxOutcome = 'committed' | 'aborted';
export type Vote = 'commit' | 'abort';

/** One shard a participant asks its host to stage, with the opaque reference the coordinator gave. */
export interface StageShard {
  readonly shardHash: string;
  readonly ref: string;
}

/** One staged shard to make visible, with the fencing token of the lock that protects it. */
export interface CommitShard {
  readonly shardHash: string;
  readonly fencingToken: number;
}

/**
 * What a state machine asks its host to do. The host runs effects in order and answers the ones
 * that need an answer with an event:
 * - `send`: deliver `message` to node `to` (best effort: the protocol retries what matters).
 * - `append`: append `record` to the log; once durable, call `logged(record)`.
 * - `stage` (participant): durably stage the shards' payloads for `txId`; then `staged(txId, ok)`.
 * - `commitStaged`: make the staged shards visible, rejecting a stale fencing token; then
 *   `applied(txId)`; if it fails, say nothing: it is repeated every `commitRetryIntervalMs` and after a crash, so it must be idempotent.
 * - `abortStaged`: drop what was staged for `txId` (idempotent; nothing to answer).
 * - `purgeStaged`: at recovery, drop staged data of every transaction not in `keepTxIds`.
 * - `decided` / `finished` (coordinator): tell the client the outcome; `finished` once every
 *   participant acknowledged a commit (or at once for an abort).
 */
export type TxEffect =
  | { readonly kind: 'send'; readonly to: string; readonly message: TxMessage }
  | { readonly kind: 'append'; readonly record: TxLogRecord }
  | { readonly kind: 'stage'; readonly txId: string; readonly shards: readonly StageShard[] }
  | { readonly kind: 'commitStaged'; readonly txId: string; readonly shards: readonly CommitShard[] }
  | { readonly kind: 'abortStaged'; readonly txId: string; readonly shardHashes: readonly string[] }
  | { readonly kind: 'purgeStaged'; readonly keepTxIds: readonly string[] }
  | { readonly kind: 'decided'; readonly txId: string; readonly outcome: TxOutcome; readonly reason?: string }
  | { readonly kind: 'finished'; readonly txId: string; readonly outcome: TxOutcome };
