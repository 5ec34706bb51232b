import { sweep } from './sweep.js';

// The slowest a seed: every node challenges every ~2 s, and each challenge is real work (Merkle
// paths over the shard's bytes, a signed answer, the proof checked by the challenger and the
// evidence once more for the voters, a signed economics event verified once). The economics events
// every node applies are shared work (`SharedApply`), so what is left grows with the challenges:
// each answer and each event is signed once and verified once (counted: 3,468 verifications of
// 3,468 distinct signatures at 100 nodes), and ed25519 is about a third of a seed, the setup's
// shards and trees a sixth. Shorter runs miss cheaters (with 10 s of challenges a deleter whose
// deleted shards no challenge asked fails `every-cheater-caught`), so the sweep keeps the default
// size and challenges, two seeds at 50 nodes for one at 100, but every 4th node votes (as the
// economics sweep): at the default every node votes in every dispute, so votes are about half of a
// seed's events (1,176 of 2,400 at 100 nodes seed 1), each one signed, verified and applied by
// every node; the quorum is 10 % of the eligible voters (at least 5), so a quarter of them still
// decide every dispute, and the verdicts and checkers are the same. That costs 11-13 % less CPU a
// seed (medians 0.754 → 0.658 s at 50 nodes, 2.02 → 1.79 s at 100; the file 1.05 → 0.89 s a seed),
// so 114 seeds for about the CPU of 96; 200 since (about 180 s of CPU: the package runs beside
// apps/node's tests, the CI's long pole, so the run grows by less than that).
// Full voting stays covered by proof-of-storage-large.test.ts (150 nodes, the default options) and
// the scenario's own tests. TRINITY_SIM_SWEEP_SEEDS=N runs N.
sweep({
  scenario: 'proof-of-storage',
  nodes: [50, 50, 100],
  options: { voteEvery: 4 },
  seedsDefault: 200,
  seedsPerTest: 2,
});
