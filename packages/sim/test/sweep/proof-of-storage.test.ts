import { sweep } from './sweep.js';

// The slowest a seed: every node challenges every ~2 s, and each challenge is real work (Merkle
// paths over the shard's bytes, a signed answer, the proof checked by the challenger and the
// evidence once more for the voters, a signed economics event verified once). The economics events
// every node applies are shared work (`SharedApply`), so what is left grows with the challenges:
// about 1.2 CPU s a seed at 50 nodes and 2.8 s at 100 once warm (1-2 and 3.5-5 s before); the
// scenario stops at 150 nodes (about 6.5 s, in proof-of-storage-large.test.ts). Shorter runs miss
// cheaters (with 10 s of challenges a deleter whose deleted shards no challenge asked fails
// `every-cheater-caught`), so the sweep runs the default size, two seeds at 50 nodes for one at
// 100: 48 seeds (what fits the package's CI time beside the other sweeps; TRINITY_SIM_SWEEP_SEEDS=200
// runs 200).
sweep({ scenario: 'proof-of-storage', nodes: [50, 50, 100], seedsDefault: 48, seedsPerTest: 2 });
