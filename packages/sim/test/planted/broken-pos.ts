import { verifyProof } from '@trinity/storage';
import type { AnswerCheck, SimReceipt } from '../../src/index.js';

/**
 * Deliberately broken proof-of-storage challengers, for the planted-bug tests: the simulator must
 * catch each within 100 seeds while the real rules pass the same seeds.
 */

/**
 * Forgets the deadline: checks the answer as if it had arrived when the challenge was issued. An
 * on-demand fetcher's answer is otherwise perfect, so it passes.
 */
export const lateAcceptingCheck: AnswerCheck = (challenge, answer, commitment, holderKey) =>
  verifyProof(challenge, answer, commitment, holderKey, challenge.issuedAtMs);

/**
 * Challenges every receipt it knows, superseded ones too: after a rebalancing move the old holder
 * let the shard go, and it is asked anyway.
 */
export const everyReceipt = (receipts: readonly SimReceipt[]): readonly SimReceipt[] => receipts;
