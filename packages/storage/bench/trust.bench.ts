// Merkle roots and proof-of-storage beside their raw costs, measured in the same run: merkleRoot of
// 1 MiB shards against plain SHA-256 of the same bytes, verifyProof against the one ed25519 verify
// and the leaf hashing it contains, plus descriptor checks. `--json` prints one object per line.
import { performance } from 'node:perf_hooks';
import { ed25519, seededRandom, sha256, toHex } from '@trinity/core';
import {
  answerChallenge,
  checkSignedDescriptor,
  createChallenge,
  MerkleTree,
  MerkleTreeBuilder,
  merkleRoot,
  signDescriptor,
  verifyProof,
} from '../src/index.js';
import { benchReport } from './_report.js';

const MiB = 1024 * 1024;
const { report, printTable } = benchReport();

/** Runs `fn` `rounds` times after a warm-up; the median of 5 batches, in seconds per call. */
function perCall(fn: () => void, rounds: number): number {
  for (let i = 0; i < Math.max(1, rounds >> 3); i++) fn();
  const samples: number[] = [];
  for (let batch = 0; batch < 5; batch++) {
    const start = performance.now();
    for (let i = 0; i < rounds; i++) fn();
    samples.push((performance.now() - start) / 1000 / rounds);
  }
  return samples.sort((a, b) => a - b)[2]!;
}

const random = seededRandom(2026);
const shards = Array.from({ length: 8 }, () => random.bytes(MiB));
let next = 0;
const shard = () => shards[next++ % shards.length]!;
const mbps = (seconds: number) => MiB / 1e6 / seconds;

// Interleaved per round so both see the same machine state.
let sink = 0;
for (const leafBytes of [4096, 1024]) {
  const params = { shardBytes: MiB, leafBytes };
  report(
    'merkleRoot 1MiB',
    '@trinity/storage',
    params,
    mbps(perCall(() => void (sink ^= merkleRoot(shard(), leafBytes)[0]!), 40)),
    'MB/s',
  );
}
report(
  'merkleRoot 1MiB',
  'sha256 (node:crypto, same bytes)',
  { shardBytes: MiB },
  mbps(perCall(() => void (sink ^= sha256(shard())[0]!), 40)),
  'MB/s',
);
report(
  'merkleRoot 1MiB streamed',
  '@trinity/storage (MerkleTreeBuilder, 64 KiB chunks)',
  { shardBytes: MiB, leafBytes: 4096 },
  mbps(
    perCall(() => {
      const builder = new MerkleTreeBuilder();
      const bytes = shard();
      for (let offset = 0; offset < bytes.length; offset += 65536)
        builder.update(bytes.subarray(offset, offset + 65536));
      sink ^= builder.root()[0]!;
    }, 40),
  ),
  'MB/s',
);

const holderSecretKey = ed25519.randomSecretKey();
const holderKey = ed25519.publicKey(holderSecretKey);
const bytes = shards[0]!;
const tree = MerkleTree.fromBytes(bytes);
const commitment = {
  shardHash: toHex(sha256(bytes)),
  merkleRoot: toHex(tree.root),
  sizeBytes: MiB,
  leafBytes: 4096,
};
const source = { tree, readLeaf: (i: number) => bytes.subarray(i * 4096, (i + 1) * 4096) };
const nowMs = 1_700_000_000_000;
for (const leaves of [16, 64]) {
  const challenges = Array.from({ length: 16 }, () =>
    createChallenge({
      commitment,
      nonce: random.bytes(32),
      nowMs,
      deadlineMs: nowMs + 2000,
      leavesPerChallenge: leaves,
    }),
  );
  const answers = await Promise.all(challenges.map((c) => answerChallenge(c, source, holderSecretKey)));
  let i = 0;
  const verify = perCall(() => {
    const k = i++ % challenges.length;
    if (!verifyProof(challenges[k]!, answers[k]!, commitment, holderKey, nowMs + 1).ok)
      throw new Error('proof failed');
  }, 200);
  const params = { shardBytes: MiB, leafBytes: 4096, leaves };
  report('verifyProof', '@trinity/storage', params, 1 / verify, 'ops/s');
  let j = 0;
  const start = performance.now();
  for (let n = 0; n < 200; n++)
    await answerChallenge(challenges[j++ % challenges.length]!, source, holderSecretKey);
  report(
    'answerChallenge (tree cached)',
    '@trinity/storage',
    params,
    200 / ((performance.now() - start) / 1000),
    'ops/s',
  );
}
const message = random.bytes(300);
const signature = ed25519.sign(message, holderSecretKey);
report(
  'ed25519.verify',
  `@trinity/core (${ed25519.backend})`,
  { messageBytes: 300 },
  1 / perCall(() => void ed25519.verify(signature, message, holderKey), 2000),
  'ops/s',
);
const leaves64 = random.bytes(64 * 4096);
report(
  'sha256 of 64 leaves',
  'sha256 (node:crypto)',
  { bytes: 64 * 4096 },
  1 / perCall(() => void (sink ^= sha256(leaves64)[0]!), 500),
  'ops/s',
);

const ownerSecretKey = ed25519.randomSecretKey();
const hashes = Array.from({ length: 14 }, () => ({
  hash: toHex(random.bytes(32)),
  merkleRoot: toHex(random.bytes(32)),
}));
const descriptor = signDescriptor(
  {
    size: 10 * MiB * 64,
    createdAtMs: nowMs,
    erasure: { dataShards: 10, parityShards: 4, shardBytes: MiB },
    stripes: Array.from({ length: 64 }, () => ({ dataBytes: 10 * MiB, shards: hashes })),
  },
  ownerSecretKey,
);
report(
  'checkSignedDescriptor',
  '@trinity/storage',
  { stripes: 64, shardsPerStripe: 14 },
  1 / perCall(() => void checkSignedDescriptor(descriptor), 50),
  'ops/s',
);

if (sink === 0.5) console.log(sink); // keep the hashing from being optimised away
printTable({ params: true });
