import {
  assertBytes,
  assertInt,
  concatBytes,
  describe,
  ed25519,
  equalBytes,
  fromHex,
  sha256,
  toHex,
  utf8ToBytes,
} from '@trinity/core';
import { z } from 'zod';
import {
  type CheckResult,
  fail,
  formatIssues,
  hash32Hex,
  hexBytes,
  signingBytes,
  signingDomains,
  timeMs,
} from './_signed.js';
import type { CanonicalValue } from './canonical-json.js';
import type { ShardCommitment } from './descriptor.js';
import { ChallengeInvalidError } from './errors.js';
import {
  expectedLeafLength,
  MerkleTree,
  merkleLeafCount,
  merkleLeafHash,
  merkleLimits,
  verifyMerkleLeafHashPath,
} from './merkle.js';

/**
 * Proof-of-storage (Sia-style), verifiable by any node that knows the shard's owner-signed
 * commitment (hash and Merkle root), without holding the shard:
 *
 * 1. The challenger draws a fresh random 32-byte nonce and calls createChallenge. The leaves asked
 *    for are derived from the nonce and the root by hashing, so the holder cannot know them before
 *    the challenge arrives, and anyone can recompute them from the challenge.
 * 2. The holder answers with those leaves and their Merkle paths, signed with its node key over the
 *    whole challenge (nonce included) and the leaf hashes, so the answer is bound to this challenge
 *    and to this holder and cannot be replayed for another.
 * 3. Any node checks the answer against the commitment with verifyProof, at the time it received it.
 *    An answer received after the deadline fails as `late`: a holder that does not keep the bytes and
 *    fetches them from another holder when challenged must not pass. See the README for the deadline.
 */

/** Bounds on challenges and answers. */
export const proofLimits = {
  leavesPerChallengeMax: 64,
  /** Longest time between issuing a challenge and its deadline. */
  windowMsMax: 10 * 60_000,
  /** Sibling hashes in a path of a tree of merkleLimits.leavesMax leaves. */
  pathLengthMax: 20,
} as const;

/** A deadline suited to a holder answering from its own disk over the network; see the README. */
export const proofWindowMsDefault = 2_000;

/** Leaves asked for unless the caller says otherwise (detects a holder missing 5 % of a shard with p > 0.96). */
export const leavesPerChallengeDefault = 64;

const leafBytesSchema = z
  .number()
  .int()
  .min(merkleLimits.leafBytesMin)
  .max(merkleLimits.leafBytesMax)
  .refine((n) => (n & (n - 1)) === 0, 'must be a power of two');

export const challengeSchema = z
  .object({
    shardHash: hash32Hex,
    merkleRoot: hash32Hex,
    sizeBytes: z
      .number()
      .int()
      .min(0)
      .max(merkleLimits.leavesMax * merkleLimits.leafBytesMax),
    leafBytes: leafBytesSchema,
    nonce: hexBytes(32),
    issuedAtMs: timeMs,
    deadlineMs: timeMs,
    leafIndices: z
      .array(
        z
          .number()
          .int()
          .min(0)
          .max(merkleLimits.leavesMax - 1),
      )
      .min(1)
      .max(proofLimits.leavesPerChallengeMax),
  })
  .strict()
  .refine((c) => c.deadlineMs > c.issuedAtMs && c.deadlineMs - c.issuedAtMs <= proofLimits.windowMsMax, {
    path: ['deadlineMs'],
    message: `must be after issuedAtMs by at most ${proofLimits.windowMsMax} ms`,
  })
  .refine((c) => c.sizeBytes <= merkleLimits.leavesMax * c.leafBytes, {
    path: ['sizeBytes'],
    message: `must be at most ${merkleLimits.leavesMax} leaves`,
  });

/** A proof-of-storage challenge: which shard (by commitment), the nonce, the deadline and the leaves it derives. */
export type Challenge = z.output<typeof challengeSchema>;

const bytesOf = (length: number) =>
  z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === length, `must be ${length} bytes`);

export const proofAnswerSchema = z
  .object({
    holder: bytesOf(32),
    leaves: z
      .array(
        z
          .object({
            index: z
              .number()
              .int()
              .min(0)
              .max(merkleLimits.leavesMax - 1),
            data: z.custom<Uint8Array>(
              (v) => v instanceof Uint8Array && v.length <= merkleLimits.leafBytesMax,
              `must be at most ${merkleLimits.leafBytesMax} bytes`,
            ),
            path: z.array(bytesOf(32)).max(proofLimits.pathLengthMax),
          })
          .strict(),
      )
      .min(1)
      .max(proofLimits.leavesPerChallengeMax),
    signature: bytesOf(64),
  })
  .strict();

/** A holder's answer: the leaves asked for (unpadded), their paths, its node key and signature. */
export type ProofAnswer = z.output<typeof proofAnswerSchema>;

/**
 * The leaves a challenge with `nonce` asks of a shard: `count` distinct indices (all of them when the
 * shard has no more), drawn from SHA-256(domain || 0 || nonce || root || counter) without modulo bias,
 * sorted ascending.
 */
export function challengeLeafIndices(
  nonce: Uint8Array,
  merkleRoot: Uint8Array,
  leafCount: number,
  count: number,
): number[] {
  assertBytes(nonce, 'nonce', 32);
  assertBytes(merkleRoot, 'merkleRoot', 32);
  assertInt(leafCount, 'leafCount', 1, merkleLimits.leavesMax);
  assertInt(count, 'count', 1, proofLimits.leavesPerChallengeMax);
  if (count >= leafCount) return Array.from({ length: leafCount }, (_, i) => i);
  const seed = concatBytes(
    utf8ToBytes(signingDomains.challengeLeaves),
    Uint8Array.of(0),
    nonce,
    merkleRoot,
    new Uint8Array(4),
  );
  const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
  // A 48-bit draw accepted below the largest multiple of leafCount: uniform, and rarely rejected.
  const limit = Math.floor(2 ** 48 / leafCount) * leafCount;
  const picked = new Set<number>();
  for (let counter = 0; picked.size < count; counter++) {
    view.setUint32(seed.length - 4, counter);
    const digest = sha256(seed);
    const draw =
      new DataView(digest.buffer, digest.byteOffset, 6).getUint16(0) * 2 ** 32 +
      new DataView(digest.buffer, digest.byteOffset + 2, 4).getUint32(0);
    if (draw < limit) picked.add(draw % leafCount);
  }
  return [...picked].sort((a, b) => a - b);
}

export interface ChallengeInput {
  readonly commitment: ShardCommitment;
  /** 32 fresh random bytes from the challenger's cryptographic random source, never reused. */
  readonly nonce: Uint8Array;
  readonly nowMs: number;
  /** The time (ms since the epoch) by which the answer must have arrived. */
  readonly deadlineMs: number;
  readonly leavesPerChallenge?: number;
}

/** Builds a challenge. Throws ChallengeInvalidError for a bad window, commitment or leaf count. */
export function createChallenge(input: ChallengeInput): Challenge {
  const { commitment, nonce, nowMs, deadlineMs } = input;
  const leavesPerChallenge = input.leavesPerChallenge ?? leavesPerChallengeDefault;
  if (
    !Number.isSafeInteger(leavesPerChallenge) ||
    leavesPerChallenge < 1 ||
    leavesPerChallenge > proofLimits.leavesPerChallengeMax
  ) {
    throw new ChallengeInvalidError(
      `leavesPerChallenge must be 1-${proofLimits.leavesPerChallengeMax}, got ${describe(leavesPerChallenge)}`,
    );
  }
  if (!(nonce instanceof Uint8Array) || nonce.length !== 32) {
    throw new ChallengeInvalidError(`nonce must be 32 bytes, got ${describe(nonce)}`);
  }
  let leafCount: number;
  try {
    leafCount = merkleLeafCount(commitment.sizeBytes, commitment.leafBytes);
  } catch (cause) {
    throw new ChallengeInvalidError(`bad commitment: ${(cause as Error).message}`);
  }
  const challenge = {
    shardHash: commitment.shardHash,
    merkleRoot: commitment.merkleRoot,
    sizeBytes: commitment.sizeBytes,
    leafBytes: commitment.leafBytes,
    nonce: toHex(nonce),
    issuedAtMs: nowMs,
    deadlineMs,
    leafIndices: hex32.test(commitment.merkleRoot)
      ? challengeLeafIndices(nonce, fromHex(commitment.merkleRoot), leafCount, leavesPerChallenge)
      : [],
  };
  // The schema would find nothing to refuse in a challenge whose hashes and times hold: the rest
  // was checked above (nonce, sizes by merkleLeafCount) or derived here (the indices, none when the
  // root is not hex). Anything else is parsed, for the schema's error.
  if (!builtFieldsHold(challenge)) return parseChallenge(challenge);
  Object.freeze(challenge.leafIndices);
  parsedChallenges.add(Object.freeze(challenge));
  builtChallenges.add(challenge);
  return challenge;
}

const hex32 = /^[0-9a-f]{64}$/;

/** What `challengeSchema` checks of a challenge createChallenge built that createChallenge did not check already. */
function builtFieldsHold(c: Challenge): boolean {
  const isTimeMs = (t: number) => Number.isSafeInteger(t) && t >= 0;
  return (
    typeof c.shardHash === 'string' &&
    hex32.test(c.shardHash) &&
    typeof c.merkleRoot === 'string' &&
    c.leafIndices.length > 0 &&
    isTimeMs(c.issuedAtMs) &&
    isTimeMs(c.deadlineMs) &&
    c.deadlineMs > c.issuedAtMs &&
    c.deadlineMs - c.issuedAtMs <= proofLimits.windowMsMax
  );
}

/**
 * Challenges this module built or parsed (fresh objects, frozen with their leaf indices): they have
 * not changed since, so answering and verifying them does not parse them again. A challenger that
 * hands its challenge object along (a simulator does) has it parsed once; one off the wire (a
 * spread copy, a decoded request) is parsed as before.
 */
const parsedChallenges = new WeakSet<object>();

/**
 * The challenges of `parsedChallenges` that createChallenge built: it derived their leaf indices
 * from their own nonce and root, so verifyProof does not derive them again.
 */
const builtChallenges = new WeakSet<object>();

/** `schema.safeParse(value)`, skipped for an object in `known` (one this module vouches for). */
function safeParseUnlessKnown<T>(
  known: WeakSet<object>,
  schema: z.ZodType<T>,
  value: unknown,
): z.ZodSafeParseResult<T> {
  if (typeof value === 'object' && value !== null && known.has(value))
    return { success: true, data: value as T };
  return schema.safeParse(value);
}

/** `challengeSchema.safeParse`, skipped for a challenge parsed before. */
function safeParseChallenge(challenge: unknown): z.ZodSafeParseResult<Challenge> {
  const parsed = safeParseUnlessKnown(parsedChallenges, challengeSchema, challenge);
  // A fresh parse (zod returns a new object; a known challenge comes back as itself).
  if (parsed.success && parsed.data !== challenge) {
    Object.freeze(parsed.data.leafIndices);
    parsedChallenges.add(Object.freeze(parsed.data));
  }
  return parsed;
}

/** Checks a challenge's fields, or throws ChallengeInvalidError naming the fields that broke. */
function parseChallenge(challenge: unknown): Challenge {
  const parsed = safeParseChallenge(challenge);
  if (!parsed.success) throw new ChallengeInvalidError(`invalid challenge: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** Where a holder reads the challenged leaves: the shard in memory, or its tree and a leaf reader. */
export type ShardSource =
  | Uint8Array
  | {
      readonly tree: MerkleTree;
      /** The unpadded bytes of leaf `index` (a disk read of one page with 4 KiB leaves). */
      readLeaf(index: number): Uint8Array | Promise<Uint8Array>;
    };

function answerBody(
  challenge: Challenge,
  holder: Uint8Array,
  leafHashes: readonly Uint8Array[],
): CanonicalValue {
  return { challenge, holder: toHex(holder), leafHashes: leafHashes.map(toHex) };
}

/** A source whose leaves are read synchronously: the shard in memory, or its tree and a synchronous leaf reader. */
export type SyncShardSource =
  | Uint8Array
  | {
      readonly tree: MerkleTree;
      readLeaf(index: number): Uint8Array;
    };

/** The tree of `source`, checked against the challenged commitment. */
function challengedTree(c: Challenge, source: ShardSource): MerkleTree {
  const tree = source instanceof Uint8Array ? MerkleTree.fromBytes(source, c.leafBytes) : source.tree;
  if (tree.leafBytes !== c.leafBytes || tree.sizeBytes !== c.sizeBytes || toHex(tree.root) !== c.merkleRoot) {
    throw new ChallengeInvalidError('the shard held does not match the challenged commitment', {
      shardHash: c.shardHash,
    });
  }
  return tree;
}

/** The leaf of `index` in a shard held in memory (unpadded). */
function leafOf(c: Challenge, shard: Uint8Array, index: number): Uint8Array {
  const start = index * c.leafBytes;
  return shard.subarray(start, start + expectedLeafLength(index, c.sizeBytes, c.leafBytes));
}

/**
 * Answers this module signed (frozen with their leaves and paths, each field already of the
 * schema's shape): verifying one a holder handed along in-process (a simulator does) does not parse
 * it again. One off the wire (a decoded message, a spread copy) is parsed as before.
 */
const signedAnswers = new WeakSet<object>();

/**
 * Checks each leaf read against the tree and signs the answer. The tree was checked against the
 * committed root (`challengedTree`) and a MerkleTree's levels hash up to its root, so a leaf of the
 * right length whose hash is the tree's leaf hash has a path to the root: one hash per leaf, not the
 * whole path again.
 */
function signedAnswer(
  c: Challenge,
  tree: MerkleTree,
  data: readonly Uint8Array[],
  holderSecretKey: Uint8Array,
): ProofAnswer {
  const leaves: ProofAnswer['leaves'][number][] = [];
  const leafHashes: Uint8Array[] = [];
  for (const [i, index] of c.leafIndices.entries()) {
    const leaf = data[i]!;
    const hash =
      leaf instanceof Uint8Array && leaf.length === expectedLeafLength(index, c.sizeBytes, c.leafBytes)
        ? merkleLeafHash(leaf, c.leafBytes)
        : undefined;
    if (hash === undefined || !equalBytes(hash, tree.leafHash(index))) {
      throw new ChallengeInvalidError(`leaf ${index} read does not match the shard's tree`, {
        shardHash: c.shardHash,
        index,
      });
    }
    leaves.push({ index, data: leaf, path: tree.path(index) });
    leafHashes.push(hash);
  }
  const holder = ed25519.publicKey(holderSecretKey);
  const message = signingBytes(signingDomains.proofAnswer, answerBody(c, holder, leafHashes));
  const answer: ProofAnswer = { holder, leaves, signature: ed25519.sign(message, holderSecretKey) };
  for (const leaf of leaves) Object.freeze(Object.freeze(leaf).path);
  Object.freeze(leaves);
  signedAnswers.add(Object.freeze(answer));
  return answer;
}

/**
 * Answers a challenge from the holder's copy of the shard, signed with its node secret key. Throws
 * ChallengeInvalidError when the challenge is malformed or the bytes held are not the committed
 * shard (a holder must not send an answer that is bound to fail).
 */
export async function answerChallenge(
  challenge: Challenge,
  source: ShardSource,
  holderSecretKey: Uint8Array,
): Promise<ProofAnswer> {
  const c = parseChallenge(challenge);
  const tree = challengedTree(c, source);
  const data: Uint8Array[] = [];
  for (const index of c.leafIndices)
    data.push(source instanceof Uint8Array ? leafOf(c, source, index) : await source.readLeaf(index));
  return signedAnswer(c, tree, data, holderSecretKey);
}

/**
 * `answerChallenge` for a source read synchronously (the shard in memory, or its tree and a
 * synchronous leaf reader): the same answer, returned at once. For callers that cannot await, such
 * as a deterministic simulation driving virtual time.
 */
export function answerChallengeSync(
  challenge: Challenge,
  source: SyncShardSource,
  holderSecretKey: Uint8Array,
): ProofAnswer {
  const c = parseChallenge(challenge);
  const tree = challengedTree(c, source);
  const data = c.leafIndices.map((index) =>
    source instanceof Uint8Array ? leafOf(c, source, index) : source.readLeaf(index),
  );
  return signedAnswer(c, tree, data, holderSecretKey);
}

export type ProofFailure =
  | 'malformed'
  | 'late'
  | 'wrong-commitment'
  | 'bad-challenge'
  | 'wrong-holder'
  | 'wrong-leaves'
  | 'bad-path'
  | 'bad-signature';

function sameCommitment(c: Challenge, commitment: ShardCommitment): boolean {
  return (
    c.shardHash === commitment.shardHash &&
    c.merkleRoot === commitment.merkleRoot &&
    c.sizeBytes === commitment.sizeBytes &&
    c.leafBytes === commitment.leafBytes
  );
}

/**
 * Checks an answer received at `nowMs` against the challenge, the shard's owner-signed commitment and
 * the holder expected to answer. Pass, or fail with the first reason found, cheapest checks first:
 * malformed, late (nowMs after the deadline), wrong-commitment (the challenge is for another shard),
 * bad-challenge (its leaf indices are not the ones its nonce derives), wrong-holder, wrong-leaves,
 * bad-path (a leaf or path does not hash to the root), bad-signature.
 */
export function verifyProof(
  challenge: Challenge,
  answer: ProofAnswer,
  commitment: ShardCommitment,
  holderPublicKey: Uint8Array,
  nowMs: number,
): CheckResult<{ leavesVerified: number }, ProofFailure> {
  const c = safeParseChallenge(challenge);
  if (!c.success) return fail('malformed', `challenge: ${formatIssues(c.error)}`);
  const a = safeParseUnlessKnown(signedAnswers, proofAnswerSchema, answer);
  if (!a.success) return fail('malformed', `answer: ${formatIssues(a.error)}`);
  const ch = c.data;
  if (!(nowMs <= ch.deadlineMs)) return fail('late', `answered at ${nowMs}, deadline was ${ch.deadlineMs}`);
  if (!sameCommitment(ch, commitment))
    return fail('wrong-commitment', 'the challenge is not for this commitment');
  const root = fromHex(ch.merkleRoot);
  const expected = ch.leafIndices;
  if (!builtChallenges.has(ch)) {
    const leafCount = merkleLeafCount(ch.sizeBytes, ch.leafBytes);
    const derived = challengeLeafIndices(fromHex(ch.nonce), root, leafCount, expected.length);
    if (derived.length !== expected.length || derived.some((index, i) => expected[i] !== index)) {
      return fail('bad-challenge', 'the leaf indices are not the ones the nonce derives');
    }
  }
  if (!(holderPublicKey instanceof Uint8Array) || !equalBytes(a.data.holder, holderPublicKey)) {
    return fail('wrong-holder', 'the answer is not from the expected holder');
  }
  const leaves = a.data.leaves;
  if (leaves.length !== expected.length || leaves.some((leaf, i) => leaf.index !== expected[i])) {
    return fail('wrong-leaves', 'the answer does not hold exactly the leaves asked for');
  }
  const leafHashes: Uint8Array[] = [];
  for (const leaf of leaves) {
    const hash =
      leaf.data.length === expectedLeafLength(leaf.index, ch.sizeBytes, ch.leafBytes)
        ? merkleLeafHash(leaf.data, ch.leafBytes)
        : undefined;
    if (
      hash === undefined ||
      !verifyMerkleLeafHashPath(root, ch.sizeBytes, leaf.index, hash, leaf.path, ch.leafBytes)
    ) {
      return fail('bad-path', `leaf ${leaf.index} does not hash to the committed root`);
    }
    leafHashes.push(hash);
  }
  const message = signingBytes(signingDomains.proofAnswer, answerBody(ch, a.data.holder, leafHashes));
  if (!ed25519.verify(a.data.signature, message, a.data.holder)) {
    return fail('bad-signature', 'the signature does not verify under the holder key');
  }
  return { ok: true, value: { leavesVerified: leaves.length } };
}
