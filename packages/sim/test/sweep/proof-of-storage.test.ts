import { sweep } from './sweep.js';

// The slowest: every node challenges every ~2 s and every result is an economics event every node
// applies (nodes² work; 2.4 CPU s a seed at 50 nodes, 7 s at 100), and the scenario stops at 150
// nodes. Shorter runs miss cheaters (with 10 s of challenges a deleter whose deleted shards no
// challenge asked fails `every-cheater-caught`), so the sweep runs the default size over a few
// seeds unless TRINITY_SIM_SWEEP_SEEDS says otherwise.
sweep({ scenario: 'proof-of-storage', nodes: [50, 100, 150], seedsDefault: 3, seedsPerTest: 1 });
