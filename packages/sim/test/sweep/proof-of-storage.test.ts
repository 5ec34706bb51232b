import { sweep } from './sweep.js';

// The slowest: every node challenges every ~2 s and every result is an economics event every node
// applies (nodes² work), and each challenge is real work (Merkle paths over the shard's bytes,
// signed answers, proofs checked by the challenger and again by each voter). About 1-2 CPU s a seed
// at 50 nodes and 3.5-5 s at 100 once warm; the scenario stops at 150 nodes (about 11 s, in
// proof-of-storage-large.test.ts). Shorter runs miss cheaters (with 10 s of challenges a deleter
// whose deleted shards no challenge asked fails `every-cheater-caught`), so the sweep runs the
// default size, two seeds at 50 nodes for one at 100, unless TRINITY_SIM_SWEEP_SEEDS says otherwise.
sweep({ scenario: 'proof-of-storage', nodes: [50, 50, 100], seedsDefault: 11, seedsPerTest: 1 });
