import { hashHexPattern } from '@trinity/core';
import { z } from 'zod';
import { NODE_ID_LENGTH_MAX, TX_ID_LENGTH_MAX, TX_SHARDS_MAX } from './config.js';

/** The id rules as plain patterns (cheap on hot paths); the schemas below use the same ones. */
export const TX_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{1,${TX_ID_LENGTH_MAX}}$`);
export const NODE_ID_PATTERN = new RegExp(`^[\\x21-\\x7e]{1,${NODE_ID_LENGTH_MAX}}$`);
export const SHARD_HASH_PATTERN: RegExp = hashHexPattern;

/** A transaction id: 1 to 64 characters of [A-Za-z0-9_-] (generated ones are 32 hex characters). */
export const txIdSchema = z
  .string()
  .regex(TX_ID_PATTERN, `must be 1 to ${TX_ID_LENGTH_MAX} of [A-Za-z0-9_-]`);
/** A node id (e.g. a libp2p peer id): 1 to 64 printable ASCII characters without spaces. */
export const nodeIdSchema = z
  .string()
  .regex(NODE_ID_PATTERN, `must be 1 to ${NODE_ID_LENGTH_MAX} printable ASCII characters without spaces`);
/** A shard hash: SHA-256 as 64 lower-case hex characters. */
export const shardHashSchema = z.string().regex(SHARD_HASH_PATTERN, 'must be 64 lower-case hex characters');
const shardListSchema = z.array(shardHashSchema).min(1).max(TX_SHARDS_MAX);
const timeMsSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Coordinator: the commit decision. Durable before any participant is told; the commit point. */
export const coordCommitRecordSchema = z
  .object({
    type: z.literal('coord-commit'),
    txId: txIdSchema,
    participants: z
      .array(z.object({ node: nodeIdSchema, shards: shardListSchema }).strict())
      .min(1)
      .max(TX_SHARDS_MAX),
  })
  .strict();

/** Coordinator: every participant acknowledged the commit; the decision may be forgotten. */
export const coordEndRecordSchema = z.object({ type: z.literal('coord-end'), txId: txIdSchema }).strict();

/** Participant: shards staged and locked; durable before it votes commit. */
export const partPreparedRecordSchema = z
  .object({
    type: z.literal('part-prepared'),
    txId: txIdSchema,
    coordinator: nodeIdSchema,
    deadlineMs: timeMsSchema,
    shards: shardListSchema,
  })
  .strict();

/**
 * Participant, written by earlier versions only: told to commit, durable before it acknowledged and
 * applied. Still read, so such a log recovers (the commit is applied again).
 */
export const partCommitRecordSchema = z.object({ type: z.literal('part-commit'), txId: txIdSchema }).strict();

/** Participant: finished; kept until `retainUntilMs` so late duplicates of the prepare are refused. */
export const partEndRecordSchema = z
  .object({
    type: z.literal('part-end'),
    txId: txIdSchema,
    coordinator: nodeIdSchema,
    outcome: z.enum(['committed', 'aborted']),
    retainUntilMs: timeMsSchema,
  })
  .strict();

export const txLogRecordSchema = z.discriminatedUnion('type', [
  coordCommitRecordSchema,
  coordEndRecordSchema,
  partPreparedRecordSchema,
  partCommitRecordSchema,
  partEndRecordSchema,
]);

export type CoordCommitRecord = z.output<typeof coordCommitRecordSchema>;
export type CoordEndRecord = z.output<typeof coordEndRecordSchema>;
export type PartPreparedRecord = z.output<typeof partPreparedRecordSchema>;
export type PartCommitRecord = z.output<typeof partCommitRecordSchema>;
export type PartEndRecord = z.output<typeof partEndRecordSchema>;
/** One state change in the transaction log. Coordinator records start `coord-`, participant ones `part-`. */
export type TxLogRecord = z.output<typeof txLogRecordSchema>;
export type CoordinatorRecord = CoordCommitRecord | CoordEndRecord;
export type ParticipantRecord = PartPreparedRecord | PartCommitRecord | PartEndRecord;

export function isCoordinatorRecord(record: TxLogRecord): record is CoordinatorRecord {
  return record.type === 'coord-commit' || record.type === 'coord-end';
}
