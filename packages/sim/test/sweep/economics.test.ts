import { sweep } from './sweep.js';

// The costly one at scale: every node applies every event (nodes² work), its reputation evidence
// grows with nodes × reporters and each ledger snapshot clones it all. 5 s of observations (with 1 s
// the cheaters-less-reputable comparison is noise: 5 of 200 seeds failed it), every 4th node voting
// (the quorum is 10 % of the voters), a 10 s settle delay (late events re-execute the ledger from a
// snapshot) and no snapshots between (100,000 events) still cost 0.2-0.9 CPU s at 50-100 nodes and
// 3-12 s at 200-300, so CI runs a few seeds unless TRINITY_SIM_SWEEP_SEEDS says otherwise. The
// default-size runs are in economics.test.ts.
sweep({
  scenario: 'economics',
  nodes: [50, 100, 200, 300],
  options: { activeMs: 5_000, voteEvery: 4, settleDelayMs: 10_000, snapshotEvery: 100_000 },
  seedsDefault: 4,
  seedsPerTest: 1,
});
