import { sweep } from './sweep.js';

// The slowest a seed: every node challenges every ~2 s, and each challenge is real work (Merkle
// paths over the shard's bytes, a signed answer, the proof checked by the challenger and the
// evidence once more for the voters, a signed economics event verified once). The economics events
// every node applies are shared work (`SharedApply`), so what is left grows with the challenges:
// about 0.9 CPU s a seed at 50 nodes and 2.65 s at 100 once warm (1.13 and 2.98 s before answers
// kept the holder's public key and stopped re-hashing their paths, and challenges were parsed once),
// about 6 % less since each node's economics state settles an event without a second lookup of its
// actor and answers are not parsed again, about 6 % less again since the Merkle trees are flat
// buffers and a challenge is not parsed or its leaves derived again by its own challenger; the
// scenario stops at 150 nodes (about 4.8 s, in proof-of-storage-large.test.ts). Shorter runs miss
// cheaters (with 10 s of challenges a deleter whose deleted shards no challenge asked fails
// `every-cheater-caught`), so the sweep runs the default size, two seeds at 50 nodes for one at 100:
// 96 seeds since the node tests' small objects got cheaper (CI 18 m 24 s → 16 m 51 s with 64; the
// 32 more cost about 50 CPU s beside the node tests, which stay the longest job;
// TRINITY_SIM_SWEEP_SEEDS=200 runs 200).
sweep({ scenario: 'proof-of-storage', nodes: [50, 50, 100], seedsDefault: 96, seedsPerTest: 2 });
