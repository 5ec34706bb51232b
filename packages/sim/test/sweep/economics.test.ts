import { economicsSweepOptions, sweep } from './sweep.js';

// Every node applies every event, so a run costs about nodes² (and a bit more: a late event
// re-executes the ledger, and the heap grows with nodes × events). The sweep's options
// (`economicsSweepOptions`): 5 s of observations (with 1 s the cheaters-less-reputable comparison
// is noise: 5 of 200 seeds failed it), every 4th node voting (the quorum is 10 % of the voters), a
// 10 s settle delay (late events re-execute the ledger) and no snapshots between (100,000 events:
// the cheapest for runs this short, copy on write or not). A seed costs about 0.8 CPU s at 100
// nodes; 200 and 300 nodes (3-5 and 8-10 s a seed) are in economics-large.test.ts, the default-size
// runs in test/economics.test.ts.
sweep({
  scenario: 'economics',
  nodes: [100],
  options: economicsSweepOptions,
  seedsDefault: 16,
  seedsPerTest: 4,
});

// At 50 nodes 5 s of observations are too few for cheaters-less-reputable (a handful of cheaters
// and reporters: seed 29 fails it, cheaters averaging 0.447 against the honest nodes' 0.440; with
// 8 s seed 85 still does), so these run 10 s: about 0.45 CPU s a seed.
sweep({
  scenario: 'economics',
  nodes: [50],
  options: { ...economicsSweepOptions, activeMs: 10_000 },
  seedsDefault: 16,
  seedsPerTest: 4,
});
