// Owners sign, holders vouch for themselves, anyone checks: a descriptor, a receipt, a proof of
// storage and a delete, with fixed keys so the output is the same every run.
import { ed25519, sha256, toHex } from '@trinity/core';
import {
  answerChallenge,
  authorizeStore,
  checkReceipt,
  checkSignedDescriptor,
  createChallenge,
  descriptorId,
  merkleRoot,
  shardCommitment,
  signDescriptor,
  signPutIntent,
  signReceipt,
  signTombstone,
  TombstoneSet,
  verifyProof,
} from '@trinity/storage';

const owner = new Uint8Array(32).fill(1); // an owner's ed25519 secret key
const holder = new Uint8Array(32).fill(2); // a node's key
const holderKey = ed25519.publicKey(holder);
const nowMs = 1_700_000_000_000;

// Three 8 KiB shards of an RS(2,1) object (normally from @trinity/erasure), committed by hash and Merkle root.
const shards = [1, 2, 3].map((seed) =>
  Uint8Array.from({ length: 8192 }, (_, i) => (i * 31 + seed * 7) & 0xff),
);
const descriptor = signDescriptor(
  {
    name: 'notes.txt',
    size: 16_000,
    createdAtMs: nowMs,
    erasure: { dataShards: 2, parityShards: 1, shardBytes: 8192 },
    stripes: [
      {
        dataBytes: 16_000,
        shards: shards.map((s) => ({ hash: toHex(sha256(s)), merkleRoot: toHex(merkleRoot(s)) })),
      },
    ],
  },
  owner,
);
const id = descriptorId(descriptor);
console.log(`object ${id} signed: ${checkSignedDescriptor(descriptor, id).ok}`);

// The owner's put intent lets the holder stage shard 0 under the put's transaction; the holder then signs a receipt for it.
const shardHash = descriptor.stripes[0]!.shards[0]!.hash;
const txId = '5eed5eed5eed5eed5eed5eed5eed5eed'; // the put's transaction
const intent = signPutIntent(
  {
    txId,
    createdAtMs: nowMs,
    expiresAtMs: nowMs + 60_000,
    shards: [{ shardHash, holders: [toHex(holderKey)] }],
  },
  owner,
);
console.log(`store authorized: ${authorizeStore(intent, shardHash, holderKey, nowMs + 1).ok}`);
const receipt = signReceipt({ objectId: id, stripe: 0, shard: 0, shardHash, storedAtMs: nowMs + 2 }, holder);
console.log(
  `receipt counts: ${checkReceipt(receipt, { objectId: id, descriptor, holder: holderKey, nowMs: nowMs + 3 }).ok}`,
);

// Anyone challenges the holder; the answer is checked against the owner-signed commitment alone.
const commitment = shardCommitment(descriptor, 0, 0);
const challenge = createChallenge({
  commitment,
  nonce: new Uint8Array(32).fill(9),
  nowMs,
  deadlineMs: nowMs + 2000,
});
const answer = await answerChallenge(challenge, shards[0]!, holder);
console.log(`proof: ${JSON.stringify(verifyProof(challenge, answer, commitment, holderKey, nowMs + 50))}`);
console.log(
  `late proof: ${JSON.stringify(verifyProof(challenge, answer, commitment, holderKey, nowMs + 2001).ok)}`,
);

// Only the owner deletes; the tombstone refuses the descriptor for its retention.
const tombstones = new TombstoneSet();
const tombstone = signTombstone(
  { objectId: id, deletedAtMs: nowMs + 10, retentionMs: 24 * 3_600_000 },
  owner,
);
tombstones.add(tombstone, { objectId: id, ownerKey: descriptor.owner }, nowMs + 10);
try {
  tombstones.assertNotDeleted(id, nowMs + 20);
} catch (error) {
  console.log(`replay refused: ${(error as { code: string }).code}`);
}
