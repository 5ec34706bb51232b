import { z } from 'zod';
import { PAYLOAD_REF_LENGTH_MAX, REASON_LENGTH_MAX, TX_SHARDS_MAX } from './config.js';
import { TxMessageError } from './errors.js';
import { nodeIdSchema, shardHashSchema, txIdSchema } from './log-record.js';
import { _checkTxMessage } from './message-check.js';

/** Largest JSON encoding of a valid message (a prepare of 64 shards with 256-character refs): a bound for the wire. */
export const TX_MESSAGE_BYTES_MAX = 32 * 1024;

const reasonSchema = z.string().max(REASON_LENGTH_MAX).optional();
const timeMsSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const uniqueShards = <T>(items: readonly T[], shardOf: (item: T) => string) =>
  new Set(items.map(shardOf)).size === items.length;

/** Coordinator → participant: stage and lock these shards, then vote. Refused after `deadlineMs`. */
export const prepareMessageSchema = z
  .object({
    type: z.literal('prepare'),
    txId: txIdSchema,
    coordinator: nodeIdSchema,
    deadlineMs: timeMsSchema,
    shards: z
      .array(
        z.object({ shard: shardHashSchema, ref: z.string().min(1).max(PAYLOAD_REF_LENGTH_MAX) }).strict(),
      )
      .min(1)
      .max(TX_SHARDS_MAX)
      .refine((shards) => uniqueShards(shards, (s) => s.shard), 'shards must be distinct'),
  })
  .strict();

/** Participant → coordinator: its vote for the shards it was asked to prepare. */
export const voteMessageSchema = z
  .object({
    type: z.literal('vote'),
    txId: txIdSchema,
    from: nodeIdSchema,
    vote: z.enum(['commit', 'abort']),
    shards: z
      .array(shardHashSchema)
      .min(1)
      .max(TX_SHARDS_MAX)
      .refine((shards) => uniqueShards(shards, (s) => s), 'shards must be distinct'),
    reason: reasonSchema,
  })
  .strict();

/** Coordinator → participant: the transaction committed (sent until acknowledged). */
export const commitMessageSchema = z
  .object({ type: z.literal('commit'), txId: txIdSchema, coordinator: nodeIdSchema })
  .strict();

/** Coordinator → participant: the transaction aborted (sent once: absence of a decision means abort). */
export const abortMessageSchema = z
  .object({ type: z.literal('abort'), txId: txIdSchema, coordinator: nodeIdSchema, reason: reasonSchema })
  .strict();

/** Participant → coordinator: the commit is durable here. */
export const ackMessageSchema = z
  .object({ type: z.literal('ack'), txId: txIdSchema, from: nodeIdSchema })
  .strict();

/** Participant in doubt → coordinator: what was decided? */
export const statusQueryMessageSchema = z
  .object({ type: z.literal('status-query'), txId: txIdSchema, from: nodeIdSchema })
  .strict();

/** Coordinator → participant: the decision, or `pending` while it is being made. Unknown means abort. */
export const statusReplyMessageSchema = z
  .object({
    type: z.literal('status-reply'),
    txId: txIdSchema,
    coordinator: nodeIdSchema,
    outcome: z.enum(['commit', 'abort', 'pending']),
  })
  .strict();

/** Every protocol message; validate what arrives from a peer with this before acting on it. */
export const txMessageSchema = z.discriminatedUnion('type', [
  prepareMessageSchema,
  voteMessageSchema,
  commitMessageSchema,
  abortMessageSchema,
  ackMessageSchema,
  statusQueryMessageSchema,
  statusReplyMessageSchema,
]);

export type PrepareMessage = z.output<typeof prepareMessageSchema>;
export type VoteMessage = z.output<typeof voteMessageSchema>;
export type CommitMessage = z.output<typeof commitMessageSchema>;
export type AbortMessage = z.output<typeof abortMessageSchema>;
export type AckMessage = z.output<typeof ackMessageSchema>;
export type StatusQueryMessage = z.output<typeof statusQueryMessageSchema>;
export type StatusReplyMessage = z.output<typeof statusReplyMessageSchema>;
export type TxMessage = z.output<typeof txMessageSchema>;
/** Messages a coordinator handles; the rest go to the participant. */
export type CoordinatorMessage = VoteMessage | AckMessage | StatusQueryMessage;
export type ParticipantMessage = PrepareMessage | CommitMessage | AbortMessage | StatusReplyMessage;

export function isCoordinatorMessage(message: TxMessage): message is CoordinatorMessage {
  return message.type === 'vote' || message.type === 'ack' || message.type === 'status-query';
}

/** The node that sent `message`, as it claims: hosts check it against the authenticated peer. */
export function senderOf(message: TxMessage): string {
  return 'from' in message ? message.from : message.coordinator;
}

/** Validates an untrusted value as a protocol message; TxMessageError with a one-line reason if it is not. */
export function parseTxMessage(input: unknown): TxMessage {
  if (_checkTxMessage(input)) return input;
  const result = txMessageSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
  throw new TxMessageError(`invalid tx message: ${where}: ${issue?.message ?? 'unknown'}`, {
    issues: result.error.issues.length,
  });
}

/** Shared codecs (a whole-input `decode` keeps no state between calls). */
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Decodes and validates a message from its JSON bytes, bounded by TX_MESSAGE_BYTES_MAX. */
export function decodeTxMessage(bytes: Uint8Array): TxMessage {
  if (bytes.length > TX_MESSAGE_BYTES_MAX) {
    throw new TxMessageError(`tx message of ${bytes.length} bytes exceeds ${TX_MESSAGE_BYTES_MAX}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    throw new TxMessageError('tx message is not UTF-8 JSON');
  }
  return parseTxMessage(value);
}

/** The JSON bytes of a message. */
export function encodeTxMessage(message: TxMessage): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(message));
}
