import { readFileSync } from 'node:fs';
import { ed25519, fromHex, seededRandom, toHex } from '@trinity/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  answerChallenge,
  answerChallengeSync,
  type Challenge,
  ChallengeInvalidError,
  challengeLeafIndices,
  challengeSchema,
  createChallenge,
  MerkleTree,
  type ProofAnswer,
  type ShardCommitment,
  verifyProof,
} from '../src/index.js';
import { holderASecretKey, holderBSecretKey } from './trust-fixtures.js';
import { sha256Hex } from './trust-helpers.js';

const vectors = JSON.parse(readFileSync(new URL('./vectors/trust.json', import.meta.url), 'utf8'));
const holderA = ed25519.publicKey(holderASecretKey);
const nowMs = 1_700_000_000_000;

function commitmentOf(shard: Uint8Array, leafBytes = 4096): ShardCommitment {
  return {
    shardHash: sha256Hex(shard),
    merkleRoot: toHex(MerkleTree.fromBytes(shard, leafBytes).root),
    sizeBytes: shard.length,
    leafBytes,
  };
}

const shard = seededRandom(11).bytes(1024 * 1024 + 100);
const commitment = commitmentOf(shard);
const nonce = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);

function challengeFor(leaves = 16, deadlineMs = nowMs + 2000): Challenge {
  return createChallenge({ commitment, nonce, nowMs, deadlineMs, leavesPerChallenge: leaves });
}

describe('proof-of-storage', () => {
  it('matches the known-answer vector (leaf indices from the nonce, holder signature)', async () => {
    const challenge = challengeFor();
    expect(challenge.leafIndices).toEqual(vectors.challenge.leafIndices);
    expect(challenge).toEqual(vectors.challenge);
    const answer = await answerChallenge(challenge, shard, holderASecretKey);
    expect(toHex(answer.signature)).toBe(vectors.answerSignature);
  });

  it('an honest answer passes, from bytes or from a tree and a leaf reader', async () => {
    const challenge = challengeFor(64);
    expect(challenge.leafIndices).toHaveLength(64);
    const fromBytes = await answerChallenge(challenge, shard, holderASecretKey);
    expect(verifyProof(challenge, fromBytes, commitment, holderA, nowMs + 100)).toEqual({
      ok: true,
      value: { leavesVerified: 64 },
    });
    const tree = MerkleTree.fromBytes(shard);
    const reads: number[] = [];
    const fromReader = await answerChallenge(
      challenge,
      {
        tree,
        readLeaf: async (i) => {
          reads.push(i);
          return shard.slice(i * 4096, (i + 1) * 4096);
        },
      },
      holderASecretKey,
    );
    expect(reads).toEqual(challenge.leafIndices);
    expect(verifyProof(challenge, fromReader, commitment, holderA, nowMs + 100).ok).toBe(true);
  });

  it('answerChallengeSync gives the same answer at once, from bytes or a tree and a sync reader', async () => {
    const challenge = challengeFor(16);
    const expected = await answerChallenge(challenge, shard, holderASecretKey);
    expect(answerChallengeSync(challenge, shard, holderASecretKey)).toEqual(expected);
    const tree = MerkleTree.fromBytes(shard);
    const fromReader = answerChallengeSync(
      challenge,
      { tree, readLeaf: (i) => shard.slice(i * 4096, (i + 1) * 4096) },
      holderASecretKey,
    );
    expect(fromReader).toEqual(expected);
    expect(verifyProof(challenge, fromReader, commitment, holderA, nowMs + 100).ok).toBe(true);
    expect(() =>
      answerChallengeSync(challenge, { tree, readLeaf: () => new Uint8Array(4096) }, holderASecretKey),
    ).toThrow(ChallengeInvalidError);
    // A short read (a truncated page) is refused too, even where the zero padding would hash the same.
    const zeroTail = shard.slice();
    for (const i of challenge.leafIndices) zeroTail[(i + 1) * 4096 - 1] = 0;
    expect(() =>
      answerChallengeSync(
        challenge,
        {
          tree: MerkleTree.fromBytes(zeroTail),
          readLeaf: (i) => zeroTail.slice(i * 4096, (i + 1) * 4096 - 1),
        },
        holderASecretKey,
      ),
    ).toThrow(ChallengeInvalidError);
  });

  it('a late answer fails, even when everything else is right', async () => {
    const challenge = challengeFor(8, nowMs + 500);
    const answer = await answerChallenge(challenge, shard, holderASecretKey);
    expect(verifyProof(challenge, answer, commitment, holderA, nowMs + 500).ok).toBe(true);
    expect(verifyProof(challenge, answer, commitment, holderA, nowMs + 501)).toMatchObject({
      ok: false,
      reason: 'late',
    });
  });

  it('fails with the right reason for each kind of cheating', async () => {
    const challenge = challengeFor(8);
    const answer = await answerChallenge(challenge, shard, holderASecretKey);
    const at = nowMs + 10;
    const check = (c: Challenge, a: ProofAnswer, holder = holderA, com = commitment) =>
      verifyProof(c, a, com, holder, at);
    // Another holder's answer does not count for A, and A cannot sign in B's name.
    const byB = await answerChallenge(challenge, shard, holderBSecretKey);
    expect(check(challenge, byB)).toMatchObject({ reason: 'wrong-holder' });
    expect(check(challenge, { ...byB, holder: holderA })).toMatchObject({ reason: 'bad-signature' });
    // A challenge for another shard.
    const other = commitmentOf(seededRandom(12).bytes(1024 * 1024 + 100));
    expect(check(challenge, answer, holderA, other)).toMatchObject({ reason: 'wrong-commitment' });
    // A challenger who picks leaves by hand instead of from the nonce.
    expect(check({ ...challenge, leafIndices: [0, 1, 2, 3, 4, 5, 6, 7] }, answer)).toMatchObject({
      reason: 'bad-challenge',
    });
    // Leaves missing, reordered or swapped.
    expect(check(challenge, { ...answer, leaves: answer.leaves.slice(1) })).toMatchObject({
      reason: 'wrong-leaves',
    });
    expect(check(challenge, { ...answer, leaves: [...answer.leaves].reverse() })).toMatchObject({
      reason: 'wrong-leaves',
    });
    // A flipped byte in a leaf or a path.
    const flippedLeaf = answer.leaves.map((l, i) =>
      i === 3 ? { ...l, data: l.data.map((b, j) => (j === 7 ? b ^ 1 : b)) } : l,
    );
    expect(check(challenge, { ...answer, leaves: flippedLeaf })).toMatchObject({ reason: 'bad-path' });
    const flippedPath = answer.leaves.map((l, i) =>
      i === 5
        ? { ...l, path: l.path.map((p, j) => (j === 2 ? p.map((b, k) => (k === 0 ? b ^ 0x80 : b)) : p)) }
        : l,
    );
    expect(check(challenge, { ...answer, leaves: flippedPath })).toMatchObject({ reason: 'bad-path' });
    // An answer to another nonce does not answer this one.
    const otherNonce = createChallenge({
      commitment,
      nonce: new Uint8Array(32).fill(9),
      nowMs,
      deadlineMs: nowMs + 2000,
      leavesPerChallenge: 8,
    });
    const answerToOther = await answerChallenge(otherNonce, shard, holderASecretKey);
    expect(check(challenge, answerToOther).ok).toBe(false);
    // Same leaves, other nonce: replaying a signature fails.
    expect(check({ ...challenge, deadlineMs: challenge.deadlineMs + 1 }, answer)).toMatchObject({
      reason: 'bad-signature',
    });
    // Malformed input.
    expect(check(challenge, { ...answer, signature: new Uint8Array(3) })).toMatchObject({
      reason: 'malformed',
    });
    expect(check({ ...challenge, nonce: 'xy' }, answer)).toMatchObject({ reason: 'malformed' });
  });

  it('a holder missing the bytes cannot answer: wrong shard refused before signing', async () => {
    const challenge = challengeFor(4);
    const wrong = seededRandom(99).bytes(shard.length);
    await expect(answerChallenge(challenge, wrong, holderASecretKey)).rejects.toBeInstanceOf(
      ChallengeInvalidError,
    );
    const tree = MerkleTree.fromBytes(shard);
    await expect(
      answerChallenge(
        challenge,
        { tree, readLeaf: (i) => wrong.slice(i * 4096, (i + 1) * 4096) },
        holderASecretKey,
      ),
    ).rejects.toBeInstanceOf(ChallengeInvalidError);
  });

  it('challenges shards up to the largest tree (2^20 leaves), not beyond', () => {
    const big = { ...commitment, sizeBytes: 256 * 1024 * 1024 };
    const challenge = createChallenge({ commitment: big, nonce, nowMs, deadlineMs: nowMs + 1000 });
    expect(challenge.leafIndices).toHaveLength(64);
    expect(challenge.leafIndices.every((i) => i < 65536)).toBe(true);
    const tooBig = { ...commitment, sizeBytes: 4096 * 2 ** 20 + 1 };
    expect(() => createChallenge({ commitment: tooBig, nonce, nowMs, deadlineMs: nowMs + 1000 })).toThrow(
      ChallengeInvalidError,
    );
  });

  it('createChallenge returns a frozen challenge; a copy is checked afresh and left as it is', async () => {
    const challenge = challengeFor(8);
    expect(Object.isFrozen(challenge) && Object.isFrozen(challenge.leafIndices)).toBe(true);
    const answer = await answerChallenge(challenge, shard, holderASecretKey);
    const copy = JSON.parse(JSON.stringify(challenge)) as Challenge;
    expect(verifyProof(copy, answer, commitment, holderA, nowMs + 100).ok).toBe(true);
    expect(Object.isFrozen(copy)).toBe(false);
    copy.leafIndices[0] = copy.leafIndices[1]!;
    expect(verifyProof(copy, answer, commitment, holderA, nowMs + 100)).toMatchObject({
      reason: 'bad-challenge',
    });
  });

  it('an answer is returned frozen (leaves and paths too); a copy is checked afresh', async () => {
    const challenge = challengeFor(8);
    const answer = answerChallengeSync(challenge, shard, holderASecretKey);
    expect(
      Object.isFrozen(answer) &&
        Object.isFrozen(answer.leaves) &&
        answer.leaves.every((leaf) => Object.isFrozen(leaf) && Object.isFrozen(leaf.path)),
    ).toBe(true);
    expect(() => answer.leaves.pop()).toThrow(TypeError);
    const copy = { ...answer, leaves: answer.leaves.map((leaf) => ({ ...leaf, index: 1.5 })) };
    expect(verifyProof(challenge, copy, commitment, holderA, nowMs + 100)).toMatchObject({
      reason: 'malformed',
    });
    expect(verifyProof(challenge, answer, commitment, holderA, nowMs + 100).ok).toBe(true);
  });

  it('createChallenge checks its window, nonce and leaf count', () => {
    const base = { commitment, nonce, nowMs, deadlineMs: nowMs + 1000 };
    for (const input of [
      { ...base, deadlineMs: nowMs },
      { ...base, deadlineMs: nowMs + 11 * 60_000 },
      { ...base, nonce: new Uint8Array(16) },
      { ...base, leavesPerChallenge: 0 },
      { ...base, leavesPerChallenge: 65 },
      { ...base, commitment: { ...commitment, leafBytes: 1000 } },
      { ...base, commitment: { ...commitment, merkleRoot: 'nope' } },
    ]) {
      expect(() => createChallenge(input)).toThrow(ChallengeInvalidError);
    }
  });

  it('createChallenge refuses what the challenge schema refuses, and returns what it would (without parsing)', () => {
    const leafIndices = challengeLeafIndices(nonce, fromHex(commitment.merkleRoot), 257, 8);
    fc.assert(
      fc.property(
        // (A hash in an array stringifies as the hash: only the schema would refuse it.)
        fc.constantFrom<unknown>(commitment.shardHash, commitment.shardHash.toUpperCase(), 'ab', '', [
          commitment.shardHash,
        ]),
        fc.oneof(fc.constant(nowMs), fc.integer({ min: -3, max: 3 }), fc.double()),
        fc.oneof(fc.integer({ min: -3, max: 10 * 60_000 + 3 }), fc.double()),
        (shardHash, issuedAtMs, windowMs) => {
          const deadlineMs = issuedAtMs + windowMs;
          const input = {
            commitment: { ...commitment, shardHash: shardHash as string },
            nonce,
            nowMs: issuedAtMs,
            deadlineMs,
          };
          let built: Challenge | undefined;
          try {
            built = createChallenge({ ...input, leavesPerChallenge: 8 });
          } catch (error) {
            expect(error).toBeInstanceOf(ChallengeInvalidError);
          }
          const reference = challengeSchema.safeParse({
            ...input.commitment,
            nonce: toHex(nonce),
            issuedAtMs,
            deadlineMs,
            leafIndices,
          });
          expect(built !== undefined).toBe(reference.success);
          // Same fields in the same order (a challenge is hashed as JSON by some callers).
          if (built !== undefined) expect(JSON.stringify(built)).toBe(JSON.stringify(reference.data));
        },
      ),
    );
  });

  it('leaf indices are distinct, in range, sorted, all leaves when few, and depend on the nonce', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 1, max: 64 }),
        (n, leafCount, count) => {
          const root = fromHex(commitment.merkleRoot);
          const indices = challengeLeafIndices(n, root, leafCount, count);
          expect(indices).toHaveLength(Math.min(count, leafCount));
          expect(new Set(indices).size).toBe(indices.length);
          expect(indices.every((i, k) => i >= 0 && i < leafCount && (k === 0 || indices[k - 1]! < i))).toBe(
            true,
          );
        },
      ),
      { numRuns: 200 },
    );
    for (const [leafCount, count] of [
      [Number.NaN, 4],
      [0, 4],
      [10, 0],
      [10, 65],
      [2 ** 21, 4],
    ] as const) {
      expect(() => challengeLeafIndices(nonce, fromHex(commitment.merkleRoot), leafCount, count)).toThrow();
    }
    const a = challengeLeafIndices(new Uint8Array(32), fromHex(commitment.merkleRoot), 1 << 16, 8);
    const b = challengeLeafIndices(new Uint8Array(32).fill(1), fromHex(commitment.merkleRoot), 1 << 16, 8);
    expect(a).not.toEqual(b);
  });

  it('any small shard: honest answers pass, any flipped leaf byte fails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40_000 }),
        fc.integer(),
        fc.nat(),
        async (size, seed, flip) => {
          const bytes = seededRandom(seed).bytes(size);
          const com = commitmentOf(bytes, 1024);
          const c = createChallenge({
            commitment: com,
            nonce: seededRandom(seed + 1).bytes(32),
            nowMs,
            deadlineMs: nowMs + 1,
            leavesPerChallenge: 5,
          });
          const answer = await answerChallenge(c, bytes, holderASecretKey);
          expect(verifyProof(c, answer, com, holderA, nowMs + 1).ok).toBe(true);
          const leaf = answer.leaves[flip % answer.leaves.length]!;
          if (leaf.data.length === 0) return;
          const data = leaf.data.slice();
          data[flip % data.length]! ^= 1 << (flip % 8);
          const tampered = { ...answer, leaves: answer.leaves.map((l) => (l === leaf ? { ...l, data } : l)) };
          expect(verifyProof(c, tampered, com, holderA, nowMs + 1)).toMatchObject({
            ok: false,
            reason: 'bad-path',
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
